import type { Logger } from 'pino'

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
      process.kill(process.pid, signal)
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
