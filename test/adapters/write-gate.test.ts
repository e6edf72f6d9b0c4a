/**
 * The precondition gate for an application's own writes (RFC 9110 section 13.2.2, RFC 6585
 * section 3), through each adapter's helper over a real socket: one in-memory document per
 * framework, read with `sendRepresentation` / `representationResponse` (which compute the
 * strong ETag `etagFor` gives) and written through `checkWritePreconditions` /
 * `writePreconditionsResponse` with `requirePreconditions`.
 */

import assert from 'node:assert/strict'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { getRequestListener } from '@hono/node-server'
import express from 'express'
import { Hono } from 'hono'
import { representationResponse, writePreconditionsResponse } from '../../src/adapters/fetch.js'
import { checkWritePreconditions, sendRepresentation } from '../../src/adapters/node.js'
import { etagFor } from '../../src/http/representation.js'
import type { NodeHandler } from '../../src/http/node-handler.js'
import { createHttpServer } from '../../src/http/server.js'
import { replyToWriteGate } from '../../src/http/write-gate.js'
import { fastifyApp, serve } from '../support/server.js'
import { expectedTag, send } from '../support/writes.js'

/** A document that may not exist (undefined), and when it last changed. */
interface Doc {
  text: string | undefined
  modified: number
  /** Updates applied: a refused write must not add to it. */
  writes: number
}

const OPTIONS = { requirePreconditions: true }
const version = (doc: Doc) =>
  doc.text === undefined ? undefined : { etag: etagFor(doc.text), lastModified: doc.modified }

/** Applies a PUT or DELETE the gate let through; no await between the gate and this. */
function apply(doc: Doc, method: string, text: string): { status: number; etag?: string } {
  const existed = doc.text !== undefined
  doc.writes++
  doc.modified = Date.now()
  if (method === 'DELETE') {
    doc.text = undefined
    return { status: 204 }
  }
  doc.text = text
  return { status: existed ? 204 : 201, etag: etagFor(text) }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += chunk
  return text
}

function nodeDoc(doc: Doc) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (doc.text === undefined) res.writeHead(404).end()
      else sendRepresentation(req, res, { body: doc.text, lastModified: doc.modified })
      return
    }
    const text = await readBody(req)
    if (!checkWritePreconditions(req, res, version(doc), OPTIONS)) return
    const done = apply(doc, req.method!, text)
    res.writeHead(done.status, done.etag === undefined ? {} : { ETag: done.etag }).end()
  }
}

const ADAPTERS: Record<string, (doc: Doc) => Promise<Server>> = {
  async node(doc) {
    return createHttpServer(nodeDoc(doc) as unknown as NodeHandler)
  },
  async express(doc) {
    const app = express()
    app.get('/doc', (req, res) => {
      if (doc.text === undefined) res.sendStatus(404)
      else sendRepresentation(req, res, { body: doc.text, lastModified: doc.modified })
    })
    app.put('/doc', express.text({ type: () => true }), (req, res) => {
      if (!checkWritePreconditions(req, res, version(doc), OPTIONS)) return
      const done = apply(doc, 'PUT', String(req.body ?? ''))
      res.status(done.status).set('ETag', done.etag).end()
    })
    app.delete('/doc', (req, res) => {
      if (!checkWritePreconditions(req, res, version(doc), OPTIONS)) return
      res.status(apply(doc, 'DELETE', '').status).end()
    })
    return createHttpServer(app as unknown as NodeHandler)
  },
  async fastify(doc) {
    const { app, server } = fastifyApp()
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body))
    app.get('/doc', async (request, reply) => {
      if (doc.text === undefined) return reply.code(404).send()
      reply.hijack()
      sendRepresentation(request.raw, reply.raw, { body: doc.text, lastModified: doc.modified })
    })
    app.route({
      method: ['PUT', 'DELETE'],
      url: '/doc',
      handler: async (request, reply) => {
        if (!checkWritePreconditions(request.raw, reply.raw, version(doc), OPTIONS)) {
          reply.hijack()
          return
        }
        const done = apply(doc, request.method, String(request.body ?? ''))
        if (done.etag !== undefined) reply.header('ETag', done.etag)
        return reply.code(done.status).send()
      },
    })
    await app.ready()
    return server()
  },
  async fetch(doc) {
    const app = new Hono()
    app.get('/doc', (c) =>
      doc.text === undefined
        ? c.body(null, 404)
        : representationResponse(c.req.raw, { body: doc.text, lastModified: doc.modified }),
    )
    app.on(['PUT', 'DELETE'], '/doc', async (c) => {
      const text = await c.req.text()
      const refused = writePreconditionsResponse(c.req.raw, version(doc), OPTIONS)
      if (refused) return refused
      const done = apply(doc, c.req.method, text)
      return c.body(null, done.status as 201, done.etag === undefined ? {} : { ETag: done.etag })
    })
    return createHttpServer(getRequestListener(app.fetch) as unknown as NodeHandler)
  },
}

for (const [adapter, start] of Object.entries(ADAPTERS)) {
  describe(`the write gate through the ${adapter} adapter`, () => {
    const doc: Doc = { text: 'v1', modified: Date.parse('2024-01-01T00:00:00Z'), writes: 0 }
    let url: string
    let close: () => Promise<void>
    before(async () => {
      const listening = await serve(await start(doc))
      url = `${listening.url}/doc`
      close = listening.close
    })
    after(() => close())

    test('GET names the version with the ETag etagFor gives', async () => {
      const res = await send('GET', url)
      assert.equal(res.text, 'v1')
      assert.equal(res.headers.get('etag'), expectedTag('v1'))
    })

    test('a write without a precondition: 428, and the application changes nothing', async () => {
      const before = doc.writes
      const res = await send('PUT', url, 'blind')
      assert.equal(res.status, 428)
      assert.match(res.text, /send If-Match/)
      assert.equal(res.headers.get('cache-control'), 'no-store')
      assert.equal(doc.writes, before)
      assert.equal(doc.text, 'v1')
    })

    test('a stale or weak If-Match: 412, nothing changed (13.1.1: strong comparison)', async () => {
      const before = doc.writes
      for (const tag of [expectedTag('v0'), `W/${expectedTag('v1')}`]) {
        const res = await send('PUT', url, 'late', { 'If-Match': tag })
        assert.equal(res.status, 412, tag)
        assert.match(res.text, /If-Match does not hold/)
      }
      assert.equal(doc.writes, before)
    })

    test('If-Unmodified-Since before the last change: 412', async () => {
      const res = await send('PUT', url, 'late', {
        'If-Unmodified-Since': 'Sun, 31 Dec 2023 23:59:59 GMT',
      })
      assert.equal(res.status, 412)
    })

    test('the current ETag: the write goes ahead, and its answer names the new version', async () => {
      const res = await send('PUT', url, 'v2', { 'If-Match': expectedTag('v1') })
      assert.equal(res.status, 204)
      assert.equal(res.headers.get('etag'), expectedTag('v2'))
      const read = await send('GET', url, undefined, { 'If-None-Match': expectedTag('v2') })
      assert.equal(read.status, 304)
    })

    test('If-None-Match: * creates only; DELETE takes If-Match too', async () => {
      const exists = await send('PUT', url, 'again', { 'If-None-Match': '*' })
      assert.equal(exists.status, 412)
      const gone = await send('DELETE', url, undefined, { 'If-Match': expectedTag('v2') })
      assert.equal(gone.status, 204)
      const created = await send('PUT', url, 'v3', { 'If-None-Match': '*' })
      assert.equal(created.status, 201)
      assert.equal(created.headers.get('etag'), expectedTag('v3'))
    })

    test('concurrent writers of one version: exactly one wins, the others get 412', async () => {
      const tag = (await send('GET', url)).headers.get('etag')!
      const before = doc.writes
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) => send('PUT', url, `writer ${i}`, { 'If-Match': tag })),
      )
      const statuses = answers.map((a) => a.status).sort()
      assert.deepEqual(statuses, [204, ...Array(15).fill(412)])
      assert.equal(doc.writes, before + 1)
    })
  })
}

describe('replyToWriteGate', () => {
  test('an ETag that is not an entity-tag is a TypeError naming it', () => {
    assert.throws(
      () => replyToWriteGate({ method: 'PUT', headers: {} }, { etag: 'v1' }),
      /^TypeError: sluice: 'etag' must be an entity-tag/,
    )
  })
  test('a missing resource needs no precondition, even when they are required (RFC 6585)', () => {
    assert.equal(replyToWriteGate({ method: 'PUT', headers: {} }, undefined, OPTIONS), undefined)
  })
  test('requirePreconditions must be a boolean', () => {
    assert.throws(
      () =>
        replyToWriteGate({ method: 'PUT', headers: {} }, undefined, {
          requirePreconditions: 1 as never,
        }),
      /'requirePreconditions' must be true or false/,
    )
  })
})
