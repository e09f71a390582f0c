import { type Static, Type } from '@gatehousejs/sdk'

/** RFC 9110 §5.6.2: a field name is a token. */
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
/** RFC 9110 §5.5: no CR or LF, so a config cannot add a header of its own. */
const HEADER_VALUE = '^[\\t\\x20-\\x7e\\x80-\\xff]*$'

/** The `request-termination` plugin's configuration. */
export const RequestTerminationSchema = Type.Object(
  {
    statusCode: Type.Integer({
      minimum: 200,
      maximum: 599,
      default: 503,
      description: 'The status of the answer',
    }),
    message: Type.Optional(
      Type.String({
        description:
          'Sent as `{ "message": … }` (JSON). Default: a message for the status (e.g. "Service unavailable" for 503), or no body for statuses without one',
      }),
    ),
    body: Type.Optional(
      Type.String({ description: 'A raw body to send instead of `message`, with `contentType`' }),
    ),
    contentType: Type.String({
      pattern: HEADER_VALUE,
      minLength: 1,
      default: 'application/json; charset=utf-8',
      description: 'The `Content-Type` of `body`',
    }),
    headers: Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String({ pattern: HEADER_VALUE }), {
      default: {},
      propertyNames: { pattern: HEADER_NAME },
      description: 'More response headers, e.g. `{ "Retry-After": "3600" }` for maintenance',
    }),
    echo: Type.Boolean({
      default: false,
      description:
        'Answer with a JSON description of the request (method, path, headers, query, body) and the matched route and service, for debugging',
    }),
    trigger: Type.Optional(
      Type.String({
        pattern: HEADER_NAME,
        description:
          'Terminate only requests that carry a header or a query parameter of this name; all others pass through',
      }),
    ),
  },
  { additionalProperties: false },
)

export type RequestTerminationConfig = Static<typeof RequestTerminationSchema>
