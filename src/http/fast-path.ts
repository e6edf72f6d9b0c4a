/**
 * The fast lane: the hot cases answered synchronously with prebuilt header blocks, before the
 * engine runs. It answers only what it can answer exactly as the engine would, and returns
 * undefined for everything else, which then takes the engine unchanged:
 *
 * - GET or HEAD of a file the store holds (in memory, or open) and knows current (Store.peek),
 *   with no Range (GET), If-Match, If-Unmodified-Since or If-Modified-Since: 200 with the
 *   bytes, or with the file streamed;
 * - the same with an If-None-Match exactly equal to the file's ETag (and no If-Match or
 *   If-Unmodified-Since, which RFC 9110 section 13.2.2 evaluates first): 304.
 *
 * The CORS layer (cors.ts) wraps it: requests without Origin pass through it (with `Vary:
 * Origin` where a policy applies), and allowed preflights are answered from the policy's cache.
 *
 * Per version of a file, the lane keeps the 200 and 304 answers (status, header fields as a
 * flat list for one writeHead call, body); per request-target string, the file it resolved
 * to. Nothing is allocated on a hit.
 */

import type { IncomingHttpHeaders } from 'node:http'
import { formatHttpDate } from '../core/http-date.js'
import type { HeldRepresentation, Store } from '../store/store.js'
import type { ReplyNotes } from './reply.js'
import { isHidden, parseTarget } from './target.js'

export interface FastReply {
  readonly status: number
  /** The header fields as `[name, value, name, value, ...]`, as writeHead takes them. */
  readonly head: readonly string[]
  /** The body of a GET (a HEAD gets the same fields and no body). */
  readonly body: Buffer | undefined
  /** Or a representation too large to hold, whose whole content a GET streams. */
  readonly stream: HeldRepresentation | undefined
  readonly notes: ReplyNotes
}

/** Answers a request from prebuilt parts, or returns undefined: the engine decides. */
export type FastLane = (
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
) => FastReply | undefined

interface Answers {
  readonly file: HeldRepresentation
  readonly ok: FastReply
  readonly notModified: FastReply
}

/** Request-targets remembered; past this the map starts over (a flood of query strings). */
const TARGETS_LIMIT = 10_000
const NOT_MODIFIED_NOTES: ReplyNotes = Object.freeze({ precondition: 'If-None-Match: 304' })
const NO_NOTES: ReplyNotes = Object.freeze({})

export interface FileLaneOptions {
  readonly cacheControl: string
  readonly dotfiles: boolean
}

/** The lane for files held by `store`, or undefined when the store holds none. */
export function createFileLane(store: Store, options: FileLaneOptions): FastLane | undefined {
  if (typeof store.peek !== 'function') return undefined
  const peek = store.peek.bind(store)
  const byTarget = new Map<string, Answers>()
  const byFile = new WeakMap<HeldRepresentation, Answers | null>()

  const answersFor = (url: string): Answers | undefined => {
    const known = byTarget.get(url)
    if (known !== undefined) {
      if (known.file.current()) return known
      byTarget.delete(url)
    }
    const target = parseTarget(url)
    if (target.kind !== 'path' || target.trailingSlash) return undefined
    if (!options.dotfiles && isHidden(target.segments)) return undefined
    const file = peek(target.segments)
    if (file === undefined) return undefined
    let answers = byFile.get(file)
    if (answers === undefined) {
      answers = prebuild(file, options.cacheControl)
      byFile.set(file, answers)
    }
    if (answers === null) return undefined
    if (byTarget.size >= TARGETS_LIMIT) byTarget.clear()
    byTarget.set(url, answers)
    return answers
  }

  return (method, url, headers) => {
    if (method !== 'GET' && method !== 'HEAD') return undefined
    const answers = answersFor(url)
    if (answers === undefined) return undefined
    if (headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined) {
      return undefined
    }
    const ifNoneMatch = headers['if-none-match']
    if (ifNoneMatch !== undefined) {
      // Anything but the exact tag (a list, a weak form, *) is left to the full evaluation.
      return ifNoneMatch === answers.file.etagField ? answers.notModified : undefined
    }
    if (headers['if-modified-since'] !== undefined) return undefined
    // Range applies to GET only (RFC 9110 section 14.2); If-Range without Range is ignored.
    if (method === 'GET' && headers.range !== undefined) return undefined
    return answers.ok
  }
}

/**
 * The 200 and 304 of read.ts for this version, field for field and in the same order; null
 * when they cannot be prebuilt (a modification time in the future makes Last-Modified the
 * time of each response, section 8.8.2.1).
 */
function prebuild(file: HeldRepresentation, cacheControl: string): Answers | null {
  const validators: string[] = ['ETag', file.etagField]
  if (file.lastModified !== undefined) {
    if (file.lastModified > Date.now()) return null
    validators.push('Last-Modified', formatHttpDate(file.lastModified))
  }
  validators.push('Cache-Control', cacheControl)
  const ok = [
    'Content-Type',
    file.contentType,
    ...validators,
    'Accept-Ranges',
    'bytes',
    'Content-Length',
    String(file.size),
  ]
  return {
    file,
    ok: Object.freeze({
      status: 200,
      head: Object.freeze(ok),
      body: file.bytes,
      stream: file.bytes === undefined && file.size > 0 ? file : undefined,
      notes: NO_NOTES,
    }),
    notModified: Object.freeze({
      status: 304,
      head: Object.freeze(validators),
      body: undefined,
      stream: undefined,
      notes: NOT_MODIFIED_NOTES,
    }),
  }
}

/** The same answer with `Vary` fields added (memoized per answer by the caller). */
export function withVary(reply: FastReply, vary: string): FastReply {
  return Object.freeze({ ...reply, head: Object.freeze([...reply.head, 'Vary', vary]) })
}
