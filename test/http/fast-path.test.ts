/**
 * The fast lane (src/http/fast-path.ts, and the CORS layer's in src/http/cors.ts) answers
 * exactly what the engine answers: for a matrix of requests over settled (cached) files, every
 * answer the lane gives is compared field by field, in order, with the engine's own reply to
 * the same request, and its body with the engine's bytes. The lane may decline anything (the
 * engine then answers); the test also checks that it does answer the hot cases.
 */

import assert from 'node:assert/strict'
import type { IncomingHttpHeaders } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { createCorsPolicy } from '../../src/core/cors/policy.js'
import { parsePathPattern, type PathPattern } from '../../src/core/path-patterns.js'
import { withCors } from '../../src/http/cors.js'
import { createEngine, type Engine } from '../../src/http/engine.js'
import type { FastReply } from '../../src/http/fast-path.js'
import type { Reply } from '../../src/http/reply.js'
import { createFsStore } from '../../src/store/fs-store.js'
import type { HeldRepresentation } from '../../src/store/store.js'
import { createSite, expectedEtag, type SiteFixture } from '../support/fixtures.js'

let site: SiteFixture

before(async () => {
  site = await createSite()
})
after(() => site.cleanup())

const ORIGIN = 'https://app.example'
const PATHS = [
  '/sample.bin',
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

function fieldSets(etag: string): IncomingHttpHeaders[] {
  return [
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

async function compare(name: string, engine: Engine): Promise<Map<number, number>> {
  const answered = new Map<number, number>()
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
  })

  test('files too large to hold, kept open and streamed', async () => {
    const store = createFsStore(site.root, { cache: { maxFileBytes: 0 } })
    const answered = await compare('open files', createEngine({ store }))
    assert.ok((answered.get(200) ?? 0) > 0 && (answered.get(304) ?? 0) > 0)
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
