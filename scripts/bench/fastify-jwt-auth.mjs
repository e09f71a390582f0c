// The JWT check of the Fastify benchmark gateways (fastify-jwt.mjs, fastify-policy.mjs): @fastify/jwt
// (fast-jwt) verifying the benchmark's HS256 Bearer token in an application-level onRequest hook,
// 401 otherwise. Application-level hooks run before route-level ones (such as @fastify/rate-limit's),
// so later hooks see `request.user`.
import jwt from '@fastify/jwt'
import { BENCH_JWT_ISSUER, BENCH_JWT_SECRET } from './jwt.mjs'

/** @param {import('fastify').FastifyInstance} app */
export async function registerJwtAuth(app) {
  await app.register(jwt, {
    secret: BENCH_JWT_SECRET,
    verify: { algorithms: ['HS256'], allowedIss: BENCH_JWT_ISSUER },
  })
  app.addHook('onRequest', async (request, reply) => {
    try {
      await request.jwtVerify()
    } catch {
      return reply.code(401).send({ code: 'UNAUTHORIZED' })
    }
  })
}
