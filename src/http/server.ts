/**
 * The servers sluice listens with, and their limits: a node:http server around a handler, with
 * its timeouts and caps set, requests sluice does not serve refused before the handler
 * (malformed-requests.ts), and its connections tracked for shutdown (connections.ts).
 */

import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { type Logger, silentLogger } from '../log.js'
import { trackConnections, watchServerErrors } from './connections.js'
import {
  answerClientError,
  answerConnect,
  type ClientError,
  refuseMalformed,
} from './malformed-requests.js'
import type { NodeHandler } from './node-handler.js'

export interface ServerLimits {
  /** Time allowed to receive a request's header fields; then 408. Default 20 s. */
  readonly headersTimeoutMs?: number
  /** Time allowed to receive a whole request, body included; then 408. Default 300 s. */
  readonly requestTimeoutMs?: number
  /** How long an idle keep-alive connection is kept. Default 5 s. */
  readonly keepAliveTimeoutMs?: number
  /**
   * A connection on which nothing is received or sent for this long is closed (a client that
   * stopped reading its response holds a descriptor and memory). Default 60 s; 0 never.
   */
  readonly idleTimeoutMs?: number
  /**
   * Connections open at once; more are closed as soon as they are accepted. Default: half the
   * process's open-file limit (each connection may also hold an open file), at most 10,000.
   */
  readonly maxConnections?: number
  /** Requests served on one keep-alive connection before it is closed. Default 1000; 0 none. */
  readonly maxRequestsPerSocket?: number
  /** The longest request-target accepted, in bytes; longer gets 414. Default 8192. */
  readonly maxUrlLength?: number
  /** The largest request head (request line and header fields), in bytes; more gets 431. */
  readonly maxHeaderSize?: number
}

export const DEFAULT_SERVER_LIMITS = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxRequestsPerSocket: 1000,
  maxUrlLength: 8192,
  maxHeaderSize: 16_384,
} as const

/** Where the open-file limit is unknown (not Linux), and the most connections by default. */
const MAX_DEFAULT_CONNECTIONS = 10_000

/**
 * The default connection cap: half the soft open-file limit (node raises it to the hard limit
 * at start-up), so that connections, each holding at most one open file, cannot run the
 * process out of descriptors by themselves.
 */
export function defaultMaxConnections(): number {
  let limits: string
  try {
    limits = readFileSync('/proc/self/limits', 'latin1')
  } catch {
    return MAX_DEFAULT_CONNECTIONS
  }
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits)
  if (match === null || match[1] === 'unlimited') return MAX_DEFAULT_CONNECTIONS
  return Math.max(1, Math.min(MAX_DEFAULT_CONNECTIONS, Math.floor(Number(match[1]) / 2)))
}

/** A node:http server with sluice's limits around a handler. */
export function createHttpServer(
  handler: NodeHandler,
  limits: ServerLimits = {},
  logger: Logger = silentLogger(),
): Server {
  const headersTimeout = limits.headersTimeoutMs ?? DEFAULT_SERVER_LIMITS.headersTimeoutMs
  const maxUrlLength = limits.maxUrlLength ?? DEFAULT_SERVER_LIMITS.maxUrlLength
  const checked: NodeHandler = (req, res) => {
    if (refuseMalformed(req, res, maxUrlLength, logger)) return
    // node (20 to 22 at least) answers the last request maxRequestsPerSocket allows with
    // `Connection: close` but keeps the connection open until the keep-alive timeout; a
    // response that does not keep the connection alive closes it when it ends.
    if (
      (res as ServerResponse & { maxRequestsOnConnectionReached?: boolean })
        .maxRequestsOnConnectionReached
    ) {
      res.shouldKeepAlive = false
    }
    handler(req, res)
  }
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs ?? DEFAULT_SERVER_LIMITS.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs ?? DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderSize ?? DEFAULT_SERVER_LIMITS.maxHeaderSize,
      // Checked in the handler above, with a reason in the body (node's own 400 has none).
      requireHostHeader: false,
      // node checks the header and request timeouts on this interval (30 s by default, which
      // would let a stalled connection live for up to headersTimeout + 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    checked,
  )
  // Decide on 100 (Continue) in the handler (see NodeRequestContent) rather than always sending it.
  server.on('checkContinue', checked)
  server.maxConnections = limits.maxConnections ?? defaultMaxConnections()
  server.maxRequestsPerSocket =
    limits.maxRequestsPerSocket ?? DEFAULT_SERVER_LIMITS.maxRequestsPerSocket
  server.timeout = limits.idleTimeoutMs ?? DEFAULT_SERVER_LIMITS.idleTimeoutMs
  server.on('clientError', (error: ClientError, socket: Socket) =>
    answerClientError(error, socket, maxUrlLength, logger),
  )
  server.on('connect', (_req: IncomingMessage, socket: Socket) => answerConnect(socket, logger))
  trackConnections(server)
  watchServerErrors(server, logger)
  return server
}
