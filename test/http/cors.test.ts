/**
 * The CORS layer over real loopback sockets: every behaviour of issue 3 "Behaviour", asserted on
 * the bytes of the response, through every adapter (the `cors` and `paths` library options,
 * which mirror the --cors-* flags and the file's `paths`).
 */

import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setImmediate as tick } from 'node:timers/promises'
import type { Engine } from '../../src/http/engine.js'
import { textReply } from '../../src/http/reply.js'
import type { SluiceOptions } from '../../src/options.js'
import { createFsStore } from '../../src/store/fs-store.js'
import { type CorsTestServer, startCorsServer } from '../support/cors-server.js'
import {
  VARIANTS,
  type RawResponse,
  type RunningServer,
  type Variant,
  requestHead,
  startServer,
  tempRoot,
} from '../support/server.js'

const APP = 'https://app.example'
const EVIL = 'https://app.example.evil.test'

let root: { dir: string; cleanup: () => Promise<void> }
const servers: RunningServer[] = []

before(async () => {
  root = await tempRoot()
  await writeFile(join(root.dir, 'data.txt'), '0123456789')
})
after(async () => {
  for (const s of servers) await s.close()
  await root.cleanup()
})

function send(
  server: RunningServer,
  method: string,
  path: string,
  fields: Record<string, string> = {},
) {
  return server.request(requestHead(method, path, fields))
}

function corsFields(res: RawResponse): string[] {
  return res.rawHeaders.filter((line) => /^access-control-/i.test(line))
}

const API = {
  origin: [APP, 'https://*.app.example'],
  credentials: true,
  methods: ['PUT', 'DELETE'],
  headers: ['X-Custom', 'Content-Type'],
  expose: ['ETag', 'Content-Range'],
  maxAge: 600,
}

for (const variant of VARIANTS) {
  describe(`through ${variant.name}`, () => {
    const start = async (options: Omit<SluiceOptions, 'root'>): Promise<RunningServer> => {
      const server = await startServer(root.dir, options, variant)
      servers.push(server)
      return server
    }
    corsBehaviour(variant, start)
  })
}

function corsBehaviour(
  variant: Variant,
  start: (options: Omit<SluiceOptions, 'root'>) => Promise<RunningServer>,
): void {
  const adapter = variant.adapter
  const written = `allowed-${variant.name.replace(/\W+/g, '-')}.txt`
  /**
   * The Access-Control-* lines as sent. A Fetch API Headers object is a map with lower-case
   * names in sorted order (neither case nor order means anything in HTTP): through the Fetch
   * adapter, both sides are compared that way.
   */
  const assertCorsFields = (res: RawResponse, expected: string[]) => {
    const actual = corsFields(res)
    const lowerNames = (lines: string[]) =>
      lines.map((line) => line.replace(/^[^:]+/, (name) => name.toLowerCase()))
    // HTTP/2 sends every field name in lower case (RFC 9113 section 8.2.1), in the same order.
    if (res.statusLine.startsWith('HTTP/2')) {
      return assert.deepEqual(actual, lowerNames(expected))
    }
    if (adapter !== 'fetch') return assert.deepEqual(actual, expected)
    assert.deepEqual(lowerNames(actual).sort(), lowerNames(expected).sort())
  }

  describe('requests without Origin', () => {
    let server: RunningServer
    before(async () => {
      server = await start({ cors: API })
    })
    test('are untouched: no Access-Control-* field, same status and body; Vary: Origin for caches', async () => {
      const res = await send(server, 'GET', '/data.txt')
      assert.equal(res.status, 200)
      assert.equal(res.body.toString(), '0123456789')
      assertCorsFields(res, [])
      assert.equal(res.headers.vary, 'Origin')
    })
    test('a same-origin request (Origin equal to Host) is not a CORS request', async () => {
      const res = await server.request(
        `PUT /data.txt HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nOrigin: http://127.0.0.1:${server.port}\r\nContent-Length: 0\r\n`,
      )
      assert.equal(res.status, 405) // reached the engine, which has no PUT
      assertCorsFields(res, [])
    })
  })

  describe('CORS-preflight requests (Fetch "CORS-preflight request")', () => {
    let server: RunningServer
    before(async () => {
      server = await start({ cors: { ...API, privateNetwork: true } })
    })
    const ask = (fields: Record<string, string>) =>
      send(server, 'OPTIONS', '/data.txt', {
        Origin: APP,
        'Access-Control-Request-Method': 'PUT',
        ...fields,
      })

    test('allowed: 204 with every Access-Control-Allow-* field and Vary', async () => {
      const res = await ask({ 'Access-Control-Request-Headers': 'x-custom,content-type' })
      assert.equal(res.status, 204)
      assertCorsFields(res, [
        `Access-Control-Allow-Origin: ${APP}`,
        'Access-Control-Allow-Credentials: true',
        'Access-Control-Allow-Methods: PUT, DELETE',
        'Access-Control-Allow-Headers: X-Custom, Content-Type',
        'Access-Control-Max-Age: 600',
      ])
      assert.equal(
        res.headers.vary,
        'Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network',
      )
      // The engine answers an OPTIONS with Allow: a preflight never reaches it.
      assert.equal(res.headers.allow, undefined)
    })
    test('header names are case-insensitive; whitespace and empty elements are tolerated', async () => {
      const res = await ask({ 'Access-Control-Request-Headers': ' X-CUSTOM , ,\tContent-Type,' })
      assert.equal(res.status, 204)
    })
    test('a pattern origin is answered with that origin', async () => {
      const res = await ask({ Origin: 'https://eu.api.app.example' })
      assert.equal(res.status, 204)
      assert.equal(res.headers['access-control-allow-origin'], 'https://eu.api.app.example')
    })
    test('private network access is granted when asked for and enabled', async () => {
      const res = await ask({ 'Access-Control-Request-Private-Network': 'true' })
      assert.equal(res.status, 204)
      assert.equal(res.headers['access-control-allow-private-network'], 'true')
    })
    for (const [what, fields] of [
      ['origin', { Origin: 'http://app.example' }],
      ['look-alike origin', { Origin: EVIL }],
      ['uppercase origin', { Origin: 'https://APP.example' }],
      ['trailing-dot origin', { Origin: 'https://app.example.' }],
      ['method', { 'Access-Control-Request-Method': 'PATCH' }],
      ['header', { 'Access-Control-Request-Headers': 'x-custom, x-other' }],
    ] as const) {
      test(`denied (${what}): 403 and no Access-Control-Allow-* field at all`, async () => {
        const res = await ask(fields)
        assert.equal(res.status, 403)
        assertCorsFields(res, [])
        assert.match(res.body.toString(), /^Forbidden: CORS preflight refused: /)
        assert.match(res.headers.vary!, /Origin/)
      })
    }
    test('malformed Access-Control-Request-Method or -Headers: 400, no fields', async () => {
      const malformed: Record<string, string>[] = [
        { 'Access-Control-Request-Method': 'P(T' },
        { 'Access-Control-Request-Headers': 'x-custom, bad header' },
      ]
      for (const fields of malformed) {
        const res = await ask(fields)
        assert.equal(res.status, 400)
        assertCorsFields(res, [])
      }
    })
    test('an OPTIONS without Access-Control-Request-Method is ordinary, with actual-request fields', async () => {
      const res = await send(server, 'OPTIONS', '/data.txt', { Origin: APP })
      assert.equal(res.status, 204)
      assert.equal(res.headers.allow, 'GET, HEAD, OPTIONS')
      assert.equal(res.headers['access-control-allow-origin'], APP)
      assert.equal(res.headers['access-control-allow-methods'], undefined)
    })
  })

  describe('actual requests from an allowed origin: the fields on every status', () => {
    let server: RunningServer
    let etag: string
    before(async () => {
      server = await start({ cors: API })
      etag = (await send(server, 'GET', '/data.txt')).headers.etag!
    })
    const expected = [
      `Access-Control-Allow-Origin: ${APP}`,
      'Access-Control-Allow-Credentials: true',
      'Access-Control-Expose-Headers: ETag, Content-Range',
    ]
    const cases: [number, string, string, () => Record<string, string>][] = [
      [200, 'GET', '/data.txt', () => ({})],
      [206, 'GET', '/data.txt', () => ({ Range: 'bytes=0-3' })],
      [304, 'GET', '/data.txt', () => ({ 'If-None-Match': etag })],
      [412, 'GET', '/data.txt', () => ({ 'If-Match': '"other"' })],
      [416, 'GET', '/data.txt', () => ({ Range: 'bytes=100-200' })],
      [404, 'GET', '/missing.txt', () => ({})],
      [405, 'PUT', '/data.txt', () => ({ 'Content-Length': '0' })],
      // The Fetch API's URL parser resolves %2e%2e before sluice sees it: /b, which is missing.
      [adapter === 'fetch' ? 404 : 400, 'GET', '/a/%2e%2e/b', () => ({})],
    ]
    for (const [status, method, path, fields] of cases) {
      test(`${status} (${method} ${path})`, async () => {
        const res = await send(server, method, path, { Origin: APP, ...fields() })
        assert.equal(res.status, status)
        assertCorsFields(res, expected)
        assert.equal(res.headers.vary, 'Origin')
      })
    }
    test('HEAD too', async () => {
      const res = await server.request(requestHead('HEAD', '/data.txt', { Origin: APP }))
      assert.equal(res.status, 200)
      assertCorsFields(res, expected)
    })
  })

  describe('errors from the engine', () => {
    let server: RunningServer
    before(async () => {
      const files = createFsStore(root.dir)
      server = await start({
        cors: { origin: '*' },
        store: {
          open: (path) =>
            path[0] === 'boom' ? Promise.reject(new Error('disk on fire')) : files.open(path),
        },
      })
    })
    test('a 500 still carries Access-Control-Allow-Origin, so a script can read that it failed', async () => {
      const res = await send(server, 'GET', '/boom', { Origin: APP })
      assert.equal(res.status, 500)
      assert.equal(res.headers['access-control-allow-origin'], '*')
      assert.doesNotMatch(res.body.toString(), /disk on fire/)
      await tick()
      assert.ok(server.log.some((l) => l.msg === 'request failed' && l.level === 50))
    })
    test('* does not cover the opaque origin null', async () => {
      const res = await send(server, 'GET', '/data.txt', { Origin: 'null' })
      assert.equal(res.status, 200)
      assertCorsFields(res, [])
    })
  })

  describe('unsafe methods from origins the policy does not allow', () => {
    let server: RunningServer
    before(async () => {
      server = await start({ cors: API, writable: true })
    })
    const put = (path: string, origin: string) =>
      server.request(requestHead('PUT', path, { Origin: origin, 'Content-Length': '1' }), {
        body: 'x',
      })
    test('PUT and DELETE are refused with 403 before they reach the engine: nothing changes', async () => {
      const created = await put('/evil.txt', EVIL)
      assert.equal(created.status, 403)
      assertCorsFields(created, [])
      assert.equal(await stat(join(root.dir, 'evil.txt')).catch(() => 'absent'), 'absent')
      const deleted = await send(server, 'DELETE', '/data.txt', { Origin: EVIL })
      assert.equal(deleted.status, 403)
      assert.equal(await readFile(join(root.dir, 'data.txt'), 'utf8'), '0123456789')
    })
    for (const method of ['POST', 'PATCH']) {
      test(`${method} is refused with 403 (the engine would answer 405)`, async () => {
        const res = await send(server, method, '/data.txt', { Origin: EVIL, 'Content-Length': '0' })
        assert.equal(res.status, 403)
        assertCorsFields(res, [])
      })
    }
    test('a malformed Origin is refused the same way, and never reflected', async () => {
      const res = await send(server, 'PUT', '/data.txt', {
        Origin: 'https://app.example/',
        'Content-Length': '0',
      })
      assert.equal(res.status, 403)
      assert.doesNotMatch(res.rawHeaders.join('\n') + res.body.toString(), /app\.example\//)
    })
    test('GET from a denied origin is served without Access-Control-* (the browser withholds it)', async () => {
      const res = await send(server, 'GET', '/data.txt', { Origin: EVIL })
      assert.equal(res.status, 200)
      assertCorsFields(res, [])
      assert.equal(res.headers.vary, 'Origin')
    })
    test('the same PUT from the allowed origin reaches the engine and is applied', async () => {
      const res = await put(`/${written}`, APP)
      assert.equal(res.status, 201)
      assert.equal(res.headers['access-control-allow-origin'], APP)
      assert.equal(await readFile(join(root.dir, written), 'utf8'), 'x')
    })
  })

  describe('denials are logged once per origin and reason, at warn', () => {
    test('with the precise reason and the closest allowed origin', async () => {
      const server = await start({ cors: API })
      const ask = (origin: string, method = 'PUT') =>
        send(server, 'OPTIONS', '/data.txt', {
          Origin: origin,
          'Access-Control-Request-Method': method,
        })
      await ask('http://app.example')
      await ask('http://app.example')
      await ask('http://app.example', 'PATCH') // same origin, same reason: the origin
      await ask(APP, 'PATCH')
      await send(server, 'GET', '/data.txt', { Origin: APP, Cookie: 'a=b' }) // credentials enabled: fine
      await tick()
      const denials = server.log.filter((l) => l.msg === 'CORS denied')
      assert.deepEqual(
        denials.map((l) => [l.level, l.origin, l.reason]),
        [
          [
            40,
            'http://app.example',
            'origin http://app.example is not allowed: closest allowed origin https://app.example differs in scheme',
          ],
          [40, APP, 'method PATCH is not allowed (allowed: GET, HEAD, POST, PUT, DELETE)'],
        ],
      )
      // Only the node:http handler writes an access log; frameworks have their own.
      if (adapter !== 'node') return
      const access = server.log.filter((l) => l.msg === 'request')
      assert.deepEqual(
        access.map((l) => l.cors),
        [
          'preflight denied: origin',
          'preflight denied: origin',
          'preflight denied: origin',
          'preflight denied: method',
          'allowed',
        ],
      )
    })
    test('credentials sent to a policy without them, and * with credentials, are logged', async () => {
      const server = await start({
        paths: { '/open/**': { cors: { origin: '*' } }, '/**': { cors: { origin: APP } } },
      })
      await send(server, 'GET', '/data.txt', { Origin: APP, Cookie: 'session=1' })
      await send(server, 'GET', '/open/x', { Origin: APP, Authorization: 'Bearer x' })
      await tick()
      const reasons = server.log.filter((l) => l.msg === 'CORS denied').map((l) => l.reason)
      assert.equal(reasons.length, 2)
      assert.match(String(reasons[0]), /credentials were sent .* but are not enabled/)
      assert.match(String(reasons[1]), /'\*' is unusable with credentials/)
    })
  })

  describe('per-path policies', () => {
    let server: RunningServer
    before(async () => {
      server = await start({
        paths: {
          '/assets/**': { cors: { origin: '*' } },
          '/api/**': { cors: { origin: [APP], credentials: true, methods: ['PUT'] } },
        },
      })
    })
    test('/assets/** is open to any origin without credentials', async () => {
      const res = await send(server, 'GET', '/assets/a.css', { Origin: 'https://any.test' })
      assert.equal(res.status, 404)
      assertCorsFields(res, ['Access-Control-Allow-Origin: *'])
    })
    test('/api/** answers only the app, with credentials; decoded paths match the same way', async () => {
      const res = await send(server, 'GET', '//api/%75sers', { Origin: APP })
      assertCorsFields(res, [
        `Access-Control-Allow-Origin: ${APP}`,
        'Access-Control-Allow-Credentials: true',
      ])
      const other = await send(server, 'GET', '/api/users', { Origin: 'https://any.test' })
      assertCorsFields(other, [])
    })
    test('a path no policy covers: no CORS, preflights refused, unsafe methods refused', async () => {
      const get = await send(server, 'GET', '/data.txt', { Origin: APP })
      assert.equal(get.status, 200)
      assertCorsFields(get, [])
      assert.equal(get.headers.vary, undefined)
      const pre = await send(server, 'OPTIONS', '/data.txt', {
        Origin: APP,
        'Access-Control-Request-Method': 'PUT',
      })
      assert.equal(pre.status, 403)
      // The engine would answer 405: the layer refused it first.
      const put = await send(server, 'PUT', '/data.txt', { Origin: APP, 'Content-Length': '0' })
      assert.equal(put.status, 403)
    })
  })
}

describe('the CORS layer around another engine', () => {
  let server: CorsTestServer
  before(async () => {
    const inner: Engine = async () => textReply(200, 'ok', { Vary: 'Accept-Encoding' })
    server = await startCorsServer(root.dir, { policy: { origins: ['*'] }, inner })
    servers.push(server)
  })
  test('Vary: Origin is merged with the Vary already there', async () => {
    const res = await send(server, 'GET', '/x', { Origin: APP })
    assert.equal(res.headers.vary, 'Accept-Encoding, Origin')
  })
})
