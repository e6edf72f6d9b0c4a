/**
 * node:http: `createHandler(options)` is a `(req, res)` request listener that behaves exactly as
 * `sluice serve` does; `sendRepresentation` and `checkWritePreconditions` give an application's
 * own responses and writes the same conditional semantics. The two helpers take node's `req`
 * and `res`, so they serve Express too, and Fastify through `request.raw` and `reply.raw`.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { createNodeHandler, type NodeHandler } from '../http/node-handler.js'
import { type DynamicRepresentation, replyWithRepresentation } from '../http/representation.js'
import { writeReply } from '../http/reply-writer.js'
import { responseWriterFor } from '../http/response-writer.js'
import { type CurrentVersion, replyToWriteGate, type WriteGateOptions } from '../http/write-gate.js'
import { resolveOptions, type SluiceOptions } from '../options.js'

/**
 * A node:http request listener serving `options.root` (options: docs/API.md "Options").
 * @example
 * import { createServer } from 'node:http'
 * import { createHandler } from 'sluice'
 * createServer(createHandler({ root: './public', cors: { origin: 'https://app.example' } })).listen(8080)
 */
export function createHandler(options: SluiceOptions): NodeHandler {
  const { engine, logger } = resolveOptions(options)
  return createNodeHandler(engine, logger)
}

/**
 * Answers a request with an application's representation, honouring its conditional and
 * range fields exactly as for files. Works with node:http, Express (`req`, `res`) and Fastify
 * (`request.raw`, `reply.raw` after `reply.hijack()`).
 * @example
 * app.get('/report.csv', (req, res) => sendRepresentation(req, res, { body: csv, contentType: 'text/csv' }))
 */
export function sendRepresentation(
  req: IncomingMessage,
  res: ServerResponse,
  representation: DynamicRepresentation,
): void {
  const method = req.method ?? 'GET'
  writeReply(
    replyWithRepresentation({ method, headers: req.headers }, representation),
    method,
    responseWriterFor(res),
  )
}

/**
 * The precondition gate for an application's own write: `current` is the resource's version
 * now (`{ etag, lastModified }`, or undefined when it does not exist). Returns true when the
 * write may go ahead; otherwise it has answered 412 (a precondition failed) or 428 (with
 * `requirePreconditions`, none was sent) and the application must not change anything. Apply
 * the change right after a true, without an `await` in between (src/http/write-gate.ts says why).
 * Fastify: call it with `request.raw` and `reply.raw`, and `reply.hijack()` when it returns false.
 * @example
 * app.put('/pages/:name', express.text(), (req, res) => {
 *   const page = pages.get(req.params.name)
 *   if (!checkWritePreconditions(req, res, page && { etag: etagFor(page) }, { requirePreconditions: true })) return
 *   pages.set(req.params.name, req.body)
 *   res.status(page ? 204 : 201).set('ETag', etagFor(req.body)).end()
 * })
 */
export function checkWritePreconditions(
  req: IncomingMessage,
  res: ServerResponse,
  current: CurrentVersion | undefined,
  options?: WriteGateOptions,
): boolean {
  const method = req.method ?? 'GET'
  const refusal = replyToWriteGate({ method, headers: req.headers }, current, options)
  if (refusal === undefined) return true
  writeReply(refusal, method, responseWriterFor(res))
  return false
}
