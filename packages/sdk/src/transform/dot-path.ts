/**
 * Dot paths into JSON documents: `user.address.city`, `items[0].name`, `items[*].secret`,
 * `meta["a.b"]`. Parsed once (at `init`), then used per request to read, set and delete.
 *
 * - A key is any run of characters other than `.`, `[` and `]`; quote it in brackets to use those
 *   (`a["x.y"]`, `a['x]']`, with `\` escaping the quote).
 * - `[n]` is an array index. A plain all-digit key (`items.0`) is an index when it meets an array and a
 *   key when it meets an object.
 * - `*` (or `[*]`) is every element of an array, or every value of an object.
 */

/** Matches every element of an array (or every value of an object). */
export const EVERY: unique symbol = Symbol('every')
export type PathSegment = string | number | typeof EVERY

export interface DotPath {
  /** The path as written. */
  readonly source: string
  readonly segments: readonly PathSegment[]
  /** How many `*` segments the path has. */
  readonly wildcards: number
}

/** A dot path that cannot be parsed; `message` says where. */
export class DotPathError extends SyntaxError {
  override readonly name = 'DotPathError'
}

const CANONICAL_INDEX = /^(0|[1-9][0-9]*)$/

/**
 * Parses a dot path. Throws a {@link DotPathError} for an empty path or segment, an unclosed bracket or
 * quote, or a bracket that holds neither an index, `*` nor a quoted key.
 *
 * @example parseDotPath('items[*].price').segments // ['items', EVERY, 'price']
 */
export function parseDotPath(source: string, options: { wildcards?: boolean } = {}): DotPath {
  const segments: PathSegment[] = []
  const fail = (why: string, at: number): never => {
    throw new DotPathError(`invalid path "${source}": ${why} at character ${at + 1}`)
  }
  if (source.length === 0) throw new DotPathError('invalid path "": it is empty')
  let i = 0
  let expectKey = true // at the start or right after a '.'
  while (i < source.length) {
    const ch = source[i]!
    if (ch === '[') {
      const end = bracket(source, i, fail)
      segments.push(end.segment)
      i = end.next
      expectKey = false
      if (i < source.length && source[i] !== '.' && source[i] !== '[') fail('expected "." or "["', i)
      if (source[i] === '.') {
        i++
        expectKey = true
        if (i === source.length) fail('a path cannot end with "."', i - 1)
      }
      continue
    }
    if (!expectKey) fail('expected "." or "["', i)
    let j = i
    while (j < source.length && source[j] !== '.' && source[j] !== '[') {
      if (source[j] === ']') fail('unexpected "]"', j)
      j++
    }
    if (j === i) fail('empty segment', i)
    const key = source.slice(i, j)
    segments.push(key === '*' ? EVERY : key)
    i = j
    expectKey = false
    if (source[i] === '.') {
      i++
      expectKey = true
      if (i === source.length) fail('a path cannot end with "."', i - 1)
    }
  }
  const wildcards = segments.filter((s) => s === EVERY).length
  if (wildcards > 0 && options.wildcards === false) {
    throw new DotPathError(`invalid path "${source}": "*" is not allowed here`)
  }
  return Object.freeze({ source, segments: Object.freeze(segments), wildcards })
}

function bracket(
  source: string,
  start: number,
  fail: (why: string, at: number) => never,
): { segment: PathSegment; next: number } {
  const quote = source[start + 1]
  if (quote === '"' || quote === "'") {
    let key = ''
    let j = start + 2
    while (j < source.length && source[j] !== quote) {
      if (source[j] === '\\' && j + 1 < source.length) j++
      key += source[j]
      j++
    }
    if (j >= source.length) fail('unclosed quote', start + 1)
    if (source[j + 1] !== ']') fail('expected "]" after the quoted key', j + 1)
    return { segment: key, next: j + 2 }
  }
  const close = source.indexOf(']', start)
  if (close < 0) fail('unclosed "["', start)
  const inner = source.slice(start + 1, close)
  if (inner === '*') return { segment: EVERY, next: close + 1 }
  if (!CANONICAL_INDEX.test(inner)) fail('a bracket holds an index, "*" or a quoted key', start)
  return { segment: Number(inner), next: close + 1 }
}

type Container = Record<string, unknown> | unknown[]

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value)
}

/** The array index a segment means for an array, or undefined when it means none. */
function indexOf(segment: PathSegment): number | undefined {
  if (typeof segment === 'number') return segment
  if (typeof segment === 'string' && CANONICAL_INDEX.test(segment)) return Number(segment)
  return undefined
}

function has(container: Container, segment: PathSegment): boolean {
  if (Array.isArray(container)) {
    const i = indexOf(segment)
    return i !== undefined && i < container.length
  }
  return typeof segment !== 'symbol' && Object.hasOwn(container, String(segment))
}

function read(container: Container, segment: PathSegment): unknown {
  if (Array.isArray(container)) {
    const i = indexOf(segment)
    return i === undefined ? undefined : container[i]
  }
  return typeof segment === 'symbol' ? undefined : (container as Record<string, unknown>)[String(segment)]
}

/** The parent container of a concrete path's last segment, or undefined when it does not exist. */
function parentOf(doc: unknown, segments: readonly PathSegment[]): Container | undefined {
  let cur = doc
  for (let i = 0; i < segments.length - 1; i++) {
    if (!isContainer(cur) || !has(cur, segments[i]!)) return undefined
    cur = read(cur, segments[i]!)
  }
  return isContainer(cur) ? cur : undefined
}

/**
 * The concrete paths a path stands for in `doc`: each `*` replaced by every index (or key) of the
 * container it meets, in order. A path without `*` stands for itself, whether or not it exists.
 */
export function expandPath(doc: unknown, path: DotPath | readonly PathSegment[]): PathSegment[][] {
  const segments = 'segments' in path ? path.segments : path
  let partial: Array<{ value: unknown; at: PathSegment[] }> = [{ value: doc, at: [] }]
  let last = 0
  for (let i = 0; i < segments.length; i++) {
    if (segments[i] !== EVERY) continue
    const next: typeof partial = []
    for (const p of partial) {
      let value = p.value
      const prefix = [...p.at, ...segments.slice(last, i)]
      let ok = true
      for (const seg of segments.slice(last, i)) {
        if (!isContainer(value) || !has(value, seg)) {
          ok = false
          break
        }
        value = read(value, seg)
      }
      if (!ok || !isContainer(value)) continue
      const keys = Array.isArray(value) ? value.map((_, k) => k) : Object.keys(value)
      for (const k of keys) next.push({ value: read(value, k), at: [...prefix, k] })
    }
    partial = next
    last = i + 1
  }
  return partial.map((p) => [...p.at, ...segments.slice(last)])
}

/** Whether a concrete path exists in `doc` (a `null` value exists). */
export function hasPath(doc: unknown, segments: readonly PathSegment[]): boolean {
  if (segments.length === 0) return true
  const parent = parentOf(doc, segments)
  return parent !== undefined && has(parent, segments[segments.length - 1]!)
}

/**
 * The value at a path, or undefined. A path with `*` returns the array of every match.
 *
 * @example getPath({ user: { tags: ['a', 'b'] } }, parseDotPath('user.tags[1]')) // 'b'
 */
export function getPath(doc: unknown, path: DotPath | readonly PathSegment[]): unknown {
  const segments = 'segments' in path ? path.segments : path
  if (segments.includes(EVERY)) {
    return expandPath(doc, segments)
      .filter((p) => hasPath(doc, p))
      .map((p) => getPath(doc, p))
  }
  let cur = doc
  for (const seg of segments) {
    if (!isContainer(cur)) return undefined
    cur = read(cur, seg)
  }
  return cur
}

/**
 * Sets the value at a concrete path, creating missing objects (or arrays, before an `[n]` segment) on
 * the way. Returns false, changing nothing, when the way is blocked by a value that is not a
 * container, or an index is past the end of its array (the end itself appends).
 */
export function setPath(doc: unknown, segments: readonly PathSegment[], value: unknown): boolean {
  if (segments.length === 0 || !isContainer(doc)) return false
  let cur: Container = doc
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!
    const lastSegment = i === segments.length - 1
    let key: string | number
    if (Array.isArray(cur)) {
      const idx = indexOf(seg)
      if (idx === undefined || idx > cur.length) return false
      key = idx
    } else {
      if (typeof seg === 'symbol') return false
      key = String(seg)
    }
    if (lastSegment) {
      ;(cur as Record<string | number, unknown>)[key] = value
      return true
    }
    let next = (cur as Record<string | number, unknown>)[key]
    if (next === undefined) {
      next = typeof segments[i + 1] === 'number' ? [] : {}
      ;(cur as Record<string | number, unknown>)[key] = next
    } else if (!isContainer(next)) {
      return false
    }
    cur = next as Container
  }
  return false
}

/** Deletes the value at a concrete path (an array element is spliced out). Returns whether it existed. */
export function deletePath(doc: unknown, segments: readonly PathSegment[]): boolean {
  if (segments.length === 0) return false
  const parent = parentOf(doc, segments)
  const seg = segments[segments.length - 1]!
  if (parent === undefined || !has(parent, seg)) return false
  if (Array.isArray(parent)) parent.splice(indexOf(seg)!, 1)
  else delete parent[String(seg)]
  return true
}
