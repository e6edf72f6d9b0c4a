/**
 * Who may check and replace a resource right now: one holder at a time per resource, across
 * every sluice process serving the same root.
 *
 * Two levels. Inside a process, a queue per lock stripe hands the stripe to one write after
 * another, so a process never contends with itself. Across processes, the holder of a stripe
 * also holds an exclusive lock on that stripe's lock file, `<root>/.sluice-locks/<stripe>`:
 * an open file description lock on Linux (F_OFD_SETLK), flock on macOS, both through
 * fs-native-extensions. The kernel releases such a lock when its holder's descriptor closes,
 * including when the process is killed, so a crash never leaves a stale lock behind.
 *
 * Resources are hashed onto a fixed number of stripes, so the lock directory never grows;
 * two resources that share a stripe only wait for each other's check-and-rename, which takes
 * milliseconds. The lock is taken with tryLock and a short backoff rather than a blocking
 * wait, which would park a libuv threadpool thread (there are four) for as long as another
 * process holds the stripe.
 */

import { createHash } from 'node:crypto'
import { mkdir, open } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { tryLock, unlock } from './native-locks.js'
import { StoreUnavailableError } from './store.js'

/** The directory, directly under the root, that holds the stripe lock files. */
export const LOCK_DIRECTORY = '.sluice-locks'

export interface ResourceLocksOptions {
  /** The directory holding the lock files (created on first use). */
  readonly directory: string
  /** How many stripes resources are hashed onto. Default 256. */
  readonly stripes?: number
  /** How long to wait for another process before giving up with 503. Default 10 s. */
  readonly timeoutMs?: number
}

export class ResourceLocks {
  readonly #directory: string
  readonly #stripes: number
  readonly #timeoutMs: number
  /** The tail of each stripe's in-process queue. */
  readonly #queues = new Map<number, Promise<void>>()
  #directoryReady: Promise<unknown> | undefined

  constructor(options: ResourceLocksOptions) {
    this.#directory = options.directory
    this.#stripes = options.stripes ?? 256
    this.#timeoutMs = options.timeoutMs ?? 10_000
  }

  /**
   * Runs `action` while holding the lock for `key` (a resource's real path), and releases the
   * lock however `action` ends.
   */
  async withLock<T>(key: string, action: () => Promise<T>): Promise<T> {
    const stripe = this.#stripeOf(key)
    const previous = this.#queues.get(stripe) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((resolve) => {
      release = resolve
    })
    const tail = previous.then(() => mine)
    this.#queues.set(stripe, tail)
    await previous
    try {
      // Opened for each acquisition and closed after it, so a store needs no closing and holds
      // no descriptors while idle. An exclusive lock needs a descriptor open for writing;
      // nothing is ever written.
      this.#directoryReady ??= mkdir(this.#directory, { recursive: true }).catch((error) => {
        this.#directoryReady = undefined
        throw error
      })
      await this.#directoryReady
      const file = await open(join(this.#directory, stripe.toString(16).padStart(2, '0')), 'a')
      try {
        await this.#acquire(file.fd)
        try {
          return await action()
        } finally {
          unlock(file.fd)
        }
      } finally {
        await file.close()
      }
    } finally {
      release()
      if (this.#queues.get(stripe) === tail) this.#queues.delete(stripe)
    }
  }

  #stripeOf(key: string): number {
    return createHash('sha256').update(key).digest().readUInt32BE(0) % this.#stripes
  }

  /** Polls for the cross-process lock: 1 ms, doubling to 32 ms, with jitter. */
  async #acquire(fd: number): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs
    let pause = 1
    while (!tryLock(fd)) {
      if (Date.now() > deadline) {
        throw new StoreUnavailableError('another process holds the write lock too long', 1)
      }
      await sleep(pause * (0.5 + Math.random()))
      pause = Math.min(pause * 2, 32)
    }
  }
}
