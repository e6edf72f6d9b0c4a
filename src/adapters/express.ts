/**
 * Express and Connect: `expressMiddleware(options)` answers for the files it has and calls
 * `next()` for everything else (no file, or a method sluice does not handle), so routes after
 * it still run; `corsMiddleware(policy)` is sluice's CORS alone, around the application's own
 * routes.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { discardReply, textReply } from '../http/reply.js'
import { writeReply } from '../http/reply-writer.js'
import { NodeRequestContent } from '../http/request-content.js'
import { hasContent } from '../http/request-fields.js'
import { responseWriterFor } from '../http/response-writer.js'
import {
  type AppCorsSettings,
  type CorsOptions,
  type MiddlewareOptions,
  resolveMiddlewareOptions,
} from '../options.js'
import { addCorsFields, createAppCors } from './app-cors.js'

/** The parts of an Express (or Connect) request sluice reads. */
export interface MiddlewareRequest extends IncomingMessage {
  /** Express: the mount path that was stripped from `url`. */
  baseUrl?: string
  /** Express: the URL before the mount path was stripped. */
  originalUrl?: string
}

export type Middleware = (
  req: MiddlewareRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void

/** Said to a client whose PUT content a body parser read before sluice could. */
const CONTENT_CONSUMED =
  'Internal Server Error: the request content was read before sluice could store it; nothing was changed'

/**
 * Express or Connect middleware serving `options.root` under its mount path (options:
 * docs/API.md "Options"; `fallthrough: false` answers 404 and 405 itself). With `writable`,
 * mount it before any body parser that could read a PUT's content.
 * @example
 * import express from 'express'
 * import { expressMiddleware } from 'sluice'
 * const app = express()
 * app.use('/static', expressMiddleware({ root: './public' }))
 * app.listen(8080)
 */
export function expressMiddleware(options: MiddlewareOptions): Middleware {
  const { engine, fallthrough, logger, writable } = resolveMiddlewareOptions(options)
  return (req, res, next) => {
    const method = req.method ?? 'GET'
    const base = req.baseUrl ?? ''
    // Express strips the mount path and leaves '/' for both `/static` and `/static/`.
    const atMount =
      base !== '' && req.originalUrl !== undefined && !req.originalUrl.startsWith(`${base}/`)
    const url = atMount ? (req.url ?? '/').slice(1) : (req.url ?? '/')
    if (writable && method === 'PUT' && contentConsumed(req)) {
      // Storing what is left (nothing) would replace the file with an empty one.
      logger.error(
        { method, path: req.originalUrl ?? req.url },
        'sluice: a body parser read this PUT content before sluice; mount expressMiddleware before body parsers, or limit them to other paths',
      )
      writeReply(textReply(500, CONTENT_CONSUMED), method, responseWriterFor(res))
      return
    }
    const writer = responseWriterFor(res)
    const body = writable ? new NodeRequestContent(req, writer) : undefined
    engine({ method, url, headers: req.headers, base, body })
      .then((reply) => {
        if (fallthrough && reply.fallthrough) {
          discardReply(reply)
          addCorsFields(
            reply,
            (name) => res.getHeader(name),
            (name, value) => res.setHeader(name, value),
          )
          next()
          return
        }
        if (body?.mustClose()) writer.closeAfterResponse()
        writeReply(reply, method, writer)
      })
      .catch((error: unknown) => {
        // The engine failed, or the next handler threw: the framework's error handling decides,
        // unless this response has started. Nothing escapes as an unhandled rejection.
        try {
          if (res.headersSent) res.destroy()
          else next(error)
        } catch {
          res.destroy()
        }
      })
  }
}

/**
 * CORS for an Express or Connect application's own routes, with the policy, validation and
 * answers of `sluice serve`'s `--cors-*` options (docs/API.md "CORS"): it answers preflights
 * itself, refuses unsafe methods from origins the policy does not allow with 403 before the
 * routes run, and adds the Access-Control-* fields and `Vary: Origin` to every other response.
 * Set Vary in your routes with `res.vary()`, which keeps what is there.
 * @example
 * import express from 'express'
 * import { corsMiddleware } from 'sluice'
 * const app = express()
 * app.use('/api', corsMiddleware({ origin: ['https://app.example'], credentials: true, methods: ['PUT'] }))
 * app.get('/api/me', (req, res) => res.json({ name: 'ada' }))
 * app.listen(8080)
 */
export function corsMiddleware(policy: CorsOptions, settings?: AppCorsSettings): Middleware {
  const cors = createAppCors(policy, settings)
  return (req, res, next) => {
    const method = req.method ?? 'GET'
    cors({ method, url: req.originalUrl ?? req.url ?? '/', headers: req.headers }).then((reply) => {
      if (!reply.fallthrough) {
        writeReply(reply, method, responseWriterFor(res))
        return
      }
      addCorsFields(
        reply,
        (name) => res.getHeader(name),
        (name, value) => res.setHeader(name, value),
      )
      next()
    }, next)
  }
}

/**
 * Whether content the request announces has already been read by someone else (a body parser):
 * the stream was read, or body-parser marked it. `req.body` alone is no sign: Express 4's
 * body-parser sets it to `{}` without reading content it does not parse.
 */
function contentConsumed(req: IncomingMessage): boolean {
  if (!hasContent(req.headers)) return false
  return req.readableDidRead || req.readableEnded || (req as { _body?: unknown })._body === true
}
