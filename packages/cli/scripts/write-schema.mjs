// Writes schema/gatehouse.schema.json: the JSON Schema of a gateway file, from the same TypeBox model
// core validates with, so editors (YAML language server, VS Code) autocomplete and check files.
import { mkdirSync, writeFileSync } from 'node:fs'
import { GatewayConfigSchema } from '@gatehousejs/sdk/config'

const schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://gatehouse.dev/schema/gatehouse.schema.json',
  title: 'Gatehouse gateway file',
  description:
    'Services, routes, consumers and plugins of a Gatehouse gateway. Plugin configs are checked by each plugin at load (gatehouse validate).',
  ...JSON.parse(JSON.stringify(GatewayConfigSchema)),
}
mkdirSync(new URL('../schema/', import.meta.url), { recursive: true })
writeFileSync(
  new URL('../schema/gatehouse.schema.json', import.meta.url),
  `${JSON.stringify(schema, null, 2)}\n`,
)
