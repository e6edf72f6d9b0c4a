/**
 * The request content as the engine reads it (a PUT's body), and what becomes of the part it
 * did not read. Stopping early leaves the stream undestroyed, so the response can still be
 * written. A client that sent `Expect: 100-continue` gets its 100 (Continue) only when the
 * content is actually wanted, so a request refused on its header fields alone never has to
 * send its body.
 */

import type { Readable } from 'node:stream'
import { expectsContinue, hasContent, type RequestHeaders } from './request-fields.js'
import type { ResponseWriter } from './response-writer.js'

/** Unread content up to this size is read and dropped after the reply, keeping the connection. */
const DRAIN_LIMIT = 1024 * 1024

/**
 * How the protocol delimits the content: HTTP/1.1 by Content-Length or chunked coding (RFC
 * 9112 section 6), HTTP/2 by the end of the stream, Content-Length or not (RFC 9113 section
 * 8.1).
 */
export type ContentFraming = 'http1' | 'http2'

/** The framing of a node:http request, or of node:http2's compatibility request. */
export function framingOf(req: { readonly httpVersionMajor: number }): ContentFraming {
  return req.httpVersionMajor === 2 ? 'http2' : 'http1'
}

export class NodeRequestContent implements AsyncIterable<Uint8Array> {
  #started = false
  #continued = false

  constructor(
    /** The request (node:http's IncomingMessage) or its HTTP/2 stream. */
    readonly source: Readable,
    readonly headers: RequestHeaders,
    readonly writer: ResponseWriter,
    readonly framing: ContentFraming = 'http1',
  ) {}

  /**
   * True when the content runs to the end of the stream with no length announced (HTTP/2
   * without Content-Length): its length is known only once it has all arrived.
   */
  get untilEnd(): boolean {
    return this.framing === 'http2' && this.headers['content-length'] === undefined
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    this.#started = true
    if (!this.#continued && expectsContinue(this.headers) && !this.writer.headersSent) {
      this.#continued = true
      this.writer.writeContinue()
    }
    return this.source.iterator({ destroyOnReturn: false })
  }

  /**
   * Whether the request must be cut short after a reply that left content unread (413, 412,
   * 409...): the writer then closes the connection (HTTP/1.1) or the stream (HTTP/2).
   *
   * Over HTTP/1.1 the unread bytes would be taken for the next request; node:http reads and
   * drops them when nobody started reading, which is cheap for a small body. A large or
   * unbounded one, a body read halfway, or one the client holds back until 100 (Continue)
   * (RFC 9110 section 10.1.1) ends the connection instead. Over HTTP/2, unread content is
   * never drained: resetting the one stream costs nothing.
   */
  mustClose(): boolean {
    const source = this.source
    if (source.readableEnded) return false
    if (this.framing === 'http2') return true
    if (!hasContent(this.headers)) return false
    const chunked = this.headers['transfer-encoding'] !== undefined
    if (this.#started || chunked || (expectsContinue(this.headers) && !this.#continued)) return true
    return Number(this.headers['content-length']) > DRAIN_LIMIT
  }
}
