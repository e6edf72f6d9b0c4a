/**
 * The library's options, checked once at construction: a bad option is a TypeError naming the
 * option and what was expected, never a failure at the first request. They mirror `sluice
 * serve`'s flags and `sluice.config.json` in camelCase (`--max-body` is `maxBody`, the file's
 * `cors.max-age` is `cors.maxAge`), and are checked by the same rules (src/option-rules.ts for
 * types and ranges, the core CORS policy for origins and unsafe combinations).
 */

import { z } from 'zod'
import { DEFAULT_RANGE_LIMITS } from './core/byte-ranges.js'
import {
  type CorsPolicy,
  type CorsPolicyOptions,
  checkCorsOptions,
  createCorsPolicy,
  type OriginPredicate,
} from './core/cors/policy.js'
import { parsePathPattern } from './core/path-patterns.js'
import { type CorsRoute, withCors } from './http/cors.js'
import {
  createEngine,
  DEFAULT_CACHE_CONTROL,
  type Engine,
  type EngineRequest,
} from './http/engine.js'
import { DEFAULT_MAX_BODY_BYTES } from './http/write.js'
import { type Logger, silentLogger } from './log.js'
import { COMPRESS_RULES, CORS_RULES, SHARED_RULES, text } from './option-rules.js'
import { type CompressSettings, createFsStore, type FsStoreSettings } from './store/fs-store.js'
import { isWritableStore, type Store } from './store/store.js'

/**
 * A CORS policy, as the `--cors-*` flags and the file's `cors` object give it: `origin` (what
 * the core policy calls `origins`; one origin may be given as a string), `credentials`,
 * `methods`, `headers`, `expose`, `maxAge`, `privateNetwork`. The function form of `origin`
 * is called with a well-formed origin and the request (`method`, `url`, and `headers` with
 * lower-case names: the same object for every adapter).
 */
export type CorsOptions = Omit<CorsPolicyOptions<EngineRequest>, 'origins'> & {
  /**
   * Who may read responses: an origin (`https://app.example`), a pattern
   * (`https://*.example.com`), `*` (any origin, not with credentials), `null` (opaque origins),
   * a list of those, or a function `(origin, request) => boolean | Promise<boolean>`.
   */
  readonly origin: string | readonly string[] | OriginPredicate<EngineRequest>
}

/** Settings for the paths matching one pattern (the file's `paths`). */
export interface PathSettings {
  /** The CORS policy there, or false for no cross-origin access there. */
  readonly cors: CorsOptions | false
}

export interface SluiceOptions {
  /** The directory to serve (or give `store`). */
  readonly root?: string
  /** A store to serve from instead of a directory (`root` is then ignored). */
  readonly store?: Store
  /** Cache-Control of file responses. Default `no-cache`. */
  readonly cacheControl?: string
  /** Serve names starting with `.`. Default false (404), except `/.well-known/`. */
  readonly dotfiles?: boolean
  /** The file served for a directory path ending in `/`. Default `index.html`. */
  readonly index?: string
  /** Ranges honoured in one Range field; more and it is ignored. Default 64. */
  readonly maxRanges?: number
  /**
   * Accept PUT and DELETE, each applied atomically and only if its preconditions hold (the
   * store must implement writes; the filesystem store does). Default false: read-only. Call
   * `sweepStagedFiles(root)` once at start-up to remove what writers that crashed left behind.
   */
  readonly writable?: boolean
  /** With `writable`: writes to an existing file need If-Match or If-Unmodified-Since (428). */
  readonly requirePreconditions?: boolean
  /** With `writable`: the largest PUT content accepted, in bytes (413). Default 100 MiB. */
  readonly maxBody?: number
  /** The CORS policy for paths that no `paths` pattern matches. Default: none. */
  readonly cors?: CorsOptions
  /** Per-path settings, first match wins: `{ '/assets/**': { cors: { origin: '*' } } }`. */
  readonly paths?: Readonly<Record<string, PathSettings>>
  /**
   * Compress compressible files on the fly for clients that accept it (Accept-Encoding), once
   * per file version, each variant with its own strong ETag (docs/API.md, "Compression").
   * Default true, with the defaults of each setting; false for none. With `root` only.
   */
  readonly compress?: boolean | CompressSettings
  /**
   * Serve precompressed siblings (`app.js.br`, `app.js.zst`, `app.js.gz`) as variants of
   * their source while they are fresh. Default true. With `root` only.
   */
  readonly precompressed?: boolean
  /**
   * A pino logger: CORS denials (warn), failed requests (error) and, for `createHandler`, one
   * access-log line per request (info). Default: nothing is logged.
   */
  readonly logger?: Logger
}

/** What the options come to: the engine every adapter runs, and what adapters need besides. */
export interface ResolvedOptions {
  /** Files, behind the CORS layer when one applies. */
  readonly engine: Engine
  readonly logger: Logger
  readonly writable: boolean
}

/**
 * `always`: the CORS layer runs even without a policy, as in `sluice serve` (so unsafe methods
 * from other origins are refused). `configured`: only when `cors` or `paths` is given, for
 * middleware whose unmatched requests belong to the application.
 */
export type CorsLayerMode = 'always' | 'configured'

const LOGGER_EXPECTED = 'expected a pino logger (with info, warn, error and isLevelEnabled methods)'

const corsObject = z
  .strictObject(
    {
      origin: z.custom<CorsOptions['origin']>(
        (value) => typeof value === 'string' || typeof value === 'function' || Array.isArray(value),
        {
          error:
            'expected an origin, a list of origins, or a function (origin, request) => boolean',
        },
      ),
      credentials: CORS_RULES.credentials,
      methods: CORS_RULES.methods,
      headers: CORS_RULES.headers,
      expose: CORS_RULES.expose,
      maxAge: CORS_RULES.maxAge,
      privateNetwork: CORS_RULES.privateNetwork,
    },
    { error: 'expected an object of CORS options such as { origin: "https://app.example" }' },
  )
  .partial()

const optionsSchema = z
  .strictObject({
    root: text('a directory path'),
    store: z.custom<Store>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { open?: unknown }).open === 'function',
      { error: 'expected a store (an object with an open method)' },
    ),
    cacheControl: SHARED_RULES.cacheControl,
    dotfiles: SHARED_RULES.dotfiles,
    index: text('a file name').refine(isFileName, {
      error: 'expected a file name without slashes',
    }),
    maxRanges: SHARED_RULES.maxRanges,
    writable: SHARED_RULES.writable,
    requirePreconditions: SHARED_RULES.requirePreconditions,
    maxBody: SHARED_RULES.maxBody,
    compress: z.union(
      [
        // The object first: a wrong setting inside it is reported as such (optionError).
        z
          .strictObject({
            types: COMPRESS_RULES.types,
            minSize: COMPRESS_RULES.minSize,
            maxSize: COMPRESS_RULES.maxSize,
            level: COMPRESS_RULES.level,
            cacheBytes: COMPRESS_RULES.cacheBytes,
          })
          .partial(),
        z.boolean(),
      ],
      { error: 'expected true, false or an object of compression settings' },
    ),
    precompressed: SHARED_RULES.precompressed,
    cors: corsObject,
    paths: z.record(
      z.string(),
      z.strictObject(
        {
          cors: z.union([corsObject, z.literal(false)], {
            error: 'expected an object of CORS options, or false',
          }),
        },
        { error: 'expected { cors: {...} } or { cors: false }' },
      ),
      { error: 'expected an object of path patterns' },
    ),
    logger: z.custom<Logger>(isLogger, {
      error: LOGGER_EXPECTED,
    }),
  })
  .partial()

/** Names users are likely to write for an option that is spelled otherwise. */
const SPELLINGS: Readonly<Record<string, string>> = {
  origins: 'origin',
  maxBodyBytes: 'maxBody',
  'max-body': 'maxBody',
  'max-age': 'maxAge',
  'cache-control': 'cacheControl',
  'max-ranges': 'maxRanges',
  'require-preconditions': 'requirePreconditions',
  'private-network': 'privateNetwork',
  'min-size': 'minSize',
  'max-size': 'maxSize',
  'cache-bytes': 'cacheBytes',
  levels: 'level',
  compression: 'compress',
}

/**
 * Validates `options` and builds what they describe.
 * @example const { engine } = resolveOptions({ root: './public', cors: { origin: 'https://app.example' } })
 */
export function resolveOptions(
  options: SluiceOptions,
  corsLayer: CorsLayerMode = 'always',
): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError('sluice: options must be an object such as { root: "./public" }')
  }
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) throw optionError(parsed.error, options)
  const o = parsed.data
  const logger = o.logger ?? silentLogger()
  // Every option is checked before anything is opened.
  const warnings = new Set<string>()
  const policy = o.cors === undefined ? null : corsPolicy(o.cors, 'cors', warnings)
  const routes: CorsRoute[] = []
  for (const [path, settings] of Object.entries(o.paths ?? {})) {
    const pattern = parsePathPattern(path)
    if ('error' in pattern) {
      throw new TypeError(`sluice: option 'paths[${JSON.stringify(path)}]': ${pattern.error}`)
    }
    const key = `paths[${JSON.stringify(path)}].cors`
    routes.push({
      pattern,
      policy: settings.cors === false ? null : corsPolicy(settings.cors, key, warnings),
    })
  }
  const writable = o.writable ?? false
  // As `sluice serve` says for --require-preconditions and --max-body without --writable.
  for (const key of ['requirePreconditions', 'maxBody'] as const) {
    if (!writable && o[key] !== undefined) {
      throw new TypeError(`sluice: option '${key}' only applies with writable: true`)
    }
  }
  for (const key of ['compress', 'precompressed'] as const) {
    if (o.store !== undefined && o[key] !== undefined) {
      throw new TypeError(
        `sluice: option '${key}' applies to the store sluice opens for 'root'; give it to openFsStore for your own store`,
      )
    }
  }
  const store =
    o.store ??
    storeFor(o.root, {
      compress: o.compress === true || o.compress === undefined ? {} : o.compress,
      precompressed: o.precompressed ?? true,
      logger,
    })
  if (writable && !isWritableStore(store)) {
    throw new TypeError("sluice: option 'writable': the store does not implement put and delete")
  }
  const files = createEngine({
    store,
    ...(writable
      ? {
          writes: {
            requirePreconditions: o.requirePreconditions ?? false,
            maxBodyBytes: o.maxBody ?? DEFAULT_MAX_BODY_BYTES,
          },
        }
      : {}),
    cacheControl: o.cacheControl ?? DEFAULT_CACHE_CONTROL,
    dotfiles: o.dotfiles ?? false,
    index: o.index ?? 'index.html',
    rangeLimits: {
      ...DEFAULT_RANGE_LIMITS,
      maxRanges: o.maxRanges ?? DEFAULT_RANGE_LIMITS.maxRanges,
    },
  })
  // Printed at start-up by `sluice serve`; the library's start-up is here.
  for (const warning of warnings) logger.warn(`sluice: ${warning}`)
  const configured = o.cors !== undefined || o.paths !== undefined
  const engine =
    configured || corsLayer === 'always' ? withCors(files, { policy, routes, logger }) : files
  return { engine, logger, writable }
}

/** What `corsMiddleware`, `fastifyCors` and `withCorsFetch` take besides the policy. */
export interface AppCorsSettings {
  /** A pino logger for CORS denials (warn, once per origin and reason). Default: none. */
  readonly logger?: Logger
}

/**
 * The policy and logger of CORS around an application's own routes, validated like the `cors`
 * option (TypeError naming the option).
 * @example const { policy } = resolveAppCors({ origin: ['https://app.example'], credentials: true })
 */
export function resolveAppCors(
  options: CorsOptions,
  settings: AppCorsSettings = {},
): { readonly policy: CorsPolicy<EngineRequest>; readonly logger: Logger } {
  const parsed = corsObject.safeParse(options)
  if (!parsed.success) throw optionError(parsed.error, options, 'cors')
  const logger = settings?.logger ?? silentLogger()
  if (!isLogger(logger)) {
    throw new TypeError(`sluice: option 'logger': ${LOGGER_EXPECTED}, got ${shown(logger)}`)
  }
  const warnings = new Set<string>()
  const policy = corsPolicy(parsed.data, 'cors', warnings)
  for (const warning of warnings) logger.warn(`sluice: ${warning}`)
  return { policy, logger }
}

function corsPolicy(
  options: Partial<CorsOptions>,
  key: string,
  warnings: Set<string>,
): CorsPolicy<EngineRequest> {
  const origin = options.origin
  if (origin === undefined) {
    throw new TypeError(
      `sluice: option '${key}.origin': expected the origins allowed (a string, a list, or a function)`,
    )
  }
  const policyOptions: CorsPolicyOptions<EngineRequest> = {
    origins: typeof origin === 'string' ? [origin] : origin,
    credentials: options.credentials,
    methods: options.methods,
    headers: options.headers,
    expose: options.expose,
    maxAge: options.maxAge,
    privateNetwork: options.privateNetwork,
  }
  const checked = checkCorsOptions(policyOptions as CorsPolicyOptions<never>)
  const first = checked.errors[0]
  if (first !== undefined) {
    // The core names its options as the policy does (`origins[1]`); say it as the user wrote it.
    const name =
      typeof origin === 'string' && first.key.startsWith('origins')
        ? 'origin'
        : first.key.replace(/^origins/, 'origin')
    throw new TypeError(`sluice: option '${key}.${name}': ${first.message}`)
  }
  for (const warning of checked.warnings) warnings.add(warning)
  return createCorsPolicy<EngineRequest>(policyOptions)
}

function storeFor(root: string | undefined, settings: FsStoreSettings): Store {
  if (root === undefined || root === '') {
    throw new TypeError("sluice: option 'root': expected a directory path (or give 'store')")
  }
  try {
    return createFsStore(root, settings)
  } catch (error) {
    throw new TypeError(
      `sluice: option 'root': expected an existing directory: ${(error as Error).message}`,
      { cause: error },
    )
  }
}

/** The first problem of a failed parse as one TypeError naming the option as written. */
function optionError(error: z.ZodError, options: unknown, prefix = ''): TypeError {
  let issue = error.issues[0]!
  // A union (`cors: {...} | false`) given an object: what is wrong inside the object.
  while (
    issue.code === 'invalid_union' &&
    issue.errors[0]?.[0] !== undefined &&
    typeof valueAt(options, issue.path) === 'object'
  ) {
    const inner = issue.errors[0][0]
    issue = { ...inner, path: [...issue.path, ...inner.path] }
  }
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys[0]!
    const key = keyName(prefix, [...path, unknown])
    const hint = SPELLINGS[unknown] === undefined ? '' : ` (did you mean '${SPELLINGS[unknown]}'?)`
    return new TypeError(`sluice: unknown option '${key}'${hint}`)
  }
  return new TypeError(
    `sluice: option '${keyName(prefix, path)}': ${issue.message}, got ${shown(valueAt(options, path))}`,
  )
}

function valueAt(options: unknown, path: readonly PropertyKey[]): unknown {
  let value = options
  for (const p of path) value = (value as Record<PropertyKey, unknown> | null | undefined)?.[p]
  return value
}

/** `cors.origin[1]`, `paths["/api/**"].cors.maxAge`. */
function keyName(prefix: string, path: readonly (string | number)[]): string {
  let key = prefix
  for (const p of path) {
    if (typeof p === 'number') key += `[${p}]`
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) key += key === '' ? p : `.${p}`
    else key += `[${JSON.stringify(p)}]`
  }
  return key
}

function shown(value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (value === undefined) return 'undefined'
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function isFileName(value: string): boolean {
  return value !== '' && !/[/\\\0]/.test(value) && value !== '.' && value !== '..'
}

function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false
  const logger = value as Record<string, unknown>
  return ['info', 'warn', 'error', 'isLevelEnabled'].every((m) => typeof logger[m] === 'function')
}

/** Options of the middleware adapters (Express, Fastify): sluice's, plus what to do on no match. */
export type MiddlewareOptions = SluiceOptions & {
  /**
   * Pass requests for which no file matched on to the framework (default true). With false,
   * sluice answers them itself (404, or 405 with Allow) exactly as its own server does.
   */
  readonly fallthrough?: boolean
}

/**
 * Splits and checks `fallthrough`, then resolves the rest. With fallthrough, requests under the
 * mount that sluice does not answer belong to the application, so the CORS layer only runs when
 * a policy is configured; without it, the middleware is the whole server, CORS layer included.
 */
export function resolveMiddlewareOptions(
  options: MiddlewareOptions,
): ResolvedOptions & { readonly fallthrough: boolean } {
  const { fallthrough = true, ...rest } = options ?? {}
  if (typeof fallthrough !== 'boolean') {
    throw new TypeError(
      `sluice: option 'fallthrough': expected true or false, got ${shown(fallthrough)}`,
    )
  }
  return { ...resolveOptions(rest, fallthrough ? 'configured' : 'always'), fallthrough }
}
