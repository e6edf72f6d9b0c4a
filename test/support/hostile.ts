/**
 * What every answer to hostile input must satisfy, checked on the raw bytes of the response:
 * never a 5xx, a well-formed head whose fields hold only visible ASCII, no stack trace or
 * filesystem path in the body, never a byte from outside the served root, never an unvalidated
 * reflection of the request (hostile values carry MARKER; it must not come back in a field).
 */

import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SECRET } from './fixtures.js'
import type { RawResponse } from './server.js'

/** A token hostile values carry, so a reflection of them is easy to spot. */
export const MARKER = 'zqxmark'

/** What a stack trace or an internal error message looks like in a body. */
const INTERNALS = /\n\s+at |\bat [\w$.<>]+ \(|node:internal|file:\/\/|Error: |E[A-Z]{3,}: /

/** A header line: a token, a colon, one space, then visible ASCII and spaces only. */
const FIELD_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+: [\x20-\x7e]*$/

export interface CleanOptions {
  /** Request method: HEAD and 304 responses have no body. */
  readonly method?: string
  /** Fields allowed to carry MARKER because the server validated and re-encoded it. */
  readonly markerAllowedIn?: readonly string[]
  /** Absolute paths that must never show up in a response (the served root, its parent). */
  readonly paths?: readonly string[]
}

export function assertClean(res: RawResponse, what: string, options: CleanOptions = {}): void {
  const context = `${what} -> ${res.statusLine}`
  assert.match(res.statusLine, /^HTTP\/1\.1 [1-4]\d\d [\x20-\x7e]*$/, `${context}: status line`)
  assert.ok(res.status >= 200 && res.status < 500, `${context}: never a 5xx`)
  const allowed = new Set((options.markerAllowedIn ?? []).map((n) => n.toLowerCase()))
  for (const line of res.rawHeaders) {
    assert.match(line, FIELD_LINE, `${context}: malformed field line ${JSON.stringify(line)}`)
    const name = line.slice(0, line.indexOf(':')).toLowerCase()
    if (!allowed.has(name)) {
      assert.ok(!line.toLowerCase().includes(MARKER), `${context}: reflected ${line}`)
    }
  }
  const body = res.body.toString('latin1')
  assert.doesNotMatch(body, INTERNALS, `${context}: internals in the body`)
  assert.ok(!body.includes(SECRET), `${context}: a byte from outside the root`)
  assert.ok(!body.includes('root:x:0:0'), `${context}: /etc/passwd`)
  for (const path of options.paths ?? []) {
    assert.ok(!body.includes(path), `${context}: the filesystem path ${path} in the body`)
  }
  const length = res.headers['content-length']
  const bodiless = options.method === 'HEAD' || res.status === 304 || res.status === 204
  if (length !== undefined && !bodiless) {
    assert.equal(res.body.length, Number(length), `${context}: Content-Length disagrees`)
  }
  if (bodiless) assert.equal(res.body.length, 0, `${context}: a body where none belongs`)
}

/** The contents of every regular file below `root`: what a 200 may legitimately carry. */
export async function filesBelow(root: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name)))
  }
  return out
}
