/**
 * A server's connections over its life: listening, accept failures, the connection cap and
 * failed TLS handshakes (logged, rate-limited), and graceful shutdown: HTTP/1.1 connections
 * close once their response is done, HTTP/2 sessions get GOAWAY and close once their streams
 * are done, and whatever is left when the deadline comes is closed.
 */

import type { Server } from 'node:http'
import type { Http2SecureServer, Http2Session } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Logger } from '../log.js'

/** A plaintext HTTP/1.1 server, or a TLS server for HTTP/2 and HTTP/1.1 (server.ts). */
export type AnyServer = Server | Http2SecureServer

interface Connections {
  /** Accepted connections (TCP), TLS or not. */
  readonly sockets: Set<Socket>
  /** TLS connections past their handshake (HTTP/1.1 or HTTP/2). */
  readonly secured: Set<TLSSocket>
  /** HTTP/2 sessions. */
  readonly sessions: Set<Http2Session>
}

const connectionsOf = new WeakMap<AnyServer, Connections>()

/** Keeps the open connections, so shutdown can close those with no response in flight. */
export function trackConnections(server: AnyServer): void {
  if (connectionsOf.has(server)) return
  const open: Connections = { sockets: new Set(), secured: new Set(), sessions: new Set() }
  connectionsOf.set(server, open)
  server.on('connection', (socket: Socket) => {
    open.sockets.add(socket)
    socket.once('close', () => open.sockets.delete(socket))
  })
  if (!isTlsServer(server)) return
  server.on('secureConnection', (socket: TLSSocket) => {
    open.secured.add(socket)
    socket.once('close', () => open.secured.delete(socket))
  })
  server.on('session', (session: Http2Session) => {
    open.sessions.add(session)
    session.once('close', () => open.sessions.delete(session))
  })
}

function isTlsServer(server: AnyServer): server is Http2SecureServer {
  return typeof (server as Http2SecureServer).setSecureContext === 'function'
}

/**
 * Failed TLS handshakes (a client that does not trust the certificate, speaks plaintext to
 * the TLS port, or offers only old protocol versions) are logged at warn, at most once a
 * second with the number since, and the connection closed.
 */
export function watchHandshakeErrors(server: Http2SecureServer, logger: Logger): void {
  let last = 0
  let missed = 0
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
    socket.destroy()
    const now = Date.now()
    if (now - last < 1000) {
      missed++
      return
    }
    logger.warn(
      { code: error.code, repeated: missed, remote: socket.remoteAddress },
      `TLS handshake failed: ${error.message}`,
    )
    last = now
    missed = 0
  })
}

/**
 * After listening, a server only emits 'error' when accept() fails, typically EMFILE or
 * ENFILE: out of descriptors. libuv then sheds the pending connections itself (its reserved
 * descriptor trick) and keeps accepting once descriptors are free, so this is logged, at most
 * once a second, and never thrown (an 'error' without a listener would end the process).
 */
export function watchServerErrors(server: AnyServer, logger: Logger): void {
  let last = 0
  let missed = 0
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (!server.listening) return // listen() reports its own errors
    const now = Date.now()
    if (now - last < 1000) {
      missed++
      return
    }
    logger.warn(
      { code: error.code, repeated: missed },
      `cannot accept connections: ${error.message}`,
    )
    last = now
    missed = 0
  })
  let dropped = 0
  let lastDrop = 0
  server.on('drop', () => {
    dropped++
    const now = Date.now()
    if (now - lastDrop < 1000) return
    logger.warn(
      { dropped, maxConnections: server.maxConnections },
      'connection limit reached: connections closed unanswered',
    )
    lastDrop = now
    dropped = 0
  })
}

/**
 * Connections the kernel queues before they are accepted (capped by net.core.somaxconn). Node's
 * default, 511, overflows when a thousand clients connect at once: the SYNs past it are
 * dropped and retried a second later.
 */
const LISTEN_BACKLOG = 4096

/** Listens and resolves with the URL the server answers on (https for a TLS server). */
export function listen(server: AnyServer, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError)
      const address = server.address() as AddressInfo
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      const scheme = isTlsServer(server) ? 'https' : 'http'
      resolve(`${scheme}://${shownHost}:${address.port}`)
    })
  })
}

/**
 * Stops accepting connections, lets in-flight responses finish for up to `deadlineMs`, then
 * closes whatever is left. Connections without a response in flight (idle keep-alive, or a
 * request head still arriving) are closed at once. Resolves once the server is closed.
 */
export function shutdown(server: AnyServer, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => closeAll(server), deadlineMs)
    // A keep-alive connection whose response finishes during the drain becomes idle later:
    // close idle connections until none is left, rather than waiting for keep-alive timeouts.
    const sweep = setInterval(() => closeUnanswered(server), 50)
    server.close(() => {
      clearTimeout(deadline)
      clearInterval(sweep)
      resolve()
    })
    closeUnanswered(server)
  })
}

function closeUnanswered(server: AnyServer): void {
  // node:http2's TLS server has it too (for its HTTP/1.1 connections), untyped.
  ;(server as Server).closeIdleConnections()
  const open = connectionsOf.get(server)
  if (open === undefined) return
  if (!isTlsServer(server)) {
    for (const socket of open.sockets) if (!inFlight(socket)) socket.destroy()
    return
  }
  // HTTP/2: GOAWAY; the session closes itself once its streams are done.
  for (const session of open.sessions) if (!session.closed) session.close()
  const handshaken = new Set<Socket>()
  for (const socket of open.secured) {
    handshaken.add((socket as TLSSocket & { _parent: Socket })._parent)
    if (socket.alpnProtocol !== 'h2' && !inFlight(socket)) socket.destroy()
  }
  // Connections still in their handshake have nothing in flight.
  for (const socket of open.sockets) if (!handshaken.has(socket)) socket.destroy()
}

/**
 * node counts a connection whose request head is still arriving as active; with no response
 * attached (node's `_httpMessage`) nothing is in flight on it, so it can go.
 */
function inFlight(socket: Socket): boolean {
  return Boolean((socket as Socket & { _httpMessage?: unknown })._httpMessage)
}

/** The deadline has come: every connection is closed, whatever is in flight. */
function closeAll(server: AnyServer): void {
  if (!isTlsServer(server)) return server.closeAllConnections()
  const open = connectionsOf.get(server)
  for (const session of open?.sessions ?? []) session.destroy()
  for (const socket of open?.secured ?? []) socket.destroy()
  for (const socket of open?.sockets ?? []) socket.destroy()
}
