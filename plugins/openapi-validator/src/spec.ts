import { ConfigError } from '@gatehousejs/sdk'
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

/**
 * Reads the description (a path, or the document itself) and bundles the files its `$ref`s point at.
 * OpenAPI 3.0's schema dialect is brought to JSON Schema (`nullable`, boolean `exclusiveMinimum`), so
 * one ajv compiles both versions. A bad file is a ConfigError at /config/spec.
 */
export async function loadSpec(spec: string | Obj): Promise<LoadedSpec> {
  let doc: Obj
  try {
    doc = (await bundle((typeof spec === 'string' ? spec : structuredClone(spec)) as never, {
      resolve: { file: true, external: true },
    })) as unknown as Obj
  } catch (err) {
    throw new ConfigError([
      {
        pointer: '/config/spec',
        message: `cannot read the OpenAPI description: ${(err as Error).message.split('\n')[0]}`,
      },
    ])
  }
  const v = String(doc.openapi ?? doc.swagger ?? '')
  const version = v.startsWith('3.1') ? '3.1' : v.startsWith('3.0') ? '3.0' : undefined
  if (version === undefined)
    throw new ConfigError([
      {
        pointer: '/config/spec',
        message: `OpenAPI ${v || '(no version)'} is not supported: give an OpenAPI 3.0 or 3.1 description (convert Swagger 2.0 first)`,
      },
    ])
  if (!isObject(doc.paths))
    throw new ConfigError([{ pointer: '/config/spec', message: 'the description has no paths' }])
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
  return { doc, version, at }
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
