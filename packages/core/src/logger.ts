import { type Logger, type LoggerOptions, pino } from 'pino'

/** Secrets never reach the log: credentials in headers and well-known secret fields are redacted. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'req.headers.apikey',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'headers["x-api-key"]',
  'headers.apikey',
  'headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.privateKey',
]

export type LoggerOption = boolean | Logger | LoggerOptions

export function createLogger(option: LoggerOption | undefined): Logger {
  if (option === false) return pino({ level: 'silent' })
  if (
    option &&
    typeof (option as Logger).child === 'function' &&
    typeof (option as Logger).info === 'function'
  ) {
    // A logger of the caller's: secrets are redacted all the same, through a child.
    return (option as Logger).child({}, { redact: { paths: REDACT_PATHS, censor: '[redacted]' } })
  }
  const opts = (typeof option === 'object' ? option : {}) as LoggerOptions
  return pino({
    name: 'gatehouse',
    level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info',
    ...opts,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  })
}
