import type { ConfigIssue } from '@gatehousejs/sdk'
import { bundle } from '@readme/openapi-parser'

type Obj = Record<string, unknown>

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A description bundled into one document, with `$ref`s resolved on demand and their JSON pointers kept. */
export interface LoadedSpec {
  doc: Obj
  version: '3.0' | '3.1'
  /** Follows `$ref`s from `pointer`; returns the value and the pointer it was found at. */
  at(pointer: string): { value: unknown; pointer: string }
}

export function escapeSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1')
}

function get(doc: Obj, pointer: string): unknown {
  let node: unknown = doc
  for (const s of pointer.split('/').slice(1)) {
    const key = decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~')
    node = isObject(node) || Array.isArray(node) ? (node as Obj)[key] : undefined
  }
  return node
}

/** What {@link readSpec} found: the description, or the problems with it (at `/config/spec`). */
export interface SpecRead {
  spec?: LoadedSpec
  issues: ConfigIssue[]
  /** Offline, the description is (or `$ref`s) a URL: only `check` (a network read) can tell. */
  remote?: true
}

const REMOTE = /^https?:\/\//i

/**
 * Reads the description (a path, or the document itself) and bundles the files its `$ref`s point at.
 * OpenAPI 3.0's schema dialect is brought to JSON Schema (`nullable`, boolean `exclusiveMinimum`), so
 * one ajv compiles both versions. A bad description is an issue at /config/spec. `offline` (the
 * plugin's `validate`): files are read, URLs are not, and a description that needs one is `remote`.
 */
export async function readSpec(spec: string | Obj, options: { offline?: boolean } = {}): Promise<SpecRead> {
  const issue = (message: string): SpecRead => ({ issues: [{ pointer: '/config/spec', message }] })
  if (options.offline && typeof spec === 'string' && REMOTE.test(spec)) return { issues: [], remote: true }
  let doc: Obj
  try {
    // json-schema-ref-parser takes `http: false` (no URL is read); @readme/openapi-parser's types leave it out.
    const resolve = { file: true, external: true, ...(options.offline ? { http: false } : {}) } as object
    doc = (await bundle((typeof spec === 'string' ? spec : structuredClone(spec)) as never, {
      resolve,
    })) as unknown as Obj
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]!
    // With no HTTP resolver, a URL `$ref` is "Unable to resolve $ref pointer \"http…\"".
    if (options.offline && /\$ref pointer "https?:\/\//i.test(message)) return { issues: [], remote: true }
    return issue(`cannot read the OpenAPI description: ${message}`)
  }
  const v = String(doc.openapi ?? doc.swagger ?? '')
  const version = v.startsWith('3.1') ? '3.1' : v.startsWith('3.0') ? '3.0' : undefined
  if (version === undefined)
    return issue(
      `OpenAPI ${v || '(no version)'} is not supported: give an OpenAPI 3.0 or 3.1 description (convert Swagger 2.0 first)`,
    )
  if (!isObject(doc.paths)) return issue('the description has no paths')
  if (version === '3.0') normalise30(doc, new Set())
  function at(pointer: string): { value: unknown; pointer: string } {
    let p = pointer
    let value = get(doc, p)
    for (
      let hops = 0;
      isObject(value) && typeof value.$ref === 'string' && value.$ref.startsWith('#') && hops < 32;
      hops++
    ) {
      p = value.$ref.slice(1)
      value = get(doc, p)
    }
    return { value, pointer: p }
  }
  return { spec: { doc, version, at }, issues: [] }
}

/** OpenAPI 3.0 schema keywords → JSON Schema: `nullable: true`, boolean exclusive bounds. */
function normalise30(node: unknown, seen: Set<unknown>): void {
  if (!isObject(node) && !Array.isArray(node)) return
  if (seen.has(node)) return
  seen.add(node)
  if (Array.isArray(node)) {
    for (const item of node) normalise30(item, seen)
    return
  }
  if (node.nullable === true) {
    if (typeof node.type === 'string') node.type = [node.type, 'null']
    if (Array.isArray(node.enum) && !node.enum.includes(null)) node.enum = [...node.enum, null]
    delete node.nullable
  }
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof node[flag] === 'boolean') {
      if (node[flag] === true && typeof node[bound] === 'number') {
        node[flag] = node[bound]
        delete node[bound]
      } else delete node[flag]
    }
  }
  for (const value of Object.values(node)) normalise30(value, seen)
}
