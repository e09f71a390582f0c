import type { AccessContext, Headers } from '@gatehousejs/sdk'

/** Kong's default messages, for a config that gives neither `message` nor `body`. */
export const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  500: 'An unexpected error occurred',
  502: 'Bad Gateway',
  503: 'Service unavailable',
}

/** Whether `trigger` is present as a header (any case) or a query parameter (exact name). */
export function triggered(ctx: AccessContext, trigger: string): boolean {
  return ctx.request.headers[trigger.toLowerCase()] !== undefined || ctx.request.query[trigger] !== undefined
}

/** The echo body: what the gateway received and matched, as Kong's `echo` shows it. */
export function echoBody(ctx: AccessContext, message: string | undefined): Record<string, unknown> {
  const req = ctx.request
  const raw = req.rawBody
  return {
    message,
    request: {
      scheme: ctx.client.protocol,
      host: req.host,
      method: req.method,
      path: req.path,
      query: req.query,
      headers: req.headers as Headers,
      body: req.body,
      rawBody: raw === undefined ? undefined : raw.toString('utf8'),
      clientIp: ctx.client.ip,
    },
    matchedRoute: ctx.route,
    matchedService: ctx.service,
    consumer: ctx.consumer,
  }
}
