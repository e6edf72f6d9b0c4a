/**
 * A server's connections over its life: listening, accept failures and the connection cap
 * (logged, rate-limited), and graceful shutdown.
 */

import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Logger } from '../log.js'

const connectionsOf = new WeakMap<Server, Set<Socket>>()

/** Keeps the open connections, so shutdown can close those with no response in flight. */
export function trackConnections(server: Server): void {
  const open = new Set<Socket>()
  connectionsOf.set(server, open)
  server.on('connection', (socket: Socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
  })
}

/**
 * After listening, a server only emits 'error' when accept() fails, typically EMFILE or
 * ENFILE: out of descriptors. libuv then sheds the pending connections itself (its reserved
 * descriptor trick) and keeps accepting once descriptors are free, so this is logged, at most
 * once a second, and never thrown (an 'error' without a listener would end the process).
 */
export function watchServerErrors(server: Server, logger: Logger): void {
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

/** Listens and resolves with the URL the server answers on. */
export function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError)
      const address = server.address() as AddressInfo
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve(`http://${shownHost}:${address.port}`)
    })
  })
}

/**
 * Stops accepting connections, lets in-flight responses finish for up to `deadlineMs`, then
 * closes whatever is left. Connections without a response in flight (idle keep-alive, or a
 * request head still arriving) are closed at once. Resolves once the server is closed.
 */
export function shutdown(server: Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs)
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

function closeUnanswered(server: Server): void {
  server.closeIdleConnections()
  // node counts a connection whose request head is still arriving as active; with no response
  // attached (node's `_httpMessage`) nothing is in flight on it, so it can go too.
  for (const socket of connectionsOf.get(server) ?? []) {
    if (!(socket as Socket & { _httpMessage?: unknown })._httpMessage) socket.destroy()
  }
}
