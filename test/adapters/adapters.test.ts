/**
 * What only the framework adapters do: mounting under a path, falling through to the
 * framework's own routes, and refusing bad options at construction with a TypeError.
 * (Identical behaviour for served files is proven by the read-path suites, which run against
 * every adapter.)
 */

import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { getRequestListener } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { expressMiddleware } from '../../src/adapters/express.js'
import { fastifyPlugin } from '../../src/adapters/fastify.js'
import { createFetchHandler } from '../../src/adapters/fetch.js'
import { createHandler } from '../../src/adapters/node.js'
import { createHttpServer, listen, type NodeHandler, shutdown } from '../../src/http/server.js'
import { createSite, type SiteFixture } from '../support/fixtures.js'
import { rawRequest, requestHead } from '../support/server.js'

let site: SiteFixture

before(async () => {
  site = await createSite()
})

after(() => site.cleanup())

async function serve(
  handler: NodeHandler | Server,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = typeof handler === 'function' ? createHttpServer(handler) : handler
  const url = await listen(server, '127.0.0.1', 0)
  return { port: Number(new URL(url).port), close: () => shutdown(server, 500) }
}

const get = (port: number, path: string, method = 'GET') =>
  rawRequest(port, requestHead(method, path, method === 'POST' ? { 'Content-Length': '0' } : {}))

describe('Express middleware', () => {
  let port: number
  let close: () => Promise<void>
  before(async () => {
    const app = express()
    app.use('/static', expressMiddleware({ root: site.root }))
    app.get('/static/dynamic', (_req, res) => {
      res.send('from a route')
    })
    app.post('/static/hello.txt', (_req, res) => {
      res.send('posted')
    })
    ;({ port, close } = await serve(app as unknown as NodeHandler))
  })
  after(() => close())

  test('serves files under its mount path', async () => {
    const res = await get(port, '/static/hello.txt')
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), 'hello, world\n')
  })

  test('falls through with next() when no file matches', async () => {
    const res = await get(port, '/static/dynamic')
    assert.equal(res.body.toString(), 'from a route')
  })

  test('falls through for methods it does not handle', async () => {
    const res = await get(port, '/static/hello.txt', 'POST')
    assert.equal(res.body.toString(), 'posted')
  })

  test('directory redirects keep the mount path', async () => {
    assert.equal((await get(port, '/static/docs')).headers.location, '/static/docs/')
    assert.equal((await get(port, '/static?x=1')).headers.location, '/static/?x=1')
  })
})

describe('Fastify plugin', () => {
  let port: number
  let close: () => Promise<void>
  before(async () => {
    let server: Server | undefined
    const app = Fastify({
      serverFactory: (handler) => {
        server = createHttpServer(handler)
        return server
      },
    })
    await app.register(fastifyPlugin, { root: site.root, prefix: '/static' })
    app.get('/api', async () => ({ ok: true }))
    await app.ready()
    ;({ port, close } = await serve(server!))
  })
  after(() => close())

  test('serves files under its prefix', async () => {
    const res = await get(port, '/static/hello.txt')
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), 'hello, world\n')
  })

  test("leaves unmatched paths to Fastify's not-found handler", async () => {
    const res = await get(port, '/static/missing.txt')
    assert.equal(res.status, 404)
    assert.match(res.headers['content-type']!, /application\/json/)
  })

  test('other routes keep working', async () => {
    const res = await get(port, '/api')
    assert.equal(res.body.toString(), '{"ok":true}')
  })

  test('directory redirects keep the prefix', async () => {
    assert.equal((await get(port, '/static/docs')).headers.location, '/static/docs/')
  })
})

describe('Fetch API handler in Hono', () => {
  let port: number
  let close: () => Promise<void>
  before(async () => {
    const files = createFetchHandler({ root: site.root, prefix: '/files' })
    const app = new Hono()
    app.get('/api', (c) => c.json({ ok: true }))
    app.on(['GET', 'HEAD'], '/files/*', (c) => files(c.req.raw))
    app.on(['GET', 'HEAD'], '/files', (c) => files(c.req.raw))
    ;({ port, close } = await serve(getRequestListener(app.fetch) as unknown as NodeHandler))
  })
  after(() => close())

  test('serves files under its prefix', async () => {
    const res = await get(port, '/files/hello.txt')
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), 'hello, world\n')
  })

  test('the mount point itself redirects to add the slash', async () => {
    assert.equal((await get(port, '/files')).headers.location, '/files/')
  })

  test('other routes keep working', async () => {
    assert.equal((await get(port, '/api')).body.toString(), '{"ok":true}')
  })
})

describe('bad options are a TypeError at construction, naming the option', () => {
  const cases: { name: string; build: () => unknown; pattern: RegExp }[] = [
    { name: 'no root', build: () => createHandler({}), pattern: /'root'/ },
    {
      name: 'missing root',
      build: () => createHandler({ root: '/no/such/dir' }),
      pattern: /'root'/,
    },
    {
      name: 'unknown option',
      build: () => createHandler({ root: '.', rooot: 1 } as never),
      pattern: /unknown option 'rooot'/,
    },
    {
      name: 'maxRanges 0',
      build: () => createHandler({ root: '.', maxRanges: 0 }),
      pattern: /'maxRanges' must be an integer/,
    },
    {
      name: 'cacheControl with CRLF',
      build: () => createHandler({ root: '.', cacheControl: 'a\r\nb' }),
      pattern: /'cacheControl'/,
    },
    {
      name: 'dotfiles not boolean',
      build: () => createHandler({ root: '.', dotfiles: 'yes' as never }),
      pattern: /'dotfiles' must be a boolean/,
    },
    {
      name: 'index with a slash',
      build: () => createHandler({ root: '.', index: 'a/b.html' }),
      pattern: /'index'/,
    },
    {
      name: 'express fallthrough',
      build: () => expressMiddleware({ root: '.', fallthrough: 1 as never }),
      pattern: /'fallthrough'/,
    },
    {
      name: 'fetch prefix with trailing slash',
      build: () => createFetchHandler({ root: '.', prefix: '/files/' }),
      pattern: /'prefix'/,
    },
  ]
  for (const { name, build, pattern } of cases) {
    test(name, () => {
      assert.throws(
        build,
        (error: unknown) => error instanceof TypeError && pattern.test(error.message),
      )
    })
  }
})
