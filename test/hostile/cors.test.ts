/**
 * Hostile Origin, Access-Control-Request-Method and Access-Control-Request-Headers values over
 * real sockets, against a policy with an exact origin, a pattern and credentials. Every answer
 * is clean (test/support/hostile.ts); Access-Control-Allow-Origin appears only for an origin
 * the policy allows, and then equals that origin byte for byte; no other Access-Control-*
 * field ever carries request bytes; a malformed preflight is 400 and a refused one 403, both
 * without any Access-Control-Allow-* field; an unsafe method from a refused origin never
 * reaches the engine.
 */

import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { corsCheckCommand, parseCorsCheckArgs } from '../../src/cli/cors-check.js'
import { startCorsServer, type CorsTestServer } from '../support/cors-server.js'
import { createSite, type SiteFixture } from '../support/fixtures.js'
import { assertClean, hasControl, MARKER, sendable } from '../support/hostile.js'
import { type RawResponse, rawRequest, requestHead } from '../support/server.js'

const ALLOWED = ['https://app.example', 'https://a.cdn.example.com', 'https://x.y.cdn.example.com']

/** Origins that are not allowed: malformed, look-alikes, or merely different. */
const REFUSED = [
  '',
  ' ',
  'null',
  'NULL',
  'null ',
  MARKER,
  `https://${MARKER}.example`,
  'https://app.example/',
  'https://app.example/path',
  'https://app.example?',
  'https://app.example#',
  'https://app.example:443',
  'https://app.example:0443',
  'https://app.example:99999',
  'https://app.example:-1',
  'https://app.example:',
  'https://APP.example',
  'HTTPS://app.example',
  'https://app.example.',
  'http://app.example',
  'https://app.example.evil.test',
  'https://evil-app.example',
  'https://evilapp.example',
  'https://app.examplee',
  'https://app.exampl',
  'https://app.example@evil.test',
  'https://evil.test#app.example',
  'https://evil.test?app.example',
  'https://evil.test/app.example',
  'https://evil.test\\app.example',
  'https://app.example, https://evil.test',
  'https://app.example https://evil.test',
  'https://app.example\x9b',
  'https://app.example\xff',
  'https://app.\xe9xample',
  'https://app.example%0d%0aSet-Cookie:%20x=1',
  'https://app%2eexample',
  'https://cdn.example.com',
  'https://.cdn.example.com',
  'https://a..cdn.example.com',
  'https://a.cdn.example.com.evil.test',
  'https://acdn.example.com',
  'https://a.cdn.example.com:443',
  'https://a.cdn.example.com:8443',
  'http://a.cdn.example.com',
  'https://*.cdn.example.com',
  'https://[::1',
  'https://[::1]:443',
  'file://',
  'data:',
  'about:blank',
  `https://${'a.'.repeat(3000)}cdn.example.com.evil`,
  `https://${'a'.repeat(10_000)}.example`,
]

/** Access-Control-Request-Method values that are not a method token. */
const BAD_METHODS = ['', ' ', 'PU T', 'PUT,DELETE', 'P\x9bT', '"PUT"', `${MARKER}(`, 'GET/', '{}']

/** Access-Control-Request-Headers values that are not a list of field names. */
const BAD_HEADER_LISTS = [
  'x-custom;',
  'x custom',
  'x-custom, "y"',
  'x-custom\x9b',
  `${MARKER}:`,
  'x-custom, @',
  '(x)',
  `${'x-custom,'.repeat(1500)}@`,
]

let site: SiteFixture
let server: CorsTestServer

before(async () => {
  site = await createSite()
  server = await startCorsServer(site.root, {
    policy: {
      origins: ['https://app.example', 'https://*.cdn.example.com'],
      credentials: true,
      methods: ['PUT', 'DELETE'],
      headers: ['X-Custom'],
      expose: ['ETag'],
      maxAge: 600,
    },
  })
})
after(async () => {
  await server.close()
  await site.cleanup()
})

async function send(
  method: string,
  fields: Record<string, string>,
  path = '/hello.txt',
): Promise<RawResponse> {
  const res = await rawRequest(server.port, requestHead(method, path, fields))
  assertClean(res, `${method} ${JSON.stringify(fields).slice(0, 120)}`, { method })
  return res
}

function corsFields(res: RawResponse): string[] {
  return res.rawHeaders.filter((line) => /^access-control-allow-/i.test(line))
}

describe('hostile Origin values', () => {
  test(`${REFUSED.length} refused origins: a GET is served without any Access-Control-Allow-*`, async () => {
    for (const origin of REFUSED) {
      const res = await send('GET', { Origin: origin })
      assert.ok([200, 400, 431].includes(res.status), `${origin.slice(0, 60)}: ${res.status}`)
      assert.deepEqual(corsFields(res), [], `Origin: ${origin.slice(0, 60)}`)
    }
  })

  test('and an unsafe method from them is refused with 403 before it reaches the engine', async () => {
    for (const origin of REFUSED) {
      if (origin === '' || !sendable(origin)) continue
      const before = server.reached.length
      const res = await send('DELETE', { Origin: origin })
      if (res.status === 431) continue
      assert.equal(res.status, 403, `Origin: ${origin.slice(0, 60)}`)
      assert.deepEqual(corsFields(res), [])
      assert.equal(server.reached.length, before, 'the engine never saw it')
    }
  })

  test('and a preflight from them is refused with 403 and no Access-Control-Allow-*', async () => {
    for (const origin of REFUSED) {
      if (!sendable(origin)) continue
      const res = await send('OPTIONS', { Origin: origin, 'Access-Control-Request-Method': 'PUT' })
      assert.ok([403, 431].includes(res.status), `${origin.slice(0, 60)}: ${res.status}`)
      assert.deepEqual(corsFields(res), [])
    }
  })

  test('allowed origins get exactly their own origin back, never another', async () => {
    for (const origin of ALLOWED) {
      const res = await send('GET', { Origin: origin, Cookie: 'a=b' })
      assert.equal(res.status, 200)
      assert.equal(res.headers['access-control-allow-origin'], origin)
      assert.equal(res.headers['access-control-allow-credentials'], 'true')
      const preflight = await send('OPTIONS', {
        Origin: origin,
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'x-custom',
      })
      assert.equal(preflight.status, 204)
      assert.equal(preflight.headers['access-control-allow-origin'], origin)
    }
  })

  test('whitespace around a value is not part of it (RFC 9110 5.5): the origin is the one inside', async () => {
    for (const origin of [
      'https://app.example\t',
      ' https://app.example',
      '\thttps://app.example ',
    ]) {
      const res = await send('GET', { Origin: origin })
      assert.equal(res.headers['access-control-allow-origin'], 'https://app.example')
      const preflight = await send('OPTIONS', {
        Origin: origin,
        'Access-Control-Request-Method': ' PUT\t',
      })
      assert.equal(preflight.status, 204)
    }
  })

  test('two Origin fields are one malformed value, never the allowed one of them', async () => {
    const res = await rawRequest(
      server.port,
      `${requestHead('GET', '/hello.txt')}Origin: https://app.example\r\nOrigin: https://evil.test\r\n`,
    )
    assertClean(res, 'two Origin fields')
    assert.deepEqual(corsFields(res), [])
  })
})

describe('hostile preflight questions from an allowed origin', () => {
  test('an Access-Control-Request-Method that is not a token: 400, nothing reflected', async () => {
    for (const method of BAD_METHODS) {
      const res = await send('OPTIONS', {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': method,
      })
      assert.equal(res.status, 400, `ACRM ${JSON.stringify(method)}`)
      assert.deepEqual(corsFields(res), [])
    }
  })

  test('Access-Control-Request-Headers that is not a list of names: 400, nothing reflected', async () => {
    for (const list of BAD_HEADER_LISTS) {
      const res = await send('OPTIONS', {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': list,
      })
      assert.ok([400, 431].includes(res.status), `ACRH ${JSON.stringify(list.slice(0, 40))}`)
      assert.deepEqual(corsFields(res), [])
    }
  })

  test('methods and headers the policy does not list: 403; the answer lists the policy, not the question', async () => {
    const cases: Record<string, string>[] = [
      { 'Access-Control-Request-Method': MARKER.toUpperCase() },
      { 'Access-Control-Request-Method': 'put' },
      { 'Access-Control-Request-Method': 'CONNECT' },
      {
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': `x-custom, ${MARKER}`,
      },
      { 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'authorization' },
      { 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'x-custom,,,' },
    ]
    for (const fields of cases) {
      const res = await send('OPTIONS', { Origin: 'https://app.example', ...fields })
      if (fields['Access-Control-Request-Headers'] === 'x-custom,,,') {
        assert.equal(res.status, 204, 'empty list elements are tolerated')
        assert.equal(res.headers['access-control-allow-headers'], 'X-Custom')
        continue
      }
      assert.equal(res.status, 403, JSON.stringify(fields))
      assert.deepEqual(corsFields(res), [])
    }
  })

  test('thousands of distinct long preflights are answered alike (and not all kept)', async () => {
    for (let i = 0; i < 600; i++) {
      const res = await send('OPTIONS', {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': `x-custom${', x-custom'.repeat(300)}, x-${i}`,
      })
      assert.equal(res.status, 403)
    }
    const good = await send('OPTIONS', {
      Origin: 'https://app.example',
      'Access-Control-Request-Method': 'PUT',
    })
    assert.equal(good.status, 204)
  })
})

describe('cors-check against a hostile server', () => {
  test('control characters in the answer reach the report escaped, never raw', async () => {
    const hostile = createServer((_req, res) => {
      // Latin-1 field values: node writes each character as one byte, C1 controls included.
      res.writeHead(200, 'OK \x9b2J', {
        'Access-Control-Allow-Origin': 'https://app.example\x9b[2J\x85',
        'X-Other': '\x9d\x90',
      })
      res.end('x')
    })
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/x`
      const config = parseCorsCheckArgs([url, '--origin', 'https://app.example'])
      assert.notEqual(config, 'help')
      const lines: string[] = []
      await corsCheckCommand(config as Exclude<typeof config, 'help'>, (line) => lines.push(line))
      const report = lines.join('\n')
      assert.ok(!hasControl(report.replace(/\n/g, '')), JSON.stringify(report))
      assert.match(report, /https:\/\/app\.example\\u009b\[2J\\u0085/)
    } finally {
      hostile.close()
    }
  })
})
