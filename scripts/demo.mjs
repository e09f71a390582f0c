#!/usr/bin/env node
// `npm run demo`: install what is missing, build, then run a gateway on PORT (default 8080) in front of
// embedded demo services, and print curl lines that work against it.
import { prepare } from './prepare.mjs'

await prepare({ quiet: true })
// `npm run demo:declarative`: the same services idea, run by the CLI from examples/declarative/gateway.yaml.
// `npm run demo:fleet`: Redis, three nodes following it and two applies (examples/fleet).
if (process.argv.includes('--declarative')) await import('../examples/declarative/start.mjs')
else if (process.argv.includes('--fleet')) await import('../examples/fleet/start.mjs')
else await import('./demo-gateway.mjs')
