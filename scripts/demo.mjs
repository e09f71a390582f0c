#!/usr/bin/env node
// `npm run demo`: install what is missing, build, then run a gateway on PORT (default 8080) in front of
// embedded demo services, and print curl lines that work against it.
import { prepare } from './prepare.mjs'

await prepare({ quiet: true })
// `npm run demo:declarative`: the same services idea, run by the CLI from examples/declarative/gateway.yaml.
if (process.argv.includes('--declarative')) await import('../examples/declarative/start.mjs')
else await import('./demo-gateway.mjs')
