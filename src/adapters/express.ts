/**
 * Express and Connect: middleware that answers for the files it has and calls `next()` for
 * everything else (no file, or a method sluice does not handle), so routes after it still run.
 *
 * @example
 * import express from 'express'
 * import { expressMiddleware } from 'sluice'
 * const app = express()
 * app.use('/static', expressMiddleware({ root: './public' }))
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { writeReply } from '../http/node-writer.js'
import { discardReply } from '../http/reply.js'
import { buildMiddlewareEngine, type MiddlewareOptions } from '../options.js'

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

export function expressMiddleware(options: MiddlewareOptions): Middleware {
  const { engine, fallthrough } = buildMiddlewareEngine(options)
  return (req, res, next) => {
    const method = req.method ?? 'GET'
    const base = req.baseUrl ?? ''
    // Express strips the mount path and leaves '/' for both `/static` and `/static/`.
    const atMount =
      base !== '' && req.originalUrl !== undefined && !req.originalUrl.startsWith(`${base}/`)
    const url = atMount ? (req.url ?? '/').slice(1) : (req.url ?? '/')
    engine({ method, url, headers: req.headers, base })
      .then((reply) => {
        if (fallthrough && reply.fallthrough) {
          discardReply(reply)
          next()
          return
        }
        writeReply(reply, method, res)
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
