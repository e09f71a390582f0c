// Mints an HS256 JWT for the example's consumer (the same bytes any JOSE library would produce).
import { createHmac } from 'node:crypto'

const b64 = (value) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** A token for `iss` (the consumer credential's key), valid for `seconds`. */
export function mintToken(secret, iss = 'mobile-app', seconds = 600) {
  const now = Math.floor(Date.now() / 1000)
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss, sub: 'demo-user', iat: now, exp: now + seconds })}`
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`
}

export const DEFAULT_SECRET = 'declarative-example-secret-change-me'
