/**
 * Requests broken below the level of any one field, over real sockets: very long targets (414)
 * and heads (431), request lines and field syntax node:http refuses, message framing that
 * request smuggling relies on, Host rules (RFC 9112 3.2), CONNECT, and control characters and
 * CR/LF in every field that could be reflected. node:http answers many of these itself; sluice
 * gives each a short fixed reason. All answers are clean (test/support/hostile.ts).
 *
 * These limits belong to the server (createHttpServer), so they are the same whichever adapter
 * handles the request: the suite runs through node:http and Express.
 */

import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { DEFAULT_SERVER_LIMITS } from '../../src/http/server.js'
import { createSite, type SiteFixture } from '../support/fixtures.js'
import { assertClean, MARKER } from '../support/hostile.js'
import {
  parseRawResponse,
  type RawResponse,
  type RunningServer,
  rawRequest,
  requestHead,
  startServer,
} from '../support/server.js'

const MAX_URL = DEFAULT_SERVER_LIMITS.maxUrlLength
const MAX_HEAD = DEFAULT_SERVER_LIMITS.maxHeaderSize

let site: SiteFixture
let server: RunningServer

before(async () => {
  site = await createSite()
})
after(() => site.cleanup())

async function send(head: string, what = head, method = 'GET'): Promise<RawResponse> {
  const res = await rawRequest(server.port, head)
  assertClean(res, JSON.stringify(what.slice(0, 100)), {
    method,
    paths: [site.base],
    markerAllowedIn: ['location'],
  })
  return res
}

/** A path of exactly `length` bytes naming no file. */
const pathOf = (length: number) => `/${'a'.repeat(length - 1)}`

/** Request heads node:http or sluice must refuse with 400, one fault each. */
const MALFORMED_HEADS: [string, string][] = [
  ['lower-case method', 'get / HTTP/1.1\r\nHost: x\r\n'],
  ['unknown method', `${MARKER.toUpperCase()} / HTTP/1.1\r\nHost: x\r\n`],
  ['space before the method', ' GET / HTTP/1.1\r\nHost: x\r\n'],
  ['tab as separator', 'GET\t/ HTTP/1.1\r\nHost: x\r\n'],
  ['no version', 'GET /hello.txt\r\nHost: x\r\n'],
  ['HTTP/1.1 without Host', 'GET /hello.txt HTTP/1.1\r\n'],
  ['two Host fields', 'GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n'],
  ['Host with a space', 'GET /hello.txt HTTP/1.1\r\nHost: a b\r\n'],
  ['Host with obs-text', 'GET /hello.txt HTTP/1.1\r\nHost: a\x9b\xff\r\n'],
  ['Host with a slash', `GET /hello.txt HTTP/1.1\r\nHost: ${MARKER}/x\r\n`],
  ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n'],
  ['bare LF line ends', 'GET /hello.txt HTTP/1.1\nHost: x\n'],
  ['bare CR in a value', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n'],
  ['NUL in a value', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n'],
  ['ESC in a value', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: a\x1b[31mb\r\n'],
  ['DEL in a value', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n'],
  ['space in a field name', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX A: b\r\n'],
  ['space before the colon', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A : b\r\n'],
  ['no colon', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A\r\n'],
  ['obs-fold', 'GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n'],
  ['CR LF in the target', 'GET /hello.txt\r\nX: y HTTP/1.1\r\nHost: x\r\n'],
  ['space in the target', 'GET /hello .txt HTTP/1.1\r\nHost: x\r\n'],
  ['control in the target', 'GET /hello\x01.txt HTTP/1.1\r\nHost: x\r\n'],
  ['obs-text in the target', 'GET /hello\xe9.txt HTTP/1.1\r\nHost: x\r\n'],
  [
    'Content-Length and Transfer-Encoding (CL.TE)',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n',
  ],
  [
    'two different Content-Lengths',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n',
  ],
  ['a list as Content-Length', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n'],
  ['negative Content-Length', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n'],
  [
    'Content-Length beyond 2^64',
    `GET / HTTP/1.1\r\nHost: x\r\nContent-Length: ${'9'.repeat(30)}\r\n`,
  ],
  [
    'Transfer-Encoding not ending in chunked',
    'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n',
  ],
  ['Transfer-Encoding obfuscated', 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n'],
  ['bad chunk size', 'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
  ['CONNECT', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n'],
  ['CONNECT to a path', 'CONNECT /hello.txt HTTP/1.1\r\nHost: x\r\n'],
]

for (const adapter of ['node', 'express'] as const) {
  describe(`protocol-level abuse through the ${adapter} adapter`, () => {
    before(async () => {
      server = await startServer(site.root, {}, adapter)
    })
    after(() => server.close())

    describe(`long targets: ${MAX_URL} bytes by default, then 414`, () => {
      test('a target of exactly the limit is served as usual (404 here)', async () => {
        const res = await send(requestHead('GET', pathOf(MAX_URL)), 'max URL')
        assert.equal(res.status, 404)
      })

      for (const length of [MAX_URL + 1, MAX_HEAD - 200, MAX_HEAD + 1, 100_000, 1_000_000]) {
        test(`a target of ${length} bytes: 414 URI Too Long`, async () => {
          const res = await send(requestHead('GET', pathOf(length)), `URL of ${length}`)
          assert.equal(res.status, 414)
          assert.equal(res.body.toString(), 'URI Too Long\n')
        })
      }

      test('HEAD with a long target: 414 without a body', async () => {
        const res = await send(requestHead('HEAD', pathOf(MAX_URL + 1)), 'HEAD long', 'HEAD')
        assert.equal(res.status, 414)
      })

      test('a long query counts too, and is never reflected', async () => {
        const target = `/docs?${MARKER}=${'q'.repeat(MAX_URL)}`
        const res = await send(requestHead('GET', target), 'long query')
        assert.equal(res.status, 414)
      })
    })

    describe(`large heads: ${MAX_HEAD} bytes by default, then 431`, () => {
      test('one field of 20,000 bytes', async () => {
        const res = await send(requestHead('GET', '/hello.txt', { 'X-Big': 'b'.repeat(20_000) }))
        assert.equal(res.status, 431)
      })

      test('3,000 small fields', async () => {
        const fields: Record<string, string> = {}
        for (let i = 0; i < 3000; i++) fields[`X-F${i}`] = 'v'
        const res = await send(requestHead('GET', '/hello.txt', fields), '3000 fields')
        assert.equal(res.status, 431)
      })

      test('a field name of 20,000 bytes', async () => {
        const res = await send(
          requestHead('GET', '/hello.txt', { [`X-${'n'.repeat(20_000)}`]: 'v' }),
        )
        assert.equal(res.status, 431)
      })

      test('a head just within the limit is served', async () => {
        const res = await send(
          requestHead('GET', '/hello.txt', { 'X-Big': 'b'.repeat(MAX_HEAD - 200) }),
        )
        assert.equal(res.status, 200)
      })
    })

    describe('malformed requests: 400 with a short reason, the connection closed', () => {
      for (const [name, head] of MALFORMED_HEADS) {
        test(name, async () => {
          const res = await send(head, name)
          assert.equal(res.status, 400, res.body.toString())
          assert.match(res.body.toString(), /^Bad Request(: [\x20-\x7e]+)?\n$/)
          assert.ok(!res.body.toString().includes(MARKER))
        })
      }

      test('HEAD that node:http cannot parse gets no body', async () => {
        const res = await send(
          'HEAD /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: a\x00\r\n',
          'HEAD',
          'HEAD',
        )
        assert.equal(res.status, 400)
      })

      test('a request smuggled behind a conflicting length is never answered', async () => {
        const smuggled = 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n'
        const head =
          `GET / HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n` +
          'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
        const raw = await exchange(head + smuggled)
        assert.equal(raw.match(/^HTTP\/1\.1 /gm)?.length, 1, raw)
        assert.match(raw, /^HTTP\/1\.1 400 /)
      })
    })

    describe('accepted oddities are served without surprises', () => {
      const cases: [string, string, number][] = [
        [
          'absolute-form with userinfo',
          'GET http://u:p@127.0.0.1/hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n',
          200,
        ],
        ['HTTP/1.0 without Host', 'GET /hello.txt HTTP/1.0\r\n', 200],
        [
          'an empty line before the request (RFC 9112 2.2)',
          '\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n',
          200,
        ],
        [
          'Upgrade is ignored',
          'GET /hello.txt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n',
          200,
        ],
        [
          'h2c upgrade is ignored',
          'GET /hello.txt HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nConnection: Upgrade, HTTP2-Settings, close\r\n',
          200,
        ],
        ['an empty Host', 'GET /hello.txt HTTP/1.1\r\nHost:\r\n', 200],
        ['an IPv6 Host with port', 'GET /hello.txt HTTP/1.1\r\nHost: [::1]:8080\r\n', 200],
        ['a fragment in the target names no file', 'GET /hello.txt#x HTTP/1.1\r\nHost: x\r\n', 404],
        ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n', 204],
        [
          'TRACE is not echoed back (405)',
          `TRACE /hello.txt HTTP/1.1\r\nHost: x\r\nX-Echo: ${MARKER}\r\n`,
          405,
        ],
      ]
      for (const [name, head, status] of cases) {
        test(name, async () => {
          const res = await send(head, name)
          assert.equal(res.status, status)
        })
      }
    })

    describe('nothing a client sends comes back in a field unvalidated', () => {
      test('CR, LF and controls percent-encoded in the query of a redirect stay encoded', async () => {
        for (const query of [
          '%0d%0aSet-Cookie:%20x=1',
          '%0aX:%20y',
          '%00',
          '%1b[31m',
          `${MARKER}%0d%0a%0d%0a<script>`,
        ]) {
          const res = await send(requestHead('GET', `/docs?${query}`), query)
          assert.equal(res.status, 301)
          assert.equal(res.headers.location, `/docs/?${query}`)
          assert.equal(res.headers['set-cookie'], undefined)
          assert.equal(res.headers.x, undefined)
        }
      })

      test('obs-text and odd bytes in every field a server might echo are not echoed', async () => {
        const hostile = `${MARKER}\x80\x9b\xff"<>\\'`
        const fields: Record<string, string> = {}
        for (const name of [
          'Origin',
          'Referer',
          'User-Agent',
          'Cookie',
          'Accept',
          'Accept-Encoding',
          'Accept-Language',
          'X-Forwarded-For',
          'X-Forwarded-Host',
          'X-Forwarded-Proto',
          'X-Request-Id',
          'Forwarded',
          'Via',
          'Authorization',
          'Access-Control-Request-Method',
          'Access-Control-Request-Headers',
          'Expect',
        ]) {
          fields[name] = hostile
        }
        for (const path of ['/hello.txt', '/docs', '/missing', '/.secret']) {
          for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST']) {
            const res = await send(requestHead(method, path, fields), `${method} ${path}`, method)
            assert.ok(res.status < 500)
          }
        }
      })
    })
  })
}

/** Sends raw bytes and returns everything received until the server closes. */
function exchange(data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(new Error('no close within 5 s')), 5000)
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      if (text !== '') parseRawResponse(Buffer.from(text, 'latin1'))
      resolve(text)
    })
    socket.end(data)
  })
}
