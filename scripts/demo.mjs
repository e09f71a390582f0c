#!/usr/bin/env node
// `npm run demo`: install what is missing, build, then run a gateway on PORT (default 8080) in front of
// embedded demo services, and print curl lines that work against it.
import { prepare } from './prepare.mjs'

prepare({ quiet: true })
await import('./demo-gateway.mjs')
