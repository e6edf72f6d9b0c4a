/**
 * `sluice serve <root>`: flags to options, then the server, then a clean shutdown on SIGINT or
 * SIGTERM.
 */

import { stat } from 'node:fs/promises'
import { DEFAULT_RANGE_LIMITS } from '../core/byte-ranges.js'
import { createEngine, DEFAULT_CACHE_CONTROL } from '../http/engine.js'
import { createHttpServer, createNodeHandler, listen, shutdown } from '../http/server.js'
import { createLogger, type LogFormat } from '../log.js'
import { openFsStore } from '../store/fs-store.js'
import { parseChoice, parseFieldValue, parseFlags, parseInteger, UsageError } from './usage.js'

export const SERVE_HELP = `Usage: sluice serve <root> [options]

Serves the directory <root> over HTTP with exact range and conditional-request semantics.

Options:
  --host <address>         interface to listen on (default 127.0.0.1)
  --port <n>               port to listen on, 0 for any free port (default 8080)
  --cache-control <value>  Cache-Control of file responses (default "${DEFAULT_CACHE_CONTROL}")
  --max-ranges <n>         ranges honoured in one Range field; more and the field is
                           ignored (default ${DEFAULT_RANGE_LIMITS.maxRanges})
  --dotfiles               serve names starting with "." (hidden by default)
  --shutdown-timeout <s>   seconds in-flight responses get after SIGINT/SIGTERM (default 10)
  --log-format <format>    json or pretty (default: pretty on a terminal, json otherwise)
  --quiet                  no access log; warnings and errors only
  -h, --help               show this help
`

const FLAGS = {
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8080' },
  'cache-control': { type: 'string' },
  'max-ranges': { type: 'string' },
  dotfiles: { type: 'boolean', default: false },
  'shutdown-timeout': { type: 'string', default: '10' },
  'log-format': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export interface ServeConfig {
  readonly root: string
  readonly host: string
  readonly port: number
  readonly cacheControl: string
  readonly maxRanges: number
  readonly dotfiles: boolean
  readonly shutdownTimeoutMs: number
  readonly logFormat: LogFormat
  readonly quiet: boolean
}

/** Turns the arguments after `serve` into a configuration, or throws a UsageError. */
export async function parseServeArgs(args: string[]): Promise<ServeConfig | 'help'> {
  const { values, positionals } = parseFlags(args, FLAGS)
  if (values.help) return 'help'
  if (positionals.length === 0) throw new UsageError('serve needs a <root> directory')
  if (positionals.length > 1) {
    throw new UsageError(`serve takes one <root>, got ${positionals.length} arguments`)
  }
  const root = positionals[0]!
  const rootStats = await stat(root).catch(() => undefined)
  if (rootStats === undefined) throw new UsageError(`root '${root}' does not exist`)
  if (!rootStats.isDirectory()) throw new UsageError(`root '${root}' is not a directory`)
  if (values.host.trim() === '')
    throw new UsageError('--host expects an address, got an empty value')
  return {
    root,
    host: values.host,
    port: parseInteger('--port', values.port, 0, 65535),
    cacheControl:
      values['cache-control'] === undefined
        ? DEFAULT_CACHE_CONTROL
        : parseFieldValue('--cache-control', values['cache-control']),
    maxRanges:
      values['max-ranges'] === undefined
        ? DEFAULT_RANGE_LIMITS.maxRanges
        : parseInteger('--max-ranges', values['max-ranges'], 1, 10_000),
    dotfiles: values.dotfiles,
    shutdownTimeoutMs:
      parseInteger('--shutdown-timeout', values['shutdown-timeout'], 0, 3600) * 1000,
    logFormat:
      values['log-format'] === undefined
        ? process.stdout.isTTY
          ? 'pretty'
          : 'json'
        : parseChoice('--log-format', values['log-format'], ['json', 'pretty'] as const),
    quiet: values.quiet,
  }
}

/** Runs the server until SIGINT or SIGTERM; resolves with the exit code. */
export async function serve(config: ServeConfig): Promise<number> {
  const logger = createLogger({ format: config.logFormat, quiet: config.quiet })
  const store = await openFsStore({ root: config.root })
  const engine = createEngine({
    store,
    cacheControl: config.cacheControl,
    dotfiles: config.dotfiles,
    rangeLimits: { ...DEFAULT_RANGE_LIMITS, maxRanges: config.maxRanges },
  })
  const server = createHttpServer(createNodeHandler(engine, logger))
  let url: string
  try {
    url = await listen(server, config.host, config.port)
  } catch (error) {
    throw new Error(describeListenError(error, config.host, config.port), { cause: error })
  }
  process.stdout.write(`sluice serving ${config.root} at ${url}\n`)

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  logger.info({ signal }, 'shutting down: finishing in-flight responses')
  await shutdown(server, config.shutdownTimeoutMs)
  logger.flush()
  return 0
}

function describeListenError(error: unknown, host: string, port: number): string {
  const code = (error as NodeJS.ErrnoException).code
  const where = `${host}:${port}`
  switch (code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: the port is already in use`
    case 'EACCES':
      return `cannot listen on ${where}: permission denied`
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${where}: no such local address`
    default:
      return `cannot listen on ${where}: ${(error as Error).message}`
  }
}
