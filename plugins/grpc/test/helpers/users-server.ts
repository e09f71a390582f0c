import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpcJs from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import type { Test } from 'tap'

export const PROTO = fileURLToPath(new URL('../fixtures/users.proto', import.meta.url))

/** One call the server received: the method, the request message and the metadata as plain values. */
export interface ReceivedCall {
  method: string
  request: Record<string, unknown>
  metadata: Record<string, unknown>
}

type Handler = (call: grpcJs.ServerUnaryCall<any, any>, cb: grpcJs.sendUnaryData<any>) => void

const ADA = {
  id: '1',
  displayName: 'Ada Lovelace',
  role: 'ROLE_ADMIN',
  createdAtMs: '9007199254740993',
  tags: ['math'],
  address: { city: 'London', countryCode: 'GB' },
  active: true,
}

/**
 * A real grpc-js server for demo.users.v1.Users on 127.0.0.1, port 0, stopped at the test's end. It
 * records every call, sends `x-served-by` as initial metadata and `x-cost` as a trailer. With `tls`,
 * it serves TLS (its `target` is then `https://…`).
 */
export async function startUsersServer(
  t: Test,
  tls?: { cert: string; key: string },
): Promise<{ target: string; port: number; calls: ReceivedCall[]; cancelled: number }> {
  const def = loadSync(PROTO, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    includeDirs: [dirname(PROTO)],
  })
  const pkg = grpcJs.loadPackageDefinition(def) as any
  const calls: ReceivedCall[] = []
  const state = { target: '', port: 0, calls, cancelled: 0 }
  const server = new grpcJs.Server()

  function record(method: string, call: { request?: unknown; metadata: grpcJs.Metadata }) {
    calls.push({
      method,
      request: (call.request ?? {}) as Record<string, unknown>,
      metadata: call.metadata.getMap(),
    })
  }
  function answer(call: grpcJs.ServerUnaryCall<any, any>, cb: grpcJs.sendUnaryData<any>, value: unknown) {
    call.sendMetadata(new grpcJs.Metadata())
    const trailer = new grpcJs.Metadata()
    trailer.set('x-cost', '3')
    cb(null, value, trailer)
  }
  const served = (call: grpcJs.ServerUnaryCall<any, any> | grpcJs.ServerWritableStream<any, any>) => {
    const md = new grpcJs.Metadata()
    md.set('x-served-by', 'users-1')
    call.sendMetadata(md)
  }

  const getUser: Handler = (call, cb) => {
    record('GetUser', call)
    served(call)
    if (call.request.id === 'missing')
      return cb({ code: grpcJs.status.NOT_FOUND, details: `user ${call.request.id} not found` })
    const trailer = new grpcJs.Metadata()
    trailer.set('x-cost', '3')
    cb(null, { ...ADA, id: call.request.id }, trailer)
  }
  const listUsers: Handler = (call, cb) => {
    record('ListUsers', call)
    answer(call, cb, { users: [ADA, { id: '2', displayName: 'Alan Turing' }], total: 2 })
  }
  const createUser: Handler = (call, cb) => {
    record('CreateUser', call)
    answer(call, cb, { ...call.request.user, id: '42' })
  }
  const updateUser: Handler = (call, cb) => {
    record('UpdateUser', call)
    answer(call, cb, call.request.user)
  }
  const fail: Handler = (call, cb) => {
    record('Fail', call)
    const { code = 0, message = '', delayMs = 0 } = call.request
    setTimeout(() => cb({ code, details: message }), delayMs)
  }
  function watchUsers(call: grpcJs.ServerWritableStream<any, any>) {
    record('WatchUsers', call)
    served(call)
    const count = call.request.pageSize ?? 3
    if (count < 0) {
      call.emit('error', { code: grpcJs.status.PERMISSION_DENIED, details: 'not allowed to watch' })
      return
    }
    let i = 0
    const timer = setInterval(
      () => {
        if (call.cancelled) return clearInterval(timer)
        if (i === count) {
          clearInterval(timer)
          if (call.request.activeOnly)
            call.emit('error', { code: grpcJs.status.UNAVAILABLE, details: 'lost the feed' })
          else call.end()
          return
        }
        i++
        call.write({ id: String(i), displayName: `user ${i}`, role: 'ROLE_MEMBER' })
      },
      Number(call.request.sinceMs ?? 0) || 20,
    )
    call.on('cancelled', () => {
      state.cancelled++
      clearInterval(timer)
    })
  }

  server.addService(pkg.demo.users.v1.Users.service, {
    getUser,
    listUsers,
    createUser,
    updateUser,
    fail,
    watchUsers,
    upload: (_call: unknown, cb: grpcJs.sendUnaryData<unknown>) => cb({ code: grpcJs.status.UNIMPLEMENTED }),
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(tls), (err, p) => (err ? reject(err) : resolve(p))),
  )
  t.teardown(() => server.forceShutdown())
  state.target = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`
  state.port = port
  return state
}

function serverCredentials(tls: { cert: string; key: string } | undefined): grpcJs.ServerCredentials {
  if (tls === undefined) return grpcJs.ServerCredentials.createInsecure()
  return grpcJs.ServerCredentials.createSsl(null, [
    { cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) },
  ])
}
