/**
 * The store interface: what the HTTP layer needs from wherever resources live. A store answers
 * with metadata (size, validators, type) before any byte is read, because preconditions and
 * ranges are decided from metadata alone; bytes are read afterwards, range by range.
 *
 * The filesystem store (fs-store.ts) is the embedded default; others implement the same shape.
 */

import type { Readable } from 'node:stream'
import type { EntityTag } from '../core/entity-tag.js'

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
  close(): void
}

export type Lookup =
  | { readonly kind: 'file'; readonly file: OpenedFile }
  | { readonly kind: 'directory' }
  | { readonly kind: 'missing' }
  /** The store refuses to expose this path (outside the root, unreadable). */
  | { readonly kind: 'forbidden'; readonly reason: string }

export interface Store {
  /** Finds and opens the representation at `path`. */
  open(path: ResourcePath): Promise<Lookup>
  /** Releases watchers, caches and handles. */
  close?(): Promise<void>
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
