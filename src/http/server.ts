/**
 * The node:http layer: a request handler that runs the engine and writes its reply, with an
 * access log line per request, and a server with graceful shutdown.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Logger, silentLogger } from '../log.js'
import type { Engine } from './engine.js'
import { writeReply } from './node-writer.js'
import { type Reply, textReply } from './reply.js'

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void

let requestCounter = 0

/**
 * A node:http request handler over an engine, logging one line per request.
 * @example createServer(createNodeHandler(createEngine({ store }), pino())).listen(8080)
 */
export function createNodeHandler(engine: Engine, logger: Logger = silentLogger()): NodeHandler {
  return (req, res) => {
    const started = performance.now()
    const id = (++requestCounter).toString(36)
    const method = req.method ?? 'GET'
    const body = new NodeRequestContent(req, res)
    engine({ method, url: req.url ?? '/', headers: req.headers, body }).then(
      (reply) => {
        if (body.mustClose()) res.setHeader('Connection', 'close')
        writeReply(reply, method, res, (error) =>
          logRequest(logger, id, req, reply, started, error),
        )
      },
      (error: unknown) => {
        logger.error({ id, err: error }, 'request failed')
        if (res.headersSent) {
          res.destroy()
          return
        }
        const reply = textReply(500, 'Internal Server Error')
        writeReply(reply, method, res, () => logRequest(logger, id, req, reply, started))
      },
    )
  }
}

/** Unread content up to this size is read and dropped after the reply, keeping the connection. */
const DRAIN_LIMIT = 1024 * 1024

/**
 * The request content as the engine reads it, and what to do with the part it did not read.
 * Stopping early leaves the stream undestroyed, so the response can still be written. A client
 * that sent `Expect: 100-continue` gets its 100 (Continue) only when the content is actually
 * wanted, so a request refused on its header fields alone never has to send its body.
 */
export class NodeRequestContent implements AsyncIterable<Uint8Array> {
  #started = false
  #continued = false

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    this.#started = true
    if (!this.#continued && this.#expectsContinue() && !this.res.headersSent) {
      this.#continued = true
      this.res.writeContinue()
    }
    return this.req.iterator({ destroyOnReturn: false })
  }

  /**
   * Whether the connection must end after a reply that left content unread (413, 412, 409...).
   * The unread bytes would be taken for the next request; node:http reads and drops them when
   * nobody started reading, which is cheap for a small body. A large or unbounded one, a body
   * read halfway, or one the client holds back until 100 (Continue) (RFC 9110 section
   * 10.1.1) ends the connection instead.
   */
  mustClose(): boolean {
    const req = this.req
    if (req.readableEnded) return false
    const length = req.headers['content-length']
    const chunked = req.headers['transfer-encoding'] !== undefined
    if (!chunked && (length === undefined || length === '0')) return false
    if (this.#started || chunked || (this.#expectsContinue() && !this.#continued)) return true
    return Number(length) > DRAIN_LIMIT
  }

  #expectsContinue(): boolean {
    return /100-continue/i.test(this.req.headers.expect ?? '')
  }
}

function logRequest(
  logger: Logger,
  id: string,
  req: IncomingMessage,
  reply: Reply,
  started: number,
  error?: Error,
): void {
  if (!logger.isLevelEnabled('info') && error === undefined) return
  const length = reply.headers['Content-Length']
  const entry = {
    id,
    method: req.method,
    path: req.url,
    status: reply.status,
    bytes: req.method === 'HEAD' || typeof length !== 'number' ? 0 : length,
    ms: Math.round((performance.now() - started) * 10) / 10,
    ...reply.notes,
  }
  if (error !== undefined) {
    logger.warn({ ...entry, error: error.message }, 'response cut off')
  } else {
    logger.info(entry, 'request')
  }
}

export interface ServerLimits {
  /** Time allowed to receive a request's header fields. */
  readonly headersTimeoutMs?: number
  /** Time allowed to receive a whole request, body included. */
  readonly requestTimeoutMs?: number
  /** How long an idle keep-alive connection is kept. */
  readonly keepAliveTimeoutMs?: number
}

/** A node:http server with sluice's timeouts around a handler. */
export function createHttpServer(handler: NodeHandler, limits: ServerLimits = {}): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs ?? 20_000,
      requestTimeout: limits.requestTimeoutMs ?? 300_000,
      keepAliveTimeout: limits.keepAliveTimeoutMs ?? 5_000,
    },
    handler,
  )
  // Decide on 100 (Continue) in the handler (see NodeRequestContent) rather than always sending it.
  server.on('checkContinue', handler)
  return server
}

/** Listens and resolves with the URL the server answers on. */
export function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      const address = server.address() as AddressInfo
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve(`http://${shownHost}:${address.port}`)
    })
  })
}

/**
 * Stops accepting connections, lets in-flight responses finish for up to `deadlineMs`, then
 * closes whatever is left. Resolves once the server is closed.
 */
export function shutdown(server: Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs)
    // A keep-alive connection whose response finishes during the drain becomes idle later:
    // close idle connections until none is left, rather than waiting for keep-alive timeouts.
    const sweep = setInterval(() => server.closeIdleConnections(), 50)
    server.close(() => {
      clearTimeout(deadline)
      clearInterval(sweep)
      resolve()
    })
    server.closeIdleConnections()
  })
}
