import { Size, type Static, Type } from '@gatehousejs/sdk'
import {
  TransformJsonTypes,
  TransformJsonValueMap,
  TransformNameList,
  TransformRenameMap,
  type TransformTarget,
  TransformValueMap,
} from '@gatehousejs/sdk/transform'

const headers: TransformTarget = { kind: 'headers', what: 'the response headers' }
const body: TransformTarget = { kind: 'json', what: 'the JSON response body' }

const op = { additionalProperties: false, default: {} } as const

/** A status code, or a class of them (`5xx`). */
const STATUS_KEY = '^[1-5]([0-9]{2}|xx)$'

/**
 * The `response-transformer` configuration, shaped like Kong's: one object per operation over
 * `headers` and `body` (Kong's `json`), run in the order remove, rename, replace, add, append; plus a
 * status-code mapping. Every field is optional, so `{}` is valid (and does nothing).
 */
export const ResponseTransformerSchema = Type.Object(
  {
    remove: Type.Object(
      { headers: TransformNameList(headers), body: TransformNameList(body) },
      { ...op, description: 'First: fields removed' },
    ),
    rename: Type.Object(
      { headers: TransformRenameMap(headers), body: TransformRenameMap(body) },
      { ...op, description: 'Second: fields renamed (old → new), when present' },
    ),
    replace: Type.Object(
      {
        headers: TransformValueMap('replace', headers),
        body: TransformJsonValueMap('replace', body),
        jsonTypes: TransformJsonTypes(),
      },
      { ...op, description: 'Third: values replaced, only where the field is present' },
    ),
    add: Type.Object(
      {
        headers: TransformValueMap('add', headers),
        body: TransformJsonValueMap('add', body),
        jsonTypes: TransformJsonTypes(),
      },
      { ...op, description: 'Fourth: values added, only where the field is absent' },
    ),
    append: Type.Object(
      {
        headers: TransformValueMap('append', headers),
        body: TransformJsonValueMap('append', body),
        jsonTypes: TransformJsonTypes(),
      },
      { ...op, description: 'Last: values appended, always (another header value, an array item)' },
    ),
    status: Type.Record(Type.String({ pattern: STATUS_KEY }), Type.Integer({ minimum: 100, maximum: 599 }), {
      propertyNames: { pattern: STATUS_KEY },
      default: {},
      description:
        'Upstream status → status sent to the client, e.g. { "404": 200, "5xx": 503 }; an exact code wins over its class. Upstream responses only',
    }),
    bodyLimit: Type.Optional(
      Size({
        description:
          "Largest decoded body transformed; a larger one passes through unchanged. Default: the gateway's limits.responseBody (1 MiB), which also caps this",
      }),
    ),
  },
  { additionalProperties: false },
)

export type ResponseTransformerConfig = Static<typeof ResponseTransformerSchema>
