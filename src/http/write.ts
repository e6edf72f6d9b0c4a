/**
 * PUT and DELETE (RFC 9110 sections 9.3.4 and 9.3.5): the request checks that come before any
 * precondition, the write as one conditional store operation, and the status that reports it.
 *
 * Section 13.2.1: preconditions are evaluated only when the request would otherwise succeed,
 * so malformed or unacceptable requests (400, 405, 409, 413, 415) are answered first, and the
 * store evaluates the preconditions (412, and 428 from RFC 6585) itself, atomically with the
 * change.
 */

import { formatHttpDate } from '../core/http-date.js'
import type { ConditionalFields } from '../core/preconditions.js'
import type { ResourcePath, WritableStore, WriteResult } from '../store/store.js'
import { type Reply, textReply } from './reply.js'
import { fieldValue, type RequestHeaders } from './request-fields.js'
import { formatPath } from './target.js'

/** Default for `--max-body`: 100 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024

export interface WriteOptions {
  /** The largest request content accepted, in bytes (413 above it). */
  readonly maxBodyBytes: number
  /** Writes to an existing resource must carry If-Match or If-Unmodified-Since (428). */
  readonly requirePreconditions: boolean
}

export interface WriteRequest {
  readonly method: string
  readonly headers: RequestHeaders
  /** The request content; absent means empty. */
  readonly body?: AsyncIterable<Uint8Array> | undefined
}

/** The methods a file path answers to when writes are on. */
export const WRITABLE_FILE_METHODS = 'GET, HEAD, PUT, DELETE, OPTIONS'
/** The methods of a path that names a directory: it can be read, never written. */
const DIRECTORY_METHODS = 'GET, HEAD, OPTIONS'

/** Decides the response to a PUT or DELETE on `path`. */
export async function replyToWrite(
  request: WriteRequest,
  path: ResourcePath,
  trailingSlash: boolean,
  store: WritableStore,
  options: WriteOptions,
): Promise<Reply> {
  if (path.length === 0 || trailingSlash) {
    return textReply(
      405,
      'Method Not Allowed: a path ending in / names a directory; PUT and DELETE take a file path',
      { Allow: DIRECTORY_METHODS },
    )
  }
  const headers = request.headers
  const condition = {
    fields: conditionalFields(headers),
    requireValidator: options.requirePreconditions,
  }
  if (request.method === 'DELETE') {
    return replyFor(await store.delete(path, condition), path, condition.fields)
  }

  // Section 9.3.4: a PUT with Content-Range is a partial update sluice does not implement;
  // applying it as a full representation would corrupt the resource.
  if (headers['content-range'] !== undefined) {
    return textReply(400, 'Bad Request: PUT does not accept Content-Range (no partial updates)')
  }
  // Section 8.4: the bytes would be stored and served without their Content-Encoding.
  const encoding = fieldValue(headers['content-encoding'])
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    return textReply(415, 'Unsupported Media Type: send the content without Content-Encoding', {
      'Accept-Encoding': 'identity',
    })
  }
  const length = contentLength(headers)
  // An adapter that cannot hand over the content must never turn a PUT into an empty file.
  if (request.body === undefined && length !== 0) {
    return textReply(501, 'Not Implemented: this server cannot read request content')
  }
  if (length !== undefined && length > options.maxBodyBytes) {
    return tooLarge(options.maxBodyBytes)
  }
  const body = {
    chunks: request.body ?? emptyBody(),
    length,
    maxBytes: options.maxBodyBytes,
    contentType: fieldValue(headers['content-type']),
  }
  return replyFor(await store.put(path, body, condition), path, condition.fields)
}

function replyFor(result: WriteResult, path: ResourcePath, fields: ConditionalFields): Reply {
  // One case per outcome; the compiler checks that none is missing.
  switch (result.outcome) {
    case 'created':
    case 'replaced': {
      // Section 9.3.4: validators may be sent because the content was stored unchanged, so
      // the client can make its next conditional write without a GET.
      const validators = {
        ETag: result.version.etagField,
        'Last-Modified': formatHttpDate(Math.min(result.version.lastModified, Date.now())),
      }
      // Section 15.3.2: 201 for a new resource. Location names it exactly, since the target
      // may have been spelled differently (`//a//b`, percent-encoding). A replacement answers
      // 204 (section 9.3.4: 200 or 204), as there is nothing to say beyond the validators.
      const reply: Reply =
        result.outcome === 'created'
          ? {
              status: 201,
              headers: { ...validators, Location: formatPath(path, false), 'Content-Length': 0 },
              body: { kind: 'none' },
              notes: {},
            }
          : { status: 204, headers: validators, body: { kind: 'none' }, notes: {} }
      notePreconditions(reply, result.checked)
      return reply
    }
    case 'deleted': {
      // Section 9.3.5: 204, and no validators: there is no representation any more.
      const reply: Reply = { status: 204, headers: {}, body: { kind: 'none' }, notes: {} }
      notePreconditions(reply, result.checked)
      return reply
    }
    case 'precondition-failed':
      return preconditionFailed(result.field)
    case 'precondition-required':
      return preconditionRequired()
    case 'missing': {
      const reply = textReply(404, 'Not Found')
      if (fields.ifMatch !== undefined || fields.ifUnmodifiedSince !== undefined) {
        reply.notes.precondition = 'ignored (section 13.2.1): 404'
      }
      return reply
    }
    case 'conflict':
      return textReply(409, `Conflict: ${result.reason}`)
    case 'forbidden': {
      // The detail goes to the log only, as for reads.
      const reply = textReply(403, 'Forbidden: this path cannot be written')
      reply.notes.reason = `Forbidden (${result.reason})`
      return reply
    }
    case 'unsupported-media-type':
      return textReply(415, `Unsupported Media Type: ${result.reason}`)
    case 'too-large':
      return tooLarge(result.maxBytes)
    case 'incomplete':
      return textReply(400, `Bad Request: ${result.reason}; nothing was changed`)
    case 'insufficient-storage':
      return textReply(507, 'Insufficient Storage: no space left; nothing was changed')
  }
}

/** 412 for a write whose precondition `field` evaluated to false (shared with the write gate). */
export function preconditionFailed(field: string): Reply {
  const reply = textReply(412, `Precondition Failed: ${field} does not hold; nothing was changed`)
  reply.notes.precondition = `${field}: 412`
  return reply
}

/** 428 (RFC 6585 section 3) for a write that must be conditional, saying how to resubmit. */
export function preconditionRequired(): Reply {
  const reply = textReply(
    428,
    'Precondition Required: this resource exists; send If-Match with the ETag of the version you changed',
    { 'Cache-Control': 'no-store' },
  )
  reply.notes.precondition = 'no If-Match or If-Unmodified-Since: 428'
  return reply
}

function tooLarge(maxBytes: number): Reply {
  return textReply(413, `Content Too Large: the limit is ${maxBytes} bytes; nothing was changed`)
}

function notePreconditions(reply: Reply, checked: readonly string[]): void {
  if (checked.length > 0) reply.notes.precondition = `${checked.join(', ')}: held`
}

export function conditionalFields(headers: RequestHeaders): ConditionalFields {
  return {
    ifMatch: fieldValue(headers['if-match']),
    ifNoneMatch: fieldValue(headers['if-none-match']),
    ifUnmodifiedSince: fieldValue(headers['if-unmodified-since']),
  }
}

/** Content-Length as a number (node:http has already refused invalid or conflicting ones). */
function contentLength(headers: RequestHeaders): number | undefined {
  if (headers['transfer-encoding'] !== undefined) return undefined
  const value = fieldValue(headers['content-length'])
  if (value === undefined) return 0 // RFC 9112 section 6.3: no framing field, no content
  const n = Number(value)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}
