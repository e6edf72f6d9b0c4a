/**
 * The representation cache of the filesystem store: per resource path, what the last lookup
 * found (the real path, the identity, the entity-tag, the media type) and, for small files,
 * the bytes themselves, hashed from exactly those bytes. A request for a cached small file then
 * costs no system call; a larger file skips the path resolution and the hashing.
 *
 * Freshness (docs/PERFORMANCE.md, "Freshness", states the bound):
 * - sluice's own writes invalidate the entries of what they replace or remove before they
 *   answer (`invalidatePath`), so the next request of the same process sees the write;
 * - every directory an entry depends on (each directory on its resource path and on its real
 *   path) is watched with fs.watch (inotify on Linux), and any event for a name an entry
 *   depends on drops the entry: an outside change is seen within milliseconds;
 * - and, whatever the watcher missed (a change through a hard link elsewhere, a file system
 *   without change notification, a chain of symbolic links), an entry is trusted for at most
 *   `checkIntervalMs` after the moment its state was observed: then its path is stat'ed again
 *   and the entry dropped unless the identity (inode, size, mtime, ctime) is unchanged. The
 *   stat is started in the background once an entry in use is half that old, so under load no
 *   request waits for it; only the first request after a quiet spell does.
 *
 * Only settled versions are admitted (file-identity.ts, the racy window): a settled file's
 * next change always moves its ctime, so an unchanged identity means unchanged bytes.
 */

import { type BigIntStats, type FSWatcher, watch } from 'node:fs'
import { stat as statAsync } from 'node:fs/promises'
import { basename, dirname, join, sep } from 'node:path'
import { type FileIdentity, identityOf, sameIdentity } from './file-identity.js'
import { isReservedName } from './staged-files.js'

export interface RepresentationCacheOptions {
  /** Bytes of file content held in memory, all files together. Default 64 MiB; 0 holds none. */
  readonly maxBytes?: number
  /** The largest file held in memory, in bytes. Default 1 MiB. */
  readonly maxFileBytes?: number
  /** Resource paths remembered (with or without their bytes). Default 10,000. */
  readonly maxEntries?: number
  /** How long an entry is trusted without looking at the disk again, in ms. Default 100. */
  readonly checkIntervalMs?: number
  /** Watch the directories of cached entries for changes (fs.watch). Default true. */
  readonly watch?: boolean
  /**
   * Bytes compressed on the fly (variants.ts) held, all files together, within `maxBytes`.
   * Default 16 MiB.
   */
  readonly maxCompressedBytes?: number
}

export const DEFAULT_CACHE_OPTIONS: Required<RepresentationCacheOptions> = {
  maxBytes: 64 * 1024 * 1024,
  maxFileBytes: 1024 * 1024,
  maxEntries: 10_000,
  checkIntervalMs: 100,
  watch: true,
  maxCompressedBytes: 16 * 1024 * 1024,
}

/**
 * The options as given, or a TypeError naming the one that is wrong (the library's rule for
 * bad options): limits are non-negative integers, `watch` a boolean.
 */
function checkedCacheOptions(options: unknown): RepresentationCacheOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError("sluice: option 'cache': expected an object of limits, or false")
  }
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue
    if (key === 'watch') {
      if (typeof value !== 'boolean') {
        throw new TypeError(`sluice: option 'cache.watch': expected a boolean, got ${typeof value}`)
      }
    } else if (key in DEFAULT_CACHE_OPTIONS) {
      if (!Number.isSafeInteger(value) || (value as number) < 0) {
        throw new TypeError(`sluice: option 'cache.${key}': expected a non-negative integer`)
      }
    } else {
      const known = Object.keys(DEFAULT_CACHE_OPTIONS).join(', ')
      throw new TypeError(`sluice: option 'cache.${key}' is unknown (known: ${known})`)
    }
  }
  return options as RepresentationCacheOptions
}

/** At most this many directories are watched; entries beyond rely on the periodic check. */
const MAX_WATCHED_DIRECTORIES = 4096
/** Paths whose last change is remembered for `admit`; past this, every older lookup is refused. */
const MAX_CHANGES = 4096

/** What a lookup found, as the store admits it. */
export type EntryState =
  | {
      readonly kind: 'directory'
      /** The path as asked for (root joined with the segments) and as resolved. */
      readonly path: string
      readonly real: string
      readonly identity: FileIdentity
    }
  | {
      readonly kind: 'file'
      readonly path: string
      readonly real: string
      readonly identity: FileIdentity
      readonly opaque: string
      readonly contentType: string
      /** The whole file, when small enough to hold. */
      readonly bytes: Buffer | undefined
      /**
       * Its precompressed siblings' paths (`app.js.br`), each with the identity it had, or
       * undefined where there was none: the entry depends on them (a sibling created, changed
       * or removed drops it), so what its variants say about them stays true.
       */
      readonly siblings?: readonly SiblingSeen[] | undefined
    }

/** A sibling's path as looked at, and the file found there (undefined: none). */
export interface SiblingSeen {
  readonly path: string
  readonly identity: FileIdentity | undefined
}

/** What the store keeps with an entry besides its state; released when the entry goes. */
export interface EntryAttachment {
  release?(): void
}

export class CacheEntry {
  /** False once the entry was dropped: it is never trusted again. */
  valid = true
  /** performance.now() after which the entry must be checked before it is trusted. */
  freshUntil: number
  /** Used since the eviction clock last passed (a second chance before eviction). */
  used = true
  /** The stat in flight, if any. */
  checking: Promise<void> | undefined
  /** What the store keeps for this version; its release() is called when the entry goes. */
  attachment: EntryAttachment | undefined
  /** The version's encoded variants (variants.ts), released with the entry too. */
  variants: EntryAttachment | undefined
  /** Bytes held besides the file's own (its variants'), and those compressed on the fly. */
  extraBytes = 0
  compressedBytes = 0

  constructor(
    readonly key: string,
    readonly state: EntryState,
    readonly deps: readonly string[],
    readonly cache: RepresentationCache,
    freshUntil: number,
  ) {
    this.freshUntil = freshUntil
  }

  get size(): number {
    const own =
      this.state.kind === 'file' && this.state.bytes !== undefined ? this.state.bytes.length : 0
    return own + this.extraBytes
  }

  /** True while the entry may be served as is (see RepresentationCache.isCurrent). */
  current(): boolean {
    return this.cache.isCurrent(this)
  }
}

export class RepresentationCache {
  readonly options: Required<RepresentationCacheOptions>
  readonly #root: string
  readonly #entries = new Map<string, CacheEntry>()
  /** Every path an entry depends on, to the entries depending on it. */
  readonly #byDep = new Map<string, Set<CacheEntry>>()
  readonly #watchers = new Map<string, { watcher: FSWatcher | undefined; users: number }>()
  /** Entries holding bytes compressed on the fly, in the order they were first charged. */
  readonly #compressed = new Set<CacheEntry>()
  #bytes = 0
  #compressedBytes = 0
  #epoch = 0
  /**
   * The epoch of the last change learnt of per path (`#changed`), and per directory whose
   * whole subtree changed (`#changedUnder`), so that `admit` refuses only the lookups a change
   * concerns: a log file appended to inside the root does not keep other files out. Past
   * MAX_CHANGES paths both are cleared and `#floor` moves up instead: every lookup that started
   * before is refused, as any change would have refused it.
   */
  readonly #changed = new Map<string, number>()
  readonly #changedUnder = new Map<string, number>()
  #floor = 0
  #closed = false

  /** `root` is the store's root, a real path; entries depend on paths below it. */
  constructor(root: string, options: RepresentationCacheOptions = {}) {
    this.#root = root
    this.options = { ...DEFAULT_CACHE_OPTIONS, ...checkedCacheOptions(options) }
  }

  /**
   * A counter that moves on every change the cache learns of. A lookup reads it before it
   * looks at the disk and passes it to `admit`: if something it depends on changed meanwhile,
   * its result is used for that one request but not kept.
   */
  get epoch(): number {
    return this.#epoch
  }

  get size(): number {
    return this.#entries.size
  }

  /** Whether a file of `size` bytes would be held in memory. */
  holds(size: number): boolean {
    return size <= this.options.maxFileBytes && size <= this.options.maxBytes
  }

  /** The entry for `key` if it may be served now, without waiting; undefined otherwise. */
  peek(key: string): CacheEntry | undefined {
    const entry = this.#entries.get(key)
    return entry !== undefined && this.isCurrent(entry) ? entry : undefined
  }

  /** The entry for `key`, checked against the disk first when its last check is too old. */
  async get(key: string): Promise<CacheEntry | undefined> {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (this.isCurrent(entry)) return entry
    if (!entry.valid) return undefined
    await this.#check(entry)
    return entry.valid && performance.now() < entry.freshUntil ? entry : undefined
  }

  /**
   * True when `entry` may be served now: not dropped, and observed less than
   * `checkIntervalMs` ago. An entry past half that age has its check started in the
   * background, so one in steady use never expires.
   */
  isCurrent(entry: CacheEntry): boolean {
    if (!entry.valid) return false
    const now = performance.now()
    const left = entry.freshUntil - now
    if (left <= 0) {
      void this.#check(entry)
      return false
    }
    entry.used = true
    if (left < this.options.checkIntervalMs / 2 && entry.checking === undefined) {
      void this.#check(entry)
    }
    return true
  }

  /**
   * Keeps what a lookup found for `key`, unless the cache learnt of a change since `epoch`.
   * `observedAt` (performance.now()) is when the lookup started: the entry is trusted until
   * `checkIntervalMs` after it. Returns the entry, or undefined when it was not kept.
   */
  admit(key: string, state: EntryState, epoch: number, observedAt: number): CacheEntry | undefined {
    if (this.#closed) return undefined
    if (state.kind === 'file' && state.bytes !== undefined && !this.holds(state.bytes.length)) {
      return undefined
    }
    const deps = dependencies(this.#root, state.path, state.real)
    if (state.kind === 'file') for (const sibling of state.siblings ?? []) deps.push(sibling.path)
    if (!this.#unchangedSince(epoch, deps)) return undefined
    const previous = this.#entries.get(key)
    if (previous !== undefined) this.#remove(previous)
    const entry = new CacheEntry(key, state, deps, this, observedAt + this.options.checkIntervalMs)
    this.#entries.set(key, entry)
    this.#bytes += entry.size
    for (const dep of deps) {
      let set = this.#byDep.get(dep)
      if (set === undefined) this.#byDep.set(dep, (set = new Set()))
      set.add(entry)
    }
    if (this.options.watch) for (const dir of watchedDirectories(deps)) this.#watch(dir)
    this.#evict()
    return entry.valid ? entry : undefined
  }

  /**
   * Counts `bytes` more held for `entry` (a variant's; `compressed` when made on the fly),
   * evicting entries if that goes past a limit, `entry` itself possibly. Nothing is counted for
   * an entry no longer in the cache.
   */
  charge(entry: CacheEntry, bytes: number, compressed: boolean): void {
    if (!entry.valid) return
    entry.extraBytes += bytes
    this.#bytes += bytes
    if (compressed) {
      entry.compressedBytes += bytes
      this.#compressedBytes += bytes
      this.#compressed.add(entry)
    }
    this.#evict()
  }

  /** Drops one entry (its version turned out to be gone). */
  drop(entry: CacheEntry): void {
    this.#epoch++
    this.#record(this.#changed, entry.state.path)
    this.#record(this.#changed, entry.state.real)
    this.#remove(entry)
  }

  /**
   * Something at `path` (a real or requested path below the root) was created, changed,
   * replaced or removed: drops every entry depending on it.
   */
  invalidatePath(path: string): void {
    this.#epoch++
    this.#record(this.#changed, path)
    const set = this.#byDep.get(path)
    if (set === undefined) return
    for (const entry of [...set]) this.#remove(entry)
  }

  /** Drops every entry depending on anything inside `directory` (or on itself). */
  invalidateUnder(directory: string): void {
    this.#epoch++
    // Entries depend on every directory on their paths below the root, the root excepted.
    if (directory === this.#root || !directory.startsWith(this.#root + sep)) {
      this.#floor = this.#epoch
    } else {
      this.#record(this.#changedUnder, directory)
    }
    const prefix = directory + sep
    for (const [dep, set] of [...this.#byDep]) {
      if (dep === directory || dep.startsWith(prefix))
        for (const entry of [...set]) this.#remove(entry)
    }
  }

  /** Drops everything and stops watching. */
  close(): void {
    this.#closed = true
    this.#epoch++
    for (const entry of [...this.#entries.values()]) this.#remove(entry)
    for (const { watcher } of this.#watchers.values()) watcher?.close()
    this.#watchers.clear()
  }

  /** Whether nothing a lookup that read `epoch` and found `deps` depends on changed since. */
  #unchangedSince(epoch: number, deps: readonly string[]): boolean {
    if (epoch === this.#epoch) return true
    if (epoch < this.#floor) return false
    for (const dep of deps) {
      if ((this.#changed.get(dep) ?? -1) > epoch) return false
      if ((this.#changedUnder.get(dep) ?? -1) > epoch) return false
    }
    return true
  }

  /** Notes that `path` changed at the current epoch (called after the epoch moved). */
  #record(changes: Map<string, number>, path: string): void {
    if (this.#changed.size + this.#changedUnder.size >= MAX_CHANGES) {
      this.#changed.clear()
      this.#changedUnder.clear()
      this.#floor = this.#epoch
      return
    }
    changes.set(path, this.#epoch)
  }

  /** Stats the entry's path; keeps the entry, trusted for another interval, if unchanged. */
  #check(entry: CacheEntry): Promise<void> {
    if (entry.checking !== undefined) return entry.checking
    const startedAt = performance.now()
    entry.checking = stillAsSeen(entry.state).then((same) => {
      entry.checking = undefined
      if (!entry.valid) return
      if (same) {
        // What the stat saw is at least as recent as its start. (A change the cache learnt
        // of meanwhile that concerns this entry has dropped it: `valid` is false then.)
        entry.freshUntil = Math.max(entry.freshUntil, startedAt + this.options.checkIntervalMs)
      } else {
        this.drop(entry)
      }
    })
    return entry.checking
  }

  #remove(entry: CacheEntry): void {
    if (!entry.valid) return
    entry.valid = false
    entry.attachment?.release?.()
    entry.variants?.release?.()
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key)
    this.#bytes -= entry.size
    this.#compressedBytes -= entry.compressedBytes
    this.#compressed.delete(entry)
    for (const dep of entry.deps) {
      const set = this.#byDep.get(dep)
      if (set === undefined) continue
      set.delete(entry)
      if (set.size === 0) this.#byDep.delete(dep)
    }
    if (this.options.watch) for (const dir of watchedDirectories(entry.deps)) this.#unwatch(dir)
  }

  /** Second-chance (clock) eviction in insertion order until within the limits. */
  #evict(): void {
    const { maxEntries, maxBytes } = this.options
    let budget = this.#entries.size * 2
    while ((this.#entries.size > maxEntries || this.#bytes > maxBytes) && budget-- > 0) {
      const oldest = this.#entries.values().next().value
      if (oldest === undefined) return
      if (oldest.used) {
        oldest.used = false
        this.#entries.delete(oldest.key)
        this.#entries.set(oldest.key, oldest)
      } else {
        this.#remove(oldest)
      }
    }
    // The same clock over the entries holding compressed bytes, for their own limit.
    budget = this.#compressed.size * 2
    while (this.#compressedBytes > this.options.maxCompressedBytes && budget-- > 0) {
      const oldest = this.#compressed.values().next().value
      if (oldest === undefined) return
      if (oldest.used) {
        oldest.used = false
        this.#compressed.delete(oldest)
        this.#compressed.add(oldest)
      } else {
        this.#remove(oldest)
      }
    }
  }

  #watch(directory: string): void {
    const known = this.#watchers.get(directory)
    if (known !== undefined) {
      known.users++
      return
    }
    let watcher: FSWatcher | undefined
    if (this.#watchers.size < MAX_WATCHED_DIRECTORIES) {
      try {
        watcher = watch(directory, { persistent: false }, (_event, name) =>
          this.#onEvent(directory, name),
        )
        watcher.on('error', () => this.#onWatchError(directory))
      } catch {
        // Out of inotify watches, or the directory just went away: the periodic check covers.
        watcher = undefined
      }
    }
    this.#watchers.set(directory, { watcher, users: 1 })
  }

  #unwatch(directory: string): void {
    const known = this.#watchers.get(directory)
    if (known === undefined) return
    if (--known.users > 0) return
    known.watcher?.close()
    this.#watchers.delete(directory)
  }

  #onEvent(directory: string, name: string | Buffer | null): void {
    const text = typeof name === 'string' ? name : name?.toString()
    if (text === undefined || text === '' || text.includes('\ufffd')) {
      this.invalidateUnder(directory)
      return
    }
    // Staged files and lock files come and go with every write; they are never resources.
    if (isReservedName(text)) return
    // Events about the watched directory itself name it by its own name (libuv).
    if (text === basename(directory)) this.invalidateUnder(directory)
    this.invalidatePath(join(directory, text))
  }

  #onWatchError(directory: string): void {
    const known = this.#watchers.get(directory)
    known?.watcher?.close()
    if (known !== undefined) known.watcher = undefined
    this.invalidateUnder(directory)
  }
}

/** Whether fresh stats of an entry's path (and its siblings') show what the entry holds. */
async function stillAsSeen(state: EntryState): Promise<boolean> {
  const siblings = state.kind === 'file' ? (state.siblings ?? []) : []
  const [own, ...others] = await Promise.all(
    [state.path, ...siblings.map((s) => s.path)].map((path) =>
      statAsync(path, { bigint: true }).catch(() => undefined),
    ),
  )
  if (own === undefined || !unchanged(state, own)) return false
  return siblings.every((sibling, i) => {
    const now = others[i]
    if (sibling.identity === undefined || now === undefined) {
      return sibling.identity === undefined && (now === undefined || !now.isFile())
    }
    return now.isFile() && sameIdentity(sibling.identity, identityOf(now))
  })
}

/** Whether a fresh stat of an entry's path shows the version the entry holds. */
function unchanged(state: EntryState, stats: BigIntStats): boolean {
  if (state.kind === 'directory') {
    return (
      stats.isDirectory() && stats.ino === state.identity.ino && stats.dev === state.identity.dev
    )
  }
  return stats.isFile() && sameIdentity(state.identity, identityOf(stats))
}

/**
 * The paths an entry depends on: every path from the first component below the root down to
 * the entry, both as requested and as resolved (they differ where symbolic links are).
 */
function dependencies(root: string, path: string, real: string): string[] {
  const deps = new Set<string>()
  for (const full of [path, real]) {
    if (full.length <= root.length || !full.startsWith(root + sep)) continue
    let at = root.length + 1
    for (;;) {
      const next = full.indexOf(sep, at)
      if (next === -1) {
        deps.add(full)
        break
      }
      deps.add(full.slice(0, next))
      at = next + 1
    }
  }
  return [...deps]
}

/** The directories to watch for an entry: each dependency's parent. */
function watchedDirectories(deps: readonly string[]): Set<string> {
  const dirs = new Set<string>()
  for (const dep of deps) dirs.add(dirname(dep))
  return dirs
}
