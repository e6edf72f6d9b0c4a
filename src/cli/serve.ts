/**
 * `sluice serve <root>`: flags to options, then the server, then a clean shutdown on SIGINT or
 * SIGTERM.
 */

import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { DEFAULT_RANGE_LIMITS } from '../core/byte-ranges.js'
import { withCors } from '../http/cors.js'
import { createEngine, DEFAULT_CACHE_CONTROL } from '../http/engine.js'
import { type AnyServer, listen, shutdown } from '../http/connections.js'
import { createNodeHandler, createStreamHandler } from '../http/node-handler.js'
import {
  createHttpServer,
  createTlsServer,
  DEFAULT_SERVER_LIMITS,
  defaultMaxConnections,
  type ServerLimits,
  TLS_SETTINGS,
} from '../http/server.js'
import { DEFAULT_MAX_BODY_BYTES, type WriteOptions } from '../http/write.js'
import { createLogger, type LogFormat } from '../log.js'
import { openFsStore } from '../store/fs-store.js'
import { patternProblem } from '../core/media-type-patterns.js'
import { ON_THE_FLY_LEVELS } from '../store/codecs.js'
import { type CompressSettings, DEFAULT_COMPRESS_SETTINGS } from '../store/fs-store.js'
import {
  commaList,
  type CorsSetup,
  DEFAULT_CONFIG_FILE,
  loadConfigFile,
  setUpCors,
} from './config.js'
import { parseLevels } from './levels.js'
import type { FileConfig } from './config-schema.js'
import {
  type CheckedCredentials,
  loadTlsFiles,
  selfSignedCredentials,
  type TlsSource,
} from './tls.js'
import { parseChoice, parseFieldValue, parseFlags, parseInteger, UsageError } from './usage.js'
import { keepYoungGenerationSmall } from './young-generation.js'
import {
  announceToPrimary,
  defaultWorkers,
  failToPrimary,
  isWorker,
  joinPrimary,
  leavePrimary,
  runPrimary,
} from './workers.js'
import { INTEGER_RANGES, type IntegerOption } from '../option-ranges.js'

export const SERVE_HELP = `Usage: sluice serve <root> [options]

Serves the directory <root> over HTTP with exact range and conditional-request semantics.

Options:
  --host <address>         interface to listen on (default 127.0.0.1)
  --port <n>               port to listen on, 0 for any free port (default 8080)
  --tls-cert <file>        serve HTTPS: HTTP/2 and HTTP/1.1 on one port (ALPN), with this
                           PEM certificate (chain); needs --tls-key; reloaded on SIGHUP
  --tls-key <file>         the certificate's PEM private key (not encrypted)
  --self-signed            serve HTTPS with a development certificate for localhost,
                           127.0.0.1 and ::1, made once and kept in
                           $XDG_CACHE_HOME/sluice or ~/.cache/sluice (fingerprint printed)
  --cache-control <value>  Cache-Control of file responses (default "${DEFAULT_CACHE_CONTROL}")
  --max-ranges <n>         ranges honoured in one Range field; more and the field is
                           ignored (default ${DEFAULT_RANGE_LIMITS.maxRanges})
  --dotfiles               serve names starting with "." (hidden by default)
  --writable               accept PUT (create or replace a file) and DELETE, each applied
                           atomically and only if its If-Match / If-None-Match /
                           If-Unmodified-Since preconditions hold
  --require-preconditions  with --writable: a PUT or DELETE of an existing file must send
                           If-Match or If-Unmodified-Since, or gets 428
  --max-body <bytes>       with --writable: the largest PUT accepted; larger gets 413
                           (default ${DEFAULT_MAX_BODY_BYTES}, 100 MiB)
  --shutdown-timeout <s>   seconds in-flight responses get after SIGINT/SIGTERM (default 10)

Compression (see README "Compression"; each variant has its own strong ETag):
  --no-compress            no compression on the fly (it is on by default: --compress)
  --compress-types <list>  media types compressed on the fly, e.g. text/*,+json,
                           application/wasm (default: text, JavaScript, JSON, XML,
                           SVG, WebAssembly and uncompressed fonts)
  --compress-min-size <bytes>
                           smallest file compressed (default ${DEFAULT_COMPRESS_SETTINGS.minSize})
  --compress-max-size <bytes>
                           largest file compressed (default ${DEFAULT_COMPRESS_SETTINGS.maxSize}, 8 MiB)
  --compress-level <list>  levels, e.g. br=5,gzip=6 (default br=${ON_THE_FLY_LEVELS.br},gzip=${ON_THE_FLY_LEVELS.gzip},zstd=${ON_THE_FLY_LEVELS.zstd})
  --compress-cache <bytes> compressed bytes held in memory, all files together
                           (default ${DEFAULT_COMPRESS_SETTINGS.cacheBytes}, 16 MiB)
  --no-precompressed       ignore precompressed siblings (app.js.br, .zst, .gz; served
                           by default while they decode to their source: --precompressed)
  --workers <n>            processes serving the port (node:cluster); writes stay
                           linearizable across them (default: one per core, now
                           ${defaultWorkers()}; 1 for a single process)
  --log-format <format>    json or pretty (default: pretty on a terminal, json otherwise)
  --quiet                  no access log; warnings and errors only
  --config <file>          read options from <file> (default: ./${DEFAULT_CONFIG_FILE} when
                           present); flags override it

Limits (see docs/SECURITY.md; with --workers, each process has its own):
  --max-connections <n>    connections open at once; more are closed unanswered (default:
                           half the open-file limit, at most 10000; now ${defaultMaxConnections()})
  --max-requests-per-socket <n>
                           requests on one keep-alive connection before it closes
                           (default ${DEFAULT_SERVER_LIMITS.maxRequestsPerSocket}; 0 for no limit)
  --headers-timeout <s>    seconds a client has to send a request's header fields, then 408
                           (default ${DEFAULT_SERVER_LIMITS.headersTimeoutMs / 1000})
  --request-timeout <s>    seconds a client has to send a whole request, body included, then
                           408 (default ${DEFAULT_SERVER_LIMITS.requestTimeoutMs / 1000})
  --keep-alive-timeout <s> seconds an idle keep-alive connection stays open (default ${DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs / 1000})
  --idle-timeout <s>       seconds a connection may go without sending or receiving a byte,
                           e.g. a client that stopped reading (default ${DEFAULT_SERVER_LIMITS.idleTimeoutMs / 1000}; 0 for none)
  --max-url-length <bytes> longest request-target; longer gets 414 (default ${DEFAULT_SERVER_LIMITS.maxUrlLength})
  --max-header-size <bytes>
                           largest request head (request line and header fields); larger
                           gets 431; over HTTP/2 the largest header list (default ${DEFAULT_SERVER_LIMITS.maxHeaderSize})
  --http2-max-streams <n>  HTTP/2 streams open at once on one connection (default ${DEFAULT_SERVER_LIMITS.http2MaxStreams})
  --tls-handshake-timeout <s>
                           seconds a client has to complete the TLS handshake (default ${DEFAULT_SERVER_LIMITS.tlsHandshakeTimeoutMs / 1000})

CORS (see README "CORS"; without --cors-origin no origin may read responses cross-origin):
  --cors-origin <origin>   allow an origin: https://app.example, a pattern
                           https://*.example.com (one or more whole labels), * for any
                           origin, or null (opaque origins); repeatable
  --cors-credentials       share responses with credentialed requests (not with *)
  --cors-methods <list>    methods a preflight may ask for, e.g. PUT,DELETE
  --cors-headers <list>    request headers a preflight may ask for, e.g. X-Custom,Content-Type
  --cors-expose <list>     response headers scripts may read, e.g. ETag,Content-Range
  --cors-max-age <s>       seconds browsers may cache a preflight answer (0 to 86400)
  --cors-private-network   answer Private Network Access preflights

  -h, --help               show this help
`

// No defaults here: a flag that is absent leaves the configuration file's value in force.
const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'self-signed': { type: 'boolean' },
  'cache-control': { type: 'string' },
  'max-ranges': { type: 'string' },
  dotfiles: { type: 'boolean' },
  writable: { type: 'boolean' },
  'require-preconditions': { type: 'boolean' },
  'max-body': { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  workers: { type: 'string' },
  'log-format': { type: 'string' },
  quiet: { type: 'boolean' },
  config: { type: 'string' },
  'max-connections': { type: 'string' },
  'max-requests-per-socket': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'request-timeout': { type: 'string' },
  'keep-alive-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'max-url-length': { type: 'string' },
  'max-header-size': { type: 'string' },
  'http2-max-streams': { type: 'string' },
  'tls-handshake-timeout': { type: 'string' },
  'cors-origin': { type: 'string', multiple: true },
  'cors-credentials': { type: 'boolean' },
  'cors-methods': { type: 'string' },
  'cors-headers': { type: 'string' },
  'cors-expose': { type: 'string' },
  'cors-max-age': { type: 'string' },
  'cors-private-network': { type: 'boolean' },
  compress: { type: 'boolean' },
  'no-compress': { type: 'boolean' },
  'compress-types': { type: 'string' },
  'compress-min-size': { type: 'string' },
  'compress-max-size': { type: 'string' },
  'compress-level': { type: 'string' },
  'compress-cache': { type: 'string' },
  precompressed: { type: 'boolean' },
  'no-precompressed': { type: 'boolean' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export interface ServeConfig {
  readonly root: string
  readonly host: string
  readonly port: number
  /** HTTPS (HTTP/2 and HTTP/1.1), and where its certificate comes from; absent: plain HTTP. */
  readonly tls: TlsSource | undefined
  readonly cacheControl: string
  readonly maxRanges: number
  readonly dotfiles: boolean
  /** PUT and DELETE are accepted (`--writable`). */
  readonly writes: WriteOptions | undefined
  readonly shutdownTimeoutMs: number
  readonly limits: Required<ServerLimits>
  /** Processes serving the port (`--workers`); 1 is a single process. */
  readonly workers: number
  readonly logFormat: LogFormat
  readonly quiet: boolean
  readonly cors: CorsSetup
  /** On-the-fly compression, or false (`--no-compress`). */
  readonly compress: CompressSettings | false
  /** Serve precompressed siblings (`--no-precompressed` turns it off). */
  readonly precompressed: boolean
}

/**
 * Turns the arguments after `serve` (and the configuration file, which they override) into a
 * configuration, or throws a UsageError.
 */
export async function parseServeArgs(
  args: string[],
  cwd: string = process.cwd(),
): Promise<ServeConfig | 'help'> {
  const { values, positionals } = parseFlags(args, FLAGS)
  if (values.help) return 'help'
  if (positionals.length > 1) {
    throw new UsageError(`serve takes one <root>, got ${positionals.length} arguments`)
  }
  const loaded = await loadConfigFile(values.config, cwd)
  const file = loaded?.config ?? {}
  const fileName = loaded?.name ?? DEFAULT_CONFIG_FILE
  // A root written in the file is relative to the file, as a reader of the file expects.
  const root =
    positionals[0] ??
    (file.root === undefined || loaded === undefined ? undefined : resolve(loaded.dir, file.root))
  if (root === undefined) throw new UsageError('serve needs a <root> directory')
  const rootStats = await stat(root).catch(() => undefined)
  if (rootStats === undefined) throw new UsageError(`root '${root}' does not exist`)
  if (!rootStats.isDirectory()) throw new UsageError(`root '${root}' is not a directory`)
  const host = values.host ?? file.host ?? '127.0.0.1'
  if (host.trim() === '') throw new UsageError('--host expects an address, got an empty value')
  const cacheControl = values['cache-control'] ?? file['cache-control']
  const logFormat = values['log-format'] ?? file['log-format']
  return {
    root,
    host,
    port: values.port === undefined ? (file.port ?? 8080) : parseIntegerFlag('port', values.port),
    tls: await parseTls(values, file, loaded?.dir ?? cwd),
    cacheControl:
      cacheControl === undefined
        ? DEFAULT_CACHE_CONTROL
        : parseFieldValue(
            values['cache-control'] === undefined ? 'cache-control' : '--cache-control',
            cacheControl,
          ),
    maxRanges:
      values['max-ranges'] === undefined
        ? (file['max-ranges'] ?? DEFAULT_RANGE_LIMITS.maxRanges)
        : parseIntegerFlag('max-ranges', values['max-ranges']),
    dotfiles: values.dotfiles ?? file.dotfiles ?? false,
    writes: parseWriteOptions(values, file),
    shutdownTimeoutMs:
      (values['shutdown-timeout'] === undefined
        ? (file['shutdown-timeout'] ?? 10)
        : parseIntegerFlag('shutdown-timeout', values['shutdown-timeout'])) * 1000,
    limits: parseLimits(values, file),
    workers:
      values.workers === undefined
        ? (file.workers ?? defaultWorkers())
        : parseIntegerFlag('workers', values.workers),
    logFormat:
      logFormat === undefined
        ? process.stdout.isTTY
          ? 'pretty'
          : 'json'
        : parseChoice('--log-format', logFormat, ['json', 'pretty'] as const),
    quiet: values.quiet ?? file.quiet ?? false,
    cors: setUpCors(loaded?.config, values, fileName),
    compress: parseCompress(values, file),
    precompressed: onOff(values, 'precompressed') ?? file.precompressed ?? true,
  }
}

/**
 * `--tls-cert` and `--tls-key` (or the file's `tls-cert` and `tls-key`, relative to the file),
 * or `--self-signed`. The files are read and checked now, so a bad one is a usage error.
 */
async function parseTls(
  values: { 'tls-cert'?: string; 'tls-key'?: string; 'self-signed'?: boolean },
  file: FileConfig,
  fileDir: string,
): Promise<TlsSource | undefined> {
  const fromFile = (name: string | undefined) =>
    name === undefined ? undefined : resolve(fileDir, name)
  const certFile = values['tls-cert'] ?? fromFile(file['tls-cert'])
  const keyFile = values['tls-key'] ?? fromFile(file['tls-key'])
  const selfSigned = values['self-signed'] ?? file['self-signed'] ?? false
  if (selfSigned) {
    if (certFile !== undefined || keyFile !== undefined) {
      throw new UsageError(
        '--self-signed makes its own certificate: give it without --tls-cert and --tls-key',
      )
    }
    return { kind: 'self-signed' }
  }
  if (certFile === undefined && keyFile === undefined) return undefined
  if (certFile === undefined) throw new UsageError('--tls-key needs --tls-cert (the certificate)')
  if (keyFile === undefined) throw new UsageError('--tls-cert needs --tls-key (its private key)')
  await loadTlsFiles(certFile, keyFile)
  return { kind: 'files', certFile, keyFile }
}

/** A `--name` / `--no-name` pair: true, false, or undefined when neither is given. */
function onOff(values: Record<string, unknown>, name: string): boolean | undefined {
  const on = values[name] === true
  const off = values[`no-${name}`] === true
  if (on && off) throw new UsageError(`--${name} and --no-${name} contradict each other`)
  return on ? true : off ? false : undefined
}

/** The compression flags, over the file's `compress` (flags win, setting by setting). */
function parseCompress(
  values: Partial<
    Record<`compress-${'types' | 'min-size' | 'max-size' | 'level' | 'cache'}`, string>
  > &
    Record<string, unknown>,
  file: FileConfig,
): CompressSettings | false {
  const given = (['types', 'min-size', 'max-size', 'level', 'cache'] as const).filter(
    (name) => values[`compress-${name}`] !== undefined,
  )
  const enabled = onOff(values, 'compress') ?? file.compress !== false
  if (!enabled) {
    if (given.length > 0)
      throw new UsageError(`--compress-${given[0]} only applies with compression on`)
    return false
  }
  const fromFile = typeof file.compress === 'object' ? file.compress : {}
  const integer = (
    name: 'min-size' | 'max-size' | 'cache',
    key: 'min-size' | 'max-size' | 'cache-bytes',
  ) => {
    const flag = values[`compress-${name}`]
    return flag === undefined ? fromFile[key] : parseIntegerFlag(`compress-${name}`, flag)
  }
  const settings: CompressSettings = {
    types:
      values['compress-types'] === undefined
        ? fromFile.types
        : parseTypes(values['compress-types']),
    minSize: integer('min-size', 'min-size'),
    maxSize: integer('max-size', 'max-size'),
    level: { ...fromFile.level, ...parseLevels('--compress-level', values['compress-level']) },
    cacheBytes: integer('cache', 'cache-bytes'),
  }
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined))
}

function parseTypes(value: string): string[] {
  const types = commaList('--compress-types', value)
  for (const type of types) {
    const problem = patternProblem(type)
    if (problem !== undefined) throw new UsageError(`--compress-types: ${problem}, got '${type}'`)
  }
  return types
}

/** The write options from the flags, or from the file where a flag is absent. */
function parseWriteOptions(
  values: {
    writable?: boolean | undefined
    'require-preconditions'?: boolean | undefined
    'max-body'?: string | undefined
  },
  file: FileConfig,
): WriteOptions | undefined {
  const writable = values.writable ?? file.writable ?? false
  const requirePreconditions =
    values['require-preconditions'] ?? file['require-preconditions'] ?? false
  const maxBody =
    values['max-body'] === undefined
      ? file['max-body']
      : parseIntegerFlag('max-body', values['max-body'])
  if (!writable) {
    if (requirePreconditions) {
      throw new UsageError('--require-preconditions only applies with --writable')
    }
    if (maxBody !== undefined) throw new UsageError('--max-body only applies with --writable')
    return undefined
  }
  return { requirePreconditions, maxBodyBytes: maxBody ?? DEFAULT_MAX_BODY_BYTES }
}

/** The limit flags; each is also a key of the configuration file, under the same name. */
const LIMITS = {
  'max-connections': { key: 'maxConnections', unit: 1 },
  'max-requests-per-socket': { key: 'maxRequestsPerSocket', unit: 1 },
  'headers-timeout': { key: 'headersTimeoutMs', unit: 1000 },
  'request-timeout': { key: 'requestTimeoutMs', unit: 1000 },
  'keep-alive-timeout': { key: 'keepAliveTimeoutMs', unit: 1000 },
  'idle-timeout': { key: 'idleTimeoutMs', unit: 1000 },
  'max-url-length': { key: 'maxUrlLength', unit: 1 },
  'max-header-size': { key: 'maxHeaderSize', unit: 1 },
  'http2-max-streams': { key: 'http2MaxStreams', unit: 1 },
  'tls-handshake-timeout': { key: 'tlsHandshakeTimeoutMs', unit: 1000 },
} as const satisfies Partial<Record<IntegerOption, { key: keyof ServerLimits; unit: number }>>

type LimitFlag = keyof typeof LIMITS

/** The integer given for `--<option>`, in its range (option-ranges.ts), or a UsageError. */
function parseIntegerFlag(option: IntegerOption, value: string): number {
  const [min, max] = INTEGER_RANGES[option]
  return parseInteger(`--${option}`, value, min, max)
}

/** The connection and request limits: each flag, else the file's value, else the default. */
function parseLimits(
  values: Partial<Record<LimitFlag, string>>,
  file: Partial<Record<LimitFlag, number>>,
): Required<ServerLimits> {
  const limits: Record<keyof ServerLimits, number> = {
    ...DEFAULT_SERVER_LIMITS,
    maxConnections: defaultMaxConnections(),
  }
  for (const [flag, { key, unit }] of Object.entries(LIMITS)) {
    const given = values[flag as LimitFlag]
    const value =
      given === undefined ? file[flag as LimitFlag] : parseIntegerFlag(flag as LimitFlag, given)
    if (value !== undefined) limits[key] = value * unit
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new UsageError(
      `--headers-timeout (${limits.headersTimeoutMs / 1000}) must not exceed --request-timeout (${limits.requestTimeoutMs / 1000})`,
    )
  }
  if (limits.maxUrlLength >= limits.maxHeaderSize) {
    throw new UsageError(
      `--max-url-length (${limits.maxUrlLength}) must be smaller than --max-header-size (${limits.maxHeaderSize}), which includes it`,
    )
  }
  return limits
}

/** Runs the server until SIGINT or SIGTERM; resolves with the exit code. */
export async function serve(config: ServeConfig): Promise<number> {
  if (!isWorker()) return serveProcess(config)
  // A worker leaves the cluster however it ends, or its channel to the primary keeps it alive.
  try {
    return await serveProcess(config)
  } finally {
    leavePrimary()
  }
}

async function serveProcess(config: ServeConfig): Promise<number> {
  const logger = createLogger({ format: config.logFormat, quiet: config.quiet })
  // Before any worker starts: the primary makes (or finds) the development certificate once,
  // and the workers find it in the cache.
  const credentials = config.tls === undefined ? undefined : await tlsCredentials(config.tls)
  const announce = (url: string) => {
    const processes = config.workers > 1 ? ` (${config.workers} processes)` : ''
    const selfSigned =
      config.tls?.kind === 'self-signed' && credentials !== undefined
        ? `development certificate for localhost, 127.0.0.1 and ::1 (SHA-256 ${credentials.fingerprint})\n`
        : ''
    // One write: whoever reads the ready line has the fingerprint with it.
    process.stdout.write(`sluice serving ${config.root} at ${url}${processes}\n${selfSigned}`)
  }
  // With --workers, this process forks the workers, which run the rest of this function.
  if (config.workers > 1 && !isWorker()) {
    const code = await runPrimary({
      workers: config.workers,
      root: config.root,
      logger,
      announce,
      relayHangup: config.tls?.kind === 'files',
    })
    logger.flush()
    return code
  }
  keepYoungGenerationSmall()
  const store = await openFsStore({
    root: config.root,
    writable: config.writes !== undefined,
    compress: config.compress,
    precompressed: config.precompressed,
    logger,
    // A test-only switch, not a documented option: SLUICE_CACHE_WATCH=0 turns the cache's
    // directory watching off and puts its periodic check a minute away
    // (test/cli/workers.test.ts uses it to prove that write notices between workers, not
    // watchers or checks, keep them consistent).
    ...(process.env.SLUICE_CACHE_WATCH === '0'
      ? { cache: { watch: false, checkIntervalMs: 60_000 } }
      : {}),
  })
  for (const warning of config.cors.warnings) logger.warn(warning)
  // CORS runs first: a request it refuses never reaches the engine's methods.
  const engine = withCors(
    createEngine({
      store,
      cacheControl: config.cacheControl,
      dotfiles: config.dotfiles,
      rangeLimits: { ...DEFAULT_RANGE_LIMITS, maxRanges: config.maxRanges },
      ...(config.writes === undefined ? {} : { writes: config.writes }),
    }),
    { policy: config.cors.policy, routes: config.cors.routes, logger },
  )
  const handler = createNodeHandler(engine, logger)
  const server: AnyServer =
    credentials === undefined
      ? createHttpServer(handler, config.limits, logger)
      : createTlsServer(
          {
            request: handler,
            stream: createStreamHandler(engine, logger, config.limits.maxUrlLength),
          },
          credentials,
          config.limits,
          logger,
        )
  // Before listening: from its first connection on, a worker drops what other workers write.
  if (isWorker()) joinPrimary(store)
  let url: string
  try {
    url = await listen(server, config.host, config.port)
  } catch (error) {
    const message = describeListenError(error, config.host, config.port)
    // Every worker fails the same way; the primary says it once.
    if (isWorker()) return failToPrimary(message)
    throw new Error(message, { cause: error })
  }
  // Listen for the signals before announcing the URL: stdout to a pipe is written
  // synchronously, so whoever reads the line may signal before the next statement runs.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  const reload =
    config.tls?.kind === 'files' ? reloadOnHangup(server, config.tls, logger) : undefined
  if (isWorker()) announceToPrimary(url)
  else announce(url)
  const signal = await stopped
  if (reload !== undefined) process.off('SIGHUP', reload)
  logger.info({ signal }, 'shutting down: finishing in-flight responses')
  await shutdown(server, config.shutdownTimeoutMs)
  logger.flush()
  return 0
}

async function tlsCredentials(source: TlsSource): Promise<CheckedCredentials> {
  if (source.kind === 'files') return loadTlsFiles(source.certFile, source.keyFile)
  return selfSignedCredentials()
}

/**
 * SIGHUP reads the certificate and key again and uses them for new connections; connections
 * already open keep theirs and are not dropped. A bad file is logged and the old pair kept.
 */
function reloadOnHangup(
  server: AnyServer,
  source: Extract<TlsSource, { kind: 'files' }>,
  logger: ReturnType<typeof createLogger>,
): () => void {
  const reload = () => {
    loadTlsFiles(source.certFile, source.keyFile).then(
      (credentials) => {
        ;(server as import('node:http2').Http2SecureServer).setSecureContext({
          ...TLS_SETTINGS,
          cert: credentials.cert,
          key: credentials.key,
        })
        logger.info(
          { cert: source.certFile, fingerprint: credentials.fingerprint },
          'SIGHUP: certificate reloaded',
        )
      },
      (error: unknown) => {
        logger.error(
          { cert: source.certFile, key: source.keyFile },
          `SIGHUP: certificate not reloaded, the old one stays: ${(error as Error).message}`,
        )
      },
    )
  }
  process.on('SIGHUP', reload)
  return reload
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
