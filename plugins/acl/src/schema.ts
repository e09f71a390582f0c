import { type Static, Type } from '@gatehousejs/sdk'

const Groups = (description: string) =>
  Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true, description })

/** The `acl` plugin's configuration: exactly one of `allow` and `deny`. */
export const AclSchema = Type.Object(
  {
    allow: Type.Optional(Groups('Only consumers in at least one of these groups may pass')),
    deny: Type.Optional(Groups('Consumers in any of these groups are refused; all others pass')),
    hideGroupsHeader: Type.Boolean({
      default: false,
      description: "Do not send the consumer's groups upstream in X-Consumer-Groups",
    }),
  },
  { additionalProperties: false },
)

export type AclConfig = Static<typeof AclSchema>
