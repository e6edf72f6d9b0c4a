/**
 * The engine: one function from a request to a reply, shared by every adapter. It resolves the
 * target, refuses what must not be served, finds the resource in the store and hands the
 * decision to the module for the method (read.ts for GET and HEAD, write.ts for PUT and
 * DELETE when writes are enabled).
 */

import { DEFAULT_RANGE_LIMITS, type RangeLimits } from '../core/byte-ranges.js'
import {
  isWritableStore,
  type ResourcePath,
  type Store,
  StoreUnavailableError,
} from '../store/store.js'
import { CodingPreferences, selectRepresentation } from './encodings.js'
import { createFileLane, type FastLane } from './fast-path.js'
import { replyWithFile } from './read.js'
import { type Reply, textReply } from './reply.js'
import type { RequestHeaders } from './request-fields.js'
import { formatPath, isHidden, parseTarget } from './target.js'
import { replyToWrite, WRITABLE_FILE_METHODS, type WriteOptions } from './write.js'

/** What adapters pass in: the request line and header fields (names in lower case). */
export interface EngineRequest {
  readonly method: string
  /** The request-target as received. */
  readonly url: string
  readonly headers: RequestHeaders
  /**
   * The path prefix an adapter stripped from `url` before calling the engine (an Express mount
   * path, a Fastify prefix), so redirects can point back through it. Default ''.
   */
  readonly base?: string
  /** The request content, for PUT (node:http's IncomingMessage is one). Absent means empty. */
  readonly body?: AsyncIterable<Uint8Array> | undefined
}

export interface EngineOptions {
  readonly store: Store
  /** Cache-Control on file responses. Default `no-cache`: browsers revalidate every time. */
  readonly cacheControl?: string
  /** Serve names starting with `.` (other than `.well-known`). Default false: they are 404. */
  readonly dotfiles?: boolean
  /** The file served for a directory path ending in `/`. Default `index.html`. */
  readonly index?: string
  readonly rangeLimits?: RangeLimits
  /** Accept PUT and DELETE (the store must implement them). Default: read-only. */
  readonly writes?: WriteOptions
}

export interface Engine {
  (request: EngineRequest): Promise<Reply>
  /**
   * Answers the hot cases synchronously from prebuilt parts, exactly as the engine would
   * (fast-path.ts); the node:http handler tries it first. Optional.
   */
  fast?: FastLane | undefined
}

export const DEFAULT_CACHE_CONTROL = 'no-cache'
const READ_METHODS = 'GET, HEAD, OPTIONS'

/**
 * @example const engine = createEngine({ store: await openFsStore({ root: './public' }) })
 * const reply = await engine({ method: 'GET', url: '/index.html', headers: {} }) // reply.status: 200
 */
export function createEngine(options: EngineOptions): Engine {
  const store = options.store
  const index = options.index ?? 'index.html'
  const dotfiles = options.dotfiles ?? false
  const readOptions = {
    cacheControl: options.cacheControl ?? DEFAULT_CACHE_CONTROL,
    rangeLimits: options.rangeLimits ?? DEFAULT_RANGE_LIMITS,
  }
  const writes = options.writes
  if (writes !== undefined && !isWritableStore(store)) {
    throw new TypeError('writes are enabled but the store does not implement put and delete')
  }
  const allow = writes === undefined ? READ_METHODS : WRITABLE_FILE_METHODS
  const preferences = new CodingPreferences()

  const handle: Engine = async function handle(request: EngineRequest): Promise<Reply> {
    const target = parseTarget(request.url)
    if (target.kind === 'invalid') return textReply(400, `Bad Request: ${target.reason}`)
    const method = request.method
    if (method === 'OPTIONS') return optionsReply(allow)
    if (target.kind === 'asterisk') return textReply(400, 'Bad Request: * is only for OPTIONS')
    const write = writes !== undefined && (method === 'PUT' || method === 'DELETE')
    if (method !== 'GET' && method !== 'HEAD' && !write) {
      const reply = textReply(405, 'Method Not Allowed', { Allow: allow })
      reply.fallthrough = true
      return reply
    }
    if (!dotfiles && isHidden(target.segments)) return notFound()

    try {
      if (write && isWritableStore(store)) {
        return await replyToWrite(request, target.segments, target.trailingSlash, store, writes)
      }
      let lookup = await store.open(target.segments)
      if (lookup.kind === 'file' && target.trailingSlash) {
        lookup.file.close()
        return notFound()
      }
      if (lookup.kind === 'directory') {
        if (!target.trailingSlash) {
          return redirectToDirectory(request.base ?? '', target.segments, target.query)
        }
        lookup = await store.open([...target.segments, index])
        if (lookup.kind === 'directory') return notFound()
      }
      if (lookup.kind === 'missing') return notFound()
      if (lookup.kind === 'forbidden') {
        const reply = notFound()
        reply.notes.reason = `Not Found (${lookup.reason})`
        return reply
      }
      // Section 12.5.3: identity or one of its encoded variants, by Accept-Encoding.
      if (lookup.file.variants === undefined) {
        return replyWithFile(request, lookup.file, readOptions, Date.now())
      }
      const ranking = preferences.rank(request.headers['accept-encoding'])
      const selected = await selectRepresentation(lookup.file, ranking)
      if (selected.kind === 'reply') return selected.reply
      return replyWithFile(request, selected.file, readOptions, Date.now(), selected.encoding)
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        return textReply(503, `Service Unavailable: ${error.message}`, {
          'Retry-After': String(error.retryAfterSeconds),
        })
      }
      throw error
    }
  }
  handle.fast = createFileLane(store, {
    cacheControl: readOptions.cacheControl,
    dotfiles,
    preferences,
  })
  return handle
}

function notFound(): Reply {
  const reply = textReply(404, 'Not Found')
  reply.fallthrough = true
  return reply
}

function optionsReply(allow: string): Reply {
  return { status: 204, headers: { Allow: allow }, body: { kind: 'none' }, notes: {} }
}

/**
 * A directory asked for without its trailing slash: 301 to the same path with the slash. The
 * Location is rebuilt from the decoded segments, so it is always a path on this host (never
 * `//host`), percent-encoded, and keeps the query.
 */
function redirectToDirectory(base: string, segments: ResourcePath, query: string): Reply {
  const location = base + formatPath(segments, true) + encodeQuery(query)
  return textReply(301, 'Moved Permanently', { Location: location })
}

/** Keeps a query as sent, percent-encoding anything that is not printable ASCII. */
function encodeQuery(query: string): string {
  return query.replace(
    /[^\x21-\x7e]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  )
}
