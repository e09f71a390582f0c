import { createRequire } from 'node:module'
import type { CodeKeywordDefinition, Options } from 'ajv'
import { normaliseGatehouse } from './normalise.js'

/**
 * The options of core's ajv instance, shared by the one compiling plugins' schemas at run time
 * (ajv.ts) and the one compiling the gateway's own schemas at build time (scripts/write-validators.ts),
 * so both report the same errors. `useDefaults` fills defaults in; `verbose` puts the schema node on each
 * error, which the messages read (did-you-mean hints, pattern forms).
 */
export const AJV_OPTIONS: Options = {
  allErrors: true,
  verbose: true,
  useDefaults: true,
  strict: 'log',
  // `if`/`then` that makes a field required in one case (`then: { required: ['url'] }`, the field
  // declared beside it) is idiomatic JSON Schema, not a mistake to print at every start.
  strictRequired: false,
  allowUnionTypes: true,
}

/**
 * The `gatehouse` keyword, as generated code rather than a validate function, so that it also works in
 * ajv's standalone code (the gateway's own schemas, compiled at build time: scripts/write-validators.ts).
 * It rewrites the value in its parent (a root value has none and stays as it is), then reads it back
 * into the data variable, as ajv does for a modifying keyword, so the keywords after it see the
 * normalised value. It never fails: the field's own schema says what is wrong.
 */
export const gatehouseKeyword: CodeKeywordDefinition = {
  keyword: 'gatehouse',
  schemaType: 'string',
  code(cxt) {
    // Runs only while ajv compiles, so ajv is loaded already: a gateway that compiles nothing never loads it.
    const { _ } = createRequire(import.meta.url)('ajv') as typeof import('ajv')
    const { gen, data, schema, it } = cxt
    const normalise = gen.scopeValue('func', {
      ref: normaliseGatehouse,
      code: _`require("./normalise.js").normaliseGatehouse`,
    })
    gen.if(_`${it.parentData} !== undefined`, () => {
      gen.assign(_`${it.parentData}[${it.parentDataProperty}]`, _`${normalise}(${schema}, ${data})`)
      gen.assign(data, _`${it.parentData}[${it.parentDataProperty}]`)
    })
  },
}
