/**
 * A reply is the engine's decision about a response (status, header fields, body source)
 * before anything is written. Adapters for node:http, Express, Fastify and the Fetch API only
 * write replies; they never decide.
 */

import type { MultipartPlan } from '../core/multipart.js'
import type { OpenedFile } from '../store/store.js'

export type HeaderValue = string | number | readonly string[]
export type ReplyHeaders = Record<string, HeaderValue>

export type ReplyBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  /** Bytes `start` to `end` (inclusive) of an opened file. */
  | {
      readonly kind: 'file'
      readonly file: OpenedFile
      readonly start: number
      readonly end: number
    }
  | { readonly kind: 'multipart'; readonly file: OpenedFile; readonly plan: MultipartPlan }

/** What the request log records about how the request was decided. */
export interface ReplyNotes {
  /** The precondition that decided the response, or the ones checked, e.g. `If-None-Match: 304`. */
  precondition?: string
  /** How the Range field was treated, e.g. `bytes 0-1023`, `ignored: ...`, `unsatisfiable`. */
  range?: string
  /** The CORS decision, e.g. `allowed`, `preflight allowed`, `denied: origin not allowed`. */
  cors?: string
  /** Why an error status was chosen. */
  reason?: string
}

export interface Reply {
  status: number
  /** Field names in their canonical case; the engine and CORS layer may add to them. */
  headers: ReplyHeaders
  body: ReplyBody
  notes: ReplyNotes
  /**
   * Set when no resource matched the request (404, or 405 for a method sluice does not
   * handle): middleware adapters pass such requests on to the next handler instead.
   */
  fallthrough?: boolean
}

const TEXT = 'text/plain; charset=utf-8'

/**
 * A short plain-text reply for errors and other statuses without a representation. The reason
 * is a fixed sentence chosen by sluice, never a reflected request value.
 */
export function textReply(status: number, reason: string, headers: ReplyHeaders = {}): Reply {
  const bytes = Buffer.from(`${reason}\n`)
  return {
    status,
    headers: {
      ...headers,
      'Content-Type': TEXT,
      'Content-Length': bytes.length,
      'X-Content-Type-Options': 'nosniff',
    },
    body: { kind: 'bytes', bytes },
    notes: { reason },
  }
}

/**
 * Releases what a reply holds (an open file) once it has been written or will not be. A store
 * whose close() throws is not allowed to take the response, or the process, down with it.
 */
export function discardReply(reply: Reply): void {
  if (reply.body.kind === 'file' || reply.body.kind === 'multipart') closeFile(reply.body.file)
}

/** Closes an opened file, whose close() may throw (a store's own code). */
export function closeFile(file: OpenedFile): void {
  try {
    file.close()
  } catch {
    // Nothing more can be done for a file that cannot be closed.
  }
}
