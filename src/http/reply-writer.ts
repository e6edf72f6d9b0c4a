/**
 * Writes a reply to a response, HTTP/1.1 or HTTP/2 alike (response-writer.ts): the head at
 * once, then the body with backpressure. A body that fails midway (the file changed under it)
 * cuts the response off, so the client sees a truncated response instead of one that
 * disagrees with its headers.
 *
 * Nothing here throws: a reply whose head cannot be written (a field value with a control
 * character, from a custom store or an application) becomes a fixed 500, and a body that
 * cannot be read cuts the response off. Either way the error stays with this one response.
 */

import type { Readable } from 'node:stream'
import type { BodyPiece } from '../store/file-sender.js'
import type { OpenedFile } from '../store/store.js'
import { bodyStream, multipartBytes, multipartPieces } from './body-stream.js'
import { closeFile, discardReply, type Reply, textReply } from './reply.js'
import type { ResponseWriter } from './response-writer.js'

/** How a response ended, for the access log. */
export interface WriteOutcome {
  /** The status sent: the reply's, or 500 when the reply could not be written at all. */
  readonly status: number
  /** Body bytes handed to the connection (for a response cut off, up to the cut). */
  readonly bytes: number
  /** What replaced the reply or cut the response off. */
  readonly error?: Error
}

/** Bodies larger than this get their head sent before the first read. */
const FLUSH_HEAD_ABOVE = 64 * 1024

/**
 * Writes `reply` for a request made with `method`. `done` is called once, when the response
 * has been written completely or abandoned.
 */
export function writeReply(
  reply: Reply,
  method: string,
  writer: ResponseWriter,
  done: (outcome: WriteOutcome) => void = () => {},
): void {
  const finish = (outcome: WriteOutcome) => {
    try {
      done(outcome)
    } catch {
      // A failing callback (the access log) must not turn into an uncaught exception.
    }
  }
  if (writer.headersSent) {
    // Someone else answered already (a framework, an earlier failed attempt): give up cleanly.
    discardReply(reply)
    writer.cutOff()
    finish({ status: reply.status, bytes: 0, error: new Error('response already started') })
    return
  }
  const body = reply.body
  const withBody = method !== 'HEAD'
  let stream: Readable | undefined
  let pieces: readonly BodyPiece[] | undefined
  let payload = body.kind === 'bytes' ? body.bytes : undefined
  if (withBody && (body.kind === 'file' || body.kind === 'multipart')) {
    const held = body.file.bytes
    try {
      // Bytes the store holds are written at once; a file with a sender goes through it
      // (file-sender.ts); any other file through a stream.
      if (held !== undefined) {
        payload =
          body.kind === 'file'
            ? held.subarray(body.start, body.end + 1)
            : multipartBytes(held, body.plan)
      } else if (body.file.send !== undefined) {
        pieces =
          body.kind === 'file' ? [{ start: body.start, end: body.end }] : multipartPieces(body.plan)
      } else {
        stream = bodyStream(body)
      }
    } catch (error) {
      discardReply(reply)
      return writeFailure(writer, asError(error), finish)
    }
  }
  if (pieces === undefined && stream === undefined) {
    discardReply(reply)
    const sent = withBody ? payload : undefined
    try {
      writer.respond(reply.status, reply.headers, sent)
    } catch (error) {
      return writeFailure(writer, asError(error), finish)
    }
    finish({ status: reply.status, bytes: sent?.length ?? 0 })
    return
  }
  try {
    writer.startResponse(reply.status, reply.headers)
  } catch (error) {
    stream?.destroy()
    discardReply(reply)
    return writeFailure(writer, asError(error), finish)
  }
  if (pieces !== undefined && (body.kind === 'file' || body.kind === 'multipart')) {
    // The head goes out now, not with the first chunk, which may wait for a read slot while
    // other bodies stream (file-sender.ts).
    if (Number(reply.headers['Content-Length']) > FLUSH_HEAD_ABOVE) writer.flushHead()
    sendFile(body.file, pieces, writer, (bytes, error) =>
      finish(error ? { status: reply.status, bytes, error } : { status: reply.status, bytes }),
    )
    return
  }
  const source = stream!
  let bytes = 0
  writer.pipeFrom(source, (error) => {
    discardReply(reply)
    finish(error ? { status: reply.status, bytes, error } : { status: reply.status, bytes })
  })
  source.on('data', (chunk: Buffer) => {
    bytes += chunk.length
  })
}

/**
 * Sends `pieces` of `file` through its sender (which it must have), then ends the response, or
 * cuts it off on an error, and closes the file. The fast lane (node-handler.ts) sends through
 * it too.
 */
export function sendFile(
  file: OpenedFile,
  pieces: readonly BodyPiece[],
  writer: ResponseWriter,
  done: (bytes: number, error: Error | undefined) => void,
): void {
  file.send!(writer.sink, pieces, (error, bytes) => {
    closeFile(file)
    if (error === undefined) writer.end()
    else writer.cutOff(error)
    done(bytes, error)
  })
}

/** The reply could not be written: a fixed 500 in its place, when nothing was sent yet. */
function writeFailure(writer: ResponseWriter, error: Error, finish: (o: WriteOutcome) => void) {
  if (writer.headersSent) {
    writer.cutOff()
    finish({ status: 500, bytes: 0, error })
    return
  }
  const fallback = textReply(500, 'Internal Server Error')
  const bytes = (fallback.body as { bytes: Buffer }).bytes
  writer.respond(500, fallback.headers, bytes)
  finish({ status: 500, bytes: bytes.length, error })
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
