/**
 * The filesystem store: a directory tree, read here and written through fs-writes.ts.
 *
 * A lookup resolves symbolic links and refuses any path whose real location is outside the
 * root, opens the file, and takes its identity with fstat on that descriptor: everything the
 * response says (size, entity-tag, Last-Modified) and every byte it sends then come from the
 * same open file.
 */

import { close, fstat, open, realpath, realpathSync, statSync } from 'node:fs'
import { join, sep } from 'node:path'
import { promisify } from 'node:util'
import { formatEntityTag } from '../core/entity-tag.js'
import { ContentTagCache } from './content-tags.js'
import { type FileIdentity, identityOf } from './file-identity.js'
import { createRangeStream } from './file-stream.js'
import { FsWriter } from './fs-writes.js'
import { contentTypeFor } from './media-types.js'
import { LOCK_DIRECTORY, ResourceLocks } from './resource-locks.js'
import { isReservedName, sweepStagedFiles } from './staged-files.js'
import { windowsNameProblem } from './windows-names.js'
import {
  type Lookup,
  type OpenedFile,
  type ResourcePath,
  StoreUnavailableError,
  type WritableStore,
  type WriteBody,
  type WriteCondition,
  type WriteResult,
} from './store.js'

const openAsync = promisify(open)
const fstatAsync = promisify(fstat)
// One realpath(3) call instead of an lstat per path component.
const realpathAsync = promisify(realpath.native)

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
}

export class FsStore implements WritableStore {
  readonly root: string
  readonly tags = new ContentTagCache()
  readonly #writer: FsWriter
  readonly #windowsNames: boolean

  /** `root` must already be a real path (see `openFsStore`). */
  constructor(root: string, options: { windowsNames?: boolean } = {}) {
    this.root = root
    const locks = new ResourceLocks({ directory: join(root, LOCK_DIRECTORY) })
    this.#writer = new FsWriter({ root, tags: this.tags, locks })
    this.#windowsNames = options.windowsNames ?? process.platform === 'win32'
  }

  async open(path: ResourcePath): Promise<Lookup> {
    // Staged files and lock files are sluice's own, never a resource (even with --dotfiles).
    if (path.some(isReservedName)) return { kind: 'missing' }
    const windows = this.#windowsProblem(path)
    if (windows !== undefined) return { kind: 'forbidden', reason: windows }
    const located = await this.#locate(path)
    if (located.kind !== 'found') return located.lookup
    for (let attempt = 0; attempt < HASH_ATTEMPTS; attempt++) {
      const opened = await this.#openVersion(located.real, path)
      if (opened !== undefined) return opened
    }
    throw new StoreUnavailableError('the file kept changing while its entity-tag was computed', 1)
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

  /** Opens one version of the file; undefined when it changed while being hashed. */
  async #openVersion(real: string, path: ResourcePath): Promise<Lookup | undefined> {
    let fd: number
    try {
      fd = await openAsync(real, 'r')
    } catch (error) {
      return lookupForError(error)
    }
    try {
      const stats = await fstatAsync(fd, { bigint: true })
      if (stats.isDirectory()) {
        closeQuietly(fd)
        return { kind: 'directory' }
      }
      if (!stats.isFile()) {
        closeQuietly(fd)
        return { kind: 'forbidden', reason: 'not a regular file' }
      }
      const identity = identityOf(stats)
      const opaque = await this.tags.tagFor(fd, identity)
      if (opaque === undefined) {
        closeQuietly(fd)
        return undefined
      }
      const name = path.length === 0 ? '' : path[path.length - 1]!
      return { kind: 'file', file: openedFile(fd, identity, opaque, contentTypeFor(name)) }
    } catch (error) {
      closeQuietly(fd)
      throw error
    }
  }
}

/**
 * A store over the directory `root`. The root is resolved to its real path once, so every
 * later containment check compares real paths. Throws when it is not a directory.
 */
export function createFsStore(
  root: string,
  options: Pick<FsStoreOptions, 'windowsNames'> = {},
): FsStore {
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
  if (writable) await sweepStagedFiles(store.root)
  return store
}

function openedFile(
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

function lookupForError(error: unknown): Lookup {
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

function closeQuietly(fd: number): void {
  close(fd, () => {})
}
