import { bundle } from '@readme/openapi-parser'
import { isObject } from './names.js'
import { ImportError, readSource, type SourceFile } from './source.js'

type Obj = Record<string, unknown>

export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

/** An API description read and bundled: external `$ref`s pulled in, internal ones kept (and resolved on use). */
export interface Spec {
  file: string
  doc: Obj
  /** `2.0`, `3.0` or `3.1`. */
  version: '2.0' | '3.0' | '3.1'
  /** Follows internal `$ref`s (`#/…`) until a value that is not a reference. */
  deref<T = unknown>(value: T): T
}

/**
 * Reads an OpenAPI 3.0/3.1 or Swagger 2.0 file (YAML or JSON) and bundles the files its `$ref`s point
 * at (@readme/openapi-parser). A syntax error, a missing version field or a `$ref` to a missing file is
 * an ImportError located in the file.
 */
export async function readSpec(path: string): Promise<Spec> {
  const source: SourceFile = await readSource(path)
  const raw = source.data
  const fail = (pointer: string, message: string): never => {
    throw new ImportError(source.file, [{ pointer, message, position: source.locate(pointer) }])
  }
  if (!isObject(raw)) fail('', 'an API description is an object with openapi (or swagger) and paths')
  const doc0 = raw as Obj
  const v =
    typeof doc0.openapi === 'string'
      ? doc0.openapi
      : typeof doc0.swagger === 'string'
        ? doc0.swagger
        : undefined
  if (v === undefined) fail('', 'not an OpenAPI description: no openapi (3.0, 3.1) or swagger (2.0) field')
  const version = /^3\.1\./.test(v as string)
    ? '3.1'
    : /^3\.0\./.test(v as string)
      ? '3.0'
      : v === '2.0'
        ? '2.0'
        : undefined
  if (version === undefined)
    fail(
      typeof doc0.openapi === 'string' ? '/openapi' : '/swagger',
      `version ${v} is not supported (OpenAPI 3.0, 3.1, Swagger 2.0)`,
    )
  if (!isObject(doc0.paths)) fail('/paths', 'paths must be an object (of path templates)')
  let doc: Obj
  try {
    doc = (await bundle(source.file, { resolve: { file: true, external: true } })) as unknown as Obj
  } catch (err) {
    const e = err as Error & { path?: string; source?: string; footprint?: string }
    const message = e.message.split('\n')[0] ?? String(err)
    const m = /"([^"]*#[^"]*)"/.exec(message)
    throw new ImportError(source.file, [
      { pointer: '', message: `cannot resolve a $ref: ${message}${m ? '' : ''}`, position: undefined },
    ])
  }
  function deref<T>(value: T): T {
    let v: unknown = value
    for (let hops = 0; isObject(v) && typeof v.$ref === 'string' && hops < 32; hops++) {
      const ref = v.$ref as string
      if (!ref.startsWith('#')) return v as T
      let node: unknown = doc
      for (const s of ref
        .slice(2)
        .split('/')
        .filter((x) => x !== '')) {
        const key = decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~')
        node = isObject(node) || Array.isArray(node) ? (node as Obj)[key] : undefined
      }
      v = node
    }
    return v as T
  }
  return { file: source.file, doc, version: version as Spec['version'], deref }
}
