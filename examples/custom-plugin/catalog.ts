import http from 'node:http'

/**
 * A demo upstream that serves two versions of one API side by side, under `/v1` and `/v2`: the kind of
 * service the `api-version` plugin fronts. v2 renamed `title` to `name` and added `price`.
 */
const ITEMS = [
  { id: '7', title: 'Lamp', price: 30 },
  { id: '8', title: 'Desk', price: 120 },
]

const views: Record<string, (item: (typeof ITEMS)[number]) => object> = {
  v1: ({ id, title }) => ({ id, title }),
  v2: ({ id, title, price }) => ({ id, name: title, price }),
}

export function catalogService(): http.Server {
  return http.createServer(function serveCatalog(req, res) {
    const [, version = '', id] = new URL(req.url ?? '/', 'http://catalog').pathname.split('/')
    const view = views[version]
    const items = ITEMS.filter((i) => !id || i.id === id).map((i) => view?.(i))
    const [status, body] =
      view && items.length > 0 ? [200, { version, items }] : [404, { error: 'not found' }]
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  })
}

// `node dist/catalog.js` serves on http://localhost:3003, where `gateway.ts` expects it by default.
if (process.argv[1] === import.meta.filename) {
  catalogService().listen(3003, 'localhost', () => console.log('catalog on http://localhost:3003'))
}
