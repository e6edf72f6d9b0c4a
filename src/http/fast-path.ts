/**
 * The fast lane: the hot cases answered synchronously with prebuilt header blocks, before the
 * engine runs. It answers only what it can answer exactly as the engine would, and returns
 * undefined for everything else, which then takes the engine unchanged:
 *
 * - GET or HEAD of a file the store holds (in memory, or open) and knows current (Store.peek),
 *   with no Range (GET), If-Match, If-Unmodified-Since or If-Modified-Since: 200 with the
 *   bytes, or with the file streamed;
 * - the same with an If-None-Match exactly equal to the file's ETag (and no If-Match or
 *   If-Unmodified-Since, which RFC 9110 section 13.2.2 evaluates first): 304;
 * - for a negotiable file (one with encoded variants), the same for the representation the
 *   request's Accept-Encoding selects (encodings.ts), when the store holds that variant too
 *   (Variants.peek): with Content-Encoding, and `Vary: Accept-Encoding` on every answer. A
 *   variant not looked up or compressed yet, or a request that would get 406, is the engine's.
 *
 * The CORS layer (cors.ts) wraps it: requests without Origin pass through it (with `Vary:
 * Origin` where a policy applies), and allowed preflights are answered from the policy's cache.
 *
 * Per version of a file, the lane keeps the 200 and 304 answers (status, header fields as a
 * flat list for one writeHead call, body), for as long as the store keeps that version; per
 * request-target string, the resource path it names, looked up in the store on every request.
 */

import type { ContentCoding } from '../core/accept-encoding.js'
import { formatHttpDate } from '../core/http-date.js'
import type { HeldRepresentation, ResourcePath, Store, Variants } from '../store/store.js'
import { CodingPreferences, VARY_ACCEPT_ENCODING } from './encodings.js'
import type { ReplyNotes } from './reply.js'
import type { RequestHeaders } from './request-fields.js'
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
  headers: RequestHeaders,
) => FastReply | undefined

interface Answers {
  readonly file: HeldRepresentation
  readonly ok: FastReply
  readonly notModified: FastReply
}

/**
 * Request-targets remembered, and the bytes their strings may take together; past either the
 * map starts over (a flood of query strings). Longer targets are parsed on every request.
 */
const TARGETS_LIMIT = 10_000
const TARGET_BYTES_LIMIT = 2 * 1024 * 1024
const REMEMBERED_TARGET_LENGTH = 1024
const NOT_MODIFIED_NOTES: ReplyNotes = Object.freeze({ precondition: 'If-None-Match: 304' })
const NO_NOTES: ReplyNotes = Object.freeze({})

export interface FileLaneOptions {
  readonly cacheControl: string
  readonly dotfiles: boolean
  /** The engine's rankings of Accept-Encoding values, to share them. Default: the lane's own. */
  readonly preferences?: CodingPreferences
}

/** What a file lane remembers, for tests and diagnostics. */
export interface FileLaneStats {
  /** Request-targets remembered. */
  readonly targets: number
  /** An upper bound of the bytes their strings (the target and its segments) take. */
  readonly targetBytes: number
}

const laneStats = new WeakMap<FastLane, () => FileLaneStats>()

/** What `lane` (from createFileLane) remembers; undefined for any other lane. */
export function fileLaneStats(lane: FastLane): FileLaneStats | undefined {
  return laneStats.get(lane)?.()
}

/**
 * The lane for files held by `store`, or undefined when the store holds none.
 *
 * Memory: the lane holds no representation itself. Per request-target it remembers only the
 * resource path it names, and asks the store (`peek`, a map look-up) on every request; the
 * prebuilt answers of a version are kept in a WeakMap keyed by the store's own object for that
 * version, so they go with it when the store's cache drops it, and what is held on behalf of
 * the lane stays within the cache's budget.
 */
export function createFileLane(store: Store, options: FileLaneOptions): FastLane | undefined {
  if (typeof store.peek !== 'function') return undefined
  const peek = store.peek.bind(store)
  const preferences = options.preferences ?? new CodingPreferences()
  const byTarget = new Map<string, ResourcePath>()
  let targetBytes = 0
  /** A version's answers, or the time (ms) before which they cannot be prebuilt. */
  const byFile = new WeakMap<HeldRepresentation, Answers | number>()

  const remember = (url: string, segments: ResourcePath) => {
    if (url.length > REMEMBERED_TARGET_LENGTH) return
    // Two bytes a character at most, for the target and for its decoded segments.
    let cost = 2 * url.length
    for (const segment of segments) cost += 2 * segment.length
    if (byTarget.size >= TARGETS_LIMIT || targetBytes + cost > TARGET_BYTES_LIMIT) {
      byTarget.clear()
      targetBytes = 0
    }
    byTarget.set(url, segments)
    targetBytes += cost
  }

  /** A version's prebuilt answers, with `coding` for a variant's. */
  const prebuilt = (file: HeldRepresentation, coding: ContentCoding | undefined) => {
    let answers = byFile.get(file)
    if (answers === undefined || (typeof answers === 'number' && answers <= Date.now())) {
      answers = prebuild(file, options.cacheControl, coding)
      byFile.set(file, answers)
    }
    return typeof answers === 'number' ? undefined : answers
  }

  /** Section 12.5.3, as encodings.ts decides it, from what the store holds; undefined: unsure. */
  const selected = (
    identity: Answers,
    variants: Variants,
    accept: string | string[] | undefined,
  ) => {
    for (const coding of preferences.rank(accept)) {
      if (coding === 'identity') return identity
      if (!variants.codings.includes(coding)) continue
      const held = variants.peek?.(coding)
      if (held === null) continue
      return held === undefined ? undefined : prebuilt(held, coding)
    }
    return undefined
  }

  const answersFor = (url: string): Answers | undefined => {
    let segments = byTarget.get(url)
    let known = true
    if (segments === undefined) {
      const target = parseTarget(url)
      if (target.kind !== 'path' || target.trailingSlash) return undefined
      if (!options.dotfiles && isHidden(target.segments)) return undefined
      segments = target.segments
      known = false
    }
    const file = peek(segments)
    if (file === undefined) return undefined
    const answers = prebuilt(file, undefined)
    if (answers !== undefined && !known) remember(url, segments)
    return answers
  }

  const lane: FastLane = (method, url, headers) => {
    // The header fields first: a request the lane declines costs no lookup.
    if (method !== 'GET' && method !== 'HEAD') return undefined
    if (headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined) {
      return undefined
    }
    const ifNoneMatch = headers['if-none-match']
    if (ifNoneMatch === undefined) {
      // If-Modified-Since counts only without If-None-Match (RFC 9110 section 13.2.2); Range
      // applies to GET only (section 14.2), and If-Range without Range is ignored.
      if (headers['if-modified-since'] !== undefined) return undefined
      if (method === 'GET' && headers.range !== undefined) return undefined
    }
    const identity = answersFor(url)
    if (identity === undefined) return undefined
    const variants = identity.file.variants
    const answers = isNegotiable(variants)
      ? selected(identity, variants, headers['accept-encoding'])
      : identity
    if (answers === undefined) return undefined
    if (ifNoneMatch === undefined) return answers.ok
    // Anything but the exact tag (a list, a weak form, *) is left to the full evaluation.
    return ifNoneMatch === answers.file.etagField ? answers.notModified : undefined
  }
  laneStats.set(lane, () => ({ targets: byTarget.size, targetBytes }))
  return lane
}

function isNegotiable(variants: Variants | undefined): variants is Variants {
  return variants !== undefined && variants.codings.length > 0
}

/**
 * The 200 and 304 of read.ts for this version (a variant in `coding`, or identity), field for
 * field and in the same order; or, when they cannot be prebuilt yet, the time after which they
 * can: a modification time in the future makes Last-Modified the time of each response
 * (section 8.8.2.1) until it has passed.
 */
function prebuild(
  file: HeldRepresentation,
  cacheControl: string,
  coding: ContentCoding | undefined,
): Answers | number {
  const validators: string[] = ['ETag', file.etagField]
  if (file.lastModified !== undefined) {
    if (file.lastModified > Date.now()) return file.lastModified
    validators.push('Last-Modified', formatHttpDate(file.lastModified))
  }
  validators.push('Cache-Control', cacheControl)
  if (coding !== undefined || isNegotiable(file.variants)) {
    validators.push('Vary', VARY_ACCEPT_ENCODING)
  }
  const ok = ['Content-Type', file.contentType]
  if (coding !== undefined) ok.push('Content-Encoding', coding)
  ok.push(...validators, 'Accept-Ranges', 'bytes', 'Content-Length', String(file.size))
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
