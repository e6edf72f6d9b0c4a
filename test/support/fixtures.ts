/**
 * Test fixtures: deterministic bytes, and a served root next to a "secret" directory that no
 * request may ever reach.
 */

import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { RACY_WINDOW_MS } from '../../src/store/file-identity.js'
import { tempRoot } from './server.js'

/** `length` bytes from a small linear congruential generator: the same for the same seed. */
export function deterministicBytes(length: number, seed = 1): Buffer {
  const bytes = Buffer.allocUnsafe(length)
  let state = seed >>> 0
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    bytes[i] = state >>> 24
  }
  return bytes
}

/** The entity-tag sluice documents for a file's bytes (docs/ARCHITECTURE.md). */
export function expectedEtag(bytes: Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest().subarray(0, 16).toString('base64url')}"`
}

export const SECRET = 'top secret: this file is outside the served root'

/** An old, fixed modification time, so Last-Modified is strong (RFC 9110 8.8.2.2). */
export const OLD_MTIME = new Date('2024-03-01T12:00:00Z')

export interface SiteFixture {
  /** The parent directory: holds `secret.txt` and `root/`. */
  readonly base: string
  /** The served directory. */
  readonly root: string
  readonly sample: Buffer
  cleanup(): Promise<void>
}

/**
 * Waits until files written before the call are settled (src/store/file-identity.ts): sluice
 * then trusts their identity and keeps them in its representation cache, so what is tested
 * is the path almost every real request takes (the cache, and the fast lane of node:http).
 */
export async function settle(): Promise<void> {
  await sleep(RACY_WINDOW_MS + 200)
}

/** Waits until the file at `path` is settled: its last change (ctime) past the racy window. */
export async function settled(path: string): Promise<void> {
  const changed = statSync(path).ctimeMs
  await sleep(Math.max(0, changed + RACY_WINDOW_MS + 500 - Date.now()))
}

/**
 * root/
 *   sample.bin (10,000 deterministic bytes), hello.txt, page.html, data.json, empty.txt,
 *   docs/index.html, nodir/ (no index), .secret, .well-known/security.txt,
 *   inside-link -> hello.txt, outside-link -> ../secret.txt, outside-dir -> ..
 * secret.txt
 *
 * Resolves once the files are settled (see `settle`).
 */
export async function createSite(): Promise<SiteFixture> {
  const { dir: base, cleanup } = await tempRoot()
  const root = join(base, 'root')
  const sample = deterministicBytes(10_000)
  await mkdir(join(root, 'docs'), { recursive: true })
  await mkdir(join(root, 'nodir'))
  await mkdir(join(root, '.well-known'))
  await writeFile(join(base, 'secret.txt'), SECRET)
  await writeFile(join(root, 'sample.bin'), sample)
  await writeFile(join(root, 'hello.txt'), 'hello, world\n')
  await writeFile(join(root, 'page.html'), '<!doctype html><p>page</p>\n')
  await writeFile(join(root, 'data.json'), '{"ok":true}\n')
  await writeFile(join(root, 'empty.txt'), '')
  await writeFile(join(root, 'docs', 'index.html'), '<!doctype html><p>docs index</p>\n')
  await writeFile(join(root, 'nodir', 'file.txt'), 'in nodir\n')
  await writeFile(join(root, '.secret'), 'dotfile\n')
  await writeFile(
    join(root, '.well-known', 'security.txt'),
    'Contact: mailto:security@example.test\n',
  )
  await symlink('hello.txt', join(root, 'inside-link'))
  await symlink('../secret.txt', join(root, 'outside-link'))
  await symlink('..', join(root, 'outside-dir'))
  for (const name of ['sample.bin', 'hello.txt', 'page.html', 'data.json', 'empty.txt']) {
    await utimes(join(root, name), OLD_MTIME, OLD_MTIME)
  }
  await settle()
  return { base, root, sample, cleanup }
}
