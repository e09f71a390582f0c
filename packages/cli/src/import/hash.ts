import { randomBytes, scryptSync } from 'node:crypto'

/**
 * A password hash in the format basic-auth reads (`$scrypt$ln=15,r=8,p=1$<salt>$<hash>`, base64 without
 * padding): Kong files hold basic-auth passwords in clear, a Gatehouse file holds only their hash.
 */
export function scryptHash(password: string, ln = 15): string {
  const salt = randomBytes(16)
  const N = 2 ** ln
  const hash = scryptSync(password, salt, 32, { N, r: 8, p: 1, maxmem: 128 * N * 8 + 1024 * 1024 })
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '')
  return `$scrypt$ln=${ln},r=8,p=1$${b64(salt)}$${b64(hash)}`
}
