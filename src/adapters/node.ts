/**
 * node:http: `createHandler(options)` is a `(req, res)` request listener that behaves exactly as
 * `sluice serve` does; `sendRepresentation` and `checkWritePreconditions` give an application's
 * own responses and writes the same conditional semantics. The two helpers take node's `req`
 * and `res`, so they serve Express too, and Fastify through `request.raw` and `reply.raw`.
 */

import { createSecureContext } from 'node:tls'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Http2SecureServer } from 'node:http2'
import {
  createNodeHandler,
  createStreamHandler,
  type RequestHandler,
} from '../http/node-handler.js'
import { type DynamicRepresentation, replyWithRepresentation } from '../http/representation.js'
import { writeReply } from '../http/reply-writer.js'
import { responseWriterFor } from '../http/response-writer.js'
import {
  createHttpServer,
  createTlsServer,
  type ServerLimits,
  TLS_SETTINGS,
  type TlsCredentials,
} from '../http/server.js'
import { type CurrentVersion, replyToWriteGate, type WriteGateOptions } from '../http/write-gate.js'
import { resolveOptions, type SluiceOptions } from '../options.js'

/**
 * A node:http request listener serving `options.root` (options: docs/API.md "Options").
 * @example
 * import { createServer } from 'node:http'
 * import { createHandler } from 'sluice'
 * createServer(createHandler({ root: './public', cors: { origin: 'https://app.example' } })).listen(8080)
 */
export function createHandler(options: SluiceOptions): RequestHandler {
  const { engine, logger } = resolveOptions(options)
  return createNodeHandler(engine, logger)
}

export type ServerOptions = SluiceOptions & {
  /**
   * Serve HTTPS: HTTP/2 and HTTP/1.1 on one port, chosen by ALPN, with this PEM certificate
   * (chain) and private key. Without it, plaintext HTTP/1.1.
   */
  readonly tls?: TlsCredentials
  /** The connection and request limits of `sluice serve` (docs/SECURITY.md), and its defaults. */
  readonly limits?: ServerLimits
}

/**
 * A server for `options.root` with `sluice serve`'s limits, not yet listening: node:http, or
 * with `tls` a node:http2 TLS server answering HTTP/2 and HTTP/1.1 (options: docs/API.md).
 * @example
 * import { readFileSync } from 'node:fs'
 * import { createServer } from 'sluice'
 * const tls = { cert: readFileSync('cert.pem'), key: readFileSync('key.pem') }
 * createServer({ root: './public', tls }).listen(8443)
 */
export function createServer(options: ServerOptions): Server | Http2SecureServer {
  const { tls, limits = {}, ...rest } = options ?? ({} as ServerOptions)
  const { engine, logger } = resolveOptions(rest)
  const handler = createNodeHandler(engine, logger)
  if (tls === undefined) return createHttpServer(handler, limits, logger)
  checkTlsOption(tls)
  const stream = createStreamHandler(engine, logger, limits.maxUrlLength)
  return createTlsServer({ request: handler, stream }, tls, limits, logger)
}

function checkTlsOption(tls: TlsCredentials): void {
  const pem = (value: unknown) => typeof value === 'string' || Buffer.isBuffer(value)
  if (typeof tls !== 'object' || tls === null || !pem(tls.cert) || !pem(tls.key)) {
    throw new TypeError("sluice: option 'tls': expected { cert, key }, each a PEM string or Buffer")
  }
  try {
    createSecureContext({ ...TLS_SETTINGS, cert: tls.cert, key: tls.key })
  } catch (error) {
    throw new TypeError(`sluice: option 'tls': ${(error as Error).message}`, { cause: error })
  }
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
