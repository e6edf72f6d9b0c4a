#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (npm install builds dist/ through `prepare`).
import { main } from '../dist/src/cli/main.js'

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code
  },
  (error) => {
    process.stderr.write(`sluice: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  },
)
