import { HeaderName, type Static, Type } from '@gatehousejs/sdk'

/** RFC 9110 §5.6.2: a field name is a token. */
const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
/**
 * RFC 9110 §5.5: a field value is visible characters, spaces and tabs. CR and LF are refused here, at
 * load, so a config can never smuggle a second header into a request.
 */
const HEADER_VALUE = '^[\\t\\x20-\\x7e\\x80-\\xff]*$'

function HeaderMap(description: string) {
  return Type.Record(
    Type.String({ pattern: HEADER_NAME }),
    Type.String({ pattern: HEADER_VALUE, description: 'The header value' }),
    {
      default: {},
      description,
      // Refuses a key that is not a header name (patternProperties alone would let it through).
      propertyNames: { pattern: HEADER_NAME },
    },
  )
}

/** The `template` plugin's configuration. Every field has a default, so `{}` is a valid config. */
export const TemplateSchema = Type.Object(
  {
    upstreamHeaders: HeaderMap(
      'Headers set on the request sent upstream, replacing any the client sent under the same name',
    ),
    responseHeaders: HeaderMap(
      'Headers set on every response to the client (from the upstream, a plugin or an error), replacing any the response had',
    ),
    requiredHeaders: Type.Array(
      HeaderName({ description: 'A request header name; matched case-insensitively' }),
      {
        default: [],
        uniqueItems: true,
        description: `Request headers that must be present and non-empty; otherwise the request ends with 400 GH_TEMPLATE_HEADER_REQUIRED`,
      },
    ),
  },
  { additionalProperties: false },
)

export type TemplateConfig = Static<typeof TemplateSchema>
