import { Duration, HeaderName, type Static, Type } from '@gatehousejs/sdk'

/** One HTTP → gRPC mapping, in the shape of a `google.api.http` rule. */
export const GrpcRuleSchema = Type.Object(
  {
    rpc: Type.String({
      minLength: 1,
      description: 'The method of `service` this rule calls, as named in the .proto file (e.g. `GetUser`)',
    }),
    method: Type.Union(
      ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => Type.Literal(m)),
      { description: 'The HTTP method of the rule' },
    ),
    path: Type.String({
      pattern: '^/',
      description:
        'The client path, with `{field}` or `{field.sub}` for one segment bound to a request field, e.g. `/v1/users/{id}`',
    }),
    body: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          '`*`: the JSON body is the whole request message; a field name: the JSON body is that field. Absent: no body is read, and query parameters fill the fields not bound by the path',
      }),
    ),
    responseBody: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Answer with this field of the response message instead of the whole message',
      }),
    ),
    stream: Type.Optional(
      Type.Union([Type.Literal('ndjson'), Type.Literal('sse')], {
        description: 'For a server-streaming method: overrides the plugin-wide `stream` for this rule',
      }),
    ),
  },
  { additionalProperties: false },
)

/** The `grpc` plugin's configuration. */
export const GrpcSchema = Type.Object(
  {
    proto: Type.String({
      minLength: 1,
      description: 'The .proto file that defines `service` (relative to the working directory)',
    }),
    includeDirs: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        "Directories searched for the files the .proto file imports, before the .proto file's own directory",
    }),
    service: Type.String({
      minLength: 1,
      description: 'The fully qualified gRPC service, e.g. `demo.users.v1.Users`',
    }),
    target: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Where the gRPC service listens: `host:port` or `http://host:port` (plaintext), `https://host:port` (TLS). Default: the service url of the route (`http` plaintext, `https` TLS)',
      }),
    ),
    caFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'PEM file of the CA that signed a TLS target (default: the system roots)',
      }),
    ),
    timeout: Type.Optional(
      Duration({
        description: "The call's deadline. Default: the route's read timeout (60 s unless configured)",
      }),
    ),
    rules: Type.Optional(
      Type.Array(GrpcRuleSchema, {
        minItems: 1,
        description:
          'The HTTP routes mapped to methods. A literal segment wins over a `{field}` at the same place; otherwise the first rule that matches. Default: the `google.api.http` annotations of the methods in the .proto file',
      }),
    ),
    stream: Type.Union([Type.Literal('ndjson'), Type.Literal('sse')], {
      default: 'ndjson',
      description:
        'How server-streaming methods answer: one JSON message per line (`application/x-ndjson`), or one server-sent event per message (`text/event-stream`)',
    }),
    forwardHeaders: Type.Array(HeaderName(), {
      default: [],
      description:
        'Request headers sent as gRPC metadata (as they are after other plugins ran, so `x-consumer-id` set by an auth plugin can be forwarded). The request id is always sent as `x-request-id`',
    }),
    responseHeaders: Type.Array(HeaderName(), {
      default: [],
      description: 'Response metadata (headers or trailers) copied to the HTTP response headers',
    }),
  },
  { additionalProperties: false },
)

export type GrpcConfig = Static<typeof GrpcSchema>
export type GrpcRule = Static<typeof GrpcRuleSchema>
