import { styleText } from 'node:util'
import type { PluginDefinition } from '@gatehousejs/sdk'
import { definePlugin, PRIORITY } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { type Logger, pino } from 'pino'
import pretty from 'pino-pretty'
import type { LogFormat } from './log-format.js'

/**
 * Logs a person can read. `json` (the default off a terminal) is pino's one JSON object per line;
 * `pretty` (the default when stdout is a terminal, or `--log-format pretty`) goes through pino's own
 * pretty printer: coloured when the terminal takes colours, one line per event, and one line per
 * request (time, method, path, status, duration, route, consumer, request id).
 */
export { LOG_FORMATS, type LogFormat, logFormatOf } from './log-format.js'

/** The name of the CLI's own request-line plugin (pretty logs only); no package can take it. */
export const REQUEST_LOG_PLUGIN = 'gatehouse-cli-request-log'

/** The fields of a request line, under `req` in the log object (the pretty printer builds the line). */
interface RequestLine {
  method: string
  path: string
  status: number | undefined
  ms: number
  route: string | undefined
  consumer: string | undefined
  id: string
  aborted?: boolean
}

/** The logger for `start` in `format`: undefined for JSON (core's default, on stdout). */
export function cliLogger(format: LogFormat): Logger | undefined {
  if (format === 'json') return undefined
  const colour = pretty.isColorSupported
  const paint = (style: Parameters<typeof styleText>[0], text: string) =>
    colour ? styleText(style, text) : text
  const stream = pretty({
    colorize: colour,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name,req',
    messageFormat(log, messageKey) {
      const line = log.req as RequestLine | undefined
      const msg = String(log[messageKey] ?? '')
      if (line === undefined || typeof line !== 'object') return msg
      const status = line.status === undefined ? '---' : String(line.status)
      const statusStyle =
        line.status === undefined || line.status >= 500 ? 'red' : line.status >= 400 ? 'yellow' : 'green'
      return [
        paint('bold', line.method),
        line.path,
        paint(statusStyle, status),
        paint('dim', `${line.ms.toFixed(1)} ms`),
        `route=${line.route ?? '-'}`,
        `consumer=${line.consumer ?? '-'}`,
        paint('dim', `id=${line.id}`),
        line.aborted ? paint('yellow', '(client went away)') : '',
      ]
        .filter(Boolean)
        .join(' ')
    },
  })
  return pino({ name: 'gatehouse', level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info' }, stream)
}

/** A `log`-phase plugin that writes one line per request through `logger` (the CLI's pretty logger). */
const requestLog = (logger: Logger) =>
  definePlugin({
    name: REQUEST_LOG_PLUGIN,
    version: '1.0.0',
    priority: PRIORITY.logger,
    description: 'One readable line per request in pretty logs (added by the CLI)',
    init() {
      const log = logger
      return {
        log: function requestLine(ctx) {
          const req: RequestLine = {
            method: ctx.request.method,
            path: ctx.request.path,
            status: ctx.response?.status,
            ms: ctx.timings.total,
            route: ctx.route?.name,
            consumer: ctx.consumer?.username ?? ctx.consumer?.id,
            id: ctx.requestId,
          }
          if (ctx.aborted) req.aborted = true
          log.info({ req }, 'request')
        },
      }
    },
  })

// One definition per logger: the same object at every reload keeps the instance (and its state).
const definitions = new WeakMap<Logger, PluginDefinition>()

/** Adds the request-line plugin to a configuration when there is a pretty `logger`, as a global instance. */
export function withRequestLog(
  logger: Logger | undefined,
  config: GatewayConfig,
  plugins: PluginDefinition[],
): { config: GatewayConfig; plugins: PluginDefinition[] } {
  if (logger === undefined) return { config, plugins }
  let def = definitions.get(logger)
  if (def === undefined) {
    def = requestLog(logger) as unknown as PluginDefinition
    definitions.set(logger, def)
  }
  return {
    config: { ...config, plugins: [...(config.plugins ?? []), { name: REQUEST_LOG_PLUGIN }] },
    plugins: [...plugins, def],
  }
}
