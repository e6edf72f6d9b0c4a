/**
 * What a reply is written to: one response on the wire, whatever carries it. An HTTP/1.1
 * response (`http1-response.ts`) and an HTTP/2 stream implement it, so `reply-writer.ts` puts a
 * Reply on either with the same steps, and nothing above it knows which protocol is in use.
 *
 * The protocol's own rules live behind it: fields that describe one connection (RFC 9110
 * section 7.6.1: Connection, Keep-Alive, Transfer-Encoding...) are dropped by a writer whose
 * protocol has none (RFC 9113 section 8.2.2), never by the code that decides a reply; and a
 * response that cannot be completed is cut off in the protocol's way (HTTP/1.1 has to destroy
 * the connection, HTTP/2 resets the one stream).
 */

import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { ByteSink } from '../store/file-sender.js'
import { Http1Response } from './http1-response.js'
import type { ReplyHeaders } from './reply.js'

export interface ResponseWriter {
  /** The protocol of the exchange, as the access log shows it: `HTTP/1.1`, `HTTP/2`... */
  readonly protocol: string
  /** Whether the status and header fields have gone out (by this writer or anyone else). */
  readonly headersSent: boolean
  /**
   * The whole response at once: status, fields and `body` (none when undefined; a HEAD's
   * response never has one), then its end. Throws, having sent nothing and left no field set,
   * when the head cannot be sent (a value with a control character).
   */
  respond(status: number, headers: ReplyHeaders, body?: Buffer): void
  /**
   * Status and fields of a response whose body follows, through `sink` or `pipeFrom`, then
   * `end()` or `cutOff()`. Throws as `respond` does.
   */
  startResponse(status: number, headers: ReplyHeaders): void
  /** Sends the head now rather than with the first bytes of the body. */
  flushHead(): void
  /** Where a body's bytes go, with backpressure (the file sender writes to it). */
  readonly sink: ByteSink
  /**
   * Writes `body` to the end and ends the response; `done` once, with the error that stopped
   * it (the stream failed, or the client went away), after which `body` is destroyed.
   */
  pipeFrom(body: Readable, done: (error?: Error | null) => void): void
  /** The body is complete: ends the response. */
  end(): void
  /**
   * The response cannot be completed (the file changed under it, a read failed) or must not
   * be: the client has to see it as incomplete, never as a whole response. HTTP/1.1 destroys
   * the connection (with Content-Length framing there is no other way to say so); HTTP/2
   * resets this stream only.
   */
  cutOff(error?: Error): void
  /**
   * Called before the head, when the request's content is left unread and cannot be dropped
   * cheaply: HTTP/1.1 closes the connection after this response (`Connection: close`), or the
   * bytes would be taken for the next request; HTTP/2 ends the stream once the response is
   * sent (RST_STREAM with NO_ERROR, RFC 9113 section 8.1), and the connection goes on.
   */
  closeAfterResponse(): void
  /** Sends 100 (Continue): the client may now send the content it held back. */
  writeContinue(): void
}

/** The writer for a node:http response. */
export function responseWriterFor(res: ServerResponse): ResponseWriter {
  return new Http1Response(res)
}
