/**
 * The file locks of fs-native-extensions (a native addon), loaded on first use: only writes
 * take locks, so a read-only server never loads the addon. A store opened for writes loads it
 * at once (`loadNativeLocks`), so that a platform without it fails at start-up, not on the
 * first PUT.
 */

import { createRequire } from 'node:module'
import type * as NativeExtensions from 'fs-native-extensions'

let addon: typeof NativeExtensions | undefined

function native(): typeof NativeExtensions {
  addon ??= createRequire(import.meta.url)('fs-native-extensions') as typeof NativeExtensions
  return addon
}

/** Loads the addon now (it throws if this platform cannot load it). */
export function loadNativeLocks(): void {
  native()
}

/** fs-native-extensions' `tryLock`: an exclusive lock on the file open at `fd`, or false. */
export const tryLock: typeof NativeExtensions.tryLock = (fd) => native().tryLock(fd)

/** fs-native-extensions' `unlock`. */
export const unlock: typeof NativeExtensions.unlock = (fd) => native().unlock(fd)
