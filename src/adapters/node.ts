/**
 * node:http: `createHandler(options)` is a `(req, res)` request listener.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { createHandler } from 'sluice'
 * createServer(createHandler({ root: './public' })).listen(8080)
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { writeReply } from '../http/node-writer.js'
import { type DynamicRepresentation, replyWithRepresentation } from '../http/representation.js'
import { createNodeHandler, type NodeHandler } from '../http/server.js'
import { buildEngine, type SluiceOptions } from '../options.js'

export function createHandler(options: SluiceOptions): NodeHandler {
  return createNodeHandler(buildEngine(options))
}

/**
 * Answers a request with an application's representation, honouring its conditional and
 * range fields exactly as for files. Works with node:http, Express (`req`, `res`) and Fastify
 * (`request.raw`, `reply.raw` after `reply.hijack()`).
 * @example
 * app.get('/report', (req, res) => sendRepresentation(req, res, { body: csv, contentType: 'text/csv' }))
 */
export function sendRepresentation(
  req: IncomingMessage,
  res: ServerResponse,
  representation: DynamicRepresentation,
): void {
  const method = req.method ?? 'GET'
  writeReply(replyWithRepresentation({ method, headers: req.headers }, representation), method, res)
}
