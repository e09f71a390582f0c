#!/usr/bin/env node
import { main } from '../dist/cli.js'

main(process.argv.slice(2)).then(
  (code) => {
    // -1: a gateway is running and keeps the process alive until it is stopped.
    if (code >= 0) process.exitCode = code
  },
  (err) => {
    console.error(err)
    process.exitCode = 3
  },
)
