/**
 * The ResponseWriter for HTTP/2: one stream of a session (RFC 9113). What only HTTP/2 has to
 * get right:
 *
 * - No connection-specific field reaches the wire (section 8.2.2): Connection, Keep-Alive,
 *   Proxy-Connection, Transfer-Encoding and Upgrade are dropped here, whoever set them, and
 *   the status goes in `:status`.
 * - Field values are checked as node:http checks them for HTTP/1.1 (node:http2 does not), so
 *   a value with a control character is the same fixed 500 on both.
 * - A response that cannot be completed resets its stream (RST_STREAM with INTERNAL_ERROR):
 *   the client sees it as incomplete, and the session's other streams go on.
 * - A response sent while the request's content is still arriving ends the stream with
 *   RST_STREAM NO_ERROR once it is complete (section 8.1), so the client stops sending.
 * - 100 (Continue) is an informational HEADERS frame (section 8.1).
 */

import { validateHeaderName, validateHeaderValue } from 'node:http'
import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2'
import { pipeline, type Readable } from 'node:stream'
import type { ByteSink } from '../store/file-sender.js'
import type { ReplyHeaders } from './reply.js'
import type { ResponseWriter } from './response-writer.js'

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = constants

/** Fields that describe one connection, which HTTP/2 forbids in a message (lower case). */
const CONNECTION_FIELDS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
])

/**
 * The HTTP/2 header block of a response: `:status` and the fields, less the connection-specific
 * ones. Throws as node:http does for a name or value it would refuse.
 * @example http2Fields(200, { 'Content-Length': 5, Connection: 'close' }) // { ':status': 200, 'Content-Length': 5 }
 */
export function http2Fields(status: number, headers: ReplyHeaders): OutgoingHttpHeaders {
  const fields: OutgoingHttpHeaders = { ':status': status }
  for (const name in headers) {
    if (CONNECTION_FIELDS.has(name.toLowerCase())) continue
    const value = headers[name]!
    validateHeaderName(name)
    if (typeof value === 'object') {
      for (const item of value) validateHeaderValue(name, item)
      fields[name] = value as string[]
    } else {
      validateHeaderValue(name, String(value))
      fields[name] = value
    }
  }
  return fields
}

/** The same for a flat `[name, value, ...]` list (the fast lane's prebuilt heads). */
export function http2FieldsFromList(status: number, list: readonly string[]): OutgoingHttpHeaders {
  const headers: Record<string, string | string[]> = {}
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!
    const value = list[i + 1]!
    const before = headers[name]
    headers[name] = before === undefined ? value : [...[before].flat(), value]
  }
  return http2Fields(status, headers)
}

/** Streams this side reset (cutOff), which the reset count of http2-sessions.ts leaves out. */
const ownResets = new WeakSet<ServerHttp2Stream>()

/** Whether `stream` was reset by sluice (a response cut off), not by its client. */
export function isOwnReset(stream: ServerHttp2Stream): boolean {
  return ownResets.has(stream)
}

export class Http2StreamResponse implements ResponseWriter {
  #closeAfter = false

  constructor(readonly stream: ServerHttp2Stream) {}

  get protocol(): string {
    return 'HTTP/2'
  }

  get headersSent(): boolean {
    return this.stream.headersSent
  }

  respond(status: number, headers: ReplyHeaders, body?: Buffer): void {
    const fields = http2Fields(status, headers)
    const stream = this.stream
    if (stream.destroyed || stream.closed) return
    const empty = body === undefined || body.length === 0
    stream.respond(fields, { endStream: empty })
    if (!empty) stream.end(body)
    this.#afterEnd()
  }

  startResponse(status: number, headers: ReplyHeaders): void {
    const fields = http2Fields(status, headers)
    const stream = this.stream
    if (stream.destroyed || stream.closed) return
    stream.respond(fields)
  }

  flushHead(): void {
    // node:http2 sends the HEADERS frame as soon as respond() is called.
  }

  get sink(): ByteSink {
    return this.stream
  }

  pipeFrom(body: Readable, done: (error?: Error | null) => void): void {
    pipeline(body, this.stream, (error) => {
      if (error) this.cutOff()
      else this.#afterEnd()
      done(error)
    })
  }

  end(): void {
    this.stream.end()
    this.#afterEnd()
  }

  cutOff(): void {
    const stream = this.stream
    if (stream.closed || stream.destroyed) return
    ownResets.add(stream)
    stream.close(NGHTTP2_INTERNAL_ERROR)
  }

  closeAfterResponse(): void {
    this.#closeAfter = true
  }

  writeContinue(): void {
    if (!this.stream.destroyed && !this.stream.headersSent) {
      this.stream.additionalHeaders({ ':status': 100 })
    }
  }

  /** The request's content still arriving: RST_STREAM NO_ERROR once the response is sent. */
  #afterEnd(): void {
    const stream = this.stream
    if (this.#closeAfter && !stream.closed && !stream.readableEnded) {
      stream.close(NGHTTP2_NO_ERROR)
    }
  }
}
