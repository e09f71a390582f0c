import type tls from 'node:tls'
import type { TlsConfig } from '@gatehousejs/sdk/config'
import type { Logger } from 'pino'
import { applyTls, baseDirOf, type LoadedTls, loadTls, type TlsState, watchCertificates } from './tls.js'

/**
 * The certificates a running TLS listener serves: swapped in on reload, and read again when their
 * files change (renewal), each time watching the files of the set in use.
 */
export class Certificates {
  private stopWatching: (() => void) | undefined

  constructor(
    private readonly server: tls.Server,
    private readonly state: TlsState,
    private readonly logger: Logger,
    /** The running configuration's `tls` section and the file it came from. */
    private readonly running: () => { tls: TlsConfig | undefined; file: string | undefined },
  ) {
    this.use(state.current)
  }

  /** Reads the running configuration's certificates again; a bad one throws and the current ones stay. */
  reload(): void {
    const { tls, file } = this.running()
    if (tls === undefined) return
    this.use(loadTls(structuredClone(tls), baseDirOf(file)))
  }

  /** Serves `loaded` from now on (the server was built with the first ones) and watches its files. */
  use(loaded: LoadedTls): void {
    if (loaded !== this.state.current) applyTls(this.server, this.state, loaded)
    this.stop()
    if (loaded.watch && loaded.files.length > 0) {
      this.stopWatching = watchCertificates(loaded.files, this.logger, () => {
        try {
          this.reload()
          this.logger.info('TLS certificates reloaded')
        } catch (err) {
          this.logger.error({ err }, 'TLS certificates not reloaded; the previous ones stay')
        }
      })
    }
  }

  /** Stops watching the files. */
  stop(): void {
    this.stopWatching?.()
    this.stopWatching = undefined
  }
}
