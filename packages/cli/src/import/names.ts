/** Gatehouse names match `^[A-Za-z0-9][A-Za-z0-9._~-]*$`: anything else becomes `-`. */
export function toName(raw: string, fallback: string): string {
  const s = raw
    .replace(/[^A-Za-z0-9._~-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-+$/, '')
  return s || fallback
}

/** Hands out names unique within one set: `users`, `users-2`, `users-3`. */
export class NameSet {
  private readonly used = new Set<string>()
  take(name: string): string {
    let n = name
    for (let i = 2; this.used.has(n); i++) n = `${name}-${i}`
    this.used.add(n)
    return n
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}
