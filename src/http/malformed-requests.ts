/**
 * Answers to requests sluice will not hand to a handler: the checks node:http leaves to the
 * server (a request-target over the limit, a version other than 1.x, a missing or malformed
 * Host), what node:http cannot parse at all (its 'clientError'), and CONNECT. Each gets a
 * short fixed answer, never a reflected byte.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from '../log.js'
import { logRequest, nextRequestId } from './access-log.js'
import { textReply } from './reply.js'
import { writeReply } from './reply-writer.js'
import { responseWriterFor } from './response-writer.js'

/**
 * Refuses a request node:http parsed but sluice does not serve, before any handler sees it.
 * True when it answered.
 */
export function refuseMalformed(
  req: IncomingMessage,
  res: ServerResponse,
  maxUrlLength: number,
  logger: Logger,
): boolean {
  if ((req.url?.length ?? 0) > maxUrlLength) return refuse(req, res, 414, 'URI Too Long', logger)
  // node:http also accepts a request line without a version (HTTP/0.9) or with HTTP/2.0;
  // neither is a request sluice can answer in kind.
  if (req.httpVersionMajor !== 1) return refuse(req, res, 400, NOT_HTTP_1, logger)
  const host = hostProblem(req)
  if (host !== undefined) return refuse(req, res, 400, host, logger)
  return false
}

/** A request refused before any handler sees it: a fixed reason, never a reflected byte. */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  reason: string,
  logger: Logger,
): true {
  const started = performance.now()
  const id = nextRequestId()
  const reply = textReply(status, reason, { Connection: 'close' })
  const method = req.method ?? 'GET'
  const url = req.url ?? ''
  // The log keeps only the start of an over-long target.
  const logged = url.length > 256 ? `${url.slice(0, 64)}... (${url.length} bytes)` : url
  writeReply(reply, method, responseWriterFor(res), (outcome) =>
    logRequest(logger, id, method, logged, reply, started, outcome),
  )
  return true
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

export type ClientError = Error & { code?: string; rawPacket?: Buffer }

/**
 * What node:http could not parse gets a short fixed answer (never a reflected byte) and the
 * connection is closed. The statuses are node's own choices, with bodies; a head too large
 * because of its request line is 414 rather than 431 when the line is in the failing packet.
 */
export function answerClientError(
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

/** CONNECT asks a proxy for a tunnel; without an answer node drops the connection unanswered. */
export function answerConnect(socket: Socket, logger: Logger): void {
  answerRaw(
    socket,
    400,
    'Bad Request: CONNECT is for proxies; this is an origin server',
    false,
    logger,
  )
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
