/**
 * Fastify: `fastifyPlugin` serves files under its registration prefix and leaves everything
 * else to Fastify's not-found handling; `fastifyCors` is sluice's CORS alone, as hooks around
 * the application's own routes.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { discardReply, type Reply } from '../http/reply.js'
import { writeReply } from '../http/reply-writer.js'
import { NodeRequestContent } from '../http/request-content.js'
import { responseWriterFor } from '../http/response-writer.js'
import {
  type AppCorsSettings,
  type CorsOptions,
  type MiddlewareOptions,
  resolveMiddlewareOptions,
} from '../options.js'
import { addCorsFields, createAppCors } from './app-cors.js'

/** The parts of a Fastify request the plugins use. */
interface FastifyRequestLike {
  readonly raw: IncomingMessage
}

/** The parts of a Fastify reply the plugins use. */
interface FastifyReplyLike {
  readonly raw: ServerResponse
  hijack(): unknown
  callNotFound(): unknown
  header(name: string, value: string): unknown
  getHeader(name: string): unknown
}

type Hook = (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<void>
type SendHook = (
  request: FastifyRequestLike,
  reply: FastifyReplyLike,
  payload: unknown,
) => Promise<unknown>

/** The parts of a Fastify instance the plugins use. */
interface FastifyLike {
  readonly prefix: string
  route(options: {
    method: string[]
    url: string
    exposeHeadRoute?: boolean
    handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<void>
  }): unknown
  removeAllContentTypeParsers(): unknown
  addContentTypeParser(
    contentType: string,
    parser: (
      request: unknown,
      payload: unknown,
      done: (error: Error | null, body?: unknown) => void,
    ) => void,
  ): unknown
  addHook(name: 'onRequest', hook: Hook): unknown
  addHook(name: 'onSend', hook: SendHook): unknown
}

export type FastifyPluginOptions = MiddlewareOptions & {
  /** Fastify's registration prefix (applied by Fastify itself). */
  readonly prefix?: string
}

/** Fastify's own registration options, which it passes to the plugin with the others. */
const REGISTRATION = ['prefix', 'logLevel', 'logSerializers'] as const

/**
 * A Fastify plugin serving `root` under its registration prefix (options: docs/API.md
 * "Options"). With `writable`, PUT and DELETE are routed to sluice too; in the plugin's own
 * context every content type is passed through unread, so a PUT's content reaches the store as
 * sent (Fastify's body limit does not apply; `maxBody` does).
 * @example
 * import Fastify from 'fastify'
 * import { fastifyPlugin } from 'sluice'
 * const app = Fastify()
 * await app.register(fastifyPlugin, { root: './public', prefix: '/static' })
 * await app.listen({ port: 8080 })
 */
export async function fastifyPlugin(
  fastify: FastifyLike,
  options: FastifyPluginOptions,
): Promise<void> {
  const { engine, fallthrough, writable } = resolveMiddlewareOptions(
    withoutRegistration(options) as MiddlewareOptions,
  )
  const base = fastify.prefix
  // sluice reads a PUT's content itself, and answers any other request that has some (405, or
  // a fallthrough) without it: every content type passes through unread, so none gets Fastify's
  // 415 or body limit. The plugin's context is encapsulated: the application's parsers
  // elsewhere are untouched.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null))
  const handler = async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
    const raw = request.raw
    const method = raw.method ?? 'GET'
    const url = (raw.url ?? '/').slice(base.length)
    const writer = responseWriterFor(reply.raw)
    const body = writable ? new NodeRequestContent(raw, writer) : undefined
    const decided = await engine({ method, url, headers: raw.headers, base, body })
    if (fallthrough && decided.fallthrough) {
      discardReply(decided)
      addCorsFields(
        decided,
        (name) => reply.getHeader(name),
        (name, value) => reply.header(name, value),
      )
      reply.callNotFound()
      return
    }
    if (body?.mustClose()) writer.closeAfterResponse()
    reply.hijack()
    writeReply(decided, method, writer)
  }
  // With fallthrough, only the methods sluice serves are routed here; without it, every
  // method Fastify knows is, so unhandled ones get sluice's 405 with Allow.
  const served = writable ? ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'] : ['GET', 'HEAD', 'OPTIONS']
  const methods = fallthrough
    ? served
    : ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH']
  fastify.route({ method: methods, url: '/*', exposeHeadRoute: false, handler })
  if (base !== '') fastify.route({ method: methods, url: '/', exposeHeadRoute: false, handler })
}

export type FastifyCorsOptions = CorsOptions & AppCorsSettings

/**
 * CORS for a Fastify application's routes, with the policy, validation and answers of
 * `sluice serve`'s `--cors-*` options (docs/API.md "CORS"). Registered once, its hooks cover
 * the whole application (it is not encapsulated), including Fastify's 404s: preflights are
 * answered in `onRequest`, unsafe methods from origins the policy does not allow get 403
 * before any route runs, and every other response gets the Access-Control-* fields and
 * `Vary: Origin` (merged in `onSend` with the Vary a route sets).
 * @example
 * import Fastify from 'fastify'
 * import { fastifyCors } from 'sluice'
 * const app = Fastify()
 * await app.register(fastifyCors, { origin: ['https://app.example'], methods: ['PUT'] })
 * app.get('/api/me', async () => ({ name: 'ada' }))
 * await app.listen({ port: 8080 })
 */
export async function fastifyCors(
  fastify: FastifyLike,
  options: FastifyCorsOptions,
): Promise<void> {
  const { logger, ...policy } = withoutRegistration(options) as FastifyCorsOptions
  const cors = createAppCors(policy, logger === undefined ? {} : { logger })
  const passedOn = new WeakMap<FastifyRequestLike, Reply>()
  fastify.addHook('onRequest', async (request, reply) => {
    const raw = request.raw
    const method = raw.method ?? 'GET'
    const decided = await cors({ method, url: raw.url ?? '/', headers: raw.headers })
    if (!decided.fallthrough) {
      reply.hijack()
      writeReply(decided, method, responseWriterFor(reply.raw))
      return
    }
    // On the raw response, so they survive a route that hijacks the reply (fastifyPlugin);
    // Vary again in onSend, merged with the one a route may have set meanwhile.
    const response = reply.raw
    addCorsFields(
      decided,
      (name) => response.getHeader(name),
      (name, value) => response.setHeader(name, value),
    )
    passedOn.set(request, decided)
  })
  fastify.addHook('onSend', async (request, reply, payload) => {
    const decided = passedOn.get(request)
    if (decided !== undefined) {
      addCorsFields(
        decided,
        (name) => reply.getHeader(name),
        (name, value) => reply.header(name, value),
      )
    }
    return payload
  })
}
// What the fastify-plugin package does: the hooks apply to the registering context and its
// children, not to a context of their own.
Object.assign(fastifyCors, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'sluice-cors',
})

function withoutRegistration(options: object): object {
  const rest: Record<string, unknown> = { ...(options ?? {}) }
  for (const key of REGISTRATION) delete rest[key]
  return rest
}
