import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** A span as the OTLP/HTTP JSON encoding carries it (ids in hex), with its attributes flattened. */
export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId: string
  name: string
  kind: number
  startNs: bigint
  endNs: bigint
  status: { code?: number; message?: string }
  attributes: Record<string, string | number | boolean>
  resource: Record<string, string | number | boolean>
}

type AnyValue = {
  stringValue?: string
  intValue?: string | number
  boolValue?: boolean
  doubleValue?: number
}

function flatten(list: Array<{ key: string; value: AnyValue }> = []) {
  const out: Record<string, string | number | boolean> = {}
  for (const { key, value } of list) {
    out[key] =
      value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue ?? ''))
  }
  return out
}

/** A real OTLP/HTTP endpoint on 127.0.0.1:0 that decodes the JSON export requests it receives. */
export async function startCollector(t: { teardown(fn: () => unknown): void }) {
  const spans: ReceivedSpan[] = []
  const requests: Array<{
    path: string
    contentType: string | undefined
    headers: http.IncomingHttpHeaders
  }> = []
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    requests.push({ path: req.url ?? '', contentType: req.headers['content-type'], headers: req.headers })
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    for (const rs of body.resourceSpans ?? []) {
      const resource = flatten(rs.resource?.attributes)
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind,
            startNs: BigInt(s.startTimeUnixNano),
            endNs: BigInt(s.endTimeUnixNano),
            status: s.status ?? {},
            attributes: flatten(s.attributes),
            resource,
          })
        }
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return {
    url,
    spans,
    requests,
    /** Waits (bounded to 5 s) until `n` spans arrived. */
    async waitFor(n: number): Promise<ReceivedSpan[]> {
      for (let i = 0; i < 250 && spans.length < n; i++) await sleep(20)
      return spans
    },
  }
}
