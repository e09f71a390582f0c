/** One log line as pino wrote it (redacted, serialized, with its logger's bindings), parsed. */
export interface LogLine {
  /** `trace`, `debug`, `info`, `warn`, `error` or `fatal`. */
  level: string
  msg?: string
  [field: string]: unknown
}

/**
 * pino options that record every line instead of writing it: a type, not an interface, so that it
 * fits `startGateway`'s `logger` as well as core's `createGateway` option.
 */
export type CaptureLoggerOptions = {
  level: string
  formatters: { level(label: string): { level: string } }
  hooks: { streamWrite(line: string): string }
}

export interface LogCapture {
  /** Pass as the gateway's logger: `startGateway({ logger: logs.logger, … })`. */
  readonly logger: CaptureLoggerOptions
  /** Every line logged so far, in order. */
  readonly lines: LogLine[]
  /** The lines whose message is `msg` (a string compares equal, a RegExp tests it). */
  withMsg(msg: string | RegExp): LogLine[]
}

export interface CaptureLogsOptions {
  /** The lowest level recorded. Default `debug`. */
  level?: string
}

/**
 * Records a gateway's log lines instead of writing them, for a test that asserts what was logged.
 * Each line is recorded as pino would have written it (after redaction and serializers, with the
 * child logger's bindings such as `plugin` and `reqId`), parsed back into an object.
 *
 * @example
 * const logs = captureLogs()
 * const gw = await startGateway({ t, plugins: [hello], logger: logs.logger, config })
 * t.equal(logs.withMsg('hello ready')[0]?.plugin, 'hello')
 */
export function captureLogs(options: CaptureLogsOptions = {}): LogCapture {
  const lines: LogLine[] = []
  return {
    logger: {
      level: options.level ?? 'debug',
      // The level's name rather than its number, so a test reads `line.level === 'warn'`.
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        streamWrite(line) {
          lines.push(JSON.parse(line) as LogLine)
          return '' // written nowhere
        },
      },
    },
    lines,
    withMsg: (msg) => lines.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg ?? ''))),
  }
}
