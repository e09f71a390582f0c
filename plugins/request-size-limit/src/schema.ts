import { Size, type Static, Type } from '@gatehousejs/sdk'

/** The `request-size-limit` plugin's configuration. */
export const RequestSizeLimitSchema = Type.Object(
  {
    allowedPayloadSize: Size({
      default: '128mb',
      minimum: 0,
      description:
        'The largest request body allowed: a number of bytes or a size such as "64kb", "10mb" (kb = 1024 bytes). Larger bodies get 413 GH_REQUEST_TOO_LARGE',
    }),
    requireContentLength: Type.Boolean({
      default: false,
      description:
        'Refuse a request that sends a body without `Content-Length` (a chunked body) with 411 GH_LENGTH_REQUIRED',
    }),
  },
  { additionalProperties: false },
)

export type RequestSizeLimitConfig = Static<typeof RequestSizeLimitSchema>
