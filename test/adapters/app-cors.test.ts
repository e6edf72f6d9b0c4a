/**
 * CORS alone, around an application's own routes: `corsMiddleware` in Express, `fastifyCors` in
 * Fastify and `withCorsFetch` around a Hono app, each with the real framework over a loopback
 * socket, held to the same behaviour: preflights answered before any route, unsafe methods from
 * origins the policy refuses stopped before the route runs, and the Access-Control-* fields and
 * a merged Vary on every other response.
 */

import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { getRequestListener } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { corsMiddleware } from '../../src/adapters/express.js'
import { fastifyCors } from '../../src/adapters/fastify.js'
import { withCorsFetch } from '../../src/adapters/fetch.js'
import type { EngineRequest } from '../../src/http/engine.js'
import type { NodeHandler } from '../../src/http/node-handler.js'
import { createHttpServer } from '../../src/http/server.js'
import type { CorsOptions } from '../../src/options.js'
import { fastifyApp, type RawResponse, rawRequest, requestHead, serve } from '../support/server.js'

const APP = 'https://app.example'
const EVIL = 'https://evil.example'

/** The application's routes ran this many times (a refused request must not add to it). */
let ran = 0

const POLICY: CorsOptions = {
  origin: [APP],
  credentials: true,
  methods: ['PUT'],
  headers: ['If-Match'],
  expose: ['ETag'],
  maxAge: 60,
}

/**
 * One application per framework: GET /api/items (which sets its own Vary), PUT and POST
 * /api/items, nothing else (the framework's own 404).
 */
const FRAMEWORKS: Record<string, (policy: CorsOptions) => Promise<Server>> = {
  async express(policy) {
    const app = express()
    app.use(corsMiddleware(policy))
    app.get('/api/items', (_req, res) => {
      ran++
      res.vary('Accept-Encoding')
      res.json({ items: [] })
    })
    app.put('/api/items', (_req, res) => {
      ran++
      res.status(204).end()
    })
    app.post('/api/items', (_req, res) => {
      ran++
      res.status(204).end()
    })
    return createHttpServer(app as unknown as NodeHandler)
  },
  async fastify(policy) {
    const { app, server } = fastifyApp()
    await app.register(fastifyCors, policy)
    app.get('/api/items', async (_request, reply) => {
      ran++
      reply.header('Vary', 'Accept-Encoding')
      return { items: [] }
    })
    app.put('/api/items', async (_request, reply) => {
      ran++
      reply.code(204).send()
    })
    app.post('/api/items', async (_request, reply) => {
      ran++
      reply.code(204).send()
    })
    await app.ready()
    return server()
  },
  async hono(policy) {
    const app = new Hono()
    app.get('/api/items', (c) => {
      ran++
      c.header('Vary', 'Accept-Encoding')
      return c.json({ items: [] })
    })
    app.on(['PUT', 'POST'], '/api/items', (c) => {
      ran++
      return c.body(null, 204)
    })
    const fetch = withCorsFetch(app.fetch, policy)
    return createHttpServer(getRequestListener(fetch) as unknown as NodeHandler)
  },
}

/** Access-Control-* fields as `name: value`, names in lower case and sorted (Fetch API Headers). */
function corsFields(res: RawResponse): string[] {
  return res.rawHeaders
    .filter((line) => /^access-control-/i.test(line))
    .map((line) => line.replace(/^[^:]+/, (name) => name.toLowerCase()))
    .sort()
}

/** The names listed in Vary, lower case, in the order sent. */
function varyNames(res: RawResponse): string[] {
  return (res.headers.vary ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '')
}

for (const [framework, start] of Object.entries(FRAMEWORKS)) {
  describe(`CORS around ${framework} routes`, () => {
    let port: number
    let close: () => Promise<void>
    before(async () => {
      ;({ port, close } = await serve(await start(POLICY)))
    })
    after(() => close())
    const send = (method: string, path: string, fields: Record<string, string> = {}) => {
      const withBody = method === 'PUT' || method === 'POST'
      return rawRequest(
        port,
        requestHead(method, path, withBody ? { 'Content-Length': '0', ...fields } : fields),
      )
    }

    test('an allowed preflight: 204 with the policy fields, and no route runs', async () => {
      const before = ran
      const res = await send('OPTIONS', '/api/items', {
        Origin: APP,
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'if-match',
      })
      assert.equal(res.status, 204)
      assert.deepEqual(corsFields(res), [
        'access-control-allow-credentials: true',
        'access-control-allow-headers: If-Match',
        'access-control-allow-methods: PUT',
        `access-control-allow-origin: ${APP}`,
        'access-control-max-age: 60',
      ])
      assert.deepEqual(varyNames(res), [
        'origin',
        'access-control-request-method',
        'access-control-request-headers',
      ])
      assert.equal(ran, before)
    })

    test('a refused preflight: 403 without any Access-Control-* field', async () => {
      const res = await send('OPTIONS', '/api/items', {
        Origin: APP,
        'Access-Control-Request-Method': 'DELETE',
      })
      assert.equal(res.status, 403)
      assert.deepEqual(corsFields(res), [])
      assert.match(res.body.toString(), /^Forbidden: CORS preflight refused: the method/)
    })

    for (const method of ['PUT', 'POST']) {
      test(`${method} from an origin the policy refuses: 403 before the route runs`, async () => {
        const before = ran
        const res = await send(method, '/api/items', { Origin: EVIL })
        assert.equal(res.status, 403)
        assert.deepEqual(corsFields(res), [])
        assert.equal(ran, before)
      })
    }

    test('PUT from the allowed origin runs the route and gets the fields', async () => {
      const before = ran
      const res = await send('PUT', '/api/items', { Origin: APP })
      assert.equal(res.status, 204)
      assert.equal(res.headers['access-control-allow-origin'], APP)
      assert.equal(ran, before + 1)
    })

    test("GET from the allowed origin: the route's answer, the fields, Vary merged", async () => {
      const res = await send('GET', '/api/items', { Origin: APP })
      assert.equal(res.status, 200)
      assert.equal(res.body.toString(), '{"items":[]}')
      assert.deepEqual(corsFields(res), [
        'access-control-allow-credentials: true',
        `access-control-allow-origin: ${APP}`,
        'access-control-expose-headers: ETag',
      ])
      assert.deepEqual(varyNames(res).sort(), ['accept-encoding', 'origin'])
    })

    test('GET from a refused origin is answered without the fields, with Vary: Origin', async () => {
      const res = await send('GET', '/api/items', { Origin: EVIL })
      assert.equal(res.status, 200)
      assert.deepEqual(corsFields(res), [])
      assert.ok(varyNames(res).includes('origin'))
    })

    test('without Origin: untouched but for Vary: Origin', async () => {
      const res = await send('GET', '/api/items')
      assert.equal(res.status, 200)
      assert.deepEqual(corsFields(res), [])
      assert.ok(varyNames(res).includes('origin'))
    })

    test("the framework's own 404 gets the fields too", async () => {
      const res = await send('GET', '/nowhere', { Origin: APP })
      assert.equal(res.status, 404)
      assert.equal(res.headers['access-control-allow-origin'], APP)
    })
  })

  describe(`CORS around ${framework} routes, with a function for the origins`, () => {
    let port: number
    let close: () => Promise<void>
    const asked: EngineRequest[] = []
    before(async () => {
      const policy: CorsOptions = {
        origin: async (origin, request) => {
          asked.push(request)
          return origin === APP && request.url.startsWith('/api/')
        },
        methods: ['PUT'],
      }
      ;({ port, close } = await serve(await start(policy)))
    })
    after(() => close())

    test('is called with the origin and the request; its answer decides', async () => {
      const allowed = await rawRequest(port, requestHead('GET', '/api/items', { Origin: APP }))
      assert.equal(allowed.headers['access-control-allow-origin'], APP)
      assert.equal(asked.at(-1)?.method, 'GET')
      assert.equal(asked.at(-1)?.headers.origin, APP)
      const elsewhere = await rawRequest(port, requestHead('GET', '/nowhere', { Origin: APP }))
      assert.equal(elsewhere.headers['access-control-allow-origin'], undefined)
      const before = ran
      const refused = await rawRequest(
        port,
        requestHead('PUT', '/api/items', { Origin: EVIL, 'Content-Length': '0' }),
      )
      assert.equal(refused.status, 403)
      assert.equal(ran, before)
    })
  })
}

describe('bad CORS options are a TypeError when the wrapper is made', () => {
  const wrappers: Record<string, (policy: CorsOptions) => Promise<unknown>> = {
    corsMiddleware: async (policy) => corsMiddleware(policy),
    fastifyCors: async (policy) => {
      const app = Fastify()
      try {
        await app.register(fastifyCors, policy)
      } finally {
        await app.close().catch(() => {})
      }
    },
    withCorsFetch: async (policy) => withCorsFetch(() => new Response('x'), policy),
  }
  const cases: [string, unknown, RegExp][] = [
    ['no origin', {}, /^sluice: option 'cors\.origin': expected the origins allowed/],
    [
      '* with credentials',
      { origin: ['*'], credentials: true },
      /^sluice: option 'cors\.origin\[0\]': '\*' cannot be used with credentials/,
    ],
    ['an unknown option', { origin: '*', maxage: 5 }, /^sluice: unknown option 'cors\.maxage'$/],
    ['maxAge as text', { origin: '*', maxAge: '60' }, /^sluice: option 'cors\.maxAge': expected/],
  ]
  for (const [name, policy, pattern] of cases) {
    test(name, async () => {
      for (const [wrapper, make] of Object.entries(wrappers)) {
        await assert.rejects(
          make(policy as CorsOptions),
          (error: unknown) => error instanceof TypeError && pattern.test(error.message),
          wrapper,
        )
      }
    })
  }
  test('a logger that is not pino', () => {
    assert.throws(
      () => corsMiddleware({ origin: '*' }, { logger: {} as never }),
      /^TypeError: sluice: option 'logger': expected a pino logger/,
    )
  })
})
