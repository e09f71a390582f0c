import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'
import bcrypt from 'bcryptjs'

/**
 * Password hashes as basic-auth reads them from config:
 *
 * - scrypt, in the PHC string format: `$scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>`,
 *   salt and hash in base64 without padding (what `@phc/scrypt` and `hashPassword` write);
 * - bcrypt: `$2a$`, `$2b$` or `$2y$` with a cost from 04 to 31 (what `htpasswd -B`, `bcrypt` and
 *   `bcryptjs` write). Checked with bcryptjs.
 */
export type PasswordHash =
  | {
      readonly kind: 'scrypt'
      readonly ln: number
      readonly r: number
      readonly p: number
      readonly salt: Buffer
      readonly hash: Buffer
    }
  | { readonly kind: 'bcrypt'; readonly encoded: string }

const SCRYPT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/

/** Bounds that keep one check from taking the gateway's memory or minutes of CPU. */
export const SCRYPT_LIMITS = { ln: [10, 20], r: [1, 32], p: [1, 16], salt: 8, hash: 16 } as const

/** Parses a configured hash; a string describing what is wrong when it is not one we accept. */
export function parseHash(encoded: string): PasswordHash | string {
  if (BCRYPT.test(encoded)) return { kind: 'bcrypt', encoded }
  if (encoded.startsWith('$2'))
    return 'not a valid bcrypt hash ($2a$/$2b$/$2y$, cost 04-31, 53 characters after it)'
  const m = SCRYPT.exec(encoded)
  if (!m) {
    return encoded.startsWith('$scrypt$')
      ? 'not a valid scrypt hash: expected $scrypt$ln=<n>,r=<n>,p=<n>$<base64 salt>$<base64 hash>'
      : 'must be a password hash ($scrypt$... or bcrypt $2b$...), not a plain password; make one with gatehouse-basic-auth-hash'
  }
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const salt = Buffer.from(m[4]!, 'base64')
  const hash = Buffer.from(m[5]!, 'base64')
  const { ln: LN, r: R, p: P } = SCRYPT_LIMITS
  if (ln < LN[0] || ln > LN[1]) return `scrypt ln must be from ${LN[0]} to ${LN[1]}, got ${ln}`
  if (r < R[0] || r > R[1]) return `scrypt r must be from ${R[0]} to ${R[1]}, got ${r}`
  if (p < P[0] || p > P[1]) return `scrypt p must be from ${P[0]} to ${P[1]}, got ${p}`
  if (salt.length < SCRYPT_LIMITS.salt) return `scrypt salt must be at least ${SCRYPT_LIMITS.salt} bytes`
  if (hash.length < SCRYPT_LIMITS.hash) return `scrypt hash must be at least ${SCRYPT_LIMITS.hash} bytes`
  return { kind: 'scrypt', ln, r, p, salt, hash }
}

function scryptOptions(ln: number, r: number, p: number): ScryptOptions {
  const N = 2 ** ln
  // Node refuses work above `maxmem` (32 MiB by default); scrypt needs about 128 * N * r * p bytes.
  return { N, r, p, maxmem: 128 * N * r * p + 1024 * 1024 }
}

function scryptAsync(
  password: string | Buffer,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

/**
 * Whether `password` matches. scrypt runs on libuv's thread pool, off the event loop, and its result is
 * compared in constant time; bcryptjs compares in constant time and yields between rounds.
 */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  if (stored.kind === 'bcrypt') return bcrypt.compare(password, stored.encoded)
  const derived = await scryptAsync(
    password,
    stored.salt,
    stored.hash.length,
    scryptOptions(stored.ln, stored.r, stored.p),
  )
  return timingSafeEqual(derived, stored.hash)
}

export interface HashOptions {
  algorithm?: 'scrypt' | 'bcrypt'
  /** scrypt: log2 of N (default 15); bcrypt: the cost (default 12). */
  cost?: number
}

/**
 * Makes a hash to put in config as a basic-auth `password`.
 *
 * @example
 * await hashPassword('correct horse battery staple') // '$scrypt$ln=15,r=8,p=1$...$...'
 */
export async function hashPassword(password: string, options: HashOptions = {}): Promise<string> {
  if (typeof password !== 'string' || password === '')
    throw new TypeError('the password must be a non-empty string')
  if (options.algorithm === 'bcrypt') {
    if (Buffer.byteLength(password) > 72)
      throw new RangeError('bcrypt uses only the first 72 bytes of a password: use scrypt for longer ones')
    return bcrypt.hash(password, options.cost ?? 12)
  }
  const ln = options.cost ?? 15
  const [min, max] = SCRYPT_LIMITS.ln
  if (!Number.isInteger(ln) || ln < min || ln > max)
    throw new RangeError(`scrypt cost (ln) must be an integer from ${min} to ${max}`)
  const salt = randomBytes(16)
  const hash = await scryptAsync(password, salt, 32, scryptOptions(ln, 8, 1))
  return `$scrypt$ln=${ln},r=8,p=1$${b64(salt)}$${b64(hash)}`
}

function b64(buf: Buffer): string {
  return buf.toString('base64').replace(/=+$/, '')
}
