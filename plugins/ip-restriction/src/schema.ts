import { type Static, Type } from '@gatehousejs/sdk'

const IpList = (description: string) =>
  Type.Array(Type.String({ minLength: 1, description: 'An IPv4 or IPv6 address, or a CIDR range' }), {
    default: [],
    description,
  })

/** The `ip-restriction` plugin's configuration: at least one of `allow` and `deny` must list something. */
export const IpRestrictionSchema = Type.Object(
  {
    allow: IpList(
      'Addresses and CIDR ranges allowed through (e.g. "10.0.0.0/8", "2001:db8::/32", "192.0.2.7"); when not empty, every other client is refused',
    ),
    deny: IpList('Addresses and CIDR ranges refused; checked before `allow`, so a deny always wins'),
    status: Type.Integer({
      minimum: 400,
      maximum: 599,
      default: 403,
      description: 'The status a refused client gets',
    }),
    message: Type.String({
      minLength: 1,
      default: 'Your IP address is not allowed',
      description: 'The message a refused client gets (in the JSON error body)',
    }),
  },
  { additionalProperties: false },
)

export type IpRestrictionConfig = Static<typeof IpRestrictionSchema>
