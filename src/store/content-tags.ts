/**
 * Entity-tags derived from content: the opaque-tag is the first 128 bits of the SHA-256 of the
 * file's bytes, in base64url. So the tag changes exactly when the bytes change (even twice
 * within one second at the same size), survives restarts, and every replica serving the same
 * bytes computes the same tag with no shared configuration. A later encoded variant (gzip) is
 * different bytes and so gets a different tag by the same rule.
 *
 * Hashing reads the whole file once per version; the result is cached per inode and reused
 * while the file's identity (size, mtime, ctime) is unchanged and settled.
 */

import { createHash } from 'node:crypto'
import { fstat, read } from 'node:fs'
import { promisify } from 'node:util'
import {
  type FileIdentity,
  identityOf,
  inodeKey,
  isSettled,
  sameIdentity,
} from './file-identity.js'

const fstatAsync = promisify(fstat)
const readAsync = promisify(read)

const CHUNK = 1 << 20

/** The opaque part of the entity-tag for these bytes. */
export function opaqueTagOf(bytes: Uint8Array): string {
  return opaqueTagOfDigest(createHash('sha256').update(bytes).digest())
}

/** The opaque part of the entity-tag from the SHA-256 digest of the bytes (hashed elsewhere). */
export function opaqueTagOfDigest(sha256: Buffer): string {
  return sha256.subarray(0, 16).toString('base64url')
}

interface Entry {
  readonly identity: FileIdentity
  readonly opaque: string
  /** Whether the identity was old enough, when hashed, to be trusted later (see isSettled). */
  readonly settled: boolean
}

export class ContentTagCache {
  readonly #entries = new Map<string, Entry>()
  readonly #pending = new Map<string, Promise<string | undefined>>()

  constructor(readonly maxEntries = 50_000) {}

  /**
   * The opaque-tag of the file open at `fd`, whose identity is `identity`. Undefined when the
   * file changed while it was being hashed (the caller opens it again).
   */
  tagFor(fd: number, identity: FileIdentity): Promise<string | undefined> | string {
    const slot = inodeKey(identity)
    const entry = this.#entries.get(slot)
    if (entry?.settled && sameIdentity(entry.identity, identity)) {
      return entry.opaque
    }
    const versionKey = `${slot}:${identity.size}:${identity.mtimeNs}:${identity.ctimeNs}`
    let pending = this.#pending.get(versionKey)
    if (pending === undefined) {
      pending = this.#hash(fd, identity, slot).finally(() => this.#pending.delete(versionKey))
      this.#pending.set(versionKey, pending)
    }
    return pending
  }

  /** Forgets what is known about an inode (after a write through sluice, for example). */
  forget(identity: FileIdentity): void {
    this.#entries.delete(inodeKey(identity))
  }

  /** Records a tag computed elsewhere (a write that hashed the bytes as they arrived). */
  remember(identity: FileIdentity, opaque: string, observedAt: number): void {
    this.#store(inodeKey(identity), { identity, opaque, settled: isSettled(identity, observedAt) })
  }

  async #hash(fd: number, identity: FileIdentity, slot: string): Promise<string | undefined> {
    const startedAt = Date.now()
    const hash = createHash('sha256')
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(identity.size, 1)))
    let position = 0
    while (position < identity.size) {
      const want = Math.min(buffer.length, identity.size - position)
      const { bytesRead } = await readAsync(fd, buffer, 0, want, position)
      if (bytesRead === 0) return undefined // truncated while hashing
      hash.update(buffer.subarray(0, bytesRead))
      position += bytesRead
    }
    const after = identityOf(await fstatAsync(fd, { bigint: true }))
    if (!sameIdentity(after, identity)) return undefined
    const opaque = opaqueTagOfDigest(hash.digest())
    this.#store(slot, { identity, opaque, settled: isSettled(identity, startedAt) })
    return opaque
  }

  #store(slot: string, entry: Entry): void {
    this.#entries.delete(slot)
    this.#entries.set(slot, entry)
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }
}
