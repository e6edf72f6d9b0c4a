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

/** A request as its content is read: node:http's IncomingMessage is one. */
export interface ContentSource extends Readable {
  readonly headers: RequestHeaders
}

export class NodeRequestContent implements AsyncIterable<Uint8Array> {
  #started = false
  #continued = false

  constructor(
    readonly req: ContentSource,
    readonly writer: ResponseWriter,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    this.#started = true
    if (!this.#continued && expectsContinue(this.req.headers) && !this.writer.headersSent) {
      this.#continued = true
      this.writer.writeContinue()
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
    if (!hasContent(req.headers)) return false
    const chunked = req.headers['transfer-encoding'] !== undefined
    if (this.#started || chunked || (expectsContinue(req.headers) && !this.#continued)) return true
    return Number(req.headers['content-length']) > DRAIN_LIMIT
  }
}
