/**
 * The opened files the filesystem store answers with: one bound to a descriptor (its bytes
 * are read when sent), or one whose bytes the store holds in memory.
 */

import { close } from 'node:fs'
import { PassThrough, type Readable } from 'node:stream'
import { type EntityTag, formatEntityTag } from '../core/entity-tag.js'
import type { FileIdentity } from './file-identity.js'
import { createRangeStream } from './file-stream.js'
import type { CacheEntry } from './representation-cache.js'
import {
  type HeldRepresentation,
  type Lookup,
  type OpenedFile,
  StoreUnavailableError,
} from './store.js'

/** A file read through `fd`, which is closed once the holder and every reader are done. */
export function descriptorFile(
  fd: number,
  identity: FileIdentity,
  opaque: string,
  contentType: string,
): OpenedFile {
  const etag = { weak: false, opaque }
  // The descriptor is closed once the holder has called close() and every stream reading from
  // it has closed, so a stream never reads from a descriptor number that was reused.
  let streams = 0
  let released = false
  const closeWhenIdle = () => {
    if (released && streams === 0) closeQuietly(fd)
  }
  return {
    size: identity.size,
    etag,
    etagField: formatEntityTag(etag),
    lastModified: Number(identity.mtimeNs / 1_000_000n),
    contentType,
    read(start, end) {
      if (released) throw new Error('read() after close()')
      streams++
      const stream = createRangeStream(fd, start, end, identity)
      stream.once('close', () => {
        streams--
        closeWhenIdle()
      })
      return stream
    },
    close() {
      if (released) return
      released = true
      closeWhenIdle()
    },
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
  ) {
    this.size = bytes.length
    this.etag = { weak: false, opaque }
    this.etagField = formatEntityTag(this.etag)
    this.lastModified = Number(identity.mtimeNs / 1_000_000n)
    this.lookup = { kind: 'file', file: this }
  }

  current(): boolean {
    return this.entry !== undefined && this.entry.current()
  }

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
