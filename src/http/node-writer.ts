/**
 * Writes a reply to a node:http response: one writeHead, then the body with backpressure. A
 * body that fails midway (the file changed under it) destroys the connection, so the client
 * sees a truncated response instead of one that disagrees with its headers.
 *
 * Nothing here throws: a reply whose head cannot be written (a field value with a control
 * character, from a custom store or an application) becomes a fixed 500, and a body that
 * cannot be read cuts the connection. Either way the error stays with this one response.
 */

import type { ServerResponse } from 'node:http'
import { pipeline, type Readable } from 'node:stream'
import { type BodyPiece, unwatchConnection, watchConnection } from '../store/file-sender.js'
import type { OpenedFile } from '../store/store.js'
import { bodyStream, multipartBytes, multipartPieces } from './body-stream.js'
import { closeFile, discardReply, type Reply, textReply } from './reply.js'

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
  res: ServerResponse,
  done: (outcome: WriteOutcome) => void = () => {},
): void {
  const finish = (outcome: WriteOutcome) => {
    try {
      done(outcome)
    } catch {
      // A failing callback (the access log) must not turn into an uncaught exception.
    }
  }
  if (res.headersSent) {
    // Someone else answered already (a framework, an earlier failed attempt): give up cleanly.
    discardReply(reply)
    res.destroy()
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
      return writeFailure(res, asError(error), finish)
    }
  }
  try {
    res.writeHead(reply.status, reply.headers as Record<string, string | number | string[]>)
  } catch (error) {
    stream?.destroy()
    discardReply(reply)
    return writeFailure(res, asError(error), finish)
  }
  if (pieces !== undefined && (body.kind === 'file' || body.kind === 'multipart')) {
    // The head goes out now, not with the first chunk, which may wait for a read slot while
    // other bodies stream (file-sender.ts).
    if (Number(reply.headers['Content-Length']) > FLUSH_HEAD_ABOVE) res.flushHeaders()
    sendFile(body.file, pieces, res, (bytes, error) =>
      finish(error ? { status: reply.status, bytes, error } : { status: reply.status, bytes }),
    )
    return
  }
  if (stream === undefined) {
    discardReply(reply)
    if (payload !== undefined && withBody) {
      res.end(payload)
      finish({ status: reply.status, bytes: payload.length })
    } else {
      res.end()
      finish({ status: reply.status, bytes: 0 })
    }
    return
  }
  let bytes = 0
  let settled = false
  const settle = (error?: Error | null) => {
    if (settled) return
    settled = true
    if (queuedOn) unwatchConnection(queuedOn, abandoned)
    discardReply(reply)
    finish(error ? { status: reply.status, bytes, error } : { status: reply.status, bytes })
  }
  // A response queued behind another on its connection (HTTP pipelining) gets no 'close' of
  // its own when the connection dies, and pipeline() would wait for it forever: the
  // connection's close settles the response itself, and a connection already gone at once.
  const queuedOn = res.socket === null ? (res.req?.socket ?? undefined) : undefined
  const abandoned = () => {
    stream.destroy()
    settle(new Error('client went away'))
  }
  if (queuedOn?.destroyed) return abandoned()
  if (queuedOn) watchConnection(queuedOn, abandoned)
  pipeline(stream, res, settle)
  stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length
  })
}

/**
 * Sends `pieces` of `file` through its sender (which it must have), then ends the response, or
 * cuts it off on an error, and closes the file. The fast lane (server.ts) sends through it too.
 */
export function sendFile(
  file: OpenedFile,
  pieces: readonly BodyPiece[],
  res: ServerResponse,
  done: (bytes: number, error: Error | undefined) => void,
): void {
  file.send!(res, pieces, (error, bytes) => {
    closeFile(file)
    if (error === undefined) res.end()
    else res.destroy(error)
    done(bytes, error)
  })
}

/** The reply could not be written: a fixed 500 in its place, when nothing was sent yet. */
function writeFailure(res: ServerResponse, error: Error, finish: (o: WriteOutcome) => void) {
  if (res.headersSent) {
    res.destroy()
    finish({ status: 500, bytes: 0, error })
    return
  }
  // writeHead may have set some fields before it threw; start from a clean slate.
  for (const name of res.getHeaderNames()) res.removeHeader(name)
  const fallback = textReply(500, 'Internal Server Error')
  const bytes = (fallback.body as { bytes: Buffer }).bytes
  res.writeHead(500, fallback.headers as Record<string, string | number>)
  res.end(bytes)
  finish({ status: 500, bytes: bytes.length, error })
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
