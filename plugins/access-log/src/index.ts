import { definePlugin, type Logger, PRIORITY } from '@gatehousejs/sdk'
import { pino, destination as pinoDestination } from 'pino'
import manifest from '../package.json' with { type: 'json' }
import { lineBuilder } from './line.js'
import { redactionSet } from './redact.js'
import { type AccessLogConfig, AccessLogSchema } from './schema.js'

export { ALWAYS_REDACTED, REDACTED } from './redact.js'
export { type AccessLogConfig, AccessLogSchema, DEFAULT_FIELDS, FIELDS } from './schema.js'

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error'

/**
 * `access-log`: one structured pino line per request, written after the response is finished, with
 * the fields the config lists. Secret headers and query parameters are redacted by name, always.
 *
 * Phases: `log` only. Stacking: several instances (e.g. one to a file, one to the gateway logger)
 * all write.
 *
 * @example
 * plugins: [{ name: 'access-log', config: { destination: 'stdout', requestHeaders: ['x-tenant'] } }]
 */
export const accessLog = definePlugin({
  name: 'access-log',
  version: manifest.version,
  priority: PRIORITY.logger,
  description: 'One structured log line per request, with configurable fields; secrets redacted',
  schema: AccessLogSchema,
  stacking: true,
  init(config, env) {
    const { logger, close } = destinationFor(config, env.log)
    const build = lineBuilder(config, redactionSet(config.redact))
    const level = config.level as Level
    const message = config.message
    return {
      log: function accessLogLine(ctx) {
        logger[level](build(ctx), message)
      },
      close,
    }
  },
})

/** The gateway's logger (default), or a logger of our own on stdout or a file. */
function destinationFor(
  config: AccessLogConfig,
  gatewayLog: Logger,
): { logger: Logger; close?: () => Promise<void> } {
  if (config.destination === 'gateway') return { logger: gatewayLog }
  const dest = pinoDestination({
    dest: config.destination === 'stdout' ? 1 : config.destination.file,
    mkdir: config.destination !== 'stdout',
    sync: false,
  })
  const logger = pino(
    { base: null, level: config.level, timestamp: pino.stdTimeFunctions.isoTime },
    dest,
  ) as unknown as Logger
  return {
    logger,
    close: () =>
      new Promise<void>((resolve) => {
        // Writes what is buffered before the instance goes away.
        dest.flush((err) => {
          if (config.destination !== 'stdout') dest.end()
          if (err) gatewayLog.warn({ err }, 'access log flush failed')
          resolve()
        })
      }),
  }
}

export default accessLog
