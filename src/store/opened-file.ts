/**
 * The opened files the filesystem store answers with: one bound to a descriptor (its bytes
 * are read when sent), or one whose bytes the store holds in memory.
 */

import { close } from 'node:fs'
import { PassThrough, type Readable } from 'node:stream'
import { type EntityTag, formatEntityTag } from '../core/entity-tag.js'
import type { FileIdentity } from './file-identity.js'
import { fileSender } from './file-sender.js'
import { createRangeStream, FileChangedError } from './file-stream.js'
import type { CacheEntry, EntryAttachment } from './representation-cache.js'
import {
  type HeldRepresentation,
  type Lookup,
  type OpenedFile,
  StoreUnavailableError,
  type StoredVersion,
  type Variants,
} from './store.js'

/**
 * An open descriptor with a count of holders: a cache entry and the requests reading through
 * it. It is closed when the last holder lets go, so a read never uses a descriptor number
 * that was closed and reused.
 */
export class SharedDescriptor {
  #holders = 1

  constructor(readonly fd: number) {}

  /**
   * Takes another share. Refused (false, nothing taken) once the last holder has let go: the
   * descriptor is closed then, and its number may already be another file's.
   */
  acquire(): boolean {
    if (this.#holders === 0) return false
    this.#holders++
    return true
  }

  release(): void {
    if (this.#holders === 0) return
    if (--this.#holders === 0) closeQuietly(this.fd)
  }
}

/** A held representation was opened after its cache entry was dropped (and its file closed). */
export class StaleRepresentationError extends Error {
  constructor() {
    super('the representation was dropped from the cache before it was opened')
    this.name = 'StaleRepresentationError'
  }
}

/** The fields of one version of a file: its size, strong ETag and Last-Modified. */
export function storedVersion(identity: FileIdentity, opaque: string): StoredVersion {
  const etag: EntityTag = { weak: false, opaque }
  return {
    size: identity.size,
    etag,
    etagField: formatEntityTag(etag),
    lastModified: Number(identity.mtimeNs / 1_000_000n),
  }
}

/**
 * A file read through `descriptor`, of which it holds one share: let go once the holder has
 * called close() and every reader is done. `version` is its fields (storedVersion), computed
 * once per version rather than per request. A read that finds the file changed in place drops
 * `entry`, the cache entry this version came from, so the next request looks the path up again
 * instead of trusting it until its next check.
 */
export function descriptorFile(
  descriptor: SharedDescriptor,
  identity: FileIdentity,
  version: StoredVersion,
  contentType: string,
  entry?: CacheEntry,
  variants?: Variants,
): OpenedFile {
  const fd = descriptor.fd
  let readers = 0
  let released = false
  const releaseWhenIdle = () => {
    if (released && readers === 0) descriptor.release()
  }
  const readFailed = (error: unknown) => {
    if (error instanceof FileChangedError && entry?.valid) entry.cache.drop(entry)
  }
  return {
    size: version.size,
    etag: version.etag,
    etagField: version.etagField,
    lastModified: version.lastModified,
    contentType,
    variants,
    read(start, end) {
      if (released) throw new Error('read() after close()')
      readers++
      const stream = createRangeStream(fd, start, end, identity)
      stream.once('error', readFailed)
      stream.once('close', () => {
        readers--
        releaseWhenIdle()
      })
      return stream
    },
    send(sink, pieces, done) {
      if (released) throw new Error('send() after close()')
      readers++
      fileSender.send(fd, identity, pieces, sink, (error, bytes) => {
        readers--
        releaseWhenIdle()
        readFailed(error)
        done(error, bytes)
      })
    },
    close() {
      if (released) return
      released = true
      releaseWhenIdle()
    },
  }
}

/**
 * A file too large to hold, kept open by its cache entry: each request reads through the same
 * descriptor (no open, fstat and close per request). Like held bytes, it is served while the
 * entry is current; a change in place still cuts a response off before its last chunk.
 */
export class OpenRepresentation implements HeldRepresentation, EntryAttachment {
  readonly size: number
  readonly etag: EntityTag
  readonly etagField: string
  readonly lastModified: number
  readonly contentType: string
  readonly bytes = undefined

  constructor(
    readonly descriptor: SharedDescriptor,
    readonly identity: FileIdentity,
    opaque: string,
    contentType: string,
    readonly entry: CacheEntry,
    readonly onRelease: () => void,
    readonly variants?: Variants,
  ) {
    const version = storedVersion(identity, opaque)
    this.size = version.size
    this.etag = version.etag
    this.etagField = version.etagField
    this.lastModified = version.lastModified
    this.contentType = contentType
  }

  current(): boolean {
    return this.entry.current()
  }

  /**
   * The file for one request, through the entry's descriptor; undefined when the entry was
   * dropped meanwhile (a change, an eviction): its descriptor may be closed, and its version is
   * no longer known current, so the caller looks the path up again.
   */
  tryOpen(): OpenedFile | undefined {
    if (!this.entry.valid || !this.descriptor.acquire()) return undefined
    return descriptorFile(
      this.descriptor,
      this.identity,
      this,
      this.contentType,
      this.entry,
      this.variants,
    )
  }

  /** As tryOpen; throws StaleRepresentationError for a dropped entry. */
  open(): OpenedFile {
    const file = this.tryOpen()
    if (file === undefined) throw new StaleRepresentationError()
    return file
  }

  release(): void {
    this.descriptor.release()
    this.onRelease()
  }
}

/**
 * A file whose whole content the store holds, hashed from exactly these bytes. It holds no
 * descriptor, so one instance serves every request for this version and close() does nothing.
 */
export class MemoryFile implements OpenedFile, HeldRepresentation {
  readonly size: number
  readonly etag: EntityTag
  readonly etagField: string
  readonly lastModified: number
  /** The lookup answer for this version, shared by every request. */
  readonly lookup: Lookup

  constructor(
    readonly bytes: Buffer,
    identity: FileIdentity,
    opaque: string,
    readonly contentType: string,
    readonly entry: CacheEntry | undefined,
    readonly variants?: Variants,
  ) {
    const version = storedVersion(identity, opaque)
    this.size = bytes.length
    this.etag = version.etag
    this.etagField = version.etagField
    this.lastModified = version.lastModified
    this.lookup = { kind: 'file', file: this }
  }

  current(): boolean {
    return this.entry !== undefined && this.entry.current()
  }

  open(): OpenedFile {
    return this
  }

  /** Nothing to let go of: the bytes go with the last reference. */
  release(): void {}

  read(start: number, end: number): Readable {
    const stream = new PassThrough()
    stream.end(this.bytes.subarray(start, end + 1))
    return stream
  }

  close(): void {}
}

/** What a failed open or realpath means for the lookup. */
export function lookupForError(error: unknown): Lookup {
  const code = (error as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return { kind: 'missing' }
    case 'EACCES':
    case 'EPERM':
      return { kind: 'forbidden', reason: 'permission denied' }
    case 'EMFILE':
    case 'ENFILE':
      throw new StoreUnavailableError('out of file descriptors', 1)
    default:
      throw error
  }
}

export function closeQuietly(fd: number): void {
  close(fd, () => {})
}
