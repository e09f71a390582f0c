import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Snapshot } from './snapshot.js'

/**
 * The last snapshot a node applied, kept on disk so the node can boot while Redis is down. Written
 * as a whole or not at all: a temporary file in the same directory, fsynced, renamed over the old
 * one (rename is atomic within a filesystem), then the directory fsynced so the rename survives a
 * power cut. A reader sees the old snapshot or the new one, never a torn file.
 */
export class SnapshotCache {
  readonly file: string
  constructor(readonly dir: string) {
    this.file = join(dir, 'snapshot.json')
  }

  async write(snapshot: Snapshot): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const tmp = join(this.dir, `.snapshot.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    const handle = await open(tmp, 'w', 0o600)
    try {
      await handle.writeFile(JSON.stringify(snapshot))
      await handle.sync()
    } finally {
      await handle.close()
    }
    try {
      await rename(tmp, this.file)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
    const dir = await open(this.dir, 'r')
    try {
      await dir.sync()
    } catch {
      // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
    } finally {
      await dir.close()
    }
  }

  /** The cached snapshot, or undefined when there is none (a malformed file is an error). */
  async read(): Promise<Snapshot | undefined> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    return JSON.parse(text) as Snapshot
  }
}
