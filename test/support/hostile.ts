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
  /** For faults of the server itself (not hostile input): 500 and 503 are the right answers. */
  readonly allow5xx?: boolean
}

export function assertClean(res: RawResponse, what: string, options: CleanOptions = {}): void {
  const context = `${what} -> ${res.statusLine}`
  assert.match(res.statusLine, /^HTTP\/1\.1 [1-5]\d\d [\x20-\x7e]*$/, `${context}: status line`)
  const limit = options.allow5xx ? 600 : 500
  assert.ok(res.status >= 200 && res.status < limit, `${context}: never a 5xx`)
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

/** node:http refuses a field value with a control character other than HTAB (400). */
export function sendable(value: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  return !/[\x00-\x08\x0a-\x1f\x7f]/.test(value)
}

/** True when `text` holds a C0 or C1 control character, or DEL. */
export function hasControl(text: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  return /[\x00-\x1f\x7f-\x9f]/.test(text)
}

/** The contents of every regular file below `root`: what a 200 may legitimately carry. */
export async function filesBelow(root: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name)))
  }
  return out
}

// Hostile values of the conditional request fields, shared by the read and write corpora.

const LONG = 'x'.repeat(8000)

/** Not an entity-tag list (RFC 9110 8.8.3, 5.6.1.2), in as many ways as there are. */
export const BAD_TAG_LISTS = [
  '',
  ' ',
  ',',
  ', ,',
  '**',
  '* , *',
  '*, "a"',
  '"',
  '"a',
  'a"',
  'a',
  `${MARKER}`,
  '"a" "b"',
  '"a";"b"',
  '"a" x',
  'W/',
  'W/"',
  'W/a',
  'w/"a"',
  'W /"a"',
  'W/ "a"',
  '"a\\"b"',
  '"a b"',
  '"a\tb"',
  `"${MARKER}\x7fx"`,
  `"${LONG}`,
  `${'"a",'.repeat(1500)}x`,
  '\x80\x9b\xff',
]

/** Accepted by the grammar, though odd: obs-text inside, weak tags, long lists, `*`. */
export const ODD_TAG_LISTS = [
  '*',
  '"\x80\xff"',
  '""',
  'W/""',
  `"${MARKER}"`,
  `"${LONG}"`,
  '"a",,,"b"',
  ` \t"a"\t `,
  Array.from({ length: 1500 }, (_, i) => `"t${i}"`).join(','),
]

/** Not an HTTP-date (RFC 9110 5.6.7). */
export const BAD_DATES = [
  '',
  ' ',
  'yesterday',
  MARKER,
  '0',
  '-1',
  '1e309',
  'NaN',
  'Infinity',
  '9007199254740993',
  '1700000000',
  '2024-03-01T12:00:00Z',
  'Sun, 06 Nov 1994 08:49:37 GMT garbage',
  'Sun, 06 Nov 1994 08:49:37 UTC',
  'Sun, 06 Nov 1994 08:49:37 +0000',
  'Sun, 06 Nov 1994 08:49:37',
  'sun, 06 nov 1994 08:49:37 gmt',
  'Sun,  06 Nov 1994 08:49:37 GMT',
  'Sun, 6 Nov 1994 08:49:37 GMT',
  'Sun, 31 Feb 2024 00:00:00 GMT',
  'Fri, 30 Feb 2024 12:00:00 GMT',
  'Sun, 06 Nov 1994 25:61:61 GMT',
  'Sun, 06 Nov 99999 08:49:37 GMT',
  'Sun, 06 Nov -1994 08:49:37 GMT',
  'Sun, 06 Nov 1994 08:49:37.5 GMT',
  'Xyz, 06 Nov 1994 08:49:37 GMT',
  'Sunday, 06-Nov-94 08:49:37',
  'Sun Nov 6 08:49:37 1994',
  `Sun, 06 Nov 1994 08:49:37 GMT${'x'.repeat(4000)}`,
  'Sun, 06 Nov 1994 08:49:37 GMT\xa0',
]

/** Valid HTTP-dates at the edges of what a server must handle. */
export const ODD_DATES = [
  'Mon, 01 Jan 0000 00:00:00 GMT',
  'Thu, 01 Jan 1970 00:00:00 GMT',
  'Fri, 31 Dec 9999 23:59:59 GMT',
  'Sunday, 06-Nov-94 08:49:37 GMT',
  'Sun Nov  6 08:49:37 1994',
  'Sat, 01 Mar 2024 12:00:00 GMT',
]
