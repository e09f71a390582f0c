import { dirname, resolve } from 'node:path'
import { loadSync, type MethodDefinition, type PackageDefinition } from '@grpc/proto-loader'

/**
 * proto-loader options that give JSON-friendly objects, as protobuf's JSON mapping (and grpc-gateway)
 * does: 64-bit integers and enums as strings, bytes as base64, unset fields with their defaults,
 * lowerCamelCase field names, and the set member of a oneof named.
 */
export const LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  oneofs: true,
} as const

/** One field of a message, as the descriptor in the package definition describes it. */
export interface FieldInfo {
  readonly name: string
  /** `TYPE_STRING`, `TYPE_INT64`, `TYPE_MESSAGE`, … */
  readonly type: string
  readonly repeated: boolean
  /** For messages and enums: the fully qualified type name. */
  readonly typeName: string | undefined
}

interface DescriptorField {
  name: string
  type: string
  label: string
  typeName: string
}
interface Descriptor {
  field?: DescriptorField[]
  value?: { name: string; number: number }[]
  options?: { mapEntry?: boolean } | null
}

export type AnyMethod = MethodDefinition<object, object>

/** snake_case → lowerCamelCase, the way protobuf.js names fields when `keepCase` is off. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

/** Loads a .proto file and answers questions about its messages. Throws what the loader threw. */
export class ProtoSchema {
  readonly definition: PackageDefinition
  private readonly fields = new Map<string, Map<string, FieldInfo>>()

  /** Imports resolve against `includeDirs`, then the file's own directory (as `protoc -I` would). */
  constructor(file: string, includeDirs: string[]) {
    this.definition = loadSync(file, {
      ...LOADER_OPTIONS,
      includeDirs: [...includeDirs, dirname(resolve(file))],
    })
  }

  /** The methods of a service, or `undefined` when the name is no service. */
  service(name: string): Record<string, AnyMethod> | undefined {
    const s = this.definition[name] as Record<string, unknown> | undefined
    if (s === undefined || 'format' in s) return undefined
    return s as unknown as Record<string, AnyMethod>
  }

  /** The fields of a message type, by lowerCamelCase name. */
  messageFields(typeName: string): Map<string, FieldInfo> {
    let map = this.fields.get(typeName)
    if (map !== undefined) return map
    map = new Map()
    const d = this.descriptor(typeName)
    for (const f of d?.field ?? []) {
      const typeName2 = f.typeName ? this.resolve(typeName, f.typeName) : undefined
      map.set(f.name, {
        name: f.name,
        type: f.type,
        repeated: f.label === 'LABEL_REPEATED',
        typeName: typeName2,
      })
    }
    this.fields.set(typeName, map)
    return map
  }

  /** A field of a message by its proto name (snake_case) or its JSON name (lowerCamelCase). */
  field(typeName: string, name: string): FieldInfo | undefined {
    const fields = this.messageFields(typeName)
    return fields.get(name) ?? fields.get(camelCase(name))
  }

  /** Whether a message type is a map entry (`map<K, V>` fields are repeated entries on the wire). */
  isMapEntry(typeName: string): boolean {
    return this.descriptor(typeName)?.options?.mapEntry === true
  }

  /** An enum's value names. */
  enumValues(typeName: string): Set<string> {
    return new Set((this.descriptor(typeName)?.value ?? []).map((v) => v.name))
  }

  /**
   * The fully qualified name of a method's request or response message. proto-loader gives the
   * method a copy of the type's descriptor without its package: the definition entry with the same
   * short name and the same descriptor is that type (the service's own package first).
   */
  typeOf(service: string, method: AnyMethod, which: 'request' | 'response'): string | undefined {
    const t = (which === 'request' ? method.requestType : method.responseType) as unknown as {
      type: Descriptor & { name: string }
    }
    const json = JSON.stringify(t.type)
    const pkg = service.slice(0, service.lastIndexOf('.') + 1)
    const found: string[] = []
    for (const key of Object.keys(this.definition)) {
      if (key !== t.type.name && !key.endsWith(`.${t.type.name}`)) continue
      if (JSON.stringify(this.descriptor(key)) === json) found.push(key)
    }
    return found.find((k) => k === pkg + t.type.name) ?? found[0]
  }

  private descriptor(typeName: string): Descriptor | undefined {
    const entry = this.definition[typeName] as { format?: string; type?: Descriptor } | undefined
    return entry?.format === undefined ? undefined : entry.type
  }

  /** Protobuf scoping: a relative name is looked up from the innermost scope outwards. */
  private resolve(scope: string, name: string): string | undefined {
    if (name.startsWith('.')) return name.slice(1)
    const parts = scope.split('.')
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), name].join('.')
      if (this.definition[candidate] !== undefined) return candidate
    }
    return undefined
  }
}
