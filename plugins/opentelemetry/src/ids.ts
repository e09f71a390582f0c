import { randomBytes } from 'node:crypto'
import type { IdGenerator } from '@opentelemetry/sdk-trace-base'

/**
 * Ids decided before the span exists. The gateway must send the upstream a `traceparent` naming the
 * upstream span before the call, but the spans are created in `log`, with their exact start and end
 * times (a span's start cannot be moved after it is created). So the ids are drawn in `access`, and
 * handed to the tracer when the span is made: `pin()` then `startSpan()`, synchronously.
 */
export class PinnedIds implements IdGenerator {
  private traceId: string | undefined
  private spanId: string | undefined

  pin(traceId: string | undefined, spanId: string): void {
    this.traceId = traceId
    this.spanId = spanId
  }

  generateTraceId(): string {
    const id = this.traceId ?? newTraceId()
    this.traceId = undefined
    return id
  }

  generateSpanId(): string {
    const id = this.spanId ?? newSpanId()
    this.spanId = undefined
    return id
  }
}

export function newTraceId(): string {
  return randomBytes(16).toString('hex')
}

export function newSpanId(): string {
  return randomBytes(8).toString('hex')
}
