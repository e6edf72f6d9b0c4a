/**
 * The store interface: what the HTTP layer needs from wherever resources live. A store answers
 * with metadata (size, validators, type) before any byte is read, because preconditions and
 * ranges are decided from metadata alone; bytes are read afterwards, range by range.
 *
 * The filesystem store (fs-store.ts) is the embedded default; others implement the same shape.
 */

import type { Readable } from 'node:stream'
import type { ContentCoding } from '../core/accept-encoding.js'
import type { EntityTag } from '../core/entity-tag.js'
import type { ConditionalFields, PreconditionField } from '../core/preconditions.js'
import type { BodyPiece, ByteSink, SendDone } from './file-sender.js'

/**
 * A resource path below the root: decoded segments, each non-empty and free of `/`, `\`, NUL,
 * `.` and `..` (src/http/target.ts guarantees it before a store sees one).
 */
export type ResourcePath = readonly string[]

/** What a store knows about one representation before reading it. */
export interface Representation {
  /** Length in bytes. */
  readonly size: number
  /** The strong entity-tag; it changes whenever the bytes change. */
  readonly etag: EntityTag
  /** The formatted entity-tag, as sent in the ETag field. */
  readonly etagField: string
  /** Last modification time in milliseconds since the epoch, when there is one. */
  readonly lastModified?: number | undefined
  /** The media type, with a charset for text. */
  readonly contentType: string
  /**
   * The same representation in other content codings (RFC 9110 section 8.4), when the store
   * has or can make any: the resource is then negotiable (Accept-Encoding). Absent for an
   * encoded variant itself, and for a resource with one representation only.
   */
  readonly variants?: Variants | undefined
}

/** The encoded variants of one version of a representation. */
export interface Variants {
  /** The codings a variant may be had in (non-empty): siblings found, and on the fly. */
  readonly codings: readonly ContentCoding[]
  /**
   * The variant in `coding`, opened for one request (the caller closes it), with its own size
   * and strong ETag and the identity's Content-Type; undefined when there is none after all (a
   * stale sibling, a compression that saved nothing). Concurrent calls share one lookup.
   */
  open(coding: ContentCoding): Promise<OpenedFile | undefined>
  /**
   * Synchronously, for fast paths: the variant held and known current; null when it is known
   * that there is none; undefined when that is not known yet (`open` finds out).
   */
  peek?(coding: ContentCoding): HeldRepresentation | null | undefined
}

/**
 * An opened representation: its metadata and the means to read it. The holder must call
 * `close()` once, whatever happens.
 */
export interface OpenedFile extends Representation {
  /** The whole representation, when the store holds it in memory. */
  readonly bytes?: Buffer | undefined
  /**
   * Streams bytes `start` to `end` (inclusive). If the stored bytes stop matching this
   * representation (the file was modified or truncated in place), the stream errors before its
   * last chunk, so a response is cut off rather than completed with the wrong bytes.
   */
  read(start: number, end: number): Readable
  /**
   * Optional, for writers that can do better than a stream (node:http): writes `pieces`
   * (buffers as they are, byte ranges of this representation) to `sink` with backpressure and
   * calls `done` once. The same rule as `read`: if the stored bytes stop matching this
   * representation, `done` gets an error before the last chunk is written.
   */
  send?(sink: ByteSink, pieces: readonly BodyPiece[], done: SendDone): void
  close(): void
}

export type Lookup =
  | { readonly kind: 'file'; readonly file: OpenedFile }
  | { readonly kind: 'directory' }
  | { readonly kind: 'missing' }
  /** The store refuses to expose this path (outside the root, unreadable). */
  | { readonly kind: 'forbidden'; readonly reason: string }

/**
 * A representation a store holds in memory and knows to be current, for fast paths that
 * answer without waiting for anything.
 */
export interface HeldRepresentation extends Representation {
  /** The whole representation, when held in memory (else it is read when sent). */
  readonly bytes: Buffer | undefined
  /** Whether it may still be served as is; cheap, and false for good once it may not. */
  current(): boolean
  /** The representation opened for one request; the caller closes it. */
  open(): OpenedFile
}

export interface Store {
  /** Finds and opens the representation at `path`. */
  open(path: ResourcePath): Promise<Lookup>
  /**
   * The representation at `path`, synchronously, when the store holds it in memory and knows
   * it current; undefined otherwise (then `open` answers). Optional.
   */
  peek?(path: ResourcePath): HeldRepresentation | undefined
  /** Releases watchers, caches and handles. */
  close?(): Promise<void>
}

/**
 * A store that can also be written. Each write is ONE conditional operation: the store checks
 * the condition against the current representation and applies the change as a single atomic
 * step (compare-and-set on the validator), so no other write to the same resource can come
 * between the check and the change.
 *
 * The condition is the request's precondition fields, evaluated with the core's
 * `evaluatePreconditions` (RFC 9110 section 13.2.2). A store on another backend translates it
 * natively: If-Match becomes `UPDATE ... WHERE etag = $1` in PostgreSQL or `If-Match` on an S3
 * PutObject; `If-None-Match: *` becomes an insert that fails on conflict, or S3's
 * `If-None-Match: *`; `requireValidator` is checked in the same statement.
 */
export interface WritableStore extends Store {
  /** Creates or replaces the representation at `path` with `body`, if `condition` holds. */
  put(path: ResourcePath, body: WriteBody, condition: WriteCondition): Promise<WriteResult>
  /** Removes the representation at `path`, if `condition` holds. */
  delete(path: ResourcePath, condition: WriteCondition): Promise<WriteResult>
}

/** The content of a PUT, as it arrives. */
export interface WriteBody {
  /** The bytes. An error thrown by the iterator (the client went away) abandons the write. */
  readonly chunks: AsyncIterable<Uint8Array>
  /** The announced length (Content-Length), when there is one: any other count abandons it. */
  readonly length?: number | undefined
  /** The most bytes accepted; one more and the write is abandoned as `too-large`. */
  readonly maxBytes: number
  /** The Content-Type the client labelled the bytes with, if any. */
  readonly contentType?: string | undefined
}

export interface WriteCondition {
  /** The request's precondition fields (If-Modified-Since is ignored for writes). */
  readonly fields: ConditionalFields
  /**
   * RFC 6585 section 3 (428): when the resource exists, the request must carry an If-Match or
   * If-Unmodified-Since that was evaluated, so that it cannot overwrite a version it never saw.
   */
  readonly requireValidator: boolean
}

/** The validators of the version a write stored, so the client can chain its next write. */
export interface StoredVersion {
  readonly size: number
  readonly etag: EntityTag
  readonly etagField: string
  readonly lastModified: number
}

export type WriteResult =
  /** A PUT made a new resource. `checked` lists the preconditions that held. */
  | {
      readonly outcome: 'created'
      readonly version: StoredVersion
      readonly checked: readonly PreconditionField[]
    }
  /** A PUT replaced the existing representation. */
  | {
      readonly outcome: 'replaced'
      readonly version: StoredVersion
      readonly checked: readonly PreconditionField[]
    }
  /** A DELETE removed it. */
  | { readonly outcome: 'deleted'; readonly checked: readonly PreconditionField[] }
  /** A precondition evaluated to false: nothing was changed (412). */
  | { readonly outcome: 'precondition-failed'; readonly field: PreconditionField }
  /** The resource exists and the request had no validator to check (428). */
  | { readonly outcome: 'precondition-required' }
  /** DELETE of a resource that does not exist (404). */
  | { readonly outcome: 'missing' }
  /** The path cannot hold a file: it is a directory, a parent is a file... (409). */
  | { readonly outcome: 'conflict'; readonly reason: string }
  /**
   * The bytes are labelled with a media type this path cannot store (RFC 9110 section 9.3.4:
   * a PUT inconsistent with the resource's configuration gets 415). `reason` names the type.
   */
  | { readonly outcome: 'unsupported-media-type'; readonly reason: string }
  /** The store refuses to write this path (outside the root, permission denied). */
  | { readonly outcome: 'forbidden'; readonly reason: string }
  /** The body went past `maxBytes`; nothing was changed (413). */
  | { readonly outcome: 'too-large'; readonly maxBytes: number }
  /** The body ended early or the client went away; nothing was changed. */
  | { readonly outcome: 'incomplete'; readonly reason: string }
  /** No space left (ENOSPC, EDQUOT); nothing was changed (507). */
  | { readonly outcome: 'insufficient-storage' }

/**
 * True when `store` implements writes.
 * @example isWritableStore({ open: async () => ({ kind: 'missing' }) }) // false
 */
export function isWritableStore(store: Store): store is WritableStore {
  const candidate = store as Partial<WritableStore>
  return typeof candidate.put === 'function' && typeof candidate.delete === 'function'
}

/** A store error that maps to an HTTP status (503 when out of file descriptors, for example). */
export class StoreUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message)
    this.name = 'StoreUnavailableError'
  }
}
