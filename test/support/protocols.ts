/**
 * Test support: the protocols a test server is reached over, and one request function that
 * takes a raw HTTP/1.1 request head (as the behaviour suites write them) and answers with the
 * same RawResponse over each: plaintext HTTP/1.1 (the bytes as written), HTTP/1.1 over TLS
 * (the same bytes in TLS), and HTTP/2 over TLS (node:http2's client, the head translated:
 * Host becomes :authority, connection-specific fields are left out, a chunked body is sent
 * as its bytes).
 */

import { connect as connectHttp2, constants, type ClientHttp2Session } from 'node:http2'
import { connect as connectTcp, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as connectTls } from 'node:tls'
import { type CheckedCredentials, selfSignedCredentials } from '../../src/cli/tls.js'

export const PROTOCOLS = ['h1', 'h1-tls', 'h2'] as const
export type Protocol = (typeof PROTOCOLS)[number]

export interface RawResponse {
  readonly status: number
  readonly statusLine: string
  /** Header names in lower case; repeated fields joined with ', '. */
  readonly headers: Record<string, string>
  /** The header block as received, one `Name: value` string per line. */
  readonly rawHeaders: string[]
  readonly body: Buffer
  /** HTTP/2: the RST_STREAM code when the stream was reset (a response cut off). */
  readonly resetCode?: number
  /** The informational (1xx) statuses that came before the response, e.g. [100]. */
  readonly informational?: readonly number[]
}

export interface RawRequestOptions {
  readonly body?: Buffer | string
  readonly timeoutMs?: number
}

const protocolsByOrigin = new Map<string, Protocol>()

/** Records what the server at `url` speaks, for `protocolOf` (test servers call it). */
export function registerProtocol(url: string, protocol: Protocol): void {
  protocolsByOrigin.set(new URL(url).origin, protocol)
}

/** What the test server at `url` speaks: plaintext HTTP/1.1 unless it said otherwise. */
export function protocolOf(url: string): Protocol {
  return protocolsByOrigin.get(new URL(url).origin) ?? 'h1'
}

let credentials: Promise<CheckedCredentials> | undefined

/**
 * A certificate for localhost and 127.0.0.1 for the tests' TLS servers, made once (by the
 * code behind `--self-signed`) and kept under the OS temp dir.
 */
export function testCredentials(): Promise<CheckedCredentials> {
  credentials ??= selfSignedCredentials(join(tmpdir(), 'sluice-test-tls'))
  return credentials
}

/** Opens a connection that speaks HTTP/1.1 over `protocol` (h1 or h1-tls). */
export function connectHttp1(protocol: Protocol, port: number): Socket {
  if (protocol === 'h1') return connectTcp(port, '127.0.0.1')
  return connectTls({
    port,
    host: '127.0.0.1',
    ALPNProtocols: ['http/1.1'],
    rejectUnauthorized: false,
  })
}

/**
 * Sends `head` (request line and fields, without the final blank line) and `body`, and parses
 * the response. Over HTTP/1.1 the connection gets `Connection: close` and the response is
 * what arrived until it closed; over HTTP/2 it is the stream's response, until its end or
 * reset.
 */
export function requestOver(
  protocol: Protocol,
  port: number,
  head: string,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  return protocol === 'h2'
    ? http2Request(port, head, options)
    : http1Request(protocol, port, head, options)
}

function http1Request(
  protocol: Protocol,
  port: number,
  head: string,
  options: RawRequestOptions,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connectHttp1(protocol, port)
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('raw request timed out'))
    }, options.timeoutMs ?? 10_000)
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      try {
        resolve(parseRawResponse(Buffer.concat(chunks)))
      } catch (error) {
        reject(error)
      }
    })
    const text = head.endsWith('\r\n') ? head : `${head}\r\n`
    const withClose = /\r\nconnection:/i.test(text) ? text : `${text}Connection: close\r\n`
    socket.write(`${withClose}\r\n`)
    if (options.body !== undefined) socket.write(options.body)
  })
}

/**
 * Parses one HTTP/1.1 response whose body runs to the end of the connection, after any
 * informational (1xx) responses, whose statuses it lists.
 */
export function parseFinalResponse(data: Buffer): RawResponse {
  const informational: number[] = []
  let rest = data
  while (/^HTTP\/1\.[01] 1\d\d /.test(rest.subarray(0, 13).toString('latin1'))) {
    const end = rest.indexOf('\r\n\r\n')
    if (end === -1) break
    informational.push(Number(rest.subarray(9, 12).toString('latin1')))
    rest = rest.subarray(end + 4)
  }
  return { ...parseRawResponse(rest), informational }
}

/** Parses one HTTP/1.1 response whose body runs to the end of the connection. */
export function parseRawResponse(data: Buffer): RawResponse {
  const end = data.indexOf('\r\n\r\n')
  if (end === -1) throw new Error(`incomplete response: ${JSON.stringify(data.toString('latin1'))}`)
  const lines = data.subarray(0, end).toString('latin1').split('\r\n')
  const statusLine = lines.shift()!
  return {
    status: Number(statusLine.split(' ')[1]),
    statusLine,
    headers: joinFields(lines),
    rawHeaders: lines,
    body: data.subarray(end + 4),
  }
}

function joinFields(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  return headers
}

/** Fields RFC 9113 section 8.2.2 keeps out of HTTP/2 (and Host, which becomes :authority). */
const NOT_IN_HTTP2 = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
])

/** One HTTP/2 session per port, reused as a browser would. */
const sessions = new Map<number, ClientHttp2Session>()

function sessionFor(port: number): ClientHttp2Session {
  const open = sessions.get(port)
  if (open !== undefined && !open.closed && !open.destroyed) return open
  const session = connectHttp2(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  session.on('error', () => {})
  session.once('close', () => {
    if (sessions.get(port) === session) sessions.delete(port)
  })
  // A test process ends when its tests do, whatever sessions are left open.
  session.unref()
  sessions.set(port, session)
  return session
}

/** Closes the HTTP/2 session kept for `port`, if any. */
export function closeSessions(port: number): void {
  sessions.get(port)?.destroy()
  sessions.delete(port)
}

function http2Request(
  port: number,
  head: string,
  options: RawRequestOptions,
): Promise<RawResponse> {
  const lines = head.replace(/\r\n$/, '').split('\r\n')
  const [method, path] = lines.shift()!.split(' ') as [string, string]
  const fields: Record<string, string | string[]> = { ':method': method, ':path': path }
  let chunked = false
  let expectContinue = false
  for (const line of lines) {
    if (line === '') continue
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === 'host') fields[':authority'] = value
    if (name === 'transfer-encoding') chunked = /chunked/i.test(value)
    if (name === 'expect' && /100-continue/i.test(value)) expectContinue = true
    if (NOT_IN_HTTP2.has(name)) continue
    const before = fields[name]
    fields[name] = before === undefined ? value : [...[before].flat(), value]
  }
  let body: Buffer | undefined = options.body === undefined ? undefined : Buffer.from(options.body)
  if (body !== undefined && chunked) body = dechunk(body)
  // Content announced and not given (only the head is sent): the stream stays open, as an
  // HTTP/1.1 connection would, until the response has come.
  const announced =
    chunked || (fields['content-length'] !== undefined && fields['content-length'] !== '0')
  return new Promise((resolve, reject) => {
    const stream = sessionFor(port).request(fields, { endStream: body === undefined && !announced })
    const timer = setTimeout(() => {
      stream.close(constants.NGHTTP2_CANCEL)
      reject(new Error('HTTP/2 request timed out'))
    }, options.timeoutMs ?? 10_000)
    let status = 0
    const rawHeaders: string[] = []
    const chunks: Buffer[] = []
    const sendBody = () => {
      if (body !== undefined && !stream.closed) stream.end(body)
    }
    stream.on('response', (headers) => {
      status = Number(headers[':status'])
      for (const [name, value] of Object.entries(headers)) {
        if (name.startsWith(':')) continue
        for (const item of [value].flat()) rawHeaders.push(`${name}: ${item}`)
      }
      // A final answer before 100 (Continue): the body is never sent (RFC 9110 10.1.1).
      if (expectContinue && body !== undefined && !stream.closed)
        stream.close(constants.NGHTTP2_NO_ERROR)
    })
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => {
      if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR)
    })
    stream.on('error', () => {})
    stream.on('close', () => {
      clearTimeout(timer)
      if (status === 0) {
        reject(new Error(`HTTP/2 stream closed without a response (code ${stream.rstCode})`))
        return
      }
      const reset = stream.rstCode !== constants.NGHTTP2_NO_ERROR
      resolve({
        status,
        statusLine: `HTTP/2 ${status}`,
        headers: joinFields(rawHeaders),
        rawHeaders,
        body: Buffer.concat(chunks),
        ...(reset && { resetCode: stream.rstCode }),
      })
    })
    if (expectContinue) stream.once('continue', sendBody)
    else sendBody()
  })
}

/** The bytes of a chunked body (RFC 9112 section 7.1), trailers dropped. */
function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd === -1) break
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1').split(';')[0]!, 16)
    if (!Number.isFinite(size) || size === 0) break
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(out)
}

/** A request whose content the test sends piece by piece, or abandons. */
export interface Upload {
  /** Resolves once the server has answered 100 (Continue). */
  readonly continued: Promise<void>
  /** The final response, once the exchange is over (the connection or stream closed). */
  readonly response: Promise<RawResponse>
  write(bytes: Buffer | string): void
  /**
   * The last bytes of the content: over HTTP/1.1 (framed by Content-Length) they are written,
   * over HTTP/2 they go with END_STREAM.
   */
  end(bytes: Buffer | string): void
  /** Ends the stream whatever was sent: HTTP/1.1 half-closes the connection, HTTP/2 END_STREAM. */
  close(): void
  /** Goes away: HTTP/1.1 destroys the connection, HTTP/2 resets the stream (CANCEL). */
  abort(): void
}

/**
 * Starts a request with `head` (ending in its fields, no blank line) over `protocol` and
 * leaves its content to the caller. Over HTTP/1.1 the connection closes after the response
 * (add `Connection: close` to the head).
 */
export function startUpload(protocol: Protocol, port: number, head: string): Upload {
  return protocol === 'h2' ? http2Upload(port, head) : http1Upload(protocol, port, head)
}

function http1Upload(protocol: Protocol, port: number, head: string): Upload {
  const socket = connectHttp1(protocol, port)
  const chunks: Buffer[] = []
  let continued: () => void = () => {}
  const continuedPromise = new Promise<void>((resolve) => (continued = resolve))
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    if (/^HTTP\/1\.1 100 /.test(Buffer.concat(chunks).toString('latin1'))) continued()
  })
  socket.on('error', () => {})
  const response = new Promise<RawResponse>((resolve, reject) => {
    socket.on('close', () => {
      try {
        resolve(parseFinalResponse(Buffer.concat(chunks)))
      } catch (error) {
        reject(error)
      }
    })
  })
  response.catch(() => {})
  socket.write(`${head.endsWith('\r\n') ? head : `${head}\r\n`}\r\n`)
  return {
    continued: continuedPromise,
    response,
    write: (bytes) => void socket.write(bytes),
    end: (bytes) => void socket.write(bytes),
    close: () => void socket.end(),
    abort: () => void socket.destroy(),
  }
}

function http2Upload(port: number, head: string): Upload {
  const lines = head.replace(/\r\n$/, '').split('\r\n')
  const [method, path] = lines.shift()!.split(' ') as [string, string]
  const fields: Record<string, string> = { ':method': method, ':path': path }
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === 'host') fields[':authority'] = value
    else if (!NOT_IN_HTTP2.has(name)) fields[name] = value
  }
  const stream = sessionFor(port).request(fields)
  stream.on('error', () => {})
  const continued = new Promise<void>((resolve) => stream.once('continue', () => resolve()))
  const response = new Promise<RawResponse>((resolve, reject) => {
    let status = 0
    const rawHeaders: string[] = []
    const chunks: Buffer[] = []
    stream.on('response', (headers) => {
      status = Number(headers[':status'])
      for (const [name, value] of Object.entries(headers)) {
        if (!name.startsWith(':'))
          for (const item of [value].flat()) rawHeaders.push(`${name}: ${item}`)
      }
    })
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => {
      if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR)
    })
    stream.on('close', () => {
      if (status === 0)
        return reject(new Error(`HTTP/2 stream closed without a response (code ${stream.rstCode})`))
      resolve({
        status,
        statusLine: `HTTP/2 ${status}`,
        headers: joinFields(rawHeaders),
        rawHeaders,
        body: Buffer.concat(chunks),
        ...(stream.rstCode !== constants.NGHTTP2_NO_ERROR && { resetCode: stream.rstCode }),
      })
    })
  })
  response.catch(() => {})
  return {
    continued,
    response,
    write: (bytes) => void stream.write(bytes),
    end: (bytes) => void stream.end(bytes),
    close: () => void stream.end(),
    abort: () => stream.close(constants.NGHTTP2_CANCEL),
  }
}
