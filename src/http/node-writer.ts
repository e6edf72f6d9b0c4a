/**
 * Writes a reply to a node:http response: one writeHead, then the body with backpressure. A
 * body that fails midway (the file changed under it) destroys the connection, so the client
 * sees a truncated response instead of one that disagrees with its headers.
 */

import type { ServerResponse } from 'node:http'
import { PassThrough, pipeline, type Readable } from 'node:stream'
import type { MultipartPlan } from '../core/multipart.js'
import type { OpenedFile } from '../store/store.js'
import type { Reply } from './reply.js'

/**
 * Writes `reply` for a request made with `method`. `done` is called once, when the response
 * has been written completely or abandoned (with the error that cut it off, if any).
 */
export function writeReply(
  reply: Reply,
  method: string,
  res: ServerResponse,
  done: (error?: Error) => void = () => {},
): void {
  res.writeHead(reply.status, reply.headers as Record<string, string | number | string[]>)
  const body = reply.body
  if (body.kind === 'none' || method === 'HEAD') {
    if (body.kind === 'file' || body.kind === 'multipart') body.file.close()
    res.end()
    done()
    return
  }
  if (body.kind === 'bytes') {
    res.end(body.bytes)
    done()
    return
  }
  const file = body.file
  const source =
    body.kind === 'file' ? readRange(file, body.start, body.end) : multipartStream(file, body.plan)
  pipeline(source, res, (error) => {
    file.close()
    done(error ?? undefined)
  })
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
    const source = readRange(file, part.range.start, part.range.end)
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
