/**
 * The encoded variants of one cached file version (RFC 9110 section 8.4): its precompressed
 * siblings (`app.js.br`, `app.js.zst`, `app.js.gz`) and the bytes compressed from it on the
 * fly, each a representation of its own with its own size and strong ETag (the same scheme as
 * the identity's: the SHA-256 of its own bytes), held with the cache entry of the version they
 * belong to and dropped with it.
 *
 * A sibling is served only while it is fresh: a regular file inside the root, not older than
 * its source, smaller than it, and decoding to exactly its bytes (the SHA-256 of what it
 * decodes to equals the source's, which the source's ETag already is). So the "recorded
 * source digest" is the source's ETag, and the sibling is checked against it by decoding it
 * once per version of either (decoding stops one byte past the source's size). A stale sibling
 * is logged once and never served: the variant is compressed on the fly instead where that
 * applies, or the request gets another coding or identity.
 *
 * On the fly, a version is compressed once per coding, however many requests want it at once
 * (they share one compression), at most COMPRESSIONS_AT_ONCE at a time per store, and only
 * versions the cache holds (settled ones) get variants at all: what is compressed is kept,
 * within the cache's limit for compressed bytes (representation-cache.ts).
 */

import { createHash } from 'node:crypto'
import { type BigIntStats, fstat, read } from 'node:fs'
import { stat } from 'node:fs/promises'
import { promisify } from 'node:util'
import { type ContentCoding, SERVER_PREFERENCE } from '../core/accept-encoding.js'
import { type MediaTypePatterns, matchesMediaType } from '../core/media-type-patterns.js'
import { compress, decodedTag, RUNTIME_CODINGS, SIBLING_SUFFIXES } from './codecs.js'
import type { CompressionLevels } from './codecs.js'
import { opaqueTagOf, opaqueTagOfDigest } from './content-tags.js'
import { type FileIdentity, identityOf, isSettled, sameIdentity } from './file-identity.js'
import { closeQuietly, MemoryFile, OpenRepresentation, SharedDescriptor } from './opened-file.js'
import type { CacheEntry, EntryAttachment, SiblingSeen } from './representation-cache.js'
import type { HeldRepresentation, OpenedFile, Variants } from './store.js'

const fstatAsync = promisify(fstat)
const readAsync = promisify(read)

/** Compressions (and sibling checks) running at once per store; the rest wait their turn. */
const COMPRESSIONS_AT_ONCE = 2
const CHUNK = 1 << 20
/** Stale siblings remembered as logged; then the set starts over. */
const LOGGED_LIMIT = 1000

/** On-the-fly compression: which files, and how hard. */
export interface OnTheFlySettings {
  readonly types: MediaTypePatterns
  /** Files smaller than this are sent as they are. */
  readonly minBytes: number
  /** Files larger than this are not compressed on the fly (siblings still apply). */
  readonly maxBytes: number
  readonly levels: CompressionLevels
}

/** What the store gives its variants. */
export interface VariantContext {
  /** Serve precompressed siblings. */
  readonly siblings: boolean
  /** On-the-fly compression, or undefined for none. */
  readonly onTheFly: OnTheFlySettings | undefined
  /** The real path of a path below the root, or undefined when it is missing or outside. */
  locate(path: string): Promise<string | undefined>
  /** Opens a real path for reading (the store's own way of opening files). */
  openFile(real: string): Promise<number>
  /** The most bytes of one file held in memory (larger ones are read when sent). */
  readonly maxHeldBytes: number
  /** Takes one of the store's descriptors for a kept-open file, or false when none is left. */
  takeDescriptor(): boolean
  giveDescriptor(): void
  /** Records the opaque-tag of a file version hashed here. */
  remember(identity: FileIdentity, opaque: string, observedAt: number): void
  /** A stale sibling was found; `version` names its version and its source's. */
  stale(path: string, reason: string, version: string): void
  /** Runs `task` when a compression slot is free. */
  queue<T>(task: () => Promise<T>): Promise<T>
}

/** The file state a variant set belongs to (the cache entry's). */
interface SourceState {
  readonly path: string
  readonly real: string
  readonly identity: FileIdentity
  readonly opaque: string
  readonly contentType: string
  readonly bytes: Buffer | undefined
  readonly siblings?: readonly SiblingSeen[] | undefined
}

type Held = MemoryFile | OpenRepresentation
type Slot =
  | { readonly kind: 'pending'; readonly done: Promise<void> }
  | { readonly kind: 'held'; readonly file: Held }
  | { readonly kind: 'none' }

const NONE: Slot = Object.freeze({ kind: 'none' })

/**
 * The siblings of the file at `path` (absolute, as requested) as they are now: one per coding
 * this runtime can check, with its identity, or none where there is no regular file. `settled`
 * is false when one of them changed too recently to be trusted by its identity.
 */
export async function seeSiblings(
  path: string,
  startedAt: number,
): Promise<{ siblings: SiblingSeen[]; settled: boolean }> {
  let settled = true
  const siblings = await Promise.all(
    RUNTIME_CODINGS.map(async (coding): Promise<SiblingSeen> => {
      const at = path + SIBLING_SUFFIXES[coding]
      const stats = await stat(at, { bigint: true }).catch(() => undefined)
      if (stats === undefined || !stats.isFile()) return { path: at, identity: undefined }
      const identity = identityOf(stats)
      if (!isSettled(identity, startedAt)) settled = false
      return { path: at, identity }
    }),
  )
  return { siblings, settled }
}

/**
 * Why a sibling cannot be its source's variant from their identities alone (older than the
 * source, or not smaller), or undefined. `sluice compress` uses the same rules.
 */
export function staleByIdentity(source: FileIdentity, sibling: FileIdentity): string | undefined {
  if (sibling.mtimeNs < source.mtimeNs) return 'it is older than its source'
  if (sibling.size >= source.size) return 'it is not smaller than its source'
  return undefined
}

/** Why a sibling is stale when what it decodes to (decodedTag) is not its source's bytes. */
export function staleByBytes(coding: ContentCoding): string {
  return `it does not decode (${coding}) to its source's bytes`
}

/** The codings a file version may be had in, in the server's order; empty when none. */
export function offeredCodings(state: SourceState, context: VariantContext): ContentCoding[] {
  const found = new Set<ContentCoding>()
  if (context.siblings) {
    RUNTIME_CODINGS.forEach((coding) => {
      const suffix = SIBLING_SUFFIXES[coding]
      if (state.siblings?.some((s) => s.identity !== undefined && s.path.endsWith(suffix))) {
        found.add(coding)
      }
    })
  }
  const onTheFly = context.onTheFly
  if (
    onTheFly !== undefined &&
    state.identity.size >= onTheFly.minBytes &&
    state.identity.size <= onTheFly.maxBytes &&
    matchesMediaType(onTheFly.types, state.contentType)
  ) {
    for (const coding of RUNTIME_CODINGS) found.add(coding)
  }
  return SERVER_PREFERENCE.filter((c): c is ContentCoding => c !== 'identity' && found.has(c))
}

/**
 * The variants of the version cached in `entry`, offered in `codings` (offeredCodings, not
 * empty). Attached to the entry, and released with it.
 */
export class EntryVariants implements Variants, EntryAttachment {
  readonly #slots = new Map<ContentCoding, Slot>()
  #released = false

  constructor(
    readonly entry: CacheEntry,
    readonly state: SourceState,
    readonly codings: readonly ContentCoding[],
    readonly context: VariantContext,
  ) {}

  peek(coding: ContentCoding): HeldRepresentation | null | undefined {
    const slot = this.#slots.get(coding)
    if (slot === undefined) return this.codings.includes(coding) ? undefined : null
    if (slot.kind === 'none') return null
    if (slot.kind === 'held' && slot.file.current()) return slot.file
    return undefined
  }

  async open(coding: ContentCoding): Promise<OpenedFile | undefined> {
    if (!this.codings.includes(coding)) return undefined
    let slot = this.#slots.get(coding)
    if (slot === undefined) {
      // The slot is set before the lookup settles (a `then` callback always runs later).
      const done = this.#find(coding).then(
        (found) => this.#settle(coding, found),
        () => this.#settle(coding, NONE),
      )
      slot = { kind: 'pending', done }
      this.#slots.set(coding, slot)
    }
    if (slot.kind === 'pending') {
      await slot.done
      slot = this.#slots.get(coding)
    }
    if (slot?.kind !== 'held' || !this.entry.valid) return undefined
    return slot.file instanceof MemoryFile ? slot.file : slot.file.tryOpen()
  }

  release(): void {
    this.#released = true
    for (const slot of this.#slots.values()) {
      if (slot.kind === 'held') slot.file.release()
    }
  }

  #settle(coding: ContentCoding, found: Slot): void {
    if (this.#released && found.kind === 'held') {
      // The entry went while this was being found: nothing may keep a descriptor for it.
      found.file.release()
      this.#slots.set(coding, NONE)
      return
    }
    this.#slots.set(coding, found)
  }

  /** The sibling if it is fresh, else the compressed bytes where that applies, else none. */
  async #find(coding: ContentCoding): Promise<Slot> {
    const suffix = SIBLING_SUFFIXES[coding]
    const sibling = this.context.siblings
      ? this.state.siblings?.find((s) => s.identity !== undefined && s.path.endsWith(suffix))
      : undefined
    if (sibling !== undefined) {
      const fresh = await this.context.queue(() => this.#fromSibling(coding, sibling))
      if (fresh !== undefined) return fresh
    }
    const onTheFly = this.context.onTheFly
    if (onTheFly !== undefined && offeredByType(this.state, onTheFly)) {
      const made = await this.context.queue(() => this.#compressed(coding, onTheFly))
      if (made !== undefined) return made
    }
    return NONE
  }

  /** The sibling, checked fresh, as a held representation; undefined when it is not. */
  async #fromSibling(coding: ContentCoding, sibling: SiblingSeen): Promise<Slot | undefined> {
    const source = this.state
    const startedAt = Date.now()
    const real = await this.context.locate(sibling.path)
    if (real === undefined) return this.#stale(sibling, 'it resolves outside the root')
    let fd: number
    try {
      fd = await this.context.openFile(real)
    } catch {
      return undefined
    }
    let keep = false
    try {
      const stats: BigIntStats = await fstatAsync(fd, { bigint: true })
      const identity = identityOf(stats)
      // Changed since the entry saw it: the entry is about to go (its dependency changed).
      if (!stats.isFile() || !sameIdentity(identity, sibling.identity!)) return undefined
      const problem = staleByIdentity(source.identity, identity)
      if (problem !== undefined) return this.#stale(sibling, problem)
      const held = identity.size <= this.context.maxHeldBytes
      const chunks: Buffer[] = []
      const reading = readChunks(fd, identity.size, held ? chunks : undefined)
      // Invalid data, or more than the source once decoded, is as stale as other bytes.
      const decoded = await decodedTag(coding, reading.chunks, source.identity.size)
      if (decoded !== source.opaque) return this.#stale(sibling, staleByBytes(coding))
      const opaque = reading.opaque()
      const after = identityOf(await fstatAsync(fd, { bigint: true }))
      if (opaque === undefined || !sameIdentity(after, identity)) return undefined
      this.context.remember(identity, opaque, startedAt)
      if (held) {
        const bytes = joined(chunks, identity.size)
        const file = new MemoryFile(bytes, identity, opaque, source.contentType, this.entry)
        this.entry.cache.charge(this.entry, bytes.length, false)
        return { kind: 'held', file }
      }
      if (!this.context.takeDescriptor()) return undefined
      keep = true
      const file = new OpenRepresentation(
        new SharedDescriptor(fd),
        identity,
        opaque,
        source.contentType,
        this.entry,
        () => this.context.giveDescriptor(),
      )
      return { kind: 'held', file }
    } finally {
      if (!keep) closeQuietly(fd)
    }
  }

  #stale(sibling: SiblingSeen, reason: string): undefined {
    const seen = sibling.identity!
    const version = `${seen.dev}:${seen.ino}:${seen.mtimeNs}:${seen.size}:${this.state.opaque}`
    this.context.stale(sibling.path, reason, version)
    return undefined
  }

  /** The version compressed with `coding`; undefined when that saves nothing. */
  async #compressed(coding: ContentCoding, settings: OnTheFlySettings): Promise<Slot | undefined> {
    const source = this.state.bytes ?? (await this.#readSource())
    if (source === undefined) return undefined
    const bytes = await compress(coding, source, settings.levels[coding])
    // Saving nothing, or more than the budget could ever keep (it would be made again for
    // every request): no variant in this coding for this version.
    if (bytes.length >= source.length) return undefined
    if (bytes.length > this.entry.cache.options.maxCompressedBytes) return undefined
    // Its own memory: a result may be a slice of a larger allocation.
    const owned = Buffer.allocUnsafeSlow(bytes.length)
    bytes.copy(owned)
    const opaque = opaqueTagOf(owned)
    const file = new MemoryFile(
      owned,
      this.state.identity,
      opaque,
      this.state.contentType,
      this.entry,
    )
    this.entry.cache.charge(this.entry, owned.length, true)
    return { kind: 'held', file }
  }

  /** A source too large to hold, read whole for compressing: the cached version exactly. */
  async #readSource(): Promise<Buffer | undefined> {
    const fd = await this.context.openFile(this.state.real)
    try {
      const before = identityOf(await fstatAsync(fd, { bigint: true }))
      if (!sameIdentity(before, this.state.identity)) return undefined
      const chunks: Buffer[] = []
      const reading = readChunks(fd, before.size, chunks)
      for await (const _ of reading.chunks);
      const after = identityOf(await fstatAsync(fd, { bigint: true }))
      if (reading.opaque() !== this.state.opaque || !sameIdentity(after, before)) return undefined
      return joined(chunks, before.size)
    } finally {
      closeQuietly(fd)
    }
  }
}

/** Whether on-the-fly compression applies to this version at all (type and size). */
function offeredByType(state: SourceState, settings: OnTheFlySettings): boolean {
  return (
    state.identity.size >= settings.minBytes &&
    state.identity.size <= settings.maxBytes &&
    matchesMediaType(settings.types, state.contentType)
  )
}

/**
 * Reads a file of `size` bytes chunk by chunk, hashing as it goes (`opaque()` is its tag once
 * read whole; undefined until then, or when it turned out shorter), keeping the chunks in
 * `keep` if given.
 */
function readChunks(
  fd: number,
  size: number,
  keep: Buffer[] | undefined,
): { chunks: AsyncIterable<Buffer>; opaque(): string | undefined } {
  const hash = createHash('sha256')
  let tag: string | undefined
  async function* chunks(): AsyncGenerator<Buffer> {
    let position = 0
    while (position < size) {
      const buffer = Buffer.allocUnsafeSlow(Math.min(CHUNK, size - position))
      const { bytesRead } = await readAsync(fd, buffer, 0, buffer.length, position)
      if (bytesRead === 0) return
      const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead)
      hash.update(chunk)
      keep?.push(chunk)
      position += bytesRead
      yield chunk
    }
    tag = opaqueTagOfDigest(hash.digest())
  }
  return { chunks: chunks(), opaque: () => tag }
}

/** `chunks` as one buffer of its own memory (never a slice of Node's shared pool). */
function joined(chunks: readonly Buffer[], size: number): Buffer {
  if (chunks.length === 1 && chunks[0]!.length === size) return chunks[0]!
  const bytes = Buffer.allocUnsafeSlow(size)
  let at = 0
  for (const chunk of chunks) at += chunk.copy(bytes, at)
  return bytes
}

/** A queue that runs at most COMPRESSIONS_AT_ONCE tasks at a time, in order. */
export function compressionQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0
  const waiting: (() => void)[] = []
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= COMPRESSIONS_AT_ONCE) await new Promise<void>((go) => waiting.push(go))
    running++
    try {
      return await task()
    } finally {
      running--
      waiting.shift()?.()
    }
  }
}

/** `log`, called once per distinct `version` (a bounded memory of them). */
export function once(
  log: (path: string, reason: string) => void,
): (path: string, reason: string, version: string) => void {
  const logged = new Set<string>()
  return (path, reason, version) => {
    const key = `${path}\n${version}`
    if (logged.has(key)) return
    if (logged.size >= LOGGED_LIMIT) logged.clear()
    logged.add(key)
    log(path, reason)
  }
}
