/**
 * What one HTTP/2 connection (a session, RFC 9113) may do, beside the HTTP/1.1 limits of
 * server.ts: the settings sluice announces, node:http2's floods guards written out with their
 * values, and the count of streams a client resets (the "rapid reset" attack, CVE-2023-44487:
 * each reset stream costs the server a request's work and the client nothing).
 */

import {
  constants,
  type Http2SecureServer,
  type Http2Session,
  type SecureServerOptions,
  type ServerHttp2Stream,
} from 'node:http2'
import type { Logger } from '../log.js'
import { type ServerLimits, DEFAULT_SERVER_LIMITS } from './server.js'
import { isOwnReset } from './http2-stream.js'

const { NGHTTP2_ENHANCE_YOUR_CALM } = constants

/**
 * node:http2's guards, at the values sluice relies on (node's defaults, written out so that
 * docs/SECURITY.md can cite them and a node upgrade cannot change them unseen).
 */
export const HTTP2_GUARDS = {
  /** Header fields in one request, pseudo-headers included; more resets the stream. */
  maxHeaderListPairs: 128,
  /** Entries in one SETTINGS frame; more is a protocol error (the settings flood). */
  maxSettings: 32,
  /** SETTINGS frames sent and not yet acknowledged. */
  maxOutstandingSettings: 10,
  /** PINGs sent and not yet acknowledged. */
  maxOutstandingPings: 10,
  /** Streams refused (beyond the concurrency limit) before the session is closed. */
  maxSessionRejectedStreams: 100,
  /** Invalid frames before the session is closed. */
  maxSessionInvalidFrames: 1000,
} as const

/** The session options of the TLS server for `limits`. */
export function http2SessionOptions(limits: ServerLimits): Partial<SecureServerOptions> {
  return {
    ...HTTP2_GUARDS,
    maxSessionMemory:
      limits.http2MaxSessionMemoryMiB ?? DEFAULT_SERVER_LIMITS.http2MaxSessionMemoryMiB,
    settings: {
      maxConcurrentStreams: limits.http2MaxStreams ?? DEFAULT_SERVER_LIMITS.http2MaxStreams,
      maxHeaderListSize: limits.maxHeaderSize ?? DEFAULT_SERVER_LIMITS.maxHeaderSize,
      // Server push is deprecated by browsers and never used here.
      enablePush: false,
    },
  }
}

interface ResetAllowance {
  /** Resets the client may still make now. */
  tokens: number
  /** When `tokens` was last topped up (ms). */
  at: number
}

const allowances = new WeakMap<Http2Session, ResetAllowance>()

/**
 * Counts the streams each session's client resets before their response is complete, and
 * closes a session that resets more than `http2MaxResets` in a burst (refilled at a tenth of
 * that per second) with GOAWAY ENHANCE_YOUR_CALM. Logged at warn, at most once a second.
 */
export function watchSessions(
  server: Http2SecureServer,
  limits: ServerLimits,
  logger: Logger,
): void {
  const burst = limits.http2MaxResets ?? DEFAULT_SERVER_LIMITS.http2MaxResets
  const perMs = burst / 10 / 1000
  let lastLog = 0
  let closed = 0
  const tooManyResets = (session: Http2Session) => {
    session.goaway(NGHTTP2_ENHANCE_YOUR_CALM)
    session.destroy()
    closed++
    const now = Date.now()
    if (now - lastLog < 1000) return
    logger.warn(
      { closed, maxResets: burst },
      'HTTP/2 connection closed: its client reset too many streams (rapid reset)',
    )
    lastLog = now
    closed = 0
  }
  function onAborted(this: ServerHttp2Stream): void {
    if (isOwnReset(this)) return
    const session = this.session
    if (session === undefined || session.destroyed) return
    const now = performance.now()
    let allowance = allowances.get(session)
    if (allowance === undefined) allowances.set(session, (allowance = { tokens: burst, at: now }))
    allowance.tokens = Math.min(burst, allowance.tokens + (now - allowance.at) * perMs) - 1
    allowance.at = now
    if (allowance.tokens < 0) tooManyResets(session)
  }
  server.on('stream', (stream: ServerHttp2Stream) => {
    stream.once('aborted', onAborted)
  })
}
