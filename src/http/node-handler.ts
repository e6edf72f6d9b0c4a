/**
 * The handlers that take a request from node: for node:http's (req, res), and for an HTTP/2
 * stream of node:http2. Each offers the request to the fast lane first, else to the engine,
 * and writes the reply to the response's writer, with one access log line per request.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2'
import { type Logger, silentLogger } from '../log.js'
import { logRequest, nextRequestId } from './access-log.js'
import type { Engine } from './engine.js'
import type { FastReply } from './fast-path.js'
import { Http1Response } from './http1-response.js'
import { http2FieldsFromList, Http2StreamResponse } from './http2-stream.js'
import { refuseMalformedStream } from './malformed-requests.js'
import { type Reply, textReply } from './reply.js'
import { sendFile, writeReply } from './reply-writer.js'
import { NodeRequestContent } from './request-content.js'
import { hasContent, type RequestHeaders } from './request-fields.js'
import type { ResponseWriter } from './response-writer.js'
import { DEFAULT_SERVER_LIMITS } from './server.js'

/** A node:http request listener. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * A node:http request listener that is also one for node:http2's compatibility API (a server
 * made with `http2.createSecureServer({ allowHTTP1: true, ... }, handler)`), whose HTTP/2
 * requests it answers on their streams.
 */
export type RequestHandler = NodeHandler &
  ((req: Http2ServerRequest, res: Http2ServerResponse) => void)

/** A listener for node:http2's 'stream' event: one request on its stream. */
export type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void

/**
 * A node:http request handler over an engine, logging one line per request.
 * @example createServer(createNodeHandler(createEngine({ store }), pino())).listen(8080)
 */
export function createNodeHandler(engine: Engine, logger: Logger = silentLogger()): RequestHandler {
  const fast = engine.fast
  let streams: StreamHandler | undefined
  return ((
    request: IncomingMessage | Http2ServerRequest,
    response: ServerResponse | Http2ServerResponse,
  ) => {
    if (request.httpVersionMajor === 2) {
      // node:http2's compatibility objects: the request is answered on its stream.
      streams ??= createStreamHandler(engine, logger)
      return streams((response as Http2ServerResponse).stream, request.headers)
    }
    const req = request as IncomingMessage
    const res = response as ServerResponse
    // The hot cases first, answered from prebuilt parts (fast-path.ts); never with content.
    if (fast !== undefined && !hasContent(req.headers)) {
      const reply = fast(req.method ?? 'GET', req.url ?? '/', req.headers)
      if (reply !== undefined) return writeFast(reply, req, res, logger)
    }
    const method = req.method ?? 'GET'
    const writer = new Http1Response(res)
    const body = new NodeRequestContent(req, req.headers, writer)
    answer(engine, logger, req.httpVersion, method, req.url ?? '/', req.headers, writer, body)
  }) as RequestHandler
}

/**
 * A node:http2 'stream' listener over an engine, logging one line per request. Requests the
 * server must not serve (no authority, an over-long :path, CONNECT) are refused first
 * (malformed-requests.ts).
 * @example http2.createSecureServer({ cert, key }).on('stream', createStreamHandler(engine))
 */
export function createStreamHandler(
  engine: Engine,
  logger: Logger = silentLogger(),
  maxUrlLength: number = DEFAULT_SERVER_LIMITS.maxUrlLength,
): StreamHandler {
  const fast = engine.fast
  return (stream, headers) => {
    // A stream the client resets, or one its session loses, emits 'error': that request's
    // alone (the writer sees the stream closed), never the process's.
    stream.on('error', ignore)
    if (refuseMalformedStream(stream, headers, maxUrlLength, logger)) return
    const method = headers[':method']!
    const url = headers[':path']!
    // RFC 9113 section 8.3.1: the authority is in :authority; the engine and the CORS layer
    // read it as Host (malformed-requests.ts has checked that the two agree).
    headers.host ??= headers[':authority']
    const ended = stream.endAfterHeaders
    if (fast !== undefined && ended) {
      const reply = fast(method, url, headers)
      if (reply !== undefined) return writeFastStream(reply, stream, method, url, logger)
    }
    const writer = new Http2StreamResponse(stream)
    const body = ended ? undefined : new NodeRequestContent(stream, headers, writer, 'http2')
    answer(engine, logger, '2.0', method, url, headers, writer, body)
  }
}

function ignore(): void {}

/** The engine's reply to a request, written to `writer`, then logged. */
function answer(
  engine: Engine,
  logger: Logger,
  version: string,
  method: string,
  url: string,
  headers: RequestHeaders,
  writer: ResponseWriter,
  body: NodeRequestContent | undefined,
): void {
  const started = performance.now()
  const id = nextRequestId()
  const write = (reply: Reply) => {
    if (body?.mustClose()) writer.closeAfterResponse()
    writeReply(reply, method, writer, (outcome) =>
      logRequest(logger, id, version, method, url, reply, started, outcome),
    )
  }
  engine({ method, url, headers, body })
    .then(write, (error: unknown) => {
      // An error inside the engine or a store is this request's alone: a fixed 500, the
      // details in the log only.
      logger.error({ id, err: error }, 'request failed')
      write(textReply(500, 'Internal Server Error'))
    })
    .catch((error: unknown) => {
      // Not reached unless logging itself fails; never let it become an unhandled rejection.
      writer.cutOff()
      process.emitWarning(`sluice: ${(error as Error)?.message ?? String(error)}`)
    })
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
      logRequest(logger, undefined, req.httpVersion, method, req.url, reply, started, outcome)
    })
    return
  }
  const body = method === 'HEAD' ? undefined : reply.body
  res.end(body)
  const outcome = { status: reply.status, bytes: body?.length ?? 0 }
  logRequest(logger, undefined, req.httpVersion, method, req.url, reply, started, outcome)
}

/** The HTTP/2 header block of each prebuilt answer, built once (fast-path.ts keeps the list). */
const http2Heads = new WeakMap<FastReply, OutgoingHttpHeaders>()

/** The fast lane's answer on an HTTP/2 stream: one HEADERS frame, then the bytes or the file. */
function writeFastStream(
  reply: FastReply,
  stream: ServerHttp2Stream,
  method: string,
  url: string,
  logger: Logger,
) {
  const started = performance.now()
  let fields = http2Heads.get(reply)
  if (fields === undefined) {
    fields = http2FieldsFromList(reply.status, reply.head)
    http2Heads.set(reply, fields)
  }
  if (stream.destroyed || stream.closed) return
  const held = reply.stream
  if (held !== undefined && method !== 'HEAD') {
    const file = held.open()
    stream.respond(fields)
    sendFile(
      file,
      [{ start: 0, end: file.size - 1 }],
      new Http2StreamResponse(stream),
      (bytes, error) => {
        const outcome = { status: reply.status, bytes, ...(error && { error }) }
        logRequest(logger, undefined, '2.0', method, url, reply, started, outcome)
      },
    )
    return
  }
  const body = method === 'HEAD' ? undefined : reply.body
  const empty = body === undefined || body.length === 0
  stream.respond(fields, { endStream: empty })
  if (!empty) stream.end(body)
  const outcome = { status: reply.status, bytes: body?.length ?? 0 }
  logRequest(logger, undefined, '2.0', method, url, reply, started, outcome)
}
