// The gateway for the JSON→gRPC benchmark (scripts/bench/grpc.mjs): examples/grpc's gateway (built),
// logger off, in front of the gRPC service at UPSTREAM_URL. Prints `listening on <url>`; SIGTERM/SIGINT
// close it gracefully.
import { buildGateway } from '../../examples/grpc/dist/gateway.js'

const gateway = await buildGateway(process.env.UPSTREAM_URL, { logger: false })
const url = await gateway.listen({
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
})
console.log(`gatehouse listening on ${url}`)
