import { Duration, HeaderName, Secret, Size, type Static, Type } from '@gatehousejs/sdk'
import { REDIS_CONNECTION_NAME } from '@gatehousejs/sdk/redis'

/** The RFC 9110 §15.1 statuses that are heuristically cacheable: stored by default. */
export const DEFAULT_STATUSES = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]

const StoreSchema = Type.Object(
  {
    maxSize: Size({
      default: '64mb',
      description:
        'The most bytes (bodies plus headers) the in-process LRU holds (without `redis`); the least recently used go first',
    }),
  },
  { additionalProperties: false, default: {}, description: 'The in-process store' },
)

const PurgeSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Answer `PURGE <path>` requests on the routes this instance covers (the admin endpoints and the programmatic API work either way)',
    }),
    method: Type.String({
      default: 'PURGE',
      pattern: '^[A-Z]+$',
      description: 'The HTTP method that purges (the route must accept it)',
    }),
    token: Type.Optional(
      Secret({
        minLength: 16,
        description: 'A purge request must carry `Authorization: Bearer <token>`',
      }),
    ),
    groups: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      uniqueItems: true,
      description: 'Or: the consumer identified by an auth plugin must be in one of these groups',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'HTTP purge (`PURGE /path`, `PURGE /prefix*`, or by tag)',
  },
)

/** The `cache` plugin's configuration. Every field has a default, so `{}` is a valid config. */
export const CacheSchema = Type.Object(
  {
    redis: Type.Optional(
      Type.String({
        pattern: REDIS_CONNECTION_NAME,
        description:
          'Keep entries in Redis, shared by every gateway node (they expire on their own): the name of a connection in the top-level `redis` section (docs/redis.md). While Redis is down, requests bypass the cache. Without it, entries live in this process',
      }),
    ),
    store: StoreSchema,
    methods: Type.Array(Type.Union([Type.Literal('GET'), Type.Literal('HEAD')]), {
      default: ['GET', 'HEAD'],
      uniqueItems: true,
      minItems: 1,
      description:
        'Methods answered from the cache. HEAD is answered from a stored GET response; other methods are never cached',
    }),
    statuses: Type.Array(Type.Integer({ minimum: 200, maximum: 599 }), {
      default: DEFAULT_STATUSES,
      uniqueItems: true,
      minItems: 1,
      description: 'Upstream statuses that may be stored (still subject to Cache-Control)',
    }),
    contentTypes: Type.Array(
      Type.String({ pattern: '^[a-zA-Z0-9!#$&^_.+-]+/([a-zA-Z0-9!#$&^_.+-]+|\\*)$' }),
      {
        default: [],
        uniqueItems: true,
        description:
          'Media types that may be stored (`application/json`, `text/*`); empty: any. Parameters such as charset are ignored',
      },
    ),
    maxBodySize: Size({
      default: '1mb',
      description:
        'Larger bodies are not stored (nor are bodies over the gateway’s `limits.responseBody`, which are streamed unread)',
    }),
    defaultTtl: Duration({
      default: 0,
      description:
        'Freshness given to a storable response with no Cache-Control and no Expires. 0 (default): such responses are stored only if the RFC’s heuristics allow (Last-Modified)',
    }),
    keepStale: Duration({
      default: '5m',
      description:
        'How long an entry with a validator (ETag or Last-Modified) is kept after it went stale, to be revalidated with a conditional request (304) instead of fetched again',
    }),
    query: Type.Object(
      {
        include: Type.Optional(
          Type.Array(Type.String({ minLength: 1 }), {
            uniqueItems: true,
            description: 'Only these query parameters are part of the key (others are ignored)',
          }),
        ),
        ignore: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          uniqueItems: true,
          description: 'Query parameters left out of the key (e.g. `utm_source`)',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description:
          'The query part of the key: parameters are sorted, so `?b=1&a=2` and `?a=2&b=1` share an entry',
      },
    ),
    consumerIsolation: Type.Boolean({
      default: true,
      description:
        'Give each consumer its own entries: when an auth plugin identified a consumer before the lookup, its id is part of the key. Routes without auth are unaffected. `false`: consumers share entries, and requests with Authorization follow RFC 9111 §3.5 (shared only when the response says `public`, `s-maxage` or `must-revalidate`)',
    }),
    requestCacheControl: Type.Boolean({
      default: true,
      description:
        'Honour the client’s Cache-Control (`no-cache`, `max-age`, `min-fresh`, `max-stale`, `only-if-cached`, `no-store`). `false` ignores it, as nginx and Kong do by default',
    }),
    storeSetCookie: Type.Boolean({
      default: false,
      description:
        'Store responses that set cookies, without their Set-Cookie header (which is never replayed). Default: such responses are not stored',
    }),
    coalesce: Type.Boolean({
      default: true,
      description:
        'Concurrent misses for the same key wait for the first one’s upstream response instead of each asking the upstream',
    }),
    coalesceTimeout: Duration({
      default: '5s',
      description: 'How long a coalesced request waits before asking the upstream itself',
    }),
    targetedCacheControl: Type.Optional(
      HeaderName({
        description:
          'A targeted cache-control field (RFC 9213) this cache obeys instead of Cache-Control and Expires when the response carries it with a valid value, e.g. `CDN-Cache-Control` or `Gatehouse-Cache-Control`. Its value is a Structured Fields Dictionary (`max-age=600, stale-while-revalidate=30`). Default: none',
      }),
    ),
    forwardTargetedCacheControl: Type.Boolean({
      default: false,
      description:
        'Pass the targeted field on to clients (for a downstream CDN that obeys it too). Default: removed once this cache has obeyed it, as RFC 9213 §3 allows',
    }),
    tagHeader: HeaderName({
      default: 'cache-tag',
      description:
        'Upstream response header listing the entry’s tags (comma or space separated), for purge by tag',
    }),
    stripTagHeader: Type.Boolean({
      default: true,
      description: 'Remove the tag header from responses to clients',
    }),
    statusHeaders: Type.Boolean({
      default: true,
      description: 'Send `Cache-Status` (RFC 9211) and `X-Cache-Status: Hit|Miss|Bypass|Refresh|Stale`',
    }),
    cacheName: Type.String({
      default: 'gatehouse',
      pattern: '^[A-Za-z][A-Za-z0-9_.-]*$',
      description: 'The cache’s name in `Cache-Status`',
    }),
    purge: PurgeSchema,
  },
  { additionalProperties: false },
)

export type CacheConfig = Static<typeof CacheSchema>
