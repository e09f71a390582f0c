import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { ConfigIssue } from '@gatehousejs/sdk'
import type { GatewayConfig } from '@gatehousejs/sdk/config'
import { isPair, isScalar, isSeq, visit } from 'yaml'
import { type Position, parseYamlDoc } from './yaml-doc.js'

export type { Position }

/** A config file read from disk: the plain config plus what is needed to explain problems in it. */
export interface LoadedFile {
  /** Absolute path. */
  file: string
  config: GatewayConfig
  /** Maps a JSON pointer to its place in the file (the nearest existing ancestor when it is missing). */
  locate(pointer: string): Position | undefined
  /** JSON pointers of the values that came from `${ENV}`: shown as `[redacted]` wherever config is printed. */
  substituted: ReadonlySet<string>
}

/** A problem found while reading the file, before the config model is checked. */
export class FileError extends Error {
  readonly issues: ConfigIssue[]
  readonly file: string
  readonly positions: (Position | undefined)[]
  constructor(file: string, issues: ConfigIssue[], positions: (Position | undefined)[]) {
    super(issues.map((i) => i.message).join('; '))
    this.name = 'FileError'
    this.file = file
    this.issues = issues
    this.positions = positions
  }
}

// `${NAME}` or `${NAME:-default}`; `$${` writes a literal `${`.
const ENV_REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g
const ENV_SYNTAX = /\$\{(?![A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})/

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1')
}

/** Substitutes `${NAME}` references in one string; returns the names it could not resolve. */
export function substitute(
  value: string,
  env: NodeJS.ProcessEnv,
): { value: string; missing: string[]; bad: boolean } {
  const missing: string[] = []
  const bad = ENV_SYNTAX.test(value.replace(/\$\$\{/g, ''))
  const out = value.replace(ENV_REF, (whole, name: string | undefined, fallback: string | undefined) => {
    if (whole === '$${') return '${'
    const v = env[name as string]
    if (v !== undefined && v !== '') return v
    if (fallback !== undefined) return fallback
    missing.push(name as string)
    return ''
  })
  return { value: out, missing, bad }
}

/**
 * Reads a YAML or JSON gateway file (JSON is read by the same YAML 1.2 parser, so positions work for
 * both), substitutes `${ENV}` references in string values, and keeps a map from JSON pointers back to
 * line and column. Throws a FileError listing every syntax problem and every unset variable.
 */
export async function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedFile> {
  const { file, text } = await readConfigText(path)
  return parseConfigText(text, file, env)
}

/** The file's text as written (absolute path too); a file that cannot be read is a FileError. */
export async function readConfigText(path: string): Promise<{ file: string; text: string }> {
  const file = resolve(path)
  try {
    return { file, text: await readFile(file, 'utf8') }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(err)
    throw new FileError(file, [{ pointer: '', message: `cannot read ${file}: ${why}` }], [undefined])
  }
}

/** The same as loadConfigFile, from text already in memory (`file` is used for messages only). */
export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedFile {
  const { doc, pos, locate } = parseYamlDoc(text)
  if (doc.errors.length > 0) {
    throw new FileError(
      file,
      doc.errors.map((e) => ({ pointer: '', message: `syntax: ${e.message.split('\n')[0]}` })),
      doc.errors.map((e) => pos(e.pos[0])),
    )
  }

  const issues: ConfigIssue[] = []
  const positions: (Position | undefined)[] = []
  const substituted = new Set<string>()
  visit(doc, {
    Scalar(_key, node, path) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return
      // Keys are not substituted: only values (the scalar must be a pair's value or a sequence item).
      const parent = path[path.length - 1]
      if (isPair(parent) && parent.key === node) return
      const pointer = pointerOf(path, node)
      const r = substitute(node.value, env)
      const at = node.range ? pos(node.range[0]) : undefined
      if (r.bad) {
        issues.push({ pointer, message: 'bad ${...} reference: write ${NAME} or ${NAME:-default}' })
        positions.push(at)
      }
      for (const name of r.missing) {
        issues.push({
          pointer,
          message: `environment variable ${name} is not set (set it, or give a default: \${${name}:-value})`,
        })
        positions.push(at)
      }
      node.value = r.value
      substituted.add(pointer)
    },
  })
  if (issues.length > 0) throw new FileError(file, issues, positions)

  const config = (doc.toJS() ?? {}) as GatewayConfig
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new FileError(
      file,
      [{ pointer: '', message: 'the file must hold an object (services, routes, plugins, …)' }],
      [pos(0)],
    )
  }

  return { file, config, locate, substituted }
}

function pointerOf(path: readonly unknown[], node: unknown): string {
  const segments: string[] = []
  const chain = [...path, node]
  for (let i = 0; i < chain.length; i++) {
    const here = chain[i]
    const next = chain[i + 1]
    if (isPair(here) && isScalar(here.key)) segments.push(escapePointer(String(here.key.value)))
    else if (isSeq(here) && next !== undefined) segments.push(String(here.items.indexOf(next as never)))
  }
  return segments.length ? `/${segments.join('/')}` : ''
}
