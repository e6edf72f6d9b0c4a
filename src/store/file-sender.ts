/**
 * Sends byte ranges of an open file, and the buffers between them (multipart heads), to a sink
 * the HTTP layer gives it (an HTTP/1.1 response, an HTTP/2 stream): the large-body path, built
 * for many concurrent downloads. It knows nothing of sockets or protocols: the sink says when it
 * is gone ('close') and takes bytes with a callback once they are handed on.
 *
 * - No read-ahead: a chunk is read only once the previous one has been handed to the kernel,
 *   so a connection holds at most one chunk in memory, and only while its client is slow.
 * - Chunk size adapted to concurrency: large (up to 1 MiB) while few bodies are being sent, so
 *   a fast download costs few system calls and event-loop turns; small (down to 4 KiB) when
 *   many are. The bodies in flight share a budget of chunks: 16 MiB for up to 64 of them (1 MiB
 *   each for 16: 1 MiB ranges were sent half again as fast as with 256 KiB chunks, see
 *   docs/PERFORMANCE.md), falling to 4 MiB by 256, so a thousand slow downloads hold about
 *   4 MiB (4 KiB each), not hundreds, and more than a thousand hold 4 KiB each.
 * - A body longer than one chunk reads 64 KiB first (`FIRST_CHUNK`): the first slow clients of
 *   a crowd then hold 64 KiB each rather than the 1 MiB they were given while alone. A body
 *   that fits in one chunk (a 1 MiB range) is still read at once.
 * - Buffers come from a small pool and go back once written, so a long download does not
 *   allocate (and fault in) a fresh buffer per chunk.
 * - At most `MAX_READS` reads at once across all bodies, queued in order: the libuv thread pool
 *   keeps threads free for the opens and stats of new requests, which therefore get their
 *   answers (headers first) while a thousand bodies stream.
 * - The parts of a multipart body that fit in one chunk are read at once (in parallel) and
 *   written with their heads as one corked write.
 * - The "cut off if the file changed in place" rule of file-stream.ts: one fstat after the
 *   last read and before the last chunk is written; a changed version fails the send with a
 *   FileChangedError (the HTTP layer then cuts the connection).
 */

import { type BigIntStats, fstat, read } from 'node:fs'
import { type FileIdentity, identityOf, sameVersionWhileOpen } from './file-identity.js'
import { FileChangedError } from './file-stream.js'

/** A buffer written as is, or bytes `start` to `end` (inclusive) of the file. */
export type BodyPiece = Buffer | { readonly start: number; readonly end: number }

/**
 * Where the bytes go, with backpressure: a writable whose write callback comes once the bytes
 * are handed on, and that emits 'close' (or is `destroyed`) once nobody will take more. A
 * node:http ServerResponse with its socket and an HTTP/2 stream are sinks as they are; the
 * HTTP layer wraps what is not (a response queued behind another: src/http/http1-response.ts).
 */
export interface ByteSink {
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean
  write(chunk: Uint8Array): boolean
  cork(): void
  uncork(): void
  readonly destroyed: boolean
  once(event: 'close', listener: () => void): unknown
  off(event: 'close', listener: () => void): unknown
}

/** A body with reads to make, one per slot of its current step (the Sender, below). */
interface ReadIssuer {
  issueRead(slot: number): void
}

/** Called once: with the error that stopped the send, if any, and the bytes handed over. */
export type SendDone = (error: Error | undefined, bytes: number) => void

const MIN_CHUNK = 4 * 1024
const MAX_CHUNK = 1024 * 1024
/**
 * The most a body longer than one chunk reads first. Until its client has taken that chunk,
 * nothing tells a fast client from a slow one, and a slow one holds its chunk for as long as it
 * takes to read it: the first bodies of a crowd would otherwise each hold 1 MiB, taken while
 * they were alone, long after the crowd has shrunk everyone's share.
 */
const FIRST_CHUNK = 64 * 1024
/** What all bodies being sent may hold in chunks together while few are (see chunkBudget). */
const LARGE_BUDGET = 16 * 1024 * 1024
/** ... and while many are. */
const SMALL_BUDGET = 4 * 1024 * 1024
/** Bodies in flight up to which the large budget holds (the small one holds from 4 × as many). */
const FEW_BODIES = 64
/** Reads in flight at once, all bodies together (the libuv thread pool has four threads). */
const MAX_READS = 2
/** Bytes of idle buffers kept for reuse: the most that bodies in flight hold at once. */
const POOL_BYTES = LARGE_BUDGET
/** How often unused sizes are let go of. */
const POOL_TRIM_MS = 2000

/**
 * What all the bodies being sent in a process share: the chunk budget, the pool of idle
 * buffers, and the read slots. One per process (`fileSender`, below), because the budget and
 * the libuv thread pool are the process's, whichever store a body comes from.
 */
export class FileSender {
  /** Bodies being sent. */
  #sending = 0
  /** Bytes of chunks taken by bodies and not yet written. */
  #inUse = 0
  readonly #pool = new Map<number, Buffer[]>()
  #pooledBytes = 0
  #trimming: ReturnType<typeof setInterval> | undefined
  readonly #trim = () => this.#trimPool()
  #reading = 0
  /**
   * Reads waiting for a slot, in order: the sender and the index of its read, from
   * `#waitingHead` on (a queue without shift(), which moves every element: a thousand may wait).
   */
  #waitingSenders: (ReadIssuer | undefined)[] = []
  #waitingSlots: number[] = []
  #waitingHead = 0

  /**
   * Writes `pieces` to `sink`: buffers as they are, ranges read from `fd` (whose version is
   * `identity`). Calls `done` once, when everything was handed on, or with the error that
   * stopped it (the client went away, a read failed, the file changed in place). The
   * descriptor is not used after `done`.
   */
  send(
    fd: number,
    identity: FileIdentity,
    pieces: readonly BodyPiece[],
    sink: ByteSink,
    done: SendDone,
  ): void {
    new Sender(this, fd, identity, pieces, sink, done).start()
  }

  /** Bodies being sent, and bytes of chunks they hold: for tests and diagnostics. */
  stats(): { readonly sending: number; readonly chunkBytes: number } {
    return { sending: this.#sending, chunkBytes: this.#inUse }
  }

  bodyStarted(): void {
    this.#sending++
  }

  bodyFinished(): void {
    this.#sending--
  }

  /**
   * The chunk size for the next read, a power of 2: the budget's share for each body in
   * flight, and no more than what is left of it (bodies that started alone may still hold
   * large chunks).
   */
  chunkSize(): number {
    const bodies = Math.max(1, this.#sending)
    const budget = chunkBudget(bodies)
    const share = Math.min(budget / bodies, budget - this.#inUse)
    let size = MIN_CHUNK
    while (size < MAX_CHUNK && size * 2 <= share) size *= 2
    return size
  }

  takeBuffer(size: number): Buffer {
    this.#inUse += size
    // Larger sizes are not coming back into use while chunks are this small: let them go, so
    // that the pool has room for the size in use.
    if (this.#pooledBytes > 0) {
      for (const [pooled, free] of this.#pool) {
        if (pooled <= size) continue
        this.#pooledBytes -= pooled * free.length
        this.#pool.delete(pooled)
      }
    }
    const buffer = this.#pool.get(size)?.pop()
    if (buffer === undefined) return Buffer.allocUnsafeSlow(size)
    this.#pooledBytes -= size
    return buffer
  }

  /**
   * A chunk is done with: back to the pool, unless a write may still hold it (`reuse` false).
   * Buffers are kept rather than dropped (up to POOL_BYTES, more than the chunks in flight
   * ever take): a dropped buffer is garbage that the collector frees late, and for small sizes
   * leaves the allocator's heap fragmented, both of which show as resident memory.
   */
  giveBuffer(buffer: Buffer, reuse = true): void {
    this.#inUse -= buffer.length
    if (
      !reuse ||
      this.#pooledBytes + buffer.length > POOL_BYTES ||
      buffer.length > this.chunkSize()
    ) {
      return
    }
    let free = this.#pool.get(buffer.length)
    if (free === undefined) this.#pool.set(buffer.length, (free = []))
    free.push(buffer)
    this.#pooledBytes += buffer.length
    this.#trimming ??= setInterval(this.#trim, POOL_TRIM_MS).unref()
  }

  /** Lets go of sizes no longer in use, and of everything once no body is being sent. */
  #trimPool(): void {
    const current = this.#sending === 0 ? 0 : this.chunkSize()
    for (const [size, free] of this.#pool) {
      if (size <= current) continue
      this.#pooledBytes -= size * free.length
      this.#pool.delete(size)
    }
    if (this.#pool.size === 0 && this.#trimming !== undefined) {
      clearInterval(this.#trimming)
      this.#trimming = undefined
    }
  }

  /** Starts a read now, or queues it: at most MAX_READS at once, in the order asked. */
  requestRead(sender: ReadIssuer, slot: number): void {
    if (this.#reading < MAX_READS) {
      this.#reading++
      sender.issueRead(slot)
    } else {
      this.#waitingSenders.push(sender)
      this.#waitingSlots.push(slot)
    }
  }

  /** A read completed: the next one waiting takes its place. */
  readDone(): void {
    this.#reading--
    const head = this.#waitingHead
    if (head === this.#waitingSenders.length) return
    const sender = this.#waitingSenders[head]!
    const slot = this.#waitingSlots[head]!
    this.#waitingSenders[head] = undefined
    this.#waitingHead = head + 1
    if (this.#waitingHead === this.#waitingSenders.length) {
      this.#waitingSenders = []
      this.#waitingSlots = []
      this.#waitingHead = 0
    } else if (this.#waitingHead >= 1024 && this.#waitingHead * 2 >= this.#waitingSenders.length) {
      // Mostly consumed: drop the consumed half, an amortized O(1) per read.
      this.#waitingSenders = this.#waitingSenders.slice(this.#waitingHead)
      this.#waitingSlots = this.#waitingSlots.slice(this.#waitingHead)
      this.#waitingHead = 0
    }
    this.#reading++
    sender.issueRead(slot)
  }
}

/**
 * What the bodies in flight may hold in chunks together: LARGE_BUDGET for up to FEW_BODIES of
 * them, then shrinking in proportion until it reaches SMALL_BUDGET (at 4 × FEW_BODIES), so the
 * chunk size (the budget's share) falls smoothly: 256 KiB at 64 bodies, 64 KiB at 128, 16 KiB
 * at 256, 4 KiB from 1024.
 */
export function chunkBudget(bodies: number): number {
  if (bodies <= FEW_BODIES) return LARGE_BUDGET
  return Math.max(SMALL_BUDGET, (LARGE_BUDGET * FEW_BODIES) / bodies)
}

const CLIENT_GONE = 'client went away'

/** The bytes a body reads from the file (its ranges, not the buffers between them). */
function fileBytes(pieces: readonly BodyPiece[]): number {
  let bytes = 0
  for (const piece of pieces) if (!Buffer.isBuffer(piece)) bytes += piece.end - piece.start + 1
  return bytes
}

/**
 * One body being sent. Everything a step needs lives in fields and callbacks bound once, so a
 * step allocates nothing of its own: with a thousand slow downloads, objects that live as long
 * as a pending write are what make the heap grow.
 */
class Sender implements ReadIssuer {
  #index = 0
  #firstStep = true
  /** The next file position to read within the current range piece (-1: at its start). */
  #position = -1
  #bytes = 0
  #busy = false
  #aborted = false
  #finished = false
  /** The chunk of the current step; while its write is in flight, that write holds it. */
  #chunk: Buffer | undefined
  #writing = false
  #last = false
  /** The current step's writes: a buffer as is, or (null) a slice of the chunk. */
  readonly #buffers: (Buffer | null)[] = []
  /** Where in the chunk each read of the step goes. */
  readonly #chunkOffsets: number[] = []
  readonly #lengths: number[] = []
  readonly #positions: number[] = []
  #count = 0
  #pendingReads = 0
  #expected = 0
  #received = 0
  #failed: Error | undefined
  readonly #onClose = () => this.#abort()
  readonly #onRead = (error: Error | null, bytesRead: number) => this.#readDone(error, bytesRead)
  readonly #onStat = (error: Error | null, stats: BigIntStats) => this.#verified(error, stats)
  readonly #afterWrite = (error?: Error | null) => this.#written(error)

  constructor(
    readonly shared: FileSender,
    readonly fd: number,
    readonly identity: FileIdentity,
    readonly pieces: readonly BodyPiece[],
    readonly sink: ByteSink,
    readonly done: SendDone,
  ) {}

  start(): void {
    this.shared.bodyStarted()
    this.sink.once('close', this.#onClose)
    this.#step()
  }

  #step(): void {
    if (this.#aborted || this.sink.destroyed) return this.#finish(new Error(CLIENT_GONE))
    let size = this.shared.chunkSize()
    if (this.#firstStep) {
      this.#firstStep = false
      // A body that fits in one chunk is still read at once (one read, one write).
      if (size > FIRST_CHUNK && fileBytes(this.pieces) > size) size = FIRST_CHUNK
    }
    const pieces = this.pieces
    let used = 0
    let count = 0
    while (this.#index < pieces.length) {
      const piece = pieces[this.#index]!
      if (Buffer.isBuffer(piece)) {
        this.#buffers[count++] = piece
        this.#index++
        continue
      }
      if (used === size) break
      if (this.#position < 0) this.#position = piece.start
      const length = Math.min(piece.end - this.#position + 1, size - used)
      this.#buffers[count] = null
      this.#chunkOffsets[count] = used
      this.#lengths[count] = length
      this.#positions[count++] = this.#position
      used += length
      this.#position += length
      if (this.#position > piece.end) {
        this.#index++
        this.#position = -1
      }
    }
    this.#count = count
    this.#last = this.#index >= pieces.length
    this.#chunk = undefined
    if (used === 0) return this.#write()
    this.#chunk = this.shared.takeBuffer(size)
    this.#expected = used
    this.#received = 0
    this.#failed = undefined
    this.#busy = true
    let reads = 0
    for (let i = 0; i < count; i++) if (this.#buffers[i] === null) reads++
    this.#pendingReads = reads
    for (let i = 0; i < count; i++) if (this.#buffers[i] === null) this.shared.requestRead(this, i)
  }

  /** Called by the read limiter when this read may start. */
  issueRead(slot: number): void {
    read(
      this.fd,
      this.#chunk!,
      this.#chunkOffsets[slot]!,
      this.#lengths[slot]!,
      this.#positions[slot]!,
      this.#onRead,
    )
  }

  #readDone(error: Error | null, bytesRead: number): void {
    this.shared.readDone()
    if (error !== null) this.#failed ??= error
    else this.#received += bytesRead
    if (--this.#pendingReads > 0) return
    this.#busy = false
    // Fewer bytes than asked: the file was truncated since it was opened.
    if (this.#failed === undefined && this.#received < this.#expected) {
      this.#failed = new FileChangedError('file shrank while streaming')
    }
    if (this.#failed !== undefined || this.#aborted) {
      this.#release(true)
      return this.#finish(this.#failed ?? new Error(CLIENT_GONE))
    }
    if (!this.#last) return this.#write()
    // The last chunk goes out only if the file is still the version that was announced.
    this.#busy = true
    fstat(this.fd, { bigint: true }, this.#onStat)
  }

  #verified(error: Error | null, stats: BigIntStats): void {
    this.#busy = false
    if (
      error !== null ||
      this.#aborted ||
      !sameVersionWhileOpen(this.identity, identityOf(stats))
    ) {
      this.#release(true)
      const gone = this.#aborted
        ? new Error(CLIENT_GONE)
        : new FileChangedError('file changed while streaming')
      return this.#finish(error ?? gone)
    }
    this.#write()
  }

  #write(): void {
    const sink = this.sink
    if (this.#aborted || sink.destroyed) {
      this.#release(true)
      return this.#finish(new Error(CLIENT_GONE))
    }
    const count = this.#count
    if (count === 0) return this.#written(null)
    const chunk = this.#chunk
    this.#writing = chunk !== undefined
    if (count > 1) sink.cork()
    for (let i = 0; i < count; i++) {
      let bytes = this.#buffers[i]
      if (bytes === null || bytes === undefined) {
        const at = this.#chunkOffsets[i]!
        const length = this.#lengths[i]!
        bytes = at === 0 && length === chunk!.length ? chunk! : chunk!.subarray(at, at + length)
      }
      this.#bytes += bytes.length
      if (i === count - 1) sink.write(bytes, this.#afterWrite)
      else sink.write(bytes)
    }
    if (count > 1) sink.uncork()
    // Heads are the caller's; drop the references so they can go once written.
    for (let i = 0; i < count; i++) this.#buffers[i] = null
  }

  #written(error?: Error | null): void {
    if (this.#finished) return
    if (this.#writing) {
      this.#writing = false
      this.#release(true)
    }
    if (error) return this.#finish(error)
    if (this.#last) this.#finish(undefined)
    else this.#step()
  }

  /** Gives the step's chunk back (to the pool if `reuse`). */
  #release(reuse: boolean): void {
    const chunk = this.#chunk
    if (chunk === undefined) return
    this.#chunk = undefined
    this.shared.giveBuffer(chunk, reuse)
  }

  #abort(): void {
    this.#aborted = true
    // A write in flight may never call back once the connection is gone, and may still hold
    // its chunk (which is then not reused); a read in flight still uses the descriptor, so its
    // completion finishes the send instead.
    if (this.#busy) return
    if (this.#writing) {
      this.#writing = false
      this.#release(false)
    }
    this.#finish(new Error(CLIENT_GONE))
  }

  #finish(error: Error | undefined): void {
    if (this.#finished) return
    this.#finished = true
    this.shared.bodyFinished()
    this.sink.off('close', this.#onClose)
    this.done(error, this.#bytes)
  }
}

/** The one per process: every store's bodies share its budget, pool and read slots. */
export const fileSender = new FileSender()
