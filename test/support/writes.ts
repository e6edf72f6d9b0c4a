/**
 * Test support for writes: requests with fetch, the entity-tag a body must get (computed here
 * independently of sluice's code), and a look for staged files left in a tree.
 */

import { createHash } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { protocolOf, requestOver } from './protocols.js'

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

/**
 * Sends `method` to `url` with `body` as bytes (so fetch adds no Content-Type of its own), over
 * the protocol of the test server `url` names (protocols.ts): fetch for plaintext HTTP/1.1.
 */
export async function send(
  method: string,
  url: string,
  body?: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const protocol = protocolOf(url)
  if (protocol !== 'h1') {
    const target = new URL(url)
    let head = `${method} ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n`
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
    if (body !== undefined) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`
    const options = body === undefined ? {} : { body: Buffer.from(body) }
    const res = await requestOver(protocol, Number(target.port), head, options)
    const fields = new Headers()
    for (const line of res.rawHeaders) {
      const colon = line.indexOf(':')
      fields.append(line.slice(0, colon), line.slice(colon + 1).trim())
    }
    return { status: res.status, headers: fields, text: res.body.toString() }
  }
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
