import { defineError } from '@gatehousejs/sdk'

/** 413: the body is larger than `allowedPayloadSize` (declared, or counted while it streamed). */
export const RequestTooLarge = defineError(
  'GH_REQUEST_TOO_LARGE',
  413,
  (limit: number) => `The request body is larger than the ${limit} bytes allowed`,
)

/** 411: `requireContentLength` is on and the request sends a body without `Content-Length`. */
export const LengthRequired = defineError(
  'GH_LENGTH_REQUIRED',
  411,
  'A request with a body must carry a valid Content-Length header',
)
