/**
 * The command line: `sluice <command> [options]`. Usage errors exit 2, runtime errors exit 1,
 * each as one line on stderr without a stack trace.
 */

import { readFileSync } from 'node:fs'
import { COMPRESS_HELP, compressCommand, parseCompressArgs } from './compress.js'
import { CORS_CHECK_HELP, corsCheckCommand, parseCorsCheckArgs } from './cors-check.js'
import { parseServeArgs, SERVE_HELP, serve } from './serve.js'
import { UsageError } from './usage.js'

const HELP = `Usage: sluice <command> [options]

An HTTP origin server that gets range requests, conditional requests, optimistic locking and
CORS exactly right.

Commands:
  serve <root>      serve a directory (see: sluice serve --help)
  compress <dir>    write precompressed siblings (app.js.br, app.js.gz) for every
                    compressible file, for serve to send (see: sluice compress --help)
  cors-check <url> --origin <origin>
                    do what a browser does for a cross-origin fetch(<url>) and say
                    whether and why it would block it (see: sluice cors-check --help)

Options:
  -h, --help        show this help
  -v, --version     print the version
`

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
  return pkg.version as string
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    return await run(args)
  } catch (error) {
    const usage = error instanceof UsageError
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`sluice: ${message}${usage ? " (see 'sluice --help')" : ''}\n`)
    return usage ? 2 : 1
  }
}

async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP)
      return command === undefined ? 2 : 0
    case '-v':
    case '--version':
      process.stdout.write(`${version()}\n`)
      return 0
    case 'serve': {
      const config = await parseServeArgs(rest)
      if (config === 'help') {
        process.stdout.write(SERVE_HELP)
        return 0
      }
      return serve(config)
    }
    case 'compress': {
      const config = await parseCompressArgs(rest)
      if (config === 'help') {
        process.stdout.write(COMPRESS_HELP)
        return 0
      }
      const code = await compressCommand(config)
      // Interrupted: the compression under way finishes in the thread pool; nothing waits for it.
      if (code === 130) process.exit(code)
      return code
    }
    case 'cors-check': {
      const config = parseCorsCheckArgs(rest)
      if (config === 'help') {
        process.stdout.write(CORS_CHECK_HELP)
        return 0
      }
      return corsCheckCommand(config, (line) => process.stdout.write(`${line}\n`))
    }
    default:
      throw new UsageError(`unknown command '${command}'`)
  }
}
