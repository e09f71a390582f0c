import { Busboy } from '@fastify/busboy'
import type { CompiledMedia, FilePart } from './compile.js'
import type { Problem } from './errors.js'
import { toProblems } from './params.js'

/** One file part as received: its size and declared type (the bytes are counted, not kept). */
interface ReceivedFile {
  size: number
  type: string
}

interface Parsed {
  fields: Record<string, string | string[]>
  files: Map<string, ReceivedFile[]>
}

/**
 * Parses a buffered multipart/form-data body with busboy (the parser Fastify uses). Which parts are
 * files is the description's call, not the client's: a part named like a file property is counted as
 * a file whether or not it has a `filename`; any other part is a text field.
 */
function parseMultipart(raw: Buffer, contentType: string, fileNames: ReadonlySet<string>): Promise<Parsed> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string | string[]> = {}
    const files = new Map<string, ReceivedFile[]>()
    const bb = Busboy({
      headers: { 'content-type': contentType },
      isPartAFile: (name) => name !== undefined && fileNames.has(name),
      // The body is already bounded by the gateway's `limits.requestBody`: no part is cut short.
      limits: { fieldSize: raw.length, fileSize: raw.length },
    })
    bb.on('field', (name, value) => {
      const prior = fields[name]
      fields[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value]
    })
    bb.on('file', (name, stream, _filename, _encoding, mimeType) => {
      const file: ReceivedFile = { size: 0, type: mimeType.toLowerCase() }
      const list = files.get(name)
      if (list === undefined) files.set(name, [file])
      else list.push(file)
      stream.on('data', (chunk: Buffer) => {
        file.size += chunk.length
      })
    })
    bb.on('finish', () => resolve({ fields, files }))
    bb.on('error', reject)
    bb.end(raw)
  })
}

/** Whether `type` is in one of the media ranges (`image/png`, `image/*`, `*\/*`). */
function typeAllowed(type: string, ranges: readonly string[]): boolean {
  const slash = type.indexOf('/')
  const major = slash < 0 ? type : type.slice(0, slash)
  return ranges.some((r) => r === '*/*' || r === type || (r.endsWith('/*') && r.slice(0, -2) === major))
}

function checkFile(spec: FilePart, got: ReceivedFile[], problems: Problem[]): void {
  const pointer = `/${spec.name.replace(/~/g, '~0').replace(/\//g, '~1')}`
  if (!spec.many && got.length > 1) problems.push({ in: 'body', pointer, message: 'must be a single file' })
  for (const file of got) {
    if (spec.types !== undefined && !typeAllowed(file.type, spec.types))
      problems.push({
        in: 'body',
        pointer,
        message: `must be of type ${spec.types.join(', ')} (got ${file.type})`,
      })
    if (spec.maxBytes !== undefined && file.size > spec.maxBytes)
      problems.push({ in: 'body', pointer, message: `must NOT be larger than ${spec.maxBytes} bytes` })
    if (spec.minBytes !== undefined && file.size < spec.minBytes)
      problems.push({ in: 'body', pointer, message: `must NOT be smaller than ${spec.minBytes} bytes` })
  }
}

/**
 * Checks a multipart/form-data body against its media type: the fields by the fields' schema (text,
 * coerced like form values; JSON text for object properties), the file parts by presence (the
 * schema's `required`), size and content type.
 */
export async function checkMultipart(
  media: CompiledMedia,
  raw: Buffer,
  contentType: string,
  problems: Problem[],
): Promise<void> {
  const files = media.files ?? []
  let parsed: Parsed
  try {
    parsed = await parseMultipart(raw, contentType, new Set(files.map((f) => f.name)))
  } catch (err) {
    problems.push({
      in: 'body',
      pointer: '',
      message: `is not valid multipart/form-data: ${(err as Error).message}`,
    })
    return
  }
  const data: Record<string, unknown> = { ...parsed.fields }
  for (const name of media.jsonFields ?? []) {
    const v = data[name]
    try {
      if (typeof v === 'string') data[name] = JSON.parse(v)
      else if (Array.isArray(v)) data[name] = v.map((x) => JSON.parse(x))
    } catch {
      problems.push({ in: 'body', pointer: `/${name}`, message: 'must be JSON' })
      delete data[name]
    }
  }
  for (const spec of files) {
    const got = parsed.files.get(spec.name)
    if (got === undefined) continue
    data[spec.name] = true
    checkFile(spec, got, problems)
  }
  if (media.validate !== undefined && !media.validate(data))
    problems.push(...toProblems('body', undefined, media.validate.errors))
}
