/**
 * GET and HEAD on an opened file: preconditions (RFC 9110 section 13.2.2), then ranges
 * (section 14), then the whole representation. HEAD is decided exactly like GET, except that
 * Range applies to GET only (section 14.2); the writer leaves the body out.
 *
 * The file is the representation encodings.ts selected: identity, or an encoded variant with
 * its own size and ETag, so validators and ranges apply to its bytes. Every response about a
 * negotiable resource (200, 206, 304, 412, 416) carries `Vary: Accept-Encoding`.
 */

import { randomFillSync } from 'node:crypto'
import {
  formatContentRange,
  formatUnsatisfiedRange,
  parseRange,
  type RangeLimits,
  rangeLength,
  resolveRanges,
} from '../core/byte-ranges.js'
import { formatHttpDate } from '../core/http-date.js'
import { planMultipart } from '../core/multipart.js'
import {
  type CurrentValidators,
  checkIfRange,
  evaluatePreconditions,
} from '../core/preconditions.js'
import type { OpenedFile } from '../store/store.js'
import { type Encoding, IDENTITY_ONLY, VARY_ACCEPT_ENCODING } from './encodings.js'
import { type Reply, type ReplyHeaders, textReply } from './reply.js'
import { fieldValue, type RequestHeaders } from './request-fields.js'

export interface ReadOptions {
  readonly cacheControl: string
  readonly rangeLimits: RangeLimits
}

export interface ReadRequest {
  readonly method: string
  readonly headers: RequestHeaders
}

/**
 * Decides the response to GET or HEAD for `file`, the representation chosen with `encoding`.
 * Closes the file unless the reply reads it.
 */
export function replyWithFile(
  request: ReadRequest,
  file: OpenedFile,
  options: ReadOptions,
  now: number,
  encoding: Encoding = IDENTITY_ONLY,
): Reply {
  const headers = request.headers
  // Section 8.8.2.1: a Last-Modified in the future is replaced by the time of the response.
  const lastModified =
    file.lastModified === undefined ? undefined : Math.min(file.lastModified, now)
  const current: CurrentValidators = { etag: file.etag, lastModified }
  const validatorFields: ReplyHeaders = { ETag: file.etagField }
  if (lastModified !== undefined) validatorFields['Last-Modified'] = lastModifiedField(lastModified)
  validatorFields['Cache-Control'] = options.cacheControl
  // Section 15.4.5: Vary is one of the fields a 304 carries as the 200 would.
  const vary: ReplyHeaders = encoding.negotiable ? { Vary: VARY_ACCEPT_ENCODING } : {}
  Object.assign(validatorFields, vary)

  const verdict = evaluatePreconditions(
    request.method,
    {
      ifMatch: fieldValue(headers['if-match']),
      ifNoneMatch: fieldValue(headers['if-none-match']),
      ifModifiedSince: fieldValue(headers['if-modified-since']),
      ifUnmodifiedSince: fieldValue(headers['if-unmodified-since']),
    },
    current,
  )
  if (verdict.outcome === 'not-modified') {
    file.close()
    // Section 15.4.5: a 304 carries the validator and cache fields a 200 would, and no body.
    return {
      status: 304,
      headers: validatorFields,
      body: { kind: 'none' },
      notes: { precondition: `${verdict.field}: 304` },
    }
  }
  if (verdict.outcome === 'failed') {
    file.close()
    const reply = textReply(412, `Precondition Failed: ${verdict.field} does not hold`, vary)
    reply.notes.precondition = `${verdict.field}: 412`
    return reply
  }
  const notes =
    verdict.checked.length > 0 ? { precondition: `${verdict.checked.join(', ')}: held` } : {}
  const representation: ReplyHeaders = { 'Content-Type': file.contentType }
  if (encoding.coding !== undefined) representation['Content-Encoding'] = encoding.coding
  Object.assign(representation, validatorFields)
  representation['Accept-Ranges'] = 'bytes'

  const range = request.method === 'GET' ? fieldValue(headers.range) : undefined
  if (range !== undefined) {
    const ranged = replyWithRanges(
      range,
      fieldValue(headers['if-range']),
      file,
      current,
      representation,
      options,
      now,
      encoding,
    )
    if (ranged.status !== 200) {
      ranged.notes = { ...notes, ...ranged.notes }
      return ranged
    }
    Object.assign(notes, ranged.notes)
  }
  representation['Content-Length'] = file.size
  return {
    status: 200,
    headers: representation,
    body:
      file.size === 0 ? closeAndNone(file) : { kind: 'file', file, start: 0, end: file.size - 1 },
    notes,
  }
}

/**
 * Applies Range (section 14.2) and If-Range (section 13.1.5). A reply with status 200 means
 * "serve the whole representation" and carries only notes.
 */
function replyWithRanges(
  range: string,
  ifRange: string | undefined,
  file: OpenedFile,
  current: CurrentValidators,
  representation: ReplyHeaders,
  options: ReadOptions,
  now: number,
  encoding: Encoding,
): Reply {
  const whole = (why: string): Reply => ({
    status: 200,
    headers: {},
    body: { kind: 'none' },
    notes: { range: `ignored: ${why}` },
  })
  // The variants of a negotiable resource can share a Last-Modified, so a date cannot tell
  // whose bytes the client holds: only an entity-tag validates a range of them.
  const rangeValidators = encoding.negotiable ? { etag: current.etag } : current
  if (ifRange !== undefined && !checkIfRange(ifRange, rangeValidators, now)) {
    return whole('If-Range does not match')
  }
  const specs = parseRange(range)
  if (specs === undefined) return whole('not a valid bytes range')
  const decision = resolveRanges(specs, file.size, options.rangeLimits)
  if (decision.kind === 'ignore') return whole(decision.reason)
  if (decision.kind === 'unsatisfiable') {
    file.close()
    const reply = textReply(416, 'Range Not Satisfiable: no range overlaps the representation', {
      'Content-Range': formatUnsatisfiedRange(file.size),
      'Accept-Ranges': 'bytes',
      ...(encoding.negotiable ? { Vary: VARY_ACCEPT_ENCODING } : {}),
    })
    reply.notes.range = 'unsatisfiable'
    return reply
  }
  const ranges = decision.ranges
  if (ranges.length === 1) {
    const only = ranges[0]!
    return {
      status: 206,
      headers: {
        ...representation,
        'Content-Range': formatContentRange(only, file.size),
        'Content-Length': rangeLength(only),
      },
      body: { kind: 'file', file, start: only.start, end: only.end },
      notes: { range: formatContentRange(only, file.size) },
    }
  }
  // Content-Encoding in the header section would apply to the multipart body as a whole,
  // which is not encoded: several ranges of an encoded variant get the whole variant instead.
  if (encoding.coding !== undefined) return whole('several ranges of an encoded representation')
  const plan = planMultipart(ranges, file.size, file.contentType, freshBoundary())
  // Never answer with more bytes than the whole representation (section 14.2 allows ignoring
  // Range; this is what keeps many small or overlapping ranges from amplifying).
  if (plan.length > file.size) return whole('multipart would be larger than the representation')
  return {
    status: 206,
    headers: { ...representation, 'Content-Type': plan.contentType, 'Content-Length': plan.length },
    body: { kind: 'multipart', file, plan },
    notes: { range: `${ranges.length} parts` },
  }
}

/** The last Last-Modified formatted: a hot file asks for the same one again and again. */
let formattedAt = Number.NaN
let formatted = ''

function lastModifiedField(ms: number): string {
  if (ms !== formattedAt) {
    formatted = formatHttpDate(ms)
    formattedAt = ms
  }
  return formatted
}

/** Random bytes for boundaries, drawn in batches (one call into the CSPRNG per 64 bodies). */
const BOUNDARY_BYTES = 15
const boundaryPool = Buffer.alloc(BOUNDARY_BYTES * 64)
let boundaryAt = boundaryPool.length

/** A multipart boundary of 120 random bits: fresh per response, so no file can predict it. */
function freshBoundary(): string {
  if (boundaryAt === boundaryPool.length) {
    randomFillSync(boundaryPool)
    boundaryAt = 0
  }
  const boundary = boundaryPool.toString('base64url', boundaryAt, boundaryAt + BOUNDARY_BYTES)
  boundaryAt += BOUNDARY_BYTES
  return boundary
}

function closeAndNone(file: OpenedFile): { kind: 'none' } {
  file.close()
  return { kind: 'none' }
}
