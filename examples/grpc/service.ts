import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'

/**
 * The inventory service the gateway fronts: a plain grpc-js server that knows nothing about HTTP or
 * JSON. It keeps its items in memory; `Reserve` takes from the stock, `WatchStock` streams updates.
 */

const here = dirname(fileURLToPath(import.meta.url))
/** The .proto file, found from the sources and from `dist/` alike. */
export const PROTO_FILE = join(here, here.endsWith('dist') ? '..' : '.', 'proto', 'inventory.proto')

interface Item {
  sku: string
  name: string
  category: string
  priceCents: string
  inStock: number
}

function seed(): Map<string, Item> {
  return new Map(
    [
      {
        sku: 'bk-1',
        name: 'Structure and Interpretation of Computer Programs',
        category: 'CATEGORY_BOOKS',
        priceCents: '4500',
        inStock: 3,
      },
      {
        sku: 'bk-2',
        name: 'The Art of Computer Programming',
        category: 'CATEGORY_BOOKS',
        priceCents: '19900',
        inStock: 1,
      },
      { sku: 'tl-1', name: 'Soldering iron', category: 'CATEGORY_TOOLS', priceCents: '2999', inStock: 10 },
    ].map((i) => [i.sku, i]),
  )
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void

export function inventoryService(): grpc.Server {
  const items = seed()
  let reservations = 0
  const def = loadSync(PROTO_FILE, { keepCase: false, longs: String, enums: String, defaults: true })
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    shop: { inventory: { v1: { Inventory: { service: grpc.ServiceDefinition } } } }
  }

  const getItem: Unary<{ sku: string }, Item> = (call, cb) => {
    const item = items.get(call.request.sku)
    if (!item) return cb({ code: grpc.status.NOT_FOUND, details: `no item ${call.request.sku}` })
    cb(null, item)
  }
  const listItems: Unary<{ category: string; pageSize: number }, { items: Item[] }> = (call, cb) => {
    const { category, pageSize } = call.request
    const all = [...items.values()].filter(
      (i) => category === 'CATEGORY_UNSPECIFIED' || i.category === category,
    )
    cb(null, { items: pageSize > 0 ? all.slice(0, pageSize) : all })
  }
  const reserve: Unary<{ sku: string; reservation?: { quantity: number; customer: string } }, object> = (
    call,
    cb,
  ) => {
    const item = items.get(call.request.sku)
    const r = call.request.reservation
    if (!item) return cb({ code: grpc.status.NOT_FOUND, details: `no item ${call.request.sku}` })
    if (!r || r.quantity <= 0)
      return cb({ code: grpc.status.INVALID_ARGUMENT, details: 'quantity must be at least 1' })
    if (!call.metadata.get('x-customer-id').length)
      return cb({ code: grpc.status.UNAUTHENTICATED, details: 'who is reserving?' })
    if (r.quantity > item.inStock)
      return cb({ code: grpc.status.FAILED_PRECONDITION, details: `only ${item.inStock} left` })
    item.inStock -= r.quantity
    reservations++
    cb(null, {
      id: `r-${reservations}`,
      sku: item.sku,
      quantity: r.quantity,
      customer: r.customer,
      leftInStock: item.inStock,
    })
  }
  function watchStock(
    call: grpc.ServerWritableStream<{ sku: string; updates: number; intervalMs: number }, unknown>,
  ) {
    const item = items.get(call.request.sku)
    if (!item)
      return call.destroy({
        name: 'NotFound',
        message: '',
        code: grpc.status.NOT_FOUND,
        details: `no item ${call.request.sku}`,
      } as grpc.ServiceError)
    let left = call.request.updates || 3
    const timer = setInterval(() => {
      call.write({ sku: item.sku, inStock: item.inStock })
      if (--left === 0) {
        clearInterval(timer)
        call.end()
      }
    }, call.request.intervalMs || 100)
    call.on('cancelled', () => clearInterval(timer))
  }

  const server = new grpc.Server()
  server.addService(pkg.shop.inventory.v1.Inventory.service, { getItem, listItems, reserve, watchStock })
  return server
}

/** Binds `server` to `host:port` (port 0 picks a free one), plaintext, and resolves to the port. */
export function bind(server: grpc.Server, port = 0, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  )
}
