/**
 * Writes a reply to a node:http response: one writeHead, then the body with backpressure. A
 * body that fails midway (the file changed under it) destroys the connection, so the client
 * sees a truncated response instead of one that disagrees with its headers.
 */

import type { ServerResponse } from 'node:http'
import { pipeline } from 'node:stream'
import { bodyStream } from './body-stream.js'
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
  pipeline(bodyStream(body), res, (error) => {
    body.file.close()
    done(error ?? undefined)
  })
}
