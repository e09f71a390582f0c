// The gRPC service for the JSON→gRPC benchmark (scripts/bench/grpc.mjs): the inventory service of
// examples/grpc (built), plaintext on HOST:PORT (default 127.0.0.1:0). Prints `listening on <host:port>`.
import { bind, inventoryService } from '../../examples/grpc/dist/service.js'

const server = inventoryService()
const port = await bind(server, Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1')
console.log(`grpc listening on ${process.env.HOST ?? '127.0.0.1'}:${port}`)
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => server.forceShutdown())
