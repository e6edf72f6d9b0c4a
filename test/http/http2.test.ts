/**
 * What only HTTP/2 has to get right (RFC 9113), through sluice's own TLS server: no
 * connection-specific field on a response (section 8.2.2), whoever set it; a response sent
 * while the request's content is still arriving ends its stream with RST_STREAM NO_ERROR
 * (section 8.1) where HTTP/1.1 would close the connection, and the connection goes on;
 * requests refused before any handler (no authority, a Host naming another authority, an
 * over-long :path, CONNECT); the access log naming the protocol.
 */

import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { connect as connectHttp2, constants } from 'node:http2'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { http2Fields } from '../../src/http/http2-stream.js'
import { FLAG, FRAME, frame, headerBlock, rawHttp2 } from '../support/h2-frames.js'
import {
  requestHead,
  type RunningServer,
  startServer,
  tempRoot,
  VARIANTS,
} from '../support/server.js'

const H2 = VARIANTS.find((v) => v.protocol === 'h2' && v.compat !== true)!
let dir: string
let cleanup: () => Promise<void>
let server: RunningServer

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  await writeFile(join(dir, 'hello.txt'), 'hello\n')
  server = await startServer(dir, { writable: true, maxBody: 1000 }, H2)
})
after(async () => {
  await server.close()
  await cleanup()
})

describe('connection-specific fields (RFC 9113 section 8.2.2)', () => {
  test('are dropped from a response whoever set them; the rest is kept in order', () => {
    const fields = http2Fields(413, {
      Connection: 'close',
      'Keep-Alive': 'timeout=5',
      'Proxy-Connection': 'close',
      'Transfer-Encoding': 'chunked',
      Upgrade: 'h2c',
      'Content-Type': 'text/plain',
      'Content-Length': 5,
    })
    assert.deepEqual(Object.entries(fields), [
      [':status', 413],
      ['Content-Type', 'text/plain'],
      ['Content-Length', 5],
    ])
  })

  test('a value node:http would refuse (a control character) is refused here too', () => {
    assert.throws(() => http2Fields(200, { 'X-Bad': 'a\nb' }), { code: 'ERR_INVALID_CHAR' })
  })
})

describe('content left unread (RFC 9113 section 8.1)', () => {
  test('413 for a Content-Length over --max-body: no Connection field, the stream reset with NO_ERROR, the connection kept', async () => {
    const session = connectHttp2(server.url, { rejectUnauthorized: false })
    session.on('error', () => {})
    try {
      const stream = session.request({
        ':method': 'PUT',
        ':path': '/big.bin',
        'content-length': '50000',
      })
      stream.on('error', () => {})
      // Some of the body, and then nothing: the client waits, as a slow upload would.
      stream.write(Buffer.alloc(16_000, 0x61))
      const headers = await new Promise<Record<string, unknown>>((resolve) =>
        stream.once('response', resolve),
      )
      stream.resume()
      await new Promise((resolve) => stream.once('close', resolve))
      assert.equal(headers[':status'], 413)
      assert.equal(headers.connection, undefined)
      assert.equal(stream.rstCode, constants.NGHTTP2_NO_ERROR)
      // The same connection serves the next request.
      const next = session.request({ ':path': '/hello.txt' })
      const status = await new Promise((resolve) =>
        next.once('response', (h) => resolve(h[':status'])),
      )
      next.resume()
      assert.equal(status, 200)
      assert.equal(session.destroyed, false)
    } finally {
      session.close()
    }
  })
})

describe('requests refused before any handler', () => {
  /**
   * Sends one GET with `fields` (whose :path names the test) on a raw connection; the access
   * log entry for that path.
   */
  async function refused(fields: [string, string][]): Promise<Record<string, unknown>> {
    const path = fields.find(([name]) => name === ':path')![1]
    const connection = await rawHttp2(server.port)
    connection.send(
      frame(FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS, 1, headerBlock(fields)),
    )
    const logged = () => server.log.find((e) => e.msg === 'request' && e.path === path)
    const deadline = Date.now() + 3000
    while (logged() === undefined && Date.now() < deadline) await sleep(10)
    connection.socket.destroy()
    const entry = logged()
    assert.ok(entry, 'the request was answered and logged')
    return entry
  }

  test('a Host that names another authority than :authority: 400', async () => {
    const entry = await refused([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', `127.0.0.1:${server.port}`],
      [':path', '/other-host'],
      ['host', 'elsewhere.example'],
    ])
    assert.equal(entry.status, 400)
    assert.equal(entry.reason, 'Bad Request: Host and :authority name different hosts')
  })

  test('a :path over --max-url-length: 414', async () => {
    const res = await server.request(requestHead('GET', `/${'a'.repeat(9000)}`))
    assert.equal(res.status, 414)
  })

  for (const [what, authority] of [
    ['no :authority and no Host', undefined],
    ['an :authority with a space', 'bad host'],
  ] as const) {
    test(`${what}: the stream is reset before any handler (node:http2, PROTOCOL_ERROR)`, async () => {
      const connection = await rawHttp2(server.port)
      const fields: [string, string][] = [
        [':method', 'GET'],
        [':scheme', 'https'],
        ...(authority === undefined ? [] : [[':authority', authority] as [string, string]]),
        [':path', '/bad-authority'],
      ]
      connection.send(
        frame(FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS, 1, headerBlock(fields)),
      )
      const deadline = Date.now() + 3000
      while (!connection.resets.has(1) && Date.now() < deadline) await sleep(10)
      connection.socket.destroy()
      assert.equal(connection.resets.get(1), constants.NGHTTP2_PROTOCOL_ERROR)
      assert.ok(!connection.answered.has(1))
    })
  }

  test('the same request with :authority is served, and logged as HTTP/2', async () => {
    const entry = await refused([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', `127.0.0.1:${server.port}`],
      [':path', '/hello.txt'],
    ])
    assert.equal(entry.status, 200)
    assert.equal(entry.protocol, 'HTTP/2')
  })
})
