// The log format choice alone, without pino: the command line checks --log-format before anything loads.

/** One JSON object a line (`json`), or pino's pretty printer (`pretty`); see logs.ts. */
export type LogFormat = 'json' | 'pretty'

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty']

/** `--log-format`, else `$GATEHOUSE_LOG_FORMAT`, else pretty in a terminal and JSON elsewhere. */
export function logFormatOf(flag: string | undefined, isTTY = process.stdout.isTTY === true): LogFormat {
  const chosen = flag ?? process.env.GATEHOUSE_LOG_FORMAT
  if (chosen === 'json' || chosen === 'pretty') return chosen
  return isTTY ? 'pretty' : 'json'
}
