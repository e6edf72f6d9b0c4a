/**
 * Fastify: a plugin that serves files under its registration prefix and leaves everything else
 * to Fastify's not-found handling.
 *
 * @example
 * import Fastify from 'fastify'
 * import { fastifyPlugin } from 'sluice'
 * const app = Fastify()
 * await app.register(fastifyPlugin, { root: './public', prefix: '/static' })
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { writeReply } from '../http/node-writer.js'
import { discardReply } from '../http/reply.js'
import { buildMiddlewareEngine, type MiddlewareOptions } from '../options.js'

/** The parts of a Fastify instance, request and reply the plugin uses. */
interface FastifyLike {
  readonly prefix: string
  route(options: {
    method: string[]
    url: string
    exposeHeadRoute?: boolean
    handler: (request: { raw: IncomingMessage }, reply: FastifyReplyLike) => Promise<void>
  }): unknown
}

interface FastifyReplyLike {
  readonly raw: ServerResponse
  hijack(): unknown
  callNotFound(): unknown
}

export type FastifyPluginOptions = MiddlewareOptions & {
  /** Fastify's registration prefix (applied by Fastify itself). */
  readonly prefix?: string
}

export async function fastifyPlugin(
  fastify: FastifyLike,
  options: FastifyPluginOptions,
): Promise<void> {
  const { prefix: _prefix, ...rest } = options
  const { engine, fallthrough } = buildMiddlewareEngine(rest)
  const base = fastify.prefix
  const handler = async (request: { raw: IncomingMessage }, reply: FastifyReplyLike) => {
    const raw = request.raw
    const method = raw.method ?? 'GET'
    const url = (raw.url ?? '/').slice(base.length)
    const decided = await engine({ method, url, headers: raw.headers, base })
    if (fallthrough && decided.fallthrough) {
      discardReply(decided)
      reply.callNotFound()
      return
    }
    reply.hijack()
    writeReply(decided, method, reply.raw)
  }
  // With fallthrough, only the methods sluice serves are routed here; without it, every
  // method Fastify knows is, so unhandled ones get sluice's 405 with Allow.
  const methods = fallthrough
    ? ['GET', 'HEAD', 'OPTIONS']
    : ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH']
  fastify.route({ method: methods, url: '/*', exposeHeadRoute: false, handler })
  if (base !== '') fastify.route({ method: methods, url: '/', exposeHeadRoute: false, handler })
}
