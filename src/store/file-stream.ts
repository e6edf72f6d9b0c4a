/**
 * Streams a byte range of an open file with backpressure, and refuses to finish a body whose
 * bytes no longer belong to the version the response's headers describe.
 *
 * Reads go through the descriptor opened for the request, so a file replaced by rename (as
 * sluice's own writes do) keeps streaming the old, consistent bytes. A file modified or
 * truncated in place changes its identity; the stream checks it before the last chunk and
 * errors instead, and the HTTP layer cuts the connection.
 */

import { fstat, read } from 'node:fs'
import { Readable } from 'node:stream'
import { type FileIdentity, identityOf, sameVersionWhileOpen } from './file-identity.js'

const CHUNK = 256 * 1024

export class FileChangedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FileChangedError'
  }
}

class FileRangeStream extends Readable {
  #position: number
  readonly #end: number
  readonly #fd: number
  readonly #identity: FileIdentity
  /** Set while a read or fstat is in flight, so destroy waits before the fd may be closed. */
  #busy: (() => void) | undefined | null = null

  constructor(fd: number, start: number, end: number, identity: FileIdentity) {
    super({ highWaterMark: CHUNK })
    this.#fd = fd
    this.#position = start
    this.#end = end
    this.#identity = identity
  }

  override _read(): void {
    if (this.#position > this.#end) {
      this.push(null)
      return
    }
    const want = Math.min(CHUNK, this.#end - this.#position + 1)
    const buffer = Buffer.allocUnsafe(want)
    this.#busy = undefined
    read(this.#fd, buffer, 0, want, this.#position, (error, bytesRead) => {
      if (this.#settle()) return
      if (error) return this.destroy(error)
      if (bytesRead === 0) return this.destroy(new FileChangedError('file shrank while streaming'))
      const chunk = bytesRead === want ? buffer : buffer.subarray(0, bytesRead)
      this.#position += bytesRead
      if (this.#position <= this.#end) {
        this.push(chunk)
        return
      }
      this.#pushLast(chunk)
    })
  }

  /** The last chunk goes out only if the file is still the version that was announced. */
  #pushLast(chunk: Buffer): void {
    this.#busy = undefined
    fstat(this.#fd, { bigint: true }, (error, stats) => {
      if (this.#settle()) return
      if (error) return this.destroy(error)
      if (!sameVersionWhileOpen(this.#identity, identityOf(stats))) {
        return this.destroy(new FileChangedError('file changed while streaming'))
      }
      this.push(chunk)
      this.push(null)
    })
  }

  /** Marks the in-flight operation done; true when the stream was destroyed meanwhile. */
  #settle(): boolean {
    const waiting = this.#busy
    this.#busy = null
    if (waiting) waiting()
    return this.destroyed
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#busy === null) callback(error)
    else this.#busy = () => callback(error)
  }
}

/** A stream of bytes `start` to `end` (inclusive) of the file open at `fd`. */
export function createRangeStream(
  fd: number,
  start: number,
  end: number,
  identity: FileIdentity,
): Readable {
  return new FileRangeStream(fd, start, end, identity)
}
