/**
 * The filesystem store: a directory tree, read here and written through fs-writes.ts.
 *
 * A lookup resolves symbolic links and refuses any path whose real location is outside the
 * root, opens the file, and takes its identity with fstat on that descriptor: everything the
 * response says (size, entity-tag, Last-Modified) and every byte it sends then come from the
 * same open file.
 */

import { fstat, open, read, realpath, realpathSync, statSync } from 'node:fs'
import { join, sep } from 'node:path'
import { promisify } from 'node:util'
import { ContentTagCache, opaqueTagOf } from './content-tags.js'
import { identityOf, isSettled, sameIdentity } from './file-identity.js'
import { FsWriter } from './fs-writes.js'
import { contentTypeFor } from './media-types.js'
import { loadNativeLocks } from './native-locks.js'
import { compilePatterns, DEFAULT_COMPRESSIBLE_TYPES } from '../core/media-type-patterns.js'
import type { Logger } from '../log.js'
import { type CompressionLevels, ON_THE_FLY_LEVELS } from './codecs.js'
import {
  compressionQueue,
  EntryVariants,
  offeredCodings,
  once,
  seeSiblings,
  type VariantContext,
} from './variants.js'
import {
  closeQuietly,
  descriptorFile,
  lookupForError,
  MemoryFile,
  OpenRepresentation,
  SharedDescriptor,
  storedVersion,
} from './opened-file.js'
import {
  type CacheEntry,
  DEFAULT_CACHE_OPTIONS,
  RepresentationCache,
  type RepresentationCacheOptions,
} from './representation-cache.js'
import { LOCK_DIRECTORY, ResourceLocks } from './resource-locks.js'
import { isReservedName, sweepStagedFiles } from './staged-files.js'
import { windowsNameProblem } from './windows-names.js'
import {
  type HeldRepresentation,
  type Lookup,
  type ResourcePath,
  StoreUnavailableError,
  type WritableStore,
  type WriteBody,
  type WriteCondition,
  type WriteResult,
} from './store.js'

const openAsync = promisify(open)
const fstatAsync = promisify(fstat)
const readAsync = promisify(read)
// One realpath(3) call instead of an lstat per path component.
const realpathAsync = promisify(realpath.native)
const DIRECTORY: Lookup = { kind: 'directory' }
/** Cache entries of large files that keep their file open; more are opened per request. */
const MAX_OPEN_ENTRIES = 128

/** Attempts at hashing a file that keeps changing under us before answering 503. */
const HASH_ATTEMPTS = 3

export interface FsStoreOptions {
  /** The directory to serve. Must exist; resolved to its real path once. */
  readonly root: string
  /**
   * The store will be written: staged files left by writers that died are removed before
   * `openFsStore` resolves. (`put` and `delete` work either way; the engine decides whether
   * to offer them.)
   */
  readonly writable?: boolean
  /**
   * Refuse names Windows does not treat as plain names (devices such as `CON` and `aux.txt`,
   * trailing dots, `:`, 8.3 short names): see windows-names.ts. Default: on Windows only.
   */
  readonly windowsNames?: boolean
  /**
   * The representation cache (representation-cache.ts): limits, or false for none (every
   * request then looks at the disk). Default: on, with its default limits.
   */
  readonly cache?: RepresentationCacheOptions | false
  /**
   * Serve precompressed siblings (`app.js.br`, `app.js.zst`, `app.js.gz`) as encoded variants
   * of their source, while fresh (variants.ts). Default true.
   */
  readonly precompressed?: boolean
  /**
   * Compress on the fly (variants.ts), or false for none. Default: DEFAULT_COMPRESS_SETTINGS.
   * Variants need the representation cache: with `cache: false` there are none.
   */
  readonly compress?: CompressSettings | false
  /** Where a stale sibling is reported (warn, once per version). Default: nowhere. */
  readonly logger?: Logger
}

/** On-the-fly compression (the library's `compress` option, checked). */
export interface CompressSettings {
  /** Media type patterns (media-type-patterns.ts). Default DEFAULT_COMPRESSIBLE_TYPES. */
  readonly types?: readonly string[]
  /** Smallest file compressed, in bytes. Default 1024. */
  readonly minSize?: number
  /** Largest file compressed, in bytes. Default 8 MiB. */
  readonly maxSize?: number
  /** Level per coding. Default ON_THE_FLY_LEVELS (br 5, gzip 6, zstd 6). */
  readonly level?: Partial<CompressionLevels>
  /**
   * Compressed bytes held, all files together, within the cache's `maxBytes` (the cache's
   * `maxCompressedBytes`). Default 16 MiB.
   */
  readonly cacheBytes?: number
}

export const DEFAULT_COMPRESS_SETTINGS = Object.freeze({
  types: DEFAULT_COMPRESSIBLE_TYPES,
  minSize: 1024,
  maxSize: 8 * 1024 * 1024,
  level: ON_THE_FLY_LEVELS,
  cacheBytes: DEFAULT_CACHE_OPTIONS.maxCompressedBytes,
})

/** The store options createFsStore takes (all but `root` and `writable`). */
export type FsStoreSettings = Omit<FsStoreOptions, 'root' | 'writable'>

export class FsStore implements WritableStore {
  readonly root: string
  readonly tags = new ContentTagCache()
  /** What recent lookups found, and small files' bytes; undefined when disabled. */
  readonly cache: RepresentationCache | undefined
  readonly #writer: FsWriter
  readonly #windowsNames: boolean
  readonly #variants: VariantContext | undefined
  #openEntries = 0

  /** `root` must already be a real path (see `openFsStore`). */
  constructor(root: string, options: FsStoreSettings = {}) {
    this.root = root
    const cacheBytes = options.compress === false ? undefined : options.compress?.cacheBytes
    this.cache =
      options.cache === false
        ? undefined
        : new RepresentationCache(root, {
            ...(cacheBytes === undefined ? {} : { maxCompressedBytes: cacheBytes }),
            ...options.cache,
          })
    this.#variants = this.cache === undefined ? undefined : this.#variantContext(options)
    const locks = new ResourceLocks({ directory: join(root, LOCK_DIRECTORY) })
    const cache = this.cache
    this.#writer = new FsWriter({
      root,
      tags: this.tags,
      locks,
      changed: (path) => {
        cache?.invalidatePath(path)
        return this.peers?.(path)
      },
    })
    this.#windowsNames = options.windowsNames ?? process.platform === 'win32'
  }

  /**
   * Told of every file this store's own writes replace, create or remove, before the write is
   * answered (it may delay the answer): other processes serving the same root drop their cached
   * copy (`sluice serve --workers`).
   */
  peers: ((path: string) => Promise<void>) | undefined

  async open(path: ResourcePath): Promise<Lookup> {
    // Staged files and lock files are sluice's own, never a resource (even with --dotfiles).
    if (path.some(isReservedName)) return { kind: 'missing' }
    const windows = this.#windowsProblem(path)
    if (windows !== undefined) return { kind: 'forbidden', reason: windows }
    const cache = this.cache
    if (cache !== undefined) {
      const entry = await cache.get(keyOf(path))
      if (entry !== undefined) {
        const found = await this.#fromEntry(cache, entry)
        if (found !== undefined) return found
      }
    }
    const epoch = cache?.epoch ?? 0
    const observedAt = performance.now()
    const startedAt = Date.now()
    const located = await this.#locate(path)
    if (located.kind !== 'found') return located.lookup
    for (let attempt = 0; attempt < HASH_ATTEMPTS; attempt++) {
      const opened = await this.#openVersion(located.real, path, { epoch, observedAt, startedAt })
      if (opened !== undefined) return opened
    }
    throw new StoreUnavailableError('the file kept changing while its entity-tag was computed', 1)
  }

  peek(path: ResourcePath): HeldRepresentation | undefined {
    const held = this.cache?.peek(keyOf(path))?.attachment
    return held instanceof MemoryFile || held instanceof OpenRepresentation ? held : undefined
  }

  /** Releases the cache's watchers. */
  async close(): Promise<void> {
    this.cache?.close()
  }

  /**
   * The answer from a current cache entry: held bytes as they are; a large file through the
   * descriptor the entry keeps open; beyond MAX_OPEN_ENTRIES, a large file opened at its real
   * path and checked to be the same version (fstat on the new descriptor). Undefined when the
   * entry turned out to be stale.
   */
  async #fromEntry(cache: RepresentationCache, entry: CacheEntry): Promise<Lookup | undefined> {
    // The entry was current when cache.get resolved; a change may have dropped it (and closed
    // the descriptor it kept) in the turns since: then the full lookup answers.
    if (!entry.valid) return undefined
    const state = entry.state
    if (state.kind === 'directory') return DIRECTORY
    const held = entry.attachment
    if (held instanceof MemoryFile) return held.lookup
    if (held instanceof OpenRepresentation) {
      const file = held.tryOpen()
      return file === undefined ? undefined : { kind: 'file', file }
    }
    let fd: number
    try {
      fd = await openAsync(state.real, 'r')
    } catch {
      cache.drop(entry)
      return undefined
    }
    try {
      const stats = await fstatAsync(fd, { bigint: true })
      const identity = identityOf(stats)
      if (stats.isFile() && sameIdentity(identity, state.identity)) {
        const descriptor = new SharedDescriptor(fd)
        return {
          kind: 'file',
          file: descriptorFile(
            descriptor,
            identity,
            storedVersion(identity, state.opaque),
            state.contentType,
            entry,
            entry.variants as EntryVariants | undefined,
          ),
        }
      }
    } catch {
      // Treated as a stale entry: the full lookup decides.
    }
    closeQuietly(fd)
    cache.drop(entry)
    return undefined
  }

  put(path: ResourcePath, body: WriteBody, condition: WriteCondition): Promise<WriteResult> {
    const windows = this.#windowsProblem(path)
    if (windows !== undefined) return Promise.resolve({ outcome: 'forbidden', reason: windows })
    return this.#writer.put(path, body, condition)
  }

  delete(path: ResourcePath, condition: WriteCondition): Promise<WriteResult> {
    const windows = this.#windowsProblem(path)
    if (windows !== undefined) return Promise.resolve({ outcome: 'forbidden', reason: windows })
    return this.#writer.delete(path, condition)
  }

  /** What the variants of cached versions need from the store (variants.ts). */
  #variantContext(options: FsStoreSettings): VariantContext | undefined {
    const siblings = options.precompressed ?? true
    const compress = options.compress ?? {}
    if (!siblings && compress === false) return undefined
    const logger = options.logger
    const root = this.root
    return {
      siblings,
      onTheFly:
        compress === false
          ? undefined
          : {
              types: compilePatterns(compress.types ?? DEFAULT_COMPRESS_SETTINGS.types),
              minBytes: compress.minSize ?? DEFAULT_COMPRESS_SETTINGS.minSize,
              maxBytes: compress.maxSize ?? DEFAULT_COMPRESS_SETTINGS.maxSize,
              levels: { ...ON_THE_FLY_LEVELS, ...compress.level },
            },
      locate: async (path) => {
        const real = await realpathAsync(path).catch(() => undefined)
        return real !== undefined && real.startsWith(root + sep) ? real : undefined
      },
      openFile: (real) => openAsync(real, 'r'),
      maxHeldBytes: this.cache!.options.maxFileBytes,
      takeDescriptor: () => {
        if (this.#openEntries >= MAX_OPEN_ENTRIES) return false
        this.#openEntries++
        return true
      },
      giveDescriptor: () => {
        this.#openEntries--
      },
      remember: (identity, opaque, at) => this.tags.remember(identity, opaque, at),
      stale: once((path, reason) =>
        logger?.warn(
          { path: path.slice(root.length).split(sep).join('/'), reason },
          'precompressed sibling not served',
        ),
      ),
      queue: compressionQueue(),
    }
  }

  /**
   * The variants of a version just admitted to the cache, attached to its entry; undefined
   * when it can be had in no other coding.
   */
  #variantsOf(entry: CacheEntry | undefined): EntryVariants | undefined {
    const context = this.#variants
    if (entry === undefined || context === undefined || entry.state.kind !== 'file')
      return undefined
    const codings = offeredCodings(entry.state, context)
    if (codings.length === 0) return undefined
    const variants = new EntryVariants(entry, entry.state, codings, context)
    entry.variants = variants
    return variants
  }

  /** On Windows (or when told to), a segment Windows would not take as a plain name. */
  #windowsProblem(path: ResourcePath): string | undefined {
    if (!this.#windowsNames) return undefined
    for (const segment of path) {
      const problem = windowsNameProblem(segment)
      if (problem !== undefined) return problem
    }
    return undefined
  }

  /** The absolute filesystem path for a resource path (not checked for symbolic links). */
  pathOf(path: ResourcePath): string {
    return path.length === 0 ? this.root : join(this.root, ...path)
  }

  /** Resolves symbolic links and keeps the result inside the root. */
  async #locate(
    path: ResourcePath,
  ): Promise<{ kind: 'found'; real: string } | { kind: 'other'; lookup: Lookup }> {
    let real: string
    try {
      real = await realpathAsync(this.pathOf(path))
    } catch (error) {
      return { kind: 'other', lookup: lookupForError(error) }
    }
    if (real !== this.root && !real.startsWith(this.root + sep)) {
      return { kind: 'other', lookup: { kind: 'forbidden', reason: 'resolves outside the root' } }
    }
    return { kind: 'found', real }
  }

  /**
   * Opens one version of the file; undefined when it changed while being hashed. A settled
   * version is kept in the cache: with its bytes when small (read and hashed here, so the
   * ETag is that of exactly the bytes held), else its identity and ETag.
   */
  async #openVersion(
    real: string,
    path: ResourcePath,
    seen: { epoch: number; observedAt: number; startedAt: number },
  ): Promise<Lookup | undefined> {
    let fd: number
    try {
      fd = await openAsync(real, 'r')
    } catch (error) {
      return lookupForError(error)
    }
    const cache = this.cache
    const where = { path: this.pathOf(path), real }
    try {
      const stats = await fstatAsync(fd, { bigint: true })
      const identity = identityOf(stats)
      if (stats.isDirectory()) {
        closeQuietly(fd)
        const state = { kind: 'directory' as const, ...where, identity }
        cache?.admit(keyOf(path), state, seen.epoch, seen.observedAt)
        return DIRECTORY
      }
      if (!stats.isFile()) {
        closeQuietly(fd)
        return { kind: 'forbidden', reason: 'not a regular file' }
      }
      const name = path.length === 0 ? '' : path[path.length - 1]!
      const contentType = contentTypeFor(name)
      // A version is kept (and gets variants) once it and its siblings are settled.
      const own = isSettled(identity, seen.startedAt)
      const siblings =
        own && this.#variants?.siblings ? await seeSiblings(where.path, seen.startedAt) : undefined
      const settled = own && (siblings?.settled ?? true)
      const place = { ...where, siblings: siblings?.siblings }
      if (cache !== undefined && settled && cache.holds(identity.size)) {
        const bytes = await readWhole(fd, identity.size)
        const after = identityOf(await fstatAsync(fd, { bigint: true }))
        closeQuietly(fd)
        if (bytes === undefined || !sameIdentity(after, identity)) return undefined
        const opaque = opaqueTagOf(bytes)
        this.tags.remember(identity, opaque, seen.startedAt)
        const state = { kind: 'file' as const, ...place, identity, opaque, contentType, bytes }
        const entry = cache.admit(keyOf(path), state, seen.epoch, seen.observedAt)
        const variants = this.#variantsOf(entry)
        const file = new MemoryFile(bytes, identity, opaque, contentType, entry, variants)
        if (entry !== undefined) entry.attachment = file
        return file.lookup
      }
      const opaque = await this.tags.tagFor(fd, identity)
      if (opaque === undefined) {
        closeQuietly(fd)
        return undefined
      }
      // One share of the descriptor for this request; the cache entry may keep another.
      const descriptor = new SharedDescriptor(fd)
      let entry: CacheEntry | undefined
      if (cache !== undefined && settled) {
        const state = { kind: 'file' as const, ...place, identity, opaque, contentType }
        entry = cache.admit(
          keyOf(path),
          { ...state, bytes: undefined },
          seen.epoch,
          seen.observedAt,
        )
        // The descriptor is this request's alone so far: its count is 1, and acquire succeeds.
        if (entry !== undefined && this.#openEntries < MAX_OPEN_ENTRIES && descriptor.acquire()) {
          this.#openEntries++
          entry.attachment = new OpenRepresentation(
            descriptor,
            identity,
            opaque,
            contentType,
            entry,
            () => this.#openEntries--,
            this.#variantsOf(entry),
          )
        } else {
          this.#variantsOf(entry)
        }
      }
      const version = storedVersion(identity, opaque)
      const variants = entry?.variants as EntryVariants | undefined
      return {
        kind: 'file',
        file: descriptorFile(descriptor, identity, version, contentType, entry, variants),
      }
    } catch (error) {
      closeQuietly(fd)
      throw error
    }
  }
}

/** The cache key of a resource path (segments never contain '/'). */
function keyOf(path: ResourcePath): string {
  return path.join('/')
}

/** Reads a whole file of `size` bytes; undefined when it turned out shorter. */
async function readWhole(fd: number, size: number): Promise<Buffer | undefined> {
  // Its own memory, not a slice of Node's shared pool, since the cache may keep it for long.
  const bytes = Buffer.allocUnsafeSlow(size)
  let position = 0
  while (position < size) {
    const { bytesRead } = await readAsync(fd, bytes, position, size - position, position)
    if (bytesRead === 0) return undefined
    position += bytesRead
  }
  return bytes
}

/**
 * A store over the directory `root`. The root is resolved to its real path once, so every
 * later containment check compares real paths. Throws when it is not a directory.
 */
export function createFsStore(root: string, options: FsStoreSettings = {}): FsStore {
  const real = realpathSync(root)
  if (!statSync(real).isDirectory()) throw new Error(`'${root}' is not a directory`)
  return new FsStore(real, options)
}

/**
 * The same as createFsStore, for callers that prefer a promise.
 * @example const store = await openFsStore({ root: './public', writable: true })
 */
export async function openFsStore(options: FsStoreOptions): Promise<FsStore> {
  const { root, writable, ...rest } = options
  const store = createFsStore(root, rest)
  if (writable) {
    loadNativeLocks()
    await sweepStagedFiles(store.root)
  }
  return store
}
