// The files of undici that core loads on their own (./undici.ts): their types are undici's.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici'
  export default Pool
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  import { Dispatcher } from 'undici'
  export default Dispatcher
}
declare module 'undici/lib/api/index.js' {
  import { Dispatcher } from 'undici'

  const api: Pick<Dispatcher, 'request' | 'stream' | 'pipeline' | 'connect' | 'upgrade'>
  export default api
}
declare module 'undici/lib/core/util.js' {
  import { util } from 'undici'

  const parts: { parseHeaders: typeof util.parseHeaders }
  export default parts
}
