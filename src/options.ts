/**
 * The library's options, checked once at construction: a bad option is a TypeError naming the
 * option and what was expected, never a failure at the first request.
 */

import { DEFAULT_RANGE_LIMITS } from './core/byte-ranges.js'
import { createEngine, DEFAULT_CACHE_CONTROL, type Engine } from './http/engine.js'
import { DEFAULT_MAX_BODY_BYTES } from './http/write.js'
import { createFsStore } from './store/fs-store.js'
import { isWritableStore, type Store } from './store/store.js'

export interface SluiceOptions {
  /** The directory to serve (or give `store`). */
  readonly root?: string
  /** A store to serve from instead of a directory. */
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
  readonly maxBodyBytes?: number
}

/** Options of the middleware adapters (Express, Fastify): sluice's, plus what to do on no match. */
export type MiddlewareOptions = SluiceOptions & {
  /**
   * Pass requests for which no file matched on to the framework (default true). With false,
   * sluice answers them itself (404, or 405 with Allow) exactly as its own server does.
   */
  readonly fallthrough?: boolean
}

/** Splits and checks `fallthrough`, then builds the engine from the rest. */
export function buildMiddlewareEngine(options: MiddlewareOptions): {
  engine: Engine
  fallthrough: boolean
} {
  const { fallthrough = true, ...rest } = options ?? {}
  // Express and Fastify may have read the request content with their own body parsers before
  // sluice sees it; writes are offered through the node:http handler, the Fetch API handler
  // and the CLI, where the content is known to be unread.
  if (rest.writable === true) {
    throw new TypeError(
      "sluice: option 'writable' is not supported by the Express and Fastify adapters; use createHandler or createFetchHandler",
    )
  }
  if (typeof fallthrough !== 'boolean') {
    throw new TypeError(
      `sluice: option 'fallthrough' must be a boolean, got ${JSON.stringify(fallthrough)}`,
    )
  }
  return { engine: buildEngine(rest), fallthrough }
}

const KNOWN = new Set([
  'root',
  'store',
  'cacheControl',
  'dotfiles',
  'index',
  'maxRanges',
  'writable',
  'requirePreconditions',
  'maxBodyBytes',
])

/** Validates `options` and builds the engine they describe. */
export function buildEngine(options: SluiceOptions): Engine {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('sluice: options must be an object such as { root: "./public" }')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`sluice: unknown option '${key}'`)
  }
  const store = options.store ?? storeFor(options.root)
  const writable = optional(options, 'writable', isBoolean, 'a boolean', false)
  if (writable && !isWritableStore(store)) {
    throw new TypeError("sluice: option 'writable' needs a store that implements put and delete")
  }
  const writes = {
    requirePreconditions: optional(options, 'requirePreconditions', isBoolean, 'a boolean', false),
    maxBodyBytes: optional(
      options,
      'maxBodyBytes',
      isByteCount,
      'a whole number of bytes',
      DEFAULT_MAX_BODY_BYTES,
    ),
  }
  return createEngine({
    ...(writable ? { writes } : {}),
    store,
    cacheControl: optional(
      options,
      'cacheControl',
      isFieldValue,
      'printable ASCII text',
      DEFAULT_CACHE_CONTROL,
    ),
    dotfiles: optional(options, 'dotfiles', isBoolean, 'a boolean', false),
    index: optional(options, 'index', isFileName, 'a file name without slashes', 'index.html'),
    rangeLimits: {
      ...DEFAULT_RANGE_LIMITS,
      maxRanges: optional(
        options,
        'maxRanges',
        isRangeCount,
        'an integer from 1 to 10000',
        DEFAULT_RANGE_LIMITS.maxRanges,
      ),
    },
  })
}

function storeFor(root: unknown): Store {
  if (typeof root !== 'string' || root === '') {
    throw new TypeError("sluice: option 'root' must be a directory path (or give 'store')")
  }
  try {
    return createFsStore(root)
  } catch (error) {
    throw new TypeError(
      `sluice: option 'root' must be an existing directory: ${(error as Error).message}`,
      { cause: error },
    )
  }
}

function optional<K extends keyof SluiceOptions, T>(
  options: SluiceOptions,
  key: K,
  valid: (value: unknown) => value is T,
  expected: string,
  fallback: T,
): T {
  const value = options[key]
  if (value === undefined) return fallback
  if (!valid(value)) {
    throw new TypeError(`sluice: option '${key}' must be ${expected}, got ${JSON.stringify(value)}`)
  }
  return value
}

function isBoolean(value: unknown): value is boolean {
  return typeof value === 'boolean'
}

function isFieldValue(value: unknown): value is string {
  return typeof value === 'string' && /^[\x20-\x7e]+$/.test(value) && value.trim() !== ''
}

function isFileName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value !== '' &&
    !/[/\\\0]/.test(value) &&
    value !== '.' &&
    value !== '..'
  )
}

function isByteCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function isRangeCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 10_000
}
