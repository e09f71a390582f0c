import type { Headers } from '@gatehousejs/sdk'
import { HeaderRequired } from './errors.js'

/** Header pairs with lower-case names, the form every `ctx.*.headers` object uses. */
export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>

/** Turns a configured `{ Name: value }` map into a list, once at `init` rather than per request. */
export function headerList(map: Readonly<Record<string, string>>): HeaderList {
  return Object.entries(map).map(([name, value]) => [name.toLowerCase(), value] as const)
}

/** Throws GH_TEMPLATE_HEADER_REQUIRED for the first required header that is absent or empty. */
export function requireHeaders(headers: Readonly<Headers>, required: readonly string[]): void {
  for (const name of required) {
    const value = headers[name]
    const present = Array.isArray(value) ? value.some((v) => v.trim() !== '') : !!value?.trim()
    if (!present) throw HeaderRequired(name)
  }
}

/** Sets each header, replacing whatever value was there. */
export function setHeaders(target: Headers, list: HeaderList): void {
  for (const [name, value] of list) target[name] = value
}
