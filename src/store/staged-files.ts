/**
 * Staged files: the temporary files a write streams its body into before renaming it over the
 * target. They live in the target's directory (a rename is atomic only within one file
 * system), are named `.sluice-tmp-<random>` so that the engine never serves them, and are
 * locked by their writer for as long as it uses them. That lock is what lets a starting
 * process tell a leftover (its writer died, and the kernel released the lock) from a file
 * another live process is still writing, and remove only the leftovers.
 */

import { randomBytes } from 'node:crypto'
import type { Dirent } from 'node:fs'
import { type FileHandle, lstat, open, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { tryLock, unlock } from './native-locks.js'
import { LOCK_DIRECTORY } from './resource-locks.js'

/** Every name sluice keeps for itself in a served tree starts with this. */
export const RESERVED_PREFIX = '.sluice-'
const STAGED_PREFIX = `${RESERVED_PREFIX}tmp-`
const ATTEMPTS = 5

/** True for names sluice keeps for itself (staged files, the lock directory). */
export function isReservedName(name: string): boolean {
  return name.startsWith(RESERVED_PREFIX)
}

export interface StagedFile {
  readonly path: string
  readonly handle: FileHandle
}

/**
 * Creates and locks a new staged file in `directory`. A sweep in another process can remove a
 * fresh file between its creation and its lock, so the file is checked to be still linked
 * under its name once locked, and created again under a new name if not.
 */
export async function createStagedFile(directory: string): Promise<StagedFile> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const path = join(directory, STAGED_PREFIX + randomBytes(12).toString('base64url'))
    const handle = await open(path, 'wx', 0o666)
    try {
      if (tryLock(handle.fd) && (await stillLinked(handle, path))) return { path, handle }
    } catch (error) {
      await handle.close()
      throw error
    }
    await handle.close()
  }
  throw new Error('could not create a staged file: they keep disappearing')
}

/** Closes and removes a staged file that will not be renamed (errors are ignored). */
export async function discardStagedFile(staged: StagedFile): Promise<void> {
  await unlink(staged.path).catch(() => {})
  await staged.handle.close().catch(() => {})
}

/**
 * Removes the staged files left in the tree under `root` by writers that died (a crash, a
 * SIGKILL). Files that another live process has locked are left alone. Symbolic links are not
 * followed, and the lock directory is skipped. Resolves with the number of files removed.
 * @example const removed = await sweepStagedFiles('./public') // at start-up, before serving writes
 */
export async function sweepStagedFiles(root: string): Promise<number> {
  let removed = 0
  const pending = [root]
  while (pending.length > 0) {
    const directory = pending.pop()!
    let entries: Dirent[]
    try {
      entries = await readdir(directory, { withFileTypes: true })
    } catch {
      continue // removed meanwhile, or unreadable: nothing of ours to find there
    }
    for (const entry of entries) {
      const path = join(directory, entry.name)
      if (entry.isDirectory()) {
        if (!(directory === root && entry.name === LOCK_DIRECTORY)) pending.push(path)
      } else if (entry.isFile() && entry.name.startsWith(STAGED_PREFIX)) {
        if (await removeIfAbandoned(path)) removed++
      }
    }
  }
  return removed
}

async function removeIfAbandoned(path: string): Promise<boolean> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r+')
  } catch {
    return false // renamed or removed by its writer meanwhile
  }
  try {
    if (!tryLock(handle.fd)) return false // a live writer holds it
    try {
      if (!(await stillLinked(handle, path))) return false
      await unlink(path)
      return true
    } finally {
      unlock(handle.fd)
    }
  } catch {
    return false
  } finally {
    await handle.close()
  }
}

/** True when the file open at `handle` is still the one named `path`. */
async function stillLinked(handle: FileHandle, path: string): Promise<boolean> {
  const [opened, named] = await Promise.all([
    handle.stat({ bigint: true }),
    lstat(path, { bigint: true }).catch(() => undefined),
  ])
  return (
    named !== undefined && opened.nlink > 0n && opened.ino === named.ino && opened.dev === named.dev
  )
}
