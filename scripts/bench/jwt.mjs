// The JWT both benchmark gateways verify (scripts/bench/fastify-jwt.mjs and
// examples/bench-gateway.js --jwt): HS256 with one shared secret, valid for a day from import. Each
// process builds its own token; any of them verifies against the same secret and issuer.
import { createHmac } from 'node:crypto'

export const BENCH_JWT_SECRET = 'gatehouse-bench-secret-0123456789abcdef'
export const BENCH_JWT_ISSUER = 'bench-client'

function part(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** A token like a login would hand out: iss (the credential key), sub, iat, exp. */
export function benchToken() {
  const iat = Math.floor(Date.now() / 1000)
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ iss: BENCH_JWT_ISSUER, sub: 'user-1', iat, exp: iat + 86_400 })}`
  return `${input}.${createHmac('sha256', BENCH_JWT_SECRET).update(input).digest('base64url')}`
}
