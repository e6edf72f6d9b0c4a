/**
 * The node:http request handler: the fast lane first, else the engine, whose reply is written
 * to the response with one access log line per request.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Logger, silentLogger } from '../log.js'
import { logRequest, nextRequestId } from './access-log.js'
import type { Engine } from './engine.js'
import type { FastReply } from './fast-path.js'
import { Http1Response } from './http1-response.js'
import { type Reply, textReply } from './reply.js'
import { sendFile, writeReply } from './reply-writer.js'
import { NodeRequestContent } from './request-content.js'
import { hasContent } from './request-fields.js'
import { responseWriterFor } from './response-writer.js'

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * A node:http request handler over an engine, logging one line per request.
 * @example createServer(createNodeHandler(createEngine({ store }), pino())).listen(8080)
 */
export function createNodeHandler(engine: Engine, logger: Logger = silentLogger()): NodeHandler {
  const fast = engine.fast
  return (req, res) => {
    // The hot cases first, answered from prebuilt parts (fast-path.ts); never with content.
    if (fast !== undefined && !hasContent(req.headers)) {
      const reply = fast(req.method ?? 'GET', req.url ?? '/', req.headers)
      if (reply !== undefined) return writeFast(reply, req, res, logger)
    }
    const started = performance.now()
    const id = nextRequestId()
    const method = req.method ?? 'GET'
    const writer = responseWriterFor(res)
    const body = new NodeRequestContent(req, writer)
    const write = (reply: Reply) => {
      if (body.mustClose()) writer.closeAfterResponse()
      writeReply(reply, method, writer, (outcome) =>
        logRequest(logger, id, method, req.url, reply, started, outcome),
      )
    }
    engine({ method, url: req.url ?? '/', headers: req.headers, body })
      .then(write, (error: unknown) => {
        // An error inside the engine or a store is this request's alone: a fixed 500, the
        // details in the log only.
        logger.error({ id, err: error }, 'request failed')
        write(textReply(500, 'Internal Server Error'))
      })
      .catch((error: unknown) => {
        // Not reached unless logging itself fails; never let it become an unhandled rejection.
        res.destroy()
        process.emitWarning(`sluice: ${(error as Error)?.message ?? String(error)}`)
      })
  }
}

/**
 * One writeHead with the prebuilt fields, then one end with the held bytes, or the file
 * streamed (its head sent at once, before the first read).
 */
function writeFast(reply: FastReply, req: IncomingMessage, res: ServerResponse, logger: Logger) {
  const started = performance.now()
  const method = req.method ?? 'GET'
  res.writeHead(reply.status, reply.head as string[])
  const stream = reply.stream
  if (stream !== undefined && method !== 'HEAD') {
    // The lane peeked the store in this same synchronous run, so the representation is still
    // current and open() succeeds (it throws only for one dropped since).
    const file = stream.open()
    res.flushHeaders()
    sendFile(file, [{ start: 0, end: file.size - 1 }], new Http1Response(res), (bytes, error) => {
      const outcome = { status: reply.status, bytes, ...(error && { error }) }
      logRequest(logger, undefined, method, req.url, reply, started, outcome)
    })
    return
  }
  const body = method === 'HEAD' ? undefined : reply.body
  res.end(body)
  const outcome = { status: reply.status, bytes: body?.length ?? 0 }
  logRequest(logger, undefined, method, req.url, reply, started, outcome)
}
