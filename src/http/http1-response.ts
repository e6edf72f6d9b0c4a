/**
 * The ResponseWriter for HTTP/1.x: a node:http ServerResponse, and what only HTTP/1.1 has to
 * get right. A response queued behind another on its connection (pipelining) has no socket of
 * its own yet, and when that connection is destroyed node:http (20) destroys its request but
 * never emits 'close' on the response: whoever writes to it watches the connection instead
 * (one listener per connection, however many responses are queued on it). A response that
 * cannot be completed destroys the connection, the only way HTTP/1.1 framing can say so.
 */

import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { pipeline, type Readable } from 'node:stream'
import type { ByteSink } from '../store/file-sender.js'
import type { ReplyHeaders } from './reply.js'
import type { ResponseWriter } from './response-writer.js'

type NodeHeaders = Record<string, string | number | string[]>

export class Http1Response implements ResponseWriter {
  constructor(readonly res: ServerResponse) {}

  get protocol(): string {
    return `HTTP/${this.res.req.httpVersion}`
  }

  get headersSent(): boolean {
    return this.res.headersSent
  }

  respond(status: number, headers: ReplyHeaders, body?: Buffer): void {
    this.startResponse(status, headers)
    this.res.end(body)
  }

  startResponse(status: number, headers: ReplyHeaders): void {
    const res = this.res
    try {
      res.writeHead(status, headers as NodeHeaders)
    } catch (error) {
      // writeHead may have set some fields before it threw; leave a clean slate.
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      throw error
    }
  }

  flushHead(): void {
    this.res.flushHeaders()
  }

  get sink(): ByteSink {
    return responseSink(this.res)
  }

  pipeFrom(body: Readable, done: (error?: Error | null) => void): void {
    const connection = queuedOn(this.res)
    let settled = false
    const settle = (error?: Error | null) => {
      if (settled) return
      settled = true
      if (connection !== undefined) unwatchConnection(connection, abandoned)
      done(error)
    }
    // pipeline() waits for the response's 'close', which a queued response never gets.
    const abandoned = () => {
      body.destroy()
      settle(new Error('client went away'))
    }
    if (connection?.destroyed) return abandoned()
    if (connection !== undefined) watchConnection(connection, abandoned)
    pipeline(body, this.res, settle)
  }

  end(): void {
    this.res.end()
  }

  cutOff(error?: Error): void {
    this.res.destroy(error)
  }

  closeAfterResponse(): void {
    this.res.setHeader('Connection', 'close')
  }

  writeContinue(): void {
    this.res.writeContinue()
  }
}

/**
 * The sink for a response's body: the response itself, or, while it is queued behind another
 * on its connection, a sink that also closes with the connection.
 */
export function responseSink(res: ServerResponse): ByteSink {
  const connection = queuedOn(res)
  return connection === undefined ? res : new QueuedResponseSink(res, connection)
}

/** The connection of a response queued on it (no socket of its own yet), if it is queued. */
function queuedOn(res: ServerResponse): Socket | undefined {
  return res.socket === null ? (res.req?.socket ?? undefined) : undefined
}

/** A queued response as a sink: 'close' comes from the response or from its connection. */
class QueuedResponseSink implements ByteSink {
  constructor(
    readonly res: ServerResponse,
    readonly connection: Socket,
  ) {}

  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    return this.res.write(chunk, callback)
  }

  cork(): void {
    this.res.cork()
  }

  uncork(): void {
    this.res.uncork()
  }

  get destroyed(): boolean {
    return this.res.destroyed || this.connection.destroyed
  }

  once(_event: 'close', listener: () => void): this {
    this.res.once('close', listener)
    watchConnection(this.connection, listener)
    return this
  }

  off(_event: 'close', listener: () => void): this {
    this.res.off('close', listener)
    unwatchConnection(this.connection, listener)
    return this
  }
}

/** Who waits for each connection with queued responses to close. */
const closeWatchers = new WeakMap<Socket, Set<() => void>>()

/** Calls `closed` once `connection` closes, unless `unwatchConnection` came first. */
function watchConnection(connection: Socket, closed: () => void): void {
  let watching = closeWatchers.get(connection)
  if (watching === undefined) {
    const callbacks = new Set<() => void>()
    closeWatchers.set(connection, (watching = callbacks))
    connection.once('close', () => {
      closeWatchers.delete(connection)
      for (const callback of callbacks) callback()
    })
  }
  watching.add(closed)
}

function unwatchConnection(connection: Socket, closed: () => void): void {
  closeWatchers.get(connection)?.delete(closed)
}
