/**
 * What only the framework adapters have to get right about writes and CORS, with the real
 * frameworks over loopback sockets: a PUT's content must reach the store exactly as sent even
 * though the framework has body parsers of its own (or be refused with a clear 500 when one got
 * there first, never stored as an empty file), and with a `cors` option the requests sluice
 * passes on to the application's routes get the CORS fields too. (Everything else about writes
 * and CORS is the behaviour suites' job, which run against every adapter.)
 */

import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setImmediate as tick } from 'node:timers/promises'
import express from 'express'
import { expressMiddleware } from '../../src/adapters/express.js'
import { fastifyPlugin } from '../../src/adapters/fastify.js'
import type { NodeHandler } from '../../src/http/node-handler.js'
import { captureLogger, fastifyApp, serve, tempRoot } from '../support/server.js'
import { expectedTag, send } from '../support/writes.js'

const APP = 'https://app.example'
const JSON_TEXT = '{ "kept": "exactly as sent" }\n'

let root: string
let cleanup: () => Promise<void>
before(async () => {
  ;({ dir: root, cleanup } = await tempRoot())
})
after(() => cleanup())

describe('Express: writes and body parsers', () => {
  let url: string
  let close: () => Promise<void>
  const { logger, log } = captureLogger()
  before(async () => {
    const app = express()
    // A parser for one route only, as an application should mount them...
    app.post('/api/echo', express.json(), (req, res) => {
      res.json(req.body)
    })
    app.use('/files', expressMiddleware({ root, writable: true, logger }))
    // ...and one in front of a second mount of sluice, which is the mistake to report.
    app.use('/late', express.json(), expressMiddleware({ root, writable: true, logger }))
    ;({ url, close } = await serve(app as unknown as NodeHandler))
  })
  after(() => close())

  test('a PUT reaches the store byte for byte, whatever its type; other routes still parse', async () => {
    const res = await send('PUT', `${url}/files/data.json`, JSON_TEXT, {
      'Content-Type': 'application/json',
    })
    assert.equal(res.status, 201)
    assert.equal(res.headers.get('etag'), expectedTag(JSON_TEXT))
    assert.equal(await readFile(join(root, 'data.json'), 'utf8'), JSON_TEXT)
    const echo = await send('POST', `${url}/api/echo`, '{"a":1}', {
      'Content-Type': 'application/json',
    })
    assert.equal(echo.text, '{"a":1}')
  })

  test('content a body parser already read: 500 with a reason, logged, and nothing written', async () => {
    const res = await send('PUT', `${url}/late/parsed.json`, JSON_TEXT, {
      'Content-Type': 'application/json',
    })
    assert.equal(res.status, 500)
    assert.match(res.text, /read before sluice could store it; nothing was changed/)
    assert.equal(await stat(join(root, 'parsed.json')).catch(() => 'absent'), 'absent')
    await tick()
    const entry = log.find((l) => l.level === 50)
    assert.match(String(entry?.msg), /body parser read this PUT content/)
  })

  test('a type that parser skips is still unread, and is stored', async () => {
    const res = await send('PUT', `${url}/late/notes.txt`, 'plain text', {
      'Content-Type': 'text/plain',
    })
    assert.equal(res.status, 201)
    assert.equal(await readFile(join(root, 'notes.txt'), 'utf8'), 'plain text')
  })
})

describe('Fastify: writes in the plugin, JSON routes beside it', () => {
  let url: string
  let close: () => Promise<void>
  before(async () => {
    const { app, server } = fastifyApp()
    app.post('/api/echo', async (request) => request.body)
    await app.register(fastifyPlugin, { root, prefix: '/files', writable: true, maxBody: 3e6 })
    await app.ready()
    ;({ url, close } = await serve(server()))
  })
  after(() => close())

  test("a JSON PUT is stored as sent, not parsed; the application's JSON routes still parse", async () => {
    const res = await send('PUT', `${url}/files/fastify.json`, JSON_TEXT, {
      'Content-Type': 'application/json',
    })
    assert.equal(res.status, 201)
    assert.equal(await readFile(join(root, 'fastify.json'), 'utf8'), JSON_TEXT)
    const echo = await send('POST', `${url}/api/echo`, '{"a":1}', {
      'Content-Type': 'application/json',
    })
    assert.equal(echo.text, '{"a":1}')
  })

  test("Fastify's body limit (1 MiB) does not apply to the plugin; maxBody does", async () => {
    const big = Buffer.alloc(2_000_000, 0x61)
    const res = await send('PUT', `${url}/files/big.bin`, big)
    assert.equal(res.status, 201)
    assert.equal((await stat(join(root, 'big.bin'))).size, big.length)
    const tooBig = await send('PUT', `${url}/files/huge.bin`, Buffer.alloc(3_000_001))
    assert.equal(tooBig.status, 413)
  })

  test("unmatched requests still go to Fastify's not-found handler", async () => {
    const res = await send('GET', `${url}/files/missing.txt`)
    assert.equal(res.status, 404)
    assert.match(res.headers.get('content-type') ?? '', /application\/json/)
  })
})

describe('the cors option covers what the middleware passes on to the application', () => {
  test('Express: a route under the mount gets the fields; unsafe methods are refused first', async () => {
    const app = express()
    let posted = 0
    app.use('/static', expressMiddleware({ root, cors: { origin: APP } }))
    app.get('/static/generated', (_req, res) => {
      res.send('from a route')
    })
    app.post('/static/form', (_req, res) => {
      posted++
      res.send('posted')
    })
    const { url, close } = await serve(app as unknown as NodeHandler)
    try {
      const res = await send('GET', `${url}/static/generated`, undefined, { Origin: APP })
      assert.equal(res.text, 'from a route')
      assert.equal(res.headers.get('access-control-allow-origin'), APP)
      assert.equal(res.headers.get('vary'), 'Origin')
      const refused = await send('POST', `${url}/static/form`, 'x', {
        Origin: 'https://evil.example',
      })
      assert.equal(refused.status, 403)
      assert.equal(posted, 0)
    } finally {
      await close()
    }
  })

  test("Fastify: the not-found handler's answer gets the fields", async () => {
    const { app, server } = fastifyApp()
    await app.register(fastifyPlugin, { root, prefix: '/static', cors: { origin: APP } })
    await app.ready()
    const { url, close } = await serve(server())
    try {
      const res = await send('GET', `${url}/static/missing.txt`, undefined, { Origin: APP })
      assert.equal(res.status, 404)
      assert.equal(res.headers.get('access-control-allow-origin'), APP)
    } finally {
      await close()
    }
  })

  test('without a cors option, a middleware leaves the application its cross-origin requests', async () => {
    const app = express()
    app.use('/static', expressMiddleware({ root }))
    app.post('/static/webhook', (_req, res) => {
      res.send('accepted')
    })
    const { url, close } = await serve(app as unknown as NodeHandler)
    try {
      const res = await send('POST', `${url}/static/webhook`, 'x', {
        Origin: 'https://payments.example',
      })
      assert.equal(res.status, 200)
      assert.equal(res.text, 'accepted')
    } finally {
      await close()
    }
  })
})
