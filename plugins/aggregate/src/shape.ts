import { type DotPath, deletePath, expandPath, getPath, hasPath, setPath } from '@gatehousejs/sdk/transform'
import type { Shape } from './plan.js'

/**
 * Shapes one call's JSON result as KrakenD does, in this order: `target` (take a sub-document), `allow`
 * (keep only these paths), `deny` (drop these), `mapping` (rename). On an array result, `allow`,
 * `deny` and `mapping` apply to each element.
 */
export function shapeResult(doc: unknown, shape: Shape): unknown {
  let value = shape.target === undefined ? doc : getPath(doc, shape.target)
  if (Array.isArray(value)) return value.map((el) => shapeDocument(el, shape))
  value = shapeDocument(value, shape)
  return value
}

function shapeDocument(doc: unknown, shape: Shape): unknown {
  if (doc === null || typeof doc !== 'object') return doc
  let out = doc
  if (shape.allow !== undefined) out = pick(out, shape.allow)
  for (const path of shape.deny) {
    // From the last match back, so deleting an array element does not shift the ones still to delete.
    for (const p of expandPath(out, path).reverse()) deletePath(out, p)
  }
  for (const [from, to] of shape.mapping) {
    if (!hasPath(out, from.segments)) continue
    const v = getPath(out, from)
    deletePath(out, from.segments)
    setPath(out, to.segments, v)
  }
  return out
}

function pick(doc: object, paths: readonly DotPath[]): object {
  const out = Array.isArray(doc) ? [] : {}
  for (const path of paths) {
    for (const p of expandPath(doc, path)) {
      if (hasPath(doc, p)) setPath(out, p, structuredClone(getPath(doc, p)))
    }
  }
  return out
}

/**
 * Merges shaped results into one object, in the order the calls are declared: a result with `group`
 * goes under that key; an array under its `collection` key; an object's fields are merged (a later
 * call's field replaces an earlier one's); any other value goes under the call's name.
 */
export function mergeInto(merged: Record<string, unknown>, name: string, value: unknown, shape: Shape): void {
  if (shape.group !== undefined) merged[shape.group] = value
  else if (Array.isArray(value)) merged[shape.collection] = value
  else if (value !== null && typeof value === 'object') Object.assign(merged, value)
  else if (value !== undefined) merged[name] = value
}
