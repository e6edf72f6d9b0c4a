/**
 * Writes to the filesystem store: PUT and DELETE as one conditional step each, atomic,
 * durable, and linearizable per resource across every process serving the root.
 *
 * A PUT runs in three phases (docs/ARCHITECTURE.md, "Writes", has the whole argument):
 *
 * 1. Place and pre-check, without a lock: resolve the target inside the root, refuse paths
 *    that cannot hold a file (409), and evaluate the preconditions once, so that a stale
 *    If-Match is answered before the body is received (RFC 9110 section 13.2.1 evaluates
 *    preconditions before the request content is processed).
 * 2. Stage, without a lock: stream the body into a locked staged file in the target's
 *    directory, hashing it as it arrives (the new entity-tag is then known without reading the
 *    file again), and fsync it. Readers and other writers are never held up by a slow upload.
 * 3. Check and replace, under the resource lock: evaluate the preconditions again against the
 *    file as it is now, create missing parent directories, rename the staged file over the
 *    target. The lock covers only this step. The directories are fsynced after it, before the
 *    client is answered.
 *
 * A crash at any moment leaves the target's old or new bytes (rename is atomic), and at worst
 * a staged file, which is hidden from clients and removed at the next start (staged-files.ts).
 */

import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { type FileHandle, mkdir, open, realpath, rename, stat, unlink } from 'node:fs/promises'
import { join, sep } from 'node:path'
import type { CurrentValidators, PreconditionField } from '../core/preconditions.js'
import { decideWrite } from '../core/write-preconditions.js'
import { type ContentTagCache, opaqueTagOfDigest } from './content-tags.js'
import { type FileIdentity, identityOf } from './file-identity.js'
import { contentTypeFor } from './media-types.js'
import { storedVersion } from './opened-file.js'
import type { ResourceLocks } from './resource-locks.js'
import {
  createStagedFile,
  discardStagedFile,
  isReservedName,
  type StagedFile,
} from './staged-files.js'
import {
  type ResourcePath,
  StoreUnavailableError,
  type WriteBody,
  type WriteCondition,
  type WriteResult,
} from './store.js'

/** Attempts at hashing a file that keeps changing under us before answering 503. */
const HASH_ATTEMPTS = 3
/** Opens a candidate target without following a final symbolic link or blocking on a FIFO. */
const PROBE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK

/** Where a write lands: real directories only, so one resource has one lock key. */
interface Placement {
  /** The deepest existing directory on the way to the target, as a real path in the root. */
  readonly base: string
  /** The directories to create below `base` (usually none). */
  readonly missing: readonly string[]
  /** The target's real path; also the key of its lock. */
  readonly target: string
}

/** What is at the target path right now. */
type Current =
  | {
      readonly kind: 'file'
      readonly validators: CurrentValidators
      readonly identity: FileIdentity
      readonly mode: number
    }
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly result: WriteResult }

type Refusal = { readonly kind: 'refused'; readonly result: WriteResult }

/** The write may go ahead against `current`, with `checked` preconditions holding. */
type Decided =
  | Refusal
  | {
      readonly kind: 'proceed'
      readonly current: Exclude<Current, Refusal>
      readonly checked: readonly PreconditionField[]
    }

export interface FsWriterContext {
  /** The store's root, a real path. */
  readonly root: string
  readonly tags: ContentTagCache
  readonly locks: ResourceLocks
  /**
   * Called with the real path of a file a write replaced, created or removed, right after the
   * rename or unlink (the store's cache drops it); a promise it returns is awaited before the
   * write is answered (other processes drop theirs).
   */
  readonly changed?: ((path: string) => void | Promise<void>) | undefined
}

export class FsWriter {
  readonly #root: string
  readonly #tags: ContentTagCache
  readonly #locks: ResourceLocks
  readonly #changed: (path: string) => void | Promise<void>

  constructor(context: FsWriterContext) {
    this.#root = context.root
    this.#tags = context.tags
    this.#locks = context.locks
    this.#changed = context.changed ?? (() => {})
  }

  async put(path: ResourcePath, body: WriteBody, condition: WriteCondition): Promise<WriteResult> {
    const mismatch = checkMediaType(path[path.length - 1] ?? '', body.contentType)
    if (mismatch !== undefined) return mismatch
    const placed = await this.#place(path)
    if ('kind' in placed) return placed.result
    // Phase 1: an early answer for a write that would fail anyway.
    const early = await this.#decide('PUT', placed, condition)
    if (early.kind === 'refused') return early.result

    // Phase 2: receive the body into a staged file, outside any lock.
    let staged: StagedFile
    try {
      staged = await createStagedFile(placed.base)
    } catch (error) {
      return resultForError(error)
    }
    let renamed = false
    let announced: void | Promise<void> = undefined
    try {
      const received = await receive(staged.handle, body)
      if ('outcome' in received) return received
      await staged.handle.sync()

      // Phase 3: check again and replace, as one step under the resource's lock.
      const applied = await this.#locks.withLock(placed.target, async () => {
        const decided = await this.#decide('PUT', placed, condition)
        if (decided.kind === 'refused') return decided
        // A replacement keeps the permissions of the file it replaces.
        if (decided.current.kind === 'file') await staged.handle.chmod(decided.current.mode)
        const conflict = await createDirectories(placed)
        if (conflict !== undefined) return conflict
        await rename(staged.path, placed.target)
        renamed = true
        announced = this.#changed(placed.target)
        return {
          kind: 'applied' as const,
          decided,
          stats: await staged.handle.stat({ bigint: true }),
        }
      })
      if (applied.kind === 'refused') return applied.result

      const identity = identityOf(applied.stats)
      this.#tags.remember(identity, received.opaque, Date.now())
      await syncDirectories(placed)
      await announced
      const version = storedVersion(identity, received.opaque)
      const checked = applied.decided.checked
      return applied.decided.current.kind === 'file'
        ? { outcome: 'replaced', version, checked }
        : { outcome: 'created', version, checked }
    } catch (error) {
      if (renamed) throw error // the new bytes are in place; only the directory sync failed
      return resultForError(error)
    } finally {
      if (renamed) await staged.handle.close()
      else await discardStagedFile(staged)
    }
  }

  async delete(path: ResourcePath, condition: WriteCondition): Promise<WriteResult> {
    const placed = await this.#place(path)
    if ('kind' in placed) return placed.result
    if (placed.missing.length > 0) return { outcome: 'missing' }
    let result: WriteResult
    let announced: void | Promise<void> = undefined
    try {
      result = await this.#locks.withLock(placed.target, async (): Promise<WriteResult> => {
        const decided = await this.#decide('DELETE', placed, condition)
        if (decided.kind === 'refused') return decided.result
        // Section 13.2.1: without its preconditions the DELETE would be a 404, so they are
        // not evaluated (decide skips them for a missing resource).
        if (decided.current.kind === 'missing') return { outcome: 'missing' }
        await unlink(placed.target)
        announced = this.#changed(placed.target)
        this.#tags.forget(decided.current.identity)
        return { outcome: 'deleted', checked: decided.checked }
      })
    } catch (error) {
      return resultForError(error)
    }
    if (result.outcome === 'deleted') await syncDirectories(placed)
    await announced
    return result
  }

  /**
   * Resolves `path` to real directories inside the root: the deepest one that exists, and the
   * names to create below it. Symbolic links to directories inside the root are followed (as
   * reads follow them), so every name of a resource shares one lock key.
   */
  async #place(path: ResourcePath): Promise<Placement | Refusal> {
    if (path.length === 0) return refuse({ outcome: 'conflict', reason: 'the root is a directory' })
    if (path.some(isReservedName)) {
      return refuse({ outcome: 'forbidden', reason: 'a name reserved by sluice' })
    }
    for (let depth = path.length - 1; depth >= 0; depth--) {
      let real: string
      try {
        real = await realpath(join(this.#root, ...path.slice(0, depth)))
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOENT' || code === 'ENOTDIR') continue
        return refuse(resultForError(error))
      }
      if (real !== this.#root && !real.startsWith(this.#root + sep)) {
        return refuse({ outcome: 'forbidden', reason: 'resolves outside the root' })
      }
      const stats = await stat(real)
      if (!stats.isDirectory()) {
        return refuse({ outcome: 'conflict', reason: 'a parent of this path is a file' })
      }
      const missing = path.slice(depth, -1)
      return { base: real, missing, target: join(real, ...missing, path[path.length - 1]!) }
    }
    // The root itself always resolves, so the loop returns before getting here.
    throw new Error('unreachable: the root did not resolve')
  }

  /** Looks at the target and decides the write against it (RFC 9110 section 13.2.2). */
  async #decide(method: string, placed: Placement, condition: WriteCondition): Promise<Decided> {
    const current = await this.#currentAt(placed.target)
    if (current.kind === 'refused') return current
    // A DELETE of nothing is a 404 whatever its preconditions say (section 13.2.1).
    if (method === 'DELETE' && current.kind === 'missing') {
      return { kind: 'proceed', current, checked: [] }
    }
    const validators = current.kind === 'file' ? current.validators : undefined
    const decision = decideWrite(method, condition.fields, validators, condition.requireValidator)
    if (decision.outcome === 'failed') {
      return refuse({ outcome: 'precondition-failed', field: decision.field })
    }
    if (decision.outcome === 'required') return refuse({ outcome: 'precondition-required' })
    return { kind: 'proceed', current, checked: decision.checked }
  }

  /** The validators of the file at `target`, computed as reads compute them. */
  async #currentAt(target: string): Promise<Current> {
    for (let attempt = 0; attempt < HASH_ATTEMPTS; attempt++) {
      let handle: FileHandle
      try {
        handle = await open(target, PROBE_FLAGS)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOENT') return { kind: 'missing' }
        if (code === 'ELOOP') {
          return refuse({ outcome: 'conflict', reason: 'the path is a symbolic link' })
        }
        if (code === 'ENOTDIR') {
          return refuse({ outcome: 'conflict', reason: 'a parent of this path is a file' })
        }
        return refuse(resultForError(error))
      }
      try {
        const stats = await handle.stat({ bigint: true })
        if (stats.isDirectory()) {
          return refuse({ outcome: 'conflict', reason: 'a directory exists at this path' })
        }
        if (!stats.isFile()) {
          return refuse({ outcome: 'forbidden', reason: 'not a regular file' })
        }
        const identity = identityOf(stats)
        const opaque = await this.#tags.tagFor(handle.fd, identity)
        if (opaque === undefined) continue // changed while hashed: look again
        const validators = {
          etag: { weak: false, opaque },
          lastModified: Math.min(Number(identity.mtimeNs / 1_000_000n), Date.now()),
        }
        return { kind: 'file', validators, identity, mode: Number(stats.mode & 0o7777n) }
      } finally {
        await handle.close()
      }
    }
    throw new StoreUnavailableError('the file kept changing while its entity-tag was computed', 1)
  }
}

/**
 * This store derives a file's media type from its name (media-types.ts), so a PUT labelled
 * with another type would be served back under a type its author did not mean. RFC 9110
 * section 9.3.4 suggests 415 for that. Unlabelled bytes, and `application/octet-stream` (bytes
 * of no stated type), take the type of the name; parameters such as charset are not compared.
 */
function checkMediaType(name: string, contentType: string | undefined): WriteResult | undefined {
  if (contentType === undefined) return undefined
  const sent = essence(contentType)
  const stored = essence(contentTypeFor(name))
  if (sent === '' || sent === stored || sent === 'application/octet-stream') return undefined
  return {
    outcome: 'unsupported-media-type',
    reason: `this path stores ${stored}; send that Content-Type or none`,
  }
}

/** The media type without parameters, in lower case (section 8.3.1). */
function essence(contentType: string): string {
  const semicolon = contentType.indexOf(';')
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase()
}

function refuse(result: WriteResult): Refusal {
  return { kind: 'refused', result }
}

/**
 * Streams the body into the staged file, counting and hashing it. Errors from the body (the
 * client went away) become `incomplete`; errors from the disk are thrown.
 */
async function receive(
  handle: FileHandle,
  body: WriteBody,
): Promise<WriteResult | { opaque: string; size: number }> {
  const hash = createHash('sha256')
  const chunks = body.chunks[Symbol.asyncIterator]()
  let size = 0
  for (;;) {
    let next: IteratorResult<Uint8Array>
    try {
      next = await chunks.next()
    } catch {
      return { outcome: 'incomplete', reason: 'the request content was cut off' }
    }
    if (next.done) break
    const chunk = next.value
    size += chunk.length
    if (size > body.maxBytes) {
      await chunks.return?.()
      return { outcome: 'too-large', maxBytes: body.maxBytes }
    }
    hash.update(chunk)
    let written = 0
    while (written < chunk.length) {
      const { bytesWritten } = await handle.write(chunk, written, chunk.length - written)
      written += bytesWritten
    }
  }
  if (body.length !== undefined && size !== body.length) {
    return { outcome: 'incomplete', reason: `received ${size} of ${body.length} bytes` }
  }
  return { opaque: opaqueTagOfDigest(hash.digest()), size }
}

/** Creates the missing directories below the base; a file in the way is a conflict. */
async function createDirectories(placed: Placement): Promise<Refusal | undefined> {
  let directory = placed.base
  for (const name of placed.missing) {
    directory = join(directory, name)
    try {
      await mkdir(directory)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (!(await stat(directory)).isDirectory()) {
        return refuse({ outcome: 'conflict', reason: 'a parent of this path is a file' })
      }
    }
  }
  return undefined
}

/**
 * Makes the rename (or unlink) durable: fsync on the target's directory, and on every
 * directory from the base down, since each new directory's entry lives in its parent.
 */
async function syncDirectories(placed: Placement): Promise<void> {
  let directory = placed.base
  await syncDirectory(directory)
  for (const name of placed.missing) {
    directory = join(directory, name)
    await syncDirectory(directory)
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** The outcomes the filesystem's errors stand for; anything unexpected is thrown (500). */
function resultForError(error: unknown): WriteResult {
  const code = (error as NodeJS.ErrnoException).code
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return { outcome: 'insufficient-storage' }
    case 'EACCES':
    case 'EPERM':
      return { outcome: 'forbidden', reason: 'permission denied' }
    case 'EROFS':
      return { outcome: 'forbidden', reason: 'read-only file system' }
    case 'ENOTDIR':
      return { outcome: 'conflict', reason: 'a parent of this path is a file' }
    case 'EISDIR':
      return { outcome: 'conflict', reason: 'a directory exists at this path' }
    case 'ENAMETOOLONG':
      return { outcome: 'conflict', reason: 'the name is too long for the file system' }
    case 'ENOENT':
      return { outcome: 'conflict', reason: 'a parent directory was removed during the write' }
    case 'EMFILE':
    case 'ENFILE':
      throw new StoreUnavailableError('out of file descriptors', 1)
    default:
      throw error
  }
}
