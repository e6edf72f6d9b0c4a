/**
 * The fast lane (src/http/fast-path.ts, and the CORS layer's in src/http/cors.ts) answers
 * exactly what the engine answers: for a matrix of requests over settled (cached) files, every
 * answer the lane gives is compared field by field, in order, with the engine's own reply to
 * the same request, and its body with the engine's bytes. The lane may decline anything (the
 * engine then answers); the test also checks that it does answer the hot cases.
 */

import assert from 'node:assert/strict'
import { utimes, writeFile } from 'node:fs/promises'
import type { IncomingHttpHeaders } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createCorsPolicy } from '../../src/core/cors/policy.js'
import { parsePathPattern, type PathPattern } from '../../src/core/path-patterns.js'
import { withCors } from '../../src/http/cors.js'
import { createEngine, type Engine } from '../../src/http/engine.js'
import type { FastReply } from '../../src/http/fast-path.js'
import type { Reply } from '../../src/http/reply.js'
import { createFsStore } from '../../src/store/fs-store.js'
import type { HeldRepresentation } from '../../src/store/store.js'
import { onTheFlyBytes, scriptText, siblingBytes } from '../support/compressed-site.js'
import {
  createSite,
  expectedEtag,
  OLD_MTIME,
  type SiteFixture,
  settle,
} from '../support/fixtures.js'

let site: SiteFixture
/** The ETags of app.js and of the encoded variants below, for If-None-Match. */
const variantTags: string[] = []
const encodedTags = () => variantTags.slice(1)

before(async () => {
  site = await createSite()
  // Negotiable files: one with a fresh gzip sibling, one compressed on the fly.
  const app = scriptText(100)
  const gz = await siblingBytes('gzip', app)
  const style = scriptText(60, 7)
  await writeFile(join(site.root, 'app.js'), app)
  await writeFile(join(site.root, 'app.js.gz'), gz)
  await writeFile(join(site.root, 'style.css'), style)
  for (const name of ['app.js', 'app.js.gz', 'style.css']) {
    await utimes(join(site.root, name), OLD_MTIME, OLD_MTIME)
  }
  variantTags.push(
    expectedEtag(app),
    expectedEtag(gz),
    expectedEtag(await onTheFlyBytes('br', app)),
    expectedEtag(await onTheFlyBytes('gzip', style)),
    expectedEtag(await onTheFlyBytes('br', style)),
  )
  await settle()
})
after(() => site.cleanup())

const ORIGIN = 'https://app.example'
const PATHS = [
  '/sample.bin',
  '/app.js',
  '/style.css',
  '/app.js.gz',
  '/hello.txt',
  '/empty.txt',
  '/page.html',
  '/inside-link',
  '/outside-link',
  '/docs/index.html',
  '/docs/',
  '/docs',
  '/.secret',
  '/.well-known/security.txt',
  '/sample.bin/',
  '/sample.bin?v=2',
  '/%73ample.bin',
  '//sample.bin',
  '/missing.txt',
  '/nodir/file.txt',
  '*',
]

/** Accept-Encoding values, alone and with the conditional fields of a variant. */
const ACCEPT = [
  'gzip, deflate, br',
  'gzip',
  'br;q=0.5, gzip',
  'deflate',
  'identity;q=0',
  'gzip;q=x',
]

function encodingSets(): IncomingHttpHeaders[] {
  const sets: IncomingHttpHeaders[] = []
  for (const field of ACCEPT) {
    sets.push({ 'accept-encoding': field })
    sets.push({ 'accept-encoding': field, range: 'bytes=0-9' })
    for (const tag of variantTags) sets.push({ 'accept-encoding': field, 'if-none-match': tag })
  }
  sets.push({ 'accept-encoding': 'gzip', origin: ORIGIN })
  return sets
}

function fieldSets(etag: string): IncomingHttpHeaders[] {
  return [
    ...encodingSets(),
    {},
    { 'if-none-match': etag },
    { 'if-none-match': `W/${etag}` },
    { 'if-none-match': `"other", ${etag}` },
    { 'if-none-match': '*' },
    { 'if-none-match': '"other"' },
    { 'if-none-match': etag, 'if-match': '"other"' },
    { 'if-none-match': etag, 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' },
    { 'if-none-match': etag, 'if-modified-since': 'Thu, 01 Jan 2099 00:00:00 GMT' },
    { 'if-none-match': etag, range: 'bytes=0-9' },
    { 'if-modified-since': 'Thu, 01 Jan 2099 00:00:00 GMT' },
    { 'if-match': etag },
    { range: 'bytes=0-9' },
    { range: 'bytes=0-0,5-9' },
    { 'if-range': etag },
    { range: 'bytes=0-9', 'if-range': '"other"' },
    { origin: ORIGIN },
    { origin: 'https://evil.example' },
    { origin: ORIGIN, 'if-none-match': etag },
    { origin: ORIGIN, 'access-control-request-method': 'PUT' },
    {
      origin: ORIGIN,
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'x-custom',
    },
    {
      origin: ORIGIN,
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'x-other',
    },
    { origin: 'https://evil.example', 'access-control-request-method': 'PUT' },
    { origin: ORIGIN, host: 'app.example', 'access-control-request-method': 'PUT' },
    {
      origin: ORIGIN,
      'access-control-request-method': 'PUT',
      'access-control-request-private-network': 'true',
    },
  ]
}

/** The engine's reply as the lane would write it: flat fields in order, and the body. */
function flatten(
  reply: Reply,
  method: string,
): { head: string[]; body: Buffer | undefined; range: string | undefined } {
  const head: string[] = []
  for (const [name, value] of Object.entries(reply.headers)) {
    if (Array.isArray(value)) for (const item of value) head.push(name, item)
    else head.push(name, String(value))
  }
  const body = reply.body
  let bytes: Buffer | undefined
  let range: string | undefined
  if (method !== 'HEAD') {
    if (body.kind === 'bytes') bytes = body.bytes
    else if (body.kind === 'file') {
      bytes = body.file.bytes?.subarray(body.start, body.end + 1)
      range = `${body.start}-${body.end}/${body.file.size} ${body.file.etagField}`
    }
  }
  if (body.kind === 'file' || body.kind === 'multipart') body.file.close()
  return { head, body: bytes, range }
}

async function compare(name: string, engine: Engine): Promise<Map<number | string, number>> {
  const answered = new Map<number | string, number>()
  const etag = expectedEtag(site.sample)
  const lane = engine.fast
  assert.ok(lane !== undefined, `${name}: the engine has a fast lane`)
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
    for (const url of PATHS) {
      for (const headers of fieldSets(etag)) {
        // Twice: the first request may be the one that fills the cache.
        for (let round = 0; round < 2; round++) {
          const fast: FastReply | undefined = lane(method, url, headers)
          const reply = await engine({ method, url, headers })
          const slow = flatten(reply, method)
          if (fast === undefined) continue
          const what = `${name}: ${method} ${url} ${JSON.stringify(headers)}`
          assert.equal(fast.status, reply.status, what)
          assert.deepEqual(fast.head, slow.head, what)
          assert.deepEqual(fast.notes, reply.notes, what)
          if (method !== 'HEAD' && fast.stream !== undefined) {
            // A file streamed whole: the engine streams the same version, whole.
            const file: HeldRepresentation = fast.stream
            assert.equal(slow.range, `0-${file.size - 1}/${file.size} ${file.etagField}`, what)
            assert.equal(fast.body, undefined, what)
          } else if (method !== 'HEAD' && fast.status === 200) {
            const expected = slow.body ?? Buffer.alloc(0) // an empty file's reply has no body
            assert.ok(fast.body !== undefined && fast.body.equals(expected), `${what}: same bytes`)
          } else {
            assert.ok(fast.body === undefined || method === 'HEAD', what)
          }
          answered.set(fast.status, (answered.get(fast.status) ?? 0) + 1)
          // Which encoded variants it answered: by Content-Encoding, and a 304 by its ETag.
          const field = (name: string) => fast.head[fast.head.indexOf(name) + 1]
          const encoded = fast.head.includes('Content-Encoding')
            ? field('Content-Encoding')
            : fast.status === 304 && encodedTags().includes(field('ETag')!)
              ? 'variant'
              : undefined
          if (encoded !== undefined) {
            const kind = `${fast.status} ${encoded}`
            answered.set(kind, (answered.get(kind) ?? 0) + 1)
          }
        }
      }
    }
  }
  return answered
}

describe('the fast lane answers exactly what the engine answers', () => {
  test('files, no CORS', async () => {
    const store = createFsStore(site.root)
    const answered = await compare('files', createEngine({ store }))
    assert.ok(
      (answered.get(200) ?? 0) > 0 && (answered.get(304) ?? 0) > 0,
      'it answers 200s and 304s',
    )
    for (const kind of ['200 gzip', '200 br', '304 variant']) {
      assert.ok((answered.get(kind) ?? 0) > 0, `it answers encoded variants: ${kind}`)
    }
  })

  test('files too large to hold, kept open and streamed', async () => {
    const store = createFsStore(site.root, { cache: { maxFileBytes: 0 } })
    const answered = await compare('open files', createEngine({ store }))
    assert.ok((answered.get(200) ?? 0) > 0 && (answered.get(304) ?? 0) > 0)
    assert.ok((answered.get('200 gzip') ?? 0) > 0, 'a sibling kept open is streamed')
  })

  test('files with another Cache-Control and dotfiles', async () => {
    const store = createFsStore(site.root)
    const engine = createEngine({ store, cacheControl: 'public, max-age=60', dotfiles: true })
    const answered = await compare('cache-control', engine)
    assert.ok((answered.get(200) ?? 0) > 0)
  })

  test('behind a CORS policy (Vary: Origin, preflights)', async () => {
    const store = createFsStore(site.root)
    const policy = createCorsPolicy({
      origins: [ORIGIN],
      methods: ['PUT'],
      headers: ['X-Custom'],
      maxAge: 600,
      expose: ['ETag'],
    })
    const answered = await compare('cors', withCors(createEngine({ store }), { policy }))
    assert.ok((answered.get(204) ?? 0) > 0, 'it answers preflights')
    assert.ok((answered.get(200) ?? 0) > 0)
    assert.ok((answered.get('200 br') ?? 0) > 0, 'variants with Vary: Accept-Encoding, Origin')
  })

  test('with per-path policies and private network access', async () => {
    const store = createFsStore(site.root)
    const open = createCorsPolicy({ origins: ['*'], methods: ['PUT'], privateNetwork: true })
    const engine = withCors(createEngine({ store }), {
      policy: createCorsPolicy({ origins: [ORIGIN], credentials: true, methods: ['PUT'] }),
      routes: [
        { pattern: parsePathPattern('/docs/**') as PathPattern, policy: null },
        { pattern: parsePathPattern('/hello.txt') as PathPattern, policy: open },
      ],
    })
    const answered = await compare('routes', engine)
    assert.ok((answered.get(204) ?? 0) > 0)
  })

  test('a policy function is never called from the lane (it gets the real request)', async () => {
    const store = createFsStore(site.root)
    let calls = 0
    const policy = createCorsPolicy({
      origins: () => {
        calls++
        return true
      },
      methods: ['PUT'],
    })
    const engine = withCors(createEngine({ store }), { policy })
    const lane = engine.fast!
    const preflight = { origin: ORIGIN, 'access-control-request-method': 'PUT' }
    assert.equal(lane('OPTIONS', '/hello.txt', preflight), undefined)
    assert.equal(calls, 0)
    assert.equal(
      (await engine({ method: 'OPTIONS', url: '/hello.txt', headers: preflight })).status,
      204,
    )
    assert.equal(calls, 1)
  })
})
