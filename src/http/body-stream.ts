/**
 * The bytes of a file or multipart reply body as one node stream, shared by every adapter
 * (node:http pipes it; the Fetch API adapter wraps it in a web ReadableStream).
 */

import { PassThrough, type Readable } from 'node:stream'
import type { MultipartPlan } from '../core/multipart.js'
import type { BodyPiece } from '../store/file-sender.js'
import type { OpenedFile } from '../store/store.js'
import type { ReplyBody } from './reply.js'

/** A stream of a file or multipart body. The caller closes the file when the stream closes. */
export function bodyStream(body: Extract<ReplyBody, { kind: 'file' | 'multipart' }>): Readable {
  return body.kind === 'file'
    ? readRange(body.file, body.start, body.end)
    : multipartStream(body.file, body.plan)
}

function readRange(file: OpenedFile, start: number, end: number): Readable {
  if (file.bytes !== undefined) {
    const stream = new PassThrough()
    stream.end(file.bytes.subarray(start, end + 1))
    return stream
  }
  return file.read(start, end)
}

/** The parts of a multipart/byteranges body, one after another, as one stream. */
function multipartStream(file: OpenedFile, plan: MultipartPlan): Readable {
  const out = new PassThrough({ highWaterMark: 256 * 1024 })
  let index = 0
  let current: Readable | undefined
  const next = (): void => {
    current = undefined
    if (out.destroyed) return
    const part = plan.parts[index++]
    if (part === undefined) {
      out.end(Buffer.from(plan.tail, 'latin1'))
      return
    }
    out.write(Buffer.from(part.head, 'latin1'))
    let source: Readable
    try {
      source = readRange(file, part.range.start, part.range.end)
    } catch (error) {
      // Called from the previous part's 'end': a throw here would be an uncaught exception.
      out.destroy(error as Error)
      return
    }
    current = source
    source.on('error', (error) => out.destroy(error))
    source.on('end', next)
    source.pipe(out, { end: false })
  }
  // A client that goes away stops the part being read, which releases the file.
  out.once('close', () => current?.destroy())
  next()
  return out
}

/** A multipart/byteranges body as pieces for OpenedFile.send: heads, ranges, the tail. */
export function multipartPieces(plan: MultipartPlan): BodyPiece[] {
  const pieces: BodyPiece[] = []
  for (const part of plan.parts) pieces.push(Buffer.from(part.head, 'latin1'), part.range)
  pieces.push(Buffer.from(plan.tail, 'latin1'))
  return pieces
}

/** A multipart/byteranges body over bytes held in memory, as one buffer (one copy). */
export function multipartBytes(bytes: Buffer, plan: MultipartPlan): Buffer {
  const out = Buffer.allocUnsafe(plan.length)
  let at = 0
  for (const part of plan.parts) {
    at += out.write(part.head, at, 'latin1')
    at += bytes.copy(out, at, part.range.start, part.range.end + 1)
  }
  out.write(plan.tail, at, 'latin1')
  return out
}
