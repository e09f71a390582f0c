/**
 * The parts of undici core uses, loaded from their own files: its Pool (with the Client, connector and
 * llhttp parser it needs), the request API on every dispatcher (`pool.request()`, for mirrored copies),
 * and its header parser. undici's index also loads fetch, WebSocket, the caches, the mock agents and
 * the other dispatchers, none of which a gateway uses: about 3 MiB of heap and 5 MiB of RSS that every
 * gateway process kept for nothing (docs/benchmarks.md, `bench:heap`). undici is pinned to a patch
 * range in package.json, so these paths do not move under us; every proxy test goes through them.
 */
import type { Pool as UndiciPool } from 'undici'
import api from 'undici/lib/api/index.js'
import undiciUtil from 'undici/lib/core/util.js'
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js'
import PoolClass from 'undici/lib/dispatcher/pool.js'

// What undici's index does when it loads: the request API becomes methods of every dispatcher. The
// same functions whether or not the index is loaded too (CommonJS caches each file once).
Object.assign(Dispatcher.prototype, api)

export const Pool: typeof UndiciPool = PoolClass
export type Pool = UndiciPool
/** undici's raw header list to the object its `request()` makes (lower-case names, repeats as arrays). */
export const parseHeaders = undiciUtil.parseHeaders
