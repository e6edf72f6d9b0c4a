/**
 * The node:http layer: a request handler that runs the engine and writes its reply, with an
 * access log line per request, and a server with sluice's limits, clean answers to requests
 * node:http cannot parse, and graceful shutdown.
 */

import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { type Logger, silentLogger } from '../log.js'
import type { Engine } from './engine.js'
import type { FastReply } from './fast-path.js'
import { sendFile, type WriteOutcome, writeReply } from './node-writer.js'
import { type Reply, textReply } from './reply.js'

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void

let requestCounter = 0

/** A short id for one request (or one refused connection), unique within the process. */
function nextRequestId(): string {
  return (++requestCounter).toString(36)
}

/**
 * A node:http request handler over an engine, logging one line per request.
 * @example createServer(createNodeHandler(createEngine({ store }), pino())).listen(8080)
 */
export function createNodeHandler(engine: Engine, logger: Logger = silentLogger()): NodeHandler {
  const fast = engine.fast
  return (req, res) => {
    // The hot cases first, answered from prebuilt parts (fast-path.ts); never with content.
    if (fast !== undefined && !hasContent(req)) {
      const reply = fast(req.method ?? 'GET', req.url ?? '/', req.headers)
      if (reply !== undefined) return writeFast(reply, req, res, logger)
    }
    const started = performance.now()
    const id = nextRequestId()
    const method = req.method ?? 'GET'
    const body = new NodeRequestContent(req, res)
    const write = (reply: Reply) => {
      if (body.mustClose()) res.setHeader('Connection', 'close')
      writeReply(reply, method, res, (outcome) =>
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

function hasContent(req: IncomingMessage): boolean {
  return (
    req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  )
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
    sendFile(file, [{ start: 0, end: file.size - 1 }], res, (bytes, error) => {
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

/** One access log line; `id` is taken only when the line is written, unless given. */
function logRequest(
  logger: Logger,
  id: string | undefined,
  method: string,
  path: string | undefined,
  reply: Pick<Reply, 'status' | 'notes'>,
  started: number,
  outcome: WriteOutcome,
): void {
  const error = outcome.error
  if (!logger.isLevelEnabled('info') && error === undefined) return
  const entry = {
    id: id ?? nextRequestId(),
    method,
    path,
    status: outcome.status,
    bytes: outcome.bytes,
    ms: Math.round((performance.now() - started) * 10) / 10,
    ...reply.notes,
  }
  if (error === undefined) {
    logger.info(entry, 'request')
  } else if (outcome.status !== reply.status) {
    logger.error({ ...entry, error: error.message }, 'reply could not be written')
  } else {
    logger.warn({ ...entry, error: error.message }, 'response cut off')
  }
}

export interface ServerLimits {
  /** Time allowed to receive a request's header fields; then 408. Default 20 s. */
  readonly headersTimeoutMs?: number
  /** Time allowed to receive a whole request, body included; then 408. Default 300 s. */
  readonly requestTimeoutMs?: number
  /** How long an idle keep-alive connection is kept. Default 5 s. */
  readonly keepAliveTimeoutMs?: number
  /**
   * A connection on which nothing is received or sent for this long is closed (a client that
   * stopped reading its response holds a descriptor and memory). Default 60 s; 0 never.
   */
  readonly idleTimeoutMs?: number
  /**
   * Connections open at once; more are closed as soon as they are accepted. Default: half the
   * process's open-file limit (each connection may also hold an open file), at most 10,000.
   */
  readonly maxConnections?: number
  /** Requests served on one keep-alive connection before it is closed. Default 1000; 0 none. */
  readonly maxRequestsPerSocket?: number
  /** The longest request-target accepted, in bytes; longer gets 414. Default 8192. */
  readonly maxUrlLength?: number
  /** The largest request head (request line and header fields), in bytes; more gets 431. */
  readonly maxHeaderSize?: number
}

export const DEFAULT_SERVER_LIMITS = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxRequestsPerSocket: 1000,
  maxUrlLength: 8192,
  maxHeaderSize: 16_384,
} as const

/** Where the open-file limit is unknown (not Linux), and the most connections by default. */
const MAX_DEFAULT_CONNECTIONS = 10_000

/**
 * The default connection cap: half the soft open-file limit (node raises it to the hard limit
 * at start-up), so that connections, each holding at most one open file, cannot run the
 * process out of descriptors by themselves.
 */
export function defaultMaxConnections(): number {
  let limits: string
  try {
    limits = readFileSync('/proc/self/limits', 'latin1')
  } catch {
    return MAX_DEFAULT_CONNECTIONS
  }
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits)
  if (match === null || match[1] === 'unlimited') return MAX_DEFAULT_CONNECTIONS
  return Math.max(1, Math.min(MAX_DEFAULT_CONNECTIONS, Math.floor(Number(match[1]) / 2)))
}

/** A node:http server with sluice's limits around a handler. */
export function createHttpServer(
  handler: NodeHandler,
  limits: ServerLimits = {},
  logger: Logger = silentLogger(),
): Server {
  const headersTimeout = limits.headersTimeoutMs ?? DEFAULT_SERVER_LIMITS.headersTimeoutMs
  const maxUrlLength = limits.maxUrlLength ?? DEFAULT_SERVER_LIMITS.maxUrlLength
  const checked: NodeHandler = (req, res) => {
    if ((req.url?.length ?? 0) > maxUrlLength) return refuse(req, res, 414, 'URI Too Long', logger)
    // node:http also accepts a request line without a version (HTTP/0.9) or with HTTP/2.0;
    // neither is a request sluice can answer in kind.
    if (req.httpVersionMajor !== 1) return refuse(req, res, 400, NOT_HTTP_1, logger)
    const host = hostProblem(req)
    if (host !== undefined) return refuse(req, res, 400, host, logger)
    // node (20 to 22 at least) answers the last request maxRequestsPerSocket allows with
    // `Connection: close` but keeps the connection open until the keep-alive timeout; a
    // response that does not keep the connection alive closes it when it ends.
    if (
      (res as ServerResponse & { maxRequestsOnConnectionReached?: boolean })
        .maxRequestsOnConnectionReached
    ) {
      res.shouldKeepAlive = false
    }
    handler(req, res)
  }
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs ?? DEFAULT_SERVER_LIMITS.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs ?? DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderSize ?? DEFAULT_SERVER_LIMITS.maxHeaderSize,
      // Checked in the handler above, with a reason in the body (node's own 400 has none).
      requireHostHeader: false,
      // node checks the header and request timeouts on this interval (30 s by default, which
      // would let a stalled connection live for up to headersTimeout + 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    checked,
  )
  // Decide on 100 (Continue) in the handler (see NodeRequestContent) rather than always sending it.
  server.on('checkContinue', checked)
  server.maxConnections = limits.maxConnections ?? defaultMaxConnections()
  server.maxRequestsPerSocket =
    limits.maxRequestsPerSocket ?? DEFAULT_SERVER_LIMITS.maxRequestsPerSocket
  server.timeout = limits.idleTimeoutMs ?? DEFAULT_SERVER_LIMITS.idleTimeoutMs
  server.on('clientError', (error: ClientError, socket: Socket) =>
    answerClientError(error, socket, maxUrlLength, logger),
  )
  // CONNECT asks a proxy for a tunnel; without a listener node drops the connection unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Socket) =>
    answerRaw(
      socket,
      400,
      'Bad Request: CONNECT is for proxies; this is an origin server',
      false,
      logger,
    ),
  )
  trackConnections(server)
  watchServerErrors(server, logger)
  return server
}

/** A request refused before any handler sees it: a fixed reason, never a reflected byte. */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  reason: string,
  logger: Logger,
): void {
  const started = performance.now()
  const id = nextRequestId()
  const reply = textReply(status, reason, { Connection: 'close' })
  const method = req.method ?? 'GET'
  const url = req.url ?? ''
  // The log keeps only the start of an over-long target.
  const shown = url.length > 256 ? `${url.slice(0, 64)}... (${url.length} bytes)` : url
  writeReply(reply, method, res, (outcome) =>
    logRequest(logger, id, method, shown, reply, started, outcome),
  )
}

const NOT_HTTP_1 = 'Bad Request: only HTTP/1.0 and HTTP/1.1 requests are served'

/**
 * RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host, and to
 * any request with more than one Host or one whose value is not a host.
 */
function hostProblem(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders
  let count = 0
  let value = ''
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === 4 && name.toLowerCase() === 'host') {
      count++
      value = raw[i + 1]!
    }
  }
  if (count === 0) {
    return req.httpVersionMinor >= 1
      ? 'Bad Request: an HTTP/1.1 request needs a Host field'
      : undefined
  }
  if (count > 1) return 'Bad Request: more than one Host field'
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c > 0x7f || HOST_CHARS[c] !== 1) return 'Bad Request: the Host field is not a host'
  }
  return undefined
}

/** uri-host [ ":" port ] (RFC 3986): unreserved, pct-encoded, sub-delims, ':' and brackets. */
const HOST_CHARS = new Uint8Array(128)
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:[]") {
  HOST_CHARS[c.charCodeAt(0)] = 1
}

type ClientError = Error & { code?: string; rawPacket?: Buffer }

/**
 * What node:http could not parse gets a short fixed answer (never a reflected byte) and the
 * connection is closed. The statuses are node's own choices, with bodies; a head too large
 * because of its request line is 414 rather than 431 when the line is in the failing packet.
 */
function answerClientError(
  error: ClientError,
  socket: Socket,
  maxUrlLength: number,
  logger: Logger,
): void {
  const code = error.code ?? ''
  // The client reset the connection, or closed its side in the middle of a request (possibly
  // after its response was sent, with the body still to come): nobody is waiting for an answer.
  if (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'HPE_INVALID_EOF_STATE' ||
    !socket.writable
  ) {
    socket.destroy()
    return
  }
  // A response already under way on this connection cannot be followed by another.
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
  if (current?.headersSent) {
    socket.destroy()
    return
  }
  const packet = error.rawPacket
  const [status, reason] = clientErrorStatus(code, packet, maxUrlLength)
  // The answer to a HEAD request has no body, even when the request was malformed.
  const head = packet !== undefined && packet.subarray(0, 5).toString('latin1') === 'HEAD '
  answerRaw(socket, status, reason, head, logger, code)
}

/** Writes a complete fixed answer on a connection node:http has given up on, and closes it. */
function answerRaw(
  socket: Socket,
  status: number,
  reason: string,
  head: boolean,
  logger: Logger,
  code?: string,
): void {
  const body = `${reason}\n`
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${body.length}\r\n` +
      'X-Content-Type-Options: nosniff\r\n' +
      'Connection: close\r\n\r\n' +
      (head ? '' : body),
  )
  if (logger.isLevelEnabled('info')) {
    const bytes = head ? 0 : body.length
    logger.info({ id: nextRequestId(), status, bytes, reason, code }, 'request')
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
}

function clientErrorStatus(
  code: string,
  packet: Buffer | undefined,
  maxUrlLength: number,
): [number, string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return requestLineTooLong(packet, maxUrlLength)
        ? [414, 'URI Too Long']
        : [431, 'Request Header Fields Too Large']
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'Request Timeout']
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'Content Too Large: chunk extensions too long']
    case 'HPE_INVALID_METHOD':
      return [400, 'Bad Request: unknown or malformed method']
    case 'HPE_INVALID_URL':
      return [400, 'Bad Request: invalid character in the request-target']
    case 'HPE_INVALID_VERSION':
      return [400, 'Bad Request: malformed request line or HTTP version']
    case 'HPE_INVALID_HEADER_TOKEN':
      return [400, 'Bad Request: invalid header field']
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CHUNK_SIZE':
      return [400, 'Bad Request: invalid message framing']
    default:
      return [400, 'Bad Request: malformed request']
  }
}

/** The packet starts with a request line that has not ended within the URL limit. */
function requestLineTooLong(packet: Buffer | undefined, maxUrlLength: number): boolean {
  if (packet === undefined) return false
  const space = packet.indexOf(0x20)
  if (space < 1 || space > 32) return false
  for (let i = 0; i < space; i++) {
    const c = packet[i]!
    if (c < 0x41 || c > 0x5a) return false // methods node knows are upper-case letters
  }
  const lineEnd = packet.indexOf(0x0a, space)
  return lineEnd === -1 ? packet.length - space > maxUrlLength : lineEnd - space > maxUrlLength
}

const connectionsOf = new WeakMap<Server, Set<Socket>>()

/** Keeps the open connections, so shutdown can close those with no response in flight. */
function trackConnections(server: Server): void {
  const open = new Set<Socket>()
  connectionsOf.set(server, open)
  server.on('connection', (socket: Socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
  })
}

/**
 * After listening, a server only emits 'error' when accept() fails, typically EMFILE or
 * ENFILE: out of descriptors. libuv then sheds the pending connections itself (its reserved
 * descriptor trick) and keeps accepting once descriptors are free, so this is logged, at most
 * once a second, and never thrown (an 'error' without a listener would end the process).
 */
function watchServerErrors(server: Server, logger: Logger): void {
  let last = 0
  let missed = 0
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (!server.listening) return // listen() reports its own errors
    const now = Date.now()
    if (now - last < 1000) {
      missed++
      return
    }
    logger.warn(
      { code: error.code, repeated: missed },
      `cannot accept connections: ${error.message}`,
    )
    last = now
    missed = 0
  })
  let dropped = 0
  let lastDrop = 0
  server.on('drop', () => {
    dropped++
    const now = Date.now()
    if (now - lastDrop < 1000) return
    logger.warn(
      { dropped, maxConnections: server.maxConnections },
      'connection limit reached: connections closed unanswered',
    )
    lastDrop = now
    dropped = 0
  })
}

/**
 * Connections the kernel queues before they are accepted (capped by net.core.somaxconn). Node's
 * default, 511, overflows when a thousand clients connect at once: the SYNs past it are
 * dropped and retried a second later.
 */
const LISTEN_BACKLOG = 4096

/** Listens and resolves with the URL the server answers on. */
export function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError)
      const address = server.address() as AddressInfo
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve(`http://${shownHost}:${address.port}`)
    })
  })
}

/**
 * Stops accepting connections, lets in-flight responses finish for up to `deadlineMs`, then
 * closes whatever is left. Connections without a response in flight (idle keep-alive, or a
 * request head still arriving) are closed at once. Resolves once the server is closed.
 */
export function shutdown(server: Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs)
    // A keep-alive connection whose response finishes during the drain becomes idle later:
    // close idle connections until none is left, rather than waiting for keep-alive timeouts.
    const sweep = setInterval(() => closeUnanswered(server), 50)
    server.close(() => {
      clearTimeout(deadline)
      clearInterval(sweep)
      resolve()
    })
    closeUnanswered(server)
  })
}

function closeUnanswered(server: Server): void {
  server.closeIdleConnections()
  // node counts a connection whose request head is still arriving as active; with no response
  // attached (node's `_httpMessage`) nothing is in flight on it, so it can go too.
  for (const socket of connectionsOf.get(server) ?? []) {
    if (!(socket as Socket & { _httpMessage?: unknown })._httpMessage) socket.destroy()
  }
}
