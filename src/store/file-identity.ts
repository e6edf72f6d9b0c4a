/**
 * A file's identity on disk: which inode, which size, which change times. Two identical
 * identities mean the bytes were not changed in between (with the one caveat handled by
 * `isSettled`), so an entity-tag computed for one identity can be reused while it holds.
 */

import type { BigIntStats } from 'node:fs'

export interface FileIdentity {
  readonly dev: bigint
  readonly ino: bigint
  readonly size: number
  readonly mtimeNs: bigint
  readonly ctimeNs: bigint
  /** Hard links: a rename over the file or an unlink changes it (and the ctime with it). */
  readonly nlink: number
}

export function identityOf(stats: BigIntStats): FileIdentity {
  return {
    dev: stats.dev,
    ino: stats.ino,
    size: Number(stats.size),
    mtimeNs: stats.mtimeNs,
    ctimeNs: stats.ctimeNs,
    nlink: Number(stats.nlink),
  }
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  )
}

/**
 * For an open file being streamed: are its bytes still the version `before` described? Size
 * and mtime must be unchanged; a changed ctime is explained away only when the link count
 * changed too, which is what a rename over the file or an unlink does to the inode a reader
 * still holds open (its bytes stay as they were). A ctime change with the same link count is
 * a write whose mtime was put back, or a metadata change: treated as a change.
 */
export function sameVersionWhileOpen(before: FileIdentity, now: FileIdentity): boolean {
  return (
    before.ino === now.ino &&
    before.dev === now.dev &&
    before.size === now.size &&
    before.mtimeNs === now.mtimeNs &&
    (before.ctimeNs === now.ctimeNs || before.nlink !== now.nlink)
  )
}

/** A key for the inode alone (the cache slot), and one for this exact version of it. */
export function inodeKey(id: FileIdentity): string {
  return `${id.dev}:${id.ino}`
}

/**
 * How long after a file's last change its timestamps can be trusted to move on the next
 * change. File systems stamp changes with a coarse clock (a kernel tick, up to 10 ms on
 * Linux; 2 s on FAT; more on some network file systems), so a second write within the same
 * tick can leave size, mtime and ctime all unchanged. A version observed that recently is
 * "racy" (the same problem git's index has) and is re-verified from its bytes instead of being
 * trusted by its identity.
 */
export const RACY_WINDOW_MS = 2000

/** True when `id` was last changed long enough before `observedAt` to be trusted. */
export function isSettled(id: FileIdentity, observedAt: number): boolean {
  const changedAt = Number(id.ctimeNs / 1_000_000n)
  return observedAt - changedAt > RACY_WINDOW_MS
}
