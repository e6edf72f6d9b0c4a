/**
 * The servers sluice listens with, and their limits: a node:http server around a handler, or
 * a TLS server answering HTTP/2 and HTTP/1.1 on one port (chosen by ALPN), with the same
 * timeouts and caps for HTTP/1.1 either way, requests sluice does not serve refused before the
 * handler (malformed-requests.ts), and its connections tracked for shutdown (connections.ts).
 */

import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createSecureServer, type Http2SecureServer } from 'node:http2'
import type { Socket } from 'node:net'
import { type Logger, silentLogger } from '../log.js'
import { trackConnections, watchHandshakeErrors, watchServerErrors } from './connections.js'
import { http2SessionOptions, watchSessions } from './http2-sessions.js'
import {
  answerClientError,
  answerConnect,
  type ClientError,
  refuseMalformed,
} from './malformed-requests.js'
import type { NodeHandler, StreamHandler } from './node-handler.js'

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
  /**
   * The largest request head (request line and header fields), in bytes; more gets 431. Over
   * HTTP/2, the largest header list (SETTINGS_MAX_HEADER_LIST_SIZE); a larger one resets its
   * stream. Default 16384.
   */
  readonly maxHeaderSize?: number
  /**
   * HTTP/2: streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS);
   * more are refused, and a client that keeps opening them loses its connection. Default 100.
   */
  readonly http2MaxStreams?: number
  /**
   * HTTP/2: memory one connection's session may hold (header compression tables, queued
   * frames), in MiB; past it new streams are refused. Default 10.
   */
  readonly http2MaxSessionMemoryMiB?: number
  /**
   * HTTP/2: streams a client may reset before their response is complete, in a burst; the
   * allowance refills at a tenth of this per second. Past it the connection is closed with
   * ENHANCE_YOUR_CALM (the "rapid reset" attack, CVE-2023-44487). Default 200.
   */
  readonly http2MaxResets?: number
  /** TLS: time a client has to complete its handshake. Default 10 s. */
  readonly tlsHandshakeTimeoutMs?: number
}

export const DEFAULT_SERVER_LIMITS = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxRequestsPerSocket: 1000,
  maxUrlLength: 8192,
  maxHeaderSize: 16_384,
  http2MaxStreams: 100,
  http2MaxSessionMemoryMiB: 10,
  http2MaxResets: 200,
  tlsHandshakeTimeoutMs: 10_000,
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
  const settings = http1Settings(limits)
  const checked = checkedHandler(handler, limits, logger)
  const server = createServer(settings, checked)
  applyHttp1Limits(server, checked, limits, logger)
  trackConnections(server)
  watchServerErrors(server, logger)
  return server
}

/** The certificate chain and private key of a TLS server, PEM-encoded. */
export interface TlsCredentials {
  readonly cert: string | Buffer
  readonly key: string | Buffer
}

/**
 * TLS 1.2 and 1.3 only (RFC 9113 section 9.2 requires 1.2 or later for HTTP/2), node's
 * default cipher list, no renegotiation (TLS 1.3 has none; for 1.2 the server refuses it).
 */
export const TLS_SETTINGS = {
  minVersion: 'TLSv1.2',
  // OpenSSL's SSL_OP_NO_RENEGOTIATION: a client asking to renegotiate gets an alert.
  secureOptions: 0x40000000,
} as const

/**
 * A TLS server on which one port answers HTTP/2 and HTTP/1.1, chosen by ALPN: HTTP/2 streams
 * go to `handlers.stream`, HTTP/1.1 requests to `handlers.request`, with the limits of
 * `createHttpServer` for HTTP/1.1 (node's secure server leaves keep-alive and per-socket
 * request caps unset) and HTTP/2's own (http2-sessions.ts).
 */
export function createTlsServer(
  handlers: { readonly request: NodeHandler; readonly stream: StreamHandler },
  credentials: TlsCredentials,
  limits: ServerLimits = {},
  logger: Logger = silentLogger(),
): Http2SecureServer {
  const settings = http1Settings(limits)
  const server = createSecureServer({
    ...TLS_SETTINGS,
    cert: credentials.cert,
    key: credentials.key,
    allowHTTP1: true,
    handshakeTimeout: limits.tlsHandshakeTimeoutMs ?? DEFAULT_SERVER_LIMITS.tlsHandshakeTimeoutMs,
    ...http2SessionOptions(limits),
  })
  // node:http2 answers HTTP/2 through its compatibility API as soon as a 'request' listener
  // is added; the streams are answered directly instead (createStreamHandler), so its setup
  // hook goes before the listener that HTTP/1.1 requests need.
  for (const hook of server.listeners('newListener')) {
    server.off('newListener', hook as (...args: unknown[]) => void)
  }
  const checked = checkedHandler(handlers.request, limits, logger)
  server.on('request', checked)
  server.on('stream', handlers.stream)
  // What node:http's own server takes as options is read from the server by its HTTP/1.1
  // connection listener, which node:http2 calls for ALPN http/1.1 (and clients without ALPN).
  Object.assign(server, {
    headersTimeout: settings.headersTimeout,
    requestTimeout: settings.requestTimeout,
    keepAliveTimeout: settings.keepAliveTimeout,
    maxHeaderSize: settings.maxHeaderSize,
    connectionsCheckingInterval: settings.connectionsCheckingInterval,
  })
  applyHttp1Limits(server as unknown as Server, checked, limits, logger)
  // The TLS server reports a failed handshake as 'tlsClientError'; node:http2's own listener
  // turns it into a 'clientError', which would be answered in HTTP/1.1 on a connection that
  // never spoke it.
  server.removeAllListeners('tlsClientError')
  watchHandshakeErrors(server, logger)
  watchSessions(server, limits, logger)
  trackConnections(server as unknown as Server)
  watchServerErrors(server as unknown as Server, logger)
  return server
}

interface Http1Settings {
  readonly headersTimeout: number
  readonly requestTimeout: number
  readonly keepAliveTimeout: number
  readonly maxHeaderSize: number
  readonly requireHostHeader: false
  readonly connectionsCheckingInterval: number
}

/** node:http's options for sluice's HTTP/1.1 limits. */
function http1Settings(limits: ServerLimits): Http1Settings {
  const headersTimeout = limits.headersTimeoutMs ?? DEFAULT_SERVER_LIMITS.headersTimeoutMs
  return {
    headersTimeout,
    requestTimeout: limits.requestTimeoutMs ?? DEFAULT_SERVER_LIMITS.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs ?? DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs,
    maxHeaderSize: limits.maxHeaderSize ?? DEFAULT_SERVER_LIMITS.maxHeaderSize,
    // Checked in the handler (malformed-requests.ts), with a reason in the body (node's own
    // 400 has none).
    requireHostHeader: false,
    // node checks the header and request timeouts on this interval (30 s by default, which
    // would let a stalled connection live for up to headersTimeout + 30 s).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
  }
}

/** The handler behind the checks that come before it: malformed requests, the socket cap. */
function checkedHandler(handler: NodeHandler, limits: ServerLimits, logger: Logger): NodeHandler {
  const maxUrlLength = limits.maxUrlLength ?? DEFAULT_SERVER_LIMITS.maxUrlLength
  return (req, res) => {
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
}

/** The limits node:http reads from the server object, and its answers to what it cannot parse. */
function applyHttp1Limits(
  server: Server,
  checked: NodeHandler,
  limits: ServerLimits,
  logger: Logger,
): void {
  const maxUrlLength = limits.maxUrlLength ?? DEFAULT_SERVER_LIMITS.maxUrlLength
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
}
