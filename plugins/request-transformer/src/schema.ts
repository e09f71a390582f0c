import { type Static, Type } from '@gatehousejs/sdk'
import {
  TransformJsonTypes,
  TransformJsonValueMap,
  TransformNameList,
  TransformRenameMap,
  type TransformTarget,
  TransformValueMap,
} from '@gatehousejs/sdk/transform'

const headers: TransformTarget = { kind: 'headers', what: 'the upstream request headers' }
const query: TransformTarget = { kind: 'flat', what: 'the upstream query string' }
const body: TransformTarget = { kind: 'json', what: 'the request body (JSON or a url-encoded form)' }

const op = { additionalProperties: false, default: {} } as const

/**
 * The `request-transformer` configuration, shaped like Kong's: one object per operation, each over
 * `headers`, `query` and `body`. Operations run in a fixed order: remove, rename, replace, add, append.
 * Every field is optional, so `{}` is valid (and does nothing).
 */
export const RequestTransformerSchema = Type.Object(
  {
    httpMethod: Type.Optional(
      Type.String({
        pattern: '^[A-Z][A-Z0-9_-]*$',
        description: 'The method sent upstream instead of the client\'s (Kong\'s http_method), e.g. "POST"',
      }),
    ),
    uriPattern: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A regular expression matched against the request path; its groups are $(captures.1), $(captures.name) in `replace.uri`. When it does not match, the path is left alone',
      }),
    ),
    remove: Type.Object(
      { headers: TransformNameList(headers), query: TransformNameList(query), body: TransformNameList(body) },
      { ...op, description: 'First: fields removed' },
    ),
    rename: Type.Object(
      {
        headers: TransformRenameMap(headers),
        query: TransformRenameMap(query),
        body: TransformRenameMap(body),
      },
      { ...op, description: 'Second: fields renamed (old → new), when present' },
    ),
    replace: Type.Object(
      {
        headers: TransformValueMap('replace', headers),
        query: TransformValueMap('replace', query),
        body: TransformJsonValueMap('replace', body),
        jsonTypes: TransformJsonTypes(),
        uri: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'The whole upstream path (Kong\'s replace.uri), a template: e.g. "/v2/users/$(params.id)". Replaces the path after strip-path and the service\'s base path',
          }),
        ),
      },
      { ...op, description: 'Third: values replaced, only where the field is present; and the path' },
    ),
    add: Type.Object(
      {
        headers: TransformValueMap('add', headers),
        query: TransformValueMap('add', query),
        body: TransformJsonValueMap('add', body),
        jsonTypes: TransformJsonTypes(),
      },
      { ...op, description: 'Fourth: values added, only where the field is absent' },
    ),
    append: Type.Object(
      {
        headers: TransformValueMap('append', headers),
        query: TransformValueMap('append', query),
        body: TransformJsonValueMap('append', body),
        jsonTypes: TransformJsonTypes(),
      },
      {
        ...op,
        description:
          'Last: values appended, always (another header value, a repeated parameter, an array item)',
      },
    ),
  },
  { additionalProperties: false },
)

export type RequestTransformerConfig = Static<typeof RequestTransformerSchema>
