import { Duration, type Static, Type } from '@gatehousejs/sdk'

/** RFC 9110 §5.6.2: a field name is a token. */
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
/** RFC 9110 §5.5: no CR or LF, so a config cannot add a header of its own. */
const HEADER_VALUE = '^[\\t\\x20-\\x7e\\x80-\\xff]*$'
const CALL_NAME = '^[A-Za-z_][A-Za-z0-9_-]*$'

/** The client headers a call gets when its `headers` is not set: credentials and correlation. */
export const DEFAULT_PASSED_HEADERS = [
  'authorization',
  'cookie',
  'x-request-id',
  'traceparent',
  'tracestate',
  'accept-language',
]

const DotPaths = (description: string) =>
  Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description }))

export const CallSchema = Type.Object(
  {
    name: Type.String({
      pattern: CALL_NAME,
      description:
        'Names the call in `dependsOn`, in templates (`$(calls.<name>.body.id)`) and in the failure list',
    }),
    service: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Send to this service, through its global and service-scoped plugins; `path` is relative to the service URL',
      }),
    ),
    route: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Or: run this gateway route with its whole plugin chain (auth, limits, cache, transforms); `path` is a gateway path of that route',
      }),
    ),
    method: Type.Union(
      ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((m) => Type.Literal(m)),
      { default: 'GET', description: 'The call’s method' },
    ),
    path: Type.String({
      pattern: '^/',
      description:
        'Path and query template: `/users/$(params.id)?lang=$(query.lang)`; also `$(headers.x)`, `$(consumer.username)` and earlier calls’ results `$(calls.user.body.teamId)`. Values are percent-encoded',
    }),
    headers: Type.Array(Type.String({ pattern: HEADER_NAME }), {
      default: DEFAULT_PASSED_HEADERS,
      description:
        'Client headers passed to the call (by name). Hop-by-hop and body headers (`host`, `connection`, `content-length`, `content-type`, `transfer-encoding`, …) are refused',
    }),
    setHeaders: Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String({ pattern: HEADER_VALUE }), {
      default: {},
      propertyNames: { pattern: HEADER_NAME },
      description:
        'Headers set on the call, as templates: `{ "x-client": "mobile", "x-user": "$(consumer.id)" }`',
    }),
    body: Type.Optional(
      Type.String({
        description: 'A body template, sent as JSON (`{"id": "$(params.id)"}`); values are JSON-escaped',
      }),
    ),
    dependsOn: Type.Array(Type.String({ pattern: CALL_NAME }), {
      default: [],
      description:
        'Calls that must succeed first. Calls named in the templates (`$(calls.<name>…)`) are added; the others run in parallel',
    }),
    required: Type.Boolean({
      default: false,
      description: 'If this call fails, the whole response fails (502 GH_AGGREGATE_FAILED)',
    }),
    timeout: Type.Optional(
      Duration({
        description: 'This call’s own timeout (`500ms`, `2s`); the total budget `timeout` bounds it too',
      }),
    ),
    target: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Keep only this dot path of the result (`data`, `data.user`)',
      }),
    ),
    allow: DotPaths('Keep only these dot paths of the result (`id`, `items[*].name`)'),
    deny: DotPaths('Remove these dot paths from the result (`password`, `items[*].internal`)'),
    mapping: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
      default: {},
      description: 'Rename fields: `{ "blog": "posts", "user.fullName": "user.name" }` (dot paths)',
    }),
    group: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Nest the result under this key of the merged object instead of merging its fields',
      }),
    ),
    collection: Type.String({
      minLength: 1,
      default: 'collection',
      description:
        'The key a JSON array result is nested under when it has no `group` (an array cannot be merged field by field)',
    }),
  },
  { additionalProperties: false },
)

export const AggregateSchema = Type.Object(
  {
    calls: Type.Array(CallSchema, { minItems: 1, description: 'The calls whose results make the response' }),
    timeout: Duration({
      default: '10s',
      description: 'Total budget: calls not finished by then count as failed (timed out)',
    }),
    errorsKey: Type.String({
      minLength: 1,
      default: '_errors',
      description: 'The key of the list of failed calls in a partial response',
    }),
    merge: Type.Optional(
      Type.String({
        description:
          'The name of a merge function registered in code with `aggregatePlugin({ merges })`, used instead of the declarative merge',
      }),
    ),
    responseHeaders: Type.Record(
      Type.String({ pattern: HEADER_NAME }),
      Type.String({ pattern: HEADER_VALUE }),
      {
        default: {},
        propertyNames: { pattern: HEADER_NAME },
        description: 'Headers of the aggregated response, e.g. `{ "cache-control": "max-age=30" }`',
      },
    ),
  },
  { additionalProperties: false },
)

export type AggregateConfig = Static<typeof AggregateSchema>
export type CallConfig = Static<typeof CallSchema>
