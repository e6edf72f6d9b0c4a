/**
 * What only the framework adapters do: mounting under a path, falling through to the
 * framework's own routes, and refusing bad options at construction with a TypeError (in every
 * adapter, for every option).
 * (Identical behaviour for served files is proven by the read-path suites, which run against
 * every adapter.)
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { getRequestListener } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { pino } from 'pino'
import { expressMiddleware } from '../../src/adapters/express.js'
import { fastifyPlugin } from '../../src/adapters/fastify.js'
import { createFetchHandler } from '../../src/adapters/fetch.js'
import { createHandler } from '../../src/adapters/node.js'
import type { NodeHandler } from '../../src/http/node-handler.js'
import { createSite, type SiteFixture } from '../support/fixtures.js'
import { fastifyApp, rawRequest, requestHead, serve } from '../support/server.js'

let site: SiteFixture

before(async () => {
  site = await createSite()
})

after(() => site.cleanup())

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
    const { app, server } = fastifyApp()
    await app.register(fastifyPlugin, { root: site.root, prefix: '/static' })
    app.get('/api', async () => ({ ok: true }))
    await app.ready()
    ;({ port, close } = await serve(server()))
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

/** Each adapter's constructor; Fastify validates when the plugin is registered. */
const CONSTRUCTORS: Record<string, (options: Record<string, unknown>) => Promise<unknown>> = {
  createHandler: async (options) => createHandler(options),
  expressMiddleware: async (options) => expressMiddleware(options),
  fastifyPlugin: async (options) => {
    const app = Fastify()
    try {
      await app.register(fastifyPlugin, options)
    } finally {
      await app.close().catch(() => {})
    }
  },
  createFetchHandler: async (options) => createFetchHandler(options),
}

describe('bad options are a TypeError at construction, naming the option, in every adapter', () => {
  const root = '.'
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['no root', {}, /^sluice: option 'root': expected a directory path/],
    ['missing root', { root: '/no/such/dir' }, /^sluice: option 'root': expected an existing/],
    ['unknown option', { root, rooot: 1 }, /^sluice: unknown option 'rooot'$/],
    [
      'the old name of maxBody',
      { root, writable: true, maxBodyBytes: 1 },
      /^sluice: unknown option 'maxBodyBytes' \(did you mean 'maxBody'\?\)$/,
    ],
    [
      'maxRanges 0',
      { root, maxRanges: 0 },
      /^sluice: option 'maxRanges': expected an integer from 1 to 10000, got 0$/,
    ],
    [
      'cacheControl with CRLF',
      { root, cacheControl: 'a\r\nb' },
      /^sluice: option 'cacheControl': expected printable ASCII text, got "a\\r\\nb"$/,
    ],
    ['dotfiles not boolean', { root, dotfiles: 'yes' }, /'dotfiles': expected true or false/],
    ['index with a slash', { root, index: 'a/b.html' }, /'index': expected a file name/],
    ['writable not boolean', { root, writable: 'true' }, /'writable': expected true or false/],
    [
      'maxBody negative',
      { root, writable: true, maxBody: -1 },
      /'maxBody': expected an integer from 0 to/,
    ],
    ['maxBody without writable', { root, maxBody: 10 }, /'maxBody' only applies with writable/],
    [
      'requirePreconditions without writable',
      { root, requirePreconditions: true },
      /'requirePreconditions' only applies with writable/,
    ],
    ['cors not an object', { root, cors: 'https://a.example' }, /'cors': expected an object/],
    [
      'cors without origin',
      { root, cors: { credentials: true } },
      /'cors\.origin': expected the origins allowed/,
    ],
    [
      'cors.origins for cors.origin',
      { root, cors: { origins: ['https://a.example'] } },
      /unknown option 'cors\.origins' \(did you mean 'origin'\?\)/,
    ],
    [
      'an origin with a trailing slash',
      { root, cors: { origin: 'https://app.example/' } },
      /^sluice: option 'cors\.origin': expected an origin without a trailing slash/,
    ],
    [
      'a list item that is not an origin',
      { root, cors: { origin: ['https://a.example', 42] } },
      /^sluice: option 'cors\.origin\[1\]': expected a string$/,
    ],
    [
      '* with credentials',
      { root, cors: { origin: ['*'], credentials: true } },
      /^sluice: option 'cors\.origin\[0\]': '\*' cannot be used with credentials/,
    ],
    [
      'maxAge too long',
      { root, cors: { origin: '*', maxAge: 86_401 } },
      /'cors\.maxAge': expected an integer from 0 to 86400, got 86401/,
    ],
    [
      'a forbidden method',
      { root, cors: { origin: '*', methods: ['CONNECT'] } },
      /'cors\.methods': CONNECT is a forbidden method/,
    ],
    [
      'headers not a list',
      { root, cors: { origin: '*', headers: 'X-A' } },
      /'cors\.headers': expected a list of/,
    ],
    [
      'a path pattern with ** inside',
      { root, paths: { '/a/**/b': { cors: false } } },
      /^sluice: option 'paths\["\/a\/\*\*\/b"\]': expected '\*\*' only as the last segment/,
    ],
    [
      'a bad origin under paths',
      { root, paths: { '/api/**': { cors: { origin: [3] } } } },
      /^sluice: option 'paths\["\/api\/\*\*"\]\.cors\.origin\[0\]': expected a string$/,
    ],
    [
      'paths entry without cors',
      { root, paths: { '/x': {} } },
      /^sluice: option 'paths\["\/x"\]\.cors': expected an object of CORS options, or false/,
    ],
    ['a logger that is not pino', { root, logger: console }, /'logger': expected a pino logger/],
    ['a store without open', { root, store: {} }, /'store': expected a store/],
    [
      'writable over a read-only store',
      { store: { open: async () => ({ kind: 'missing' }) }, writable: true },
      /'writable': the store does not implement put and delete/,
    ],
  ]
  for (const [name, options, pattern] of cases) {
    test(name, async () => {
      for (const [adapter, construct] of Object.entries(CONSTRUCTORS)) {
        await assert.rejects(
          construct(options),
          (error: unknown) => error instanceof TypeError && pattern.test(error.message),
          adapter,
        )
      }
    })
  }
  test('adapter options: fallthrough (middleware) and prefix (Fetch API)', () => {
    assert.throws(
      () => expressMiddleware({ root, fallthrough: 1 as never }),
      /^TypeError: sluice: option 'fallthrough': expected true or false, got 1$/,
    )
    assert.throws(
      () => createFetchHandler({ root, prefix: '/files/' }),
      /^TypeError: sluice: option 'prefix': expected a path like '\/static'/,
    )
  })
  test('good options of every kind are accepted by every adapter', async () => {
    const options = {
      root,
      cacheControl: 'public, max-age=60',
      dotfiles: true,
      index: 'home.html',
      maxRanges: 8,
      writable: true,
      requirePreconditions: true,
      maxBody: 1024,
      cors: {
        origin: async (origin: string) => origin.endsWith('.example'),
        credentials: true,
        methods: ['PUT'],
        headers: ['If-Match'],
        expose: ['ETag'],
        maxAge: 600,
        privateNetwork: true,
      },
      paths: { '/assets/**': { cors: { origin: '*' } }, '/private/*': { cors: false } },
      logger: pino({ level: 'silent' }),
    }
    for (const construct of Object.values(CONSTRUCTORS)) await construct(options)
  })
})
