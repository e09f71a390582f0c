import { type Static, Type } from '@gatehousejs/sdk'

/** The `openapi-validator` plugin's configuration. Only `spec` is required. */
export const OpenApiValidatorSchema = Type.Object(
  {
    spec: Type.Union([Type.String({ minLength: 1 }), Type.Record(Type.String(), Type.Unknown())], {
      description:
        'The OpenAPI 3.0/3.1 description: a file path (YAML or JSON, relative to the working directory; `$ref`s to other files are followed) or the document itself',
    }),
    basePath: Type.Optional(
      Type.String({
        pattern: '^/',
        description:
          'The path prefix of every operation on the gateway; default the path of the first `servers` URL',
      }),
    ),
    unknownOperation: Type.Union([Type.Literal('reject'), Type.Literal('pass')], {
      default: 'reject',
      description:
        'A request that matches no operation: `reject` answers 404 GH_OPENAPI_OPERATION_NOT_FOUND (405 GH_OPENAPI_METHOD_NOT_ALLOWED for a known path), `pass` lets it through unchecked',
    }),
    maxProblems: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 10,
      description: 'The most problems listed in a 400 answer',
    }),
    validateBody: Type.Boolean({
      default: true,
      description:
        'Check request bodies (JSON, url-encoded and multipart forms; other media types only by content type). Makes the gateway buffer request bodies on these routes',
    }),
    scopes: Type.Union([Type.Literal('enforce'), Type.Literal('off')], {
      default: 'enforce',
      description:
        "Check the scopes an operation's `oauth2`/`openIdConnect` security requirements list against the token's (`scope`/`scp` claims left by the jwt or openid-connect plugin): `enforce` answers 403 GH_OPENAPI_INSUFFICIENT_SCOPE when no alternative is met, `off` leaves scopes unchecked",
    }),
    responses: Type.Union([Type.Literal('off'), Type.Literal('report'), Type.Literal('enforce')], {
      default: 'off',
      description:
        'Check JSON responses against the operation: `report` logs each invalid response (warn) and counts it, `enforce` also replaces it with 502 GH_OPENAPI_RESPONSE_INVALID. Buffers response bodies',
    }),
  },
  { additionalProperties: false },
)

export type OpenApiValidatorConfig = Static<typeof OpenApiValidatorSchema>
