import { HeaderName, type Static, Type } from '@gatehousejs/sdk'

/** RFC 9110 §9.1: a method is a token; CORS compares methods case-sensitively, so upper case here. */
const METHOD = '^[A-Z][A-Z0-9_-]*$'

/** Kong's default `methods`: every method a preflight may ask for. */
export const DEFAULT_METHODS = [
  'GET',
  'HEAD',
  'PUT',
  'PATCH',
  'POST',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
]

/** The `cors` plugin's configuration. Every field has a default, so `{}` allows any origin. */
export const CorsSchema = Type.Object(
  {
    origins: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Allowed origins. Each is `*` (any), an exact origin (`https://app.example.com`), a wildcard subdomain (`https://*.example.com`) or a regular expression (any entry with characters other than letters, digits, `.`, `:`, `/` and `-`; anchored at both ends; matched against the host alone when it has no `:`). Empty means any origin',
    }),
    methods: Type.Array(Type.String({ pattern: METHOD }), {
      default: DEFAULT_METHODS,
      uniqueItems: true,
      description: 'Methods a preflight allows (`Access-Control-Allow-Methods`)',
    }),
    headers: Type.Optional(
      Type.Array(HeaderName({ description: 'A request header name' }), {
        uniqueItems: true,
        description:
          'Request headers a preflight allows (`Access-Control-Allow-Headers`). Left out: the headers the preflight asks for (`Access-Control-Request-Headers`) are allowed, like Kong',
      }),
    ),
    exposedHeaders: Type.Array(HeaderName({ description: 'A response header name' }), {
      default: [],
      uniqueItems: true,
      description: 'Response headers scripts may read (`Access-Control-Expose-Headers`)',
    }),
    credentials: Type.Boolean({
      default: false,
      description:
        'Send `Access-Control-Allow-Credentials: true`. With any origin allowed, the request’s origin is reflected instead of `*`, which browsers refuse with credentials',
    }),
    maxAge: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'Seconds a browser may cache a preflight answer (`Access-Control-Max-Age`)',
      }),
    ),
    preflightContinue: Type.Boolean({
      default: false,
      description:
        'Pass preflight requests to the upstream instead of answering them, and add no CORS headers to their responses',
    }),
    preflightStatus: Type.Union([Type.Literal(200), Type.Literal(204)], {
      default: 200,
      description: 'The status of a preflight answer',
    }),
    privateNetwork: Type.Boolean({
      default: false,
      description:
        'Answer `Access-Control-Request-Private-Network: true` with `Access-Control-Allow-Private-Network: true` (Private Network Access)',
    }),
    preflightBeforeRouting: Type.Boolean({
      default: false,
      description:
        'Global instances only: answer every preflight in `rewrite`, before routing, with this instance’s config, so routes whose `methods` leave out OPTIONS get preflights answered too. Route, service and consumer instances are then not used for preflights',
    }),
  },
  { additionalProperties: false },
)

export type CorsConfig = Static<typeof CorsSchema>
