import { type Logger, symbols } from 'pino'

/**
 * SIGTERM and SIGINT while listening: a graceful shutdown (readiness 503, `drainDelay`, then close),
 * after which the signal is raised again, so the process ends as the signal says once nothing else
 * keeps it alive (a caller's own handler still runs).
 */
export class ShutdownSignals {
  constructor(
    private readonly shutdown: () => Promise<void>,
    private readonly logger: Logger,
    private readonly drainDelay: number,
  ) {}

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.logger.info({ signal, drainDelay: this.drainDelay }, 'closing gracefully')
    this.shutdown().finally(() => {
      this.remove()
      raiseAfterFlush(this.logger, signal)
    })
  }

  add(): void {
    process.on('SIGTERM', this.onSignal)
    process.on('SIGINT', this.onSignal)
  }

  remove(): void {
    process.off('SIGTERM', this.onSignal)
    process.off('SIGINT', this.onSignal)
  }
}

/** How long a log destination that takes nothing (a full pipe nobody reads) may hold the exit. */
const FLUSH_WAIT = 1_000

/** What is read of pino's default destination (sonic-boom) to know whether a write is under way. */
interface Destination {
  _writing?: boolean
  once?(event: 'drain', listener: () => void): unknown
}

/**
 * Raises `signal` once the logger's last lines ("gateway closed") are written. pino's default
 * destination writes to stdout off the main thread, and `flush()` does not wait for a write already
 * under way: a signal raised at once ended the process before that write, and the line was lost.
 */
function raiseAfterFlush(logger: Logger, signal: NodeJS.Signals): void {
  let raised = false
  const raise = (): void => {
    if (raised) return
    raised = true
    clearTimeout(timer)
    process.kill(process.pid, signal)
  }
  const timer = setTimeout(raise, FLUSH_WAIT)
  const destination = (logger as unknown as Record<symbol, Destination | undefined>)[symbols.streamSym]
  if (destination?._writing === true && typeof destination.once === 'function') {
    destination.once('drain', raise)
    return
  }
  try {
    logger.flush(raise)
  } catch {
    raise()
  }
}
