/**
 * Test support for writes: requests with fetch, the entity-tag a body must get (computed here
 * independently of sluice's code), and a look for staged files left in a tree.
 */

import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** The strong entity-tag sluice must send for `bytes`: the first 128 bits of SHA-256. */
export function expectedTag(bytes: Uint8Array | string): string {
  const digest = createHash('sha256').update(bytes).digest()
  return `"${digest.subarray(0, 16).toString('base64url')}"`
}

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

/** Sends `method` to `url` with `body` as bytes (so fetch adds no Content-Type of its own). */
export async function send(
  method: string,
  url: string,
  body?: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const init: RequestInit = { method, headers }
  if (body !== undefined) init.body = typeof body === 'string' ? Buffer.from(body) : body
  const res = await fetch(url, init)
  return { status: res.status, headers: res.headers, text: await res.text() }
}

/** Every staged file (`.sluice-tmp-*`) under `root`, as paths relative to it. */
export async function stagedFiles(root: string): Promise<string[]> {
  const found: string[] = []
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  for (const entry of entries) {
    if (entry.name.startsWith('.sluice-tmp-')) {
      found.push(join(entry.parentPath ?? entry.path, entry.name).slice(root.length + 1))
    }
  }
  return found
}

/** Waits until no staged file is left under `root` (they are removed asynchronously). */
export async function noStagedFiles(root: string, timeoutMs = 3000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = await stagedFiles(root)
    if (left.length === 0 || Date.now() > deadline) return left
    await sleep(20)
  }
}
