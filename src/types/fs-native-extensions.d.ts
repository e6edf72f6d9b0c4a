/** The part of fs-native-extensions sluice uses (the package ships no type declarations). */
declare module 'fs-native-extensions' {
  /**
   * Takes an exclusive lock on the whole file open at `fd` without waiting: true when granted,
   * false when another open file description holds it. Linux: open file description locks
   * (F_OFD_SETLK); macOS: flock.
   */
  export function tryLock(fd: number): boolean
  /** Releases the lock held through `fd`. */
  export function unlock(fd: number): void
}
