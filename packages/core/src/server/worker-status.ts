import { redactConfig } from '../config/redact.js'
import { instanceSummaries } from '../config/summaries.js'
import type { Generation } from '../model.js'
import {
  checkStores,
  configHash,
  type Readiness,
  type StatusOptions,
  type StatusSource,
  statusBody,
  type WorkerStatus,
} from './status.js'

/**
 * One gateway process's own status, as `gateway.status()`, `gateway.readiness()` and its status
 * listener report it: its state (`starting` until it listens, `draining` from shutdown or close on,
 * then `closed`), the requests it served, and the running configuration's generation and hash.
 */
export class GatewayStatus {
  state: WorkerStatus['state'] = 'starting'
  served = 0
  private readonly createdAt = performance.now()
  private readonly hashes = new WeakMap<Generation, string>()

  constructor(
    private readonly current: () => Generation,
    private readonly options: StatusOptions | undefined,
  ) {}

  /** The proxy listens: ready, unless closing began first. */
  listening(): void {
    if (this.state === 'starting') this.state = 'ready'
  }

  /** Shutdown or close began: readiness answers 503 from now on. */
  draining(): void {
    if (this.state !== 'closed') this.state = 'draining'
  }

  status(): WorkerStatus {
    const gen = this.current()
    let hash = this.hashes.get(gen)
    if (hash === undefined) {
      hash = configHash(redactConfig(gen.config, instanceSummaries(gen)))
      this.hashes.set(gen, hash)
    }
    const plugins = new Map<string, string>()
    for (const inst of gen.instances) plugins.set(inst.def.name, inst.def.version)
    return {
      pid: process.pid,
      state: this.state,
      uptime: Math.round((performance.now() - this.createdAt) / 100) / 10,
      config: { generation: gen.id, hash },
      requests: { served: this.served },
      plugins: [...plugins].map(([name, version]) => ({ name, version })),
    }
  }

  /** Ready only when listening, not draining, and every required store answers. */
  async readiness(): Promise<Readiness> {
    const reasons: string[] = []
    if (this.state === 'draining' || this.state === 'closed')
      reasons.push('draining: the gateway is shutting down')
    else if (this.state === 'starting') reasons.push('not listening yet')
    if (reasons.length === 0) {
      reasons.push(...(await checkStores(this.options?.require ?? [], this.options?.checkTimeout)))
    }
    return { ready: reasons.length === 0, reasons }
  }

  /** What this gateway's status listener serves: itself as the only worker. */
  source(): StatusSource {
    return {
      status: async () => {
        const self = this.status()
        const r = await this.readiness()
        return statusBody([self], r.ready, self.uptime, this.options?.fleet?.())
      },
      ready: () => this.readiness(),
    }
  }
}
