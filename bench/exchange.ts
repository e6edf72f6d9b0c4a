/**
 * One raw HTTP/1.1 exchange for the checks that precede every scenario: the exact status,
 * header fields and body bytes a server sends, and how many bytes the whole response took.
 */

import { connect } from 'node:net'

export interface Exchange {
  readonly status: number
  /** Field names in lower case; repeated fields joined with ", ". */
  readonly headers: ReadonlyMap<string, string>
  readonly body: Buffer
  /** Bytes of the status line and header section, CRLFs included. */
  readonly headBytes: number
}

export interface ExchangeRequest {
  readonly method: string
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
}

const NO_BODY_STATUSES = new Set([204, 304])

/** Sends one request with `Connection: close` and reads the response to the end. */
export function exchange(
  host: string,
  port: number,
  request: ExchangeRequest,
  timeoutMs = 30_000,
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host)
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete response within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    let head = `${request.method} ${request.path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n`
    for (const [name, value] of Object.entries(request.headers ?? {}))
      head += `${name}: ${value}\r\n`
    socket.on('connect', () => socket.write(`${head}\r\n`))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('end', () => {
      clearTimeout(timer)
      try {
        resolve(parseResponse(Buffer.concat(chunks), request.method))
      } catch (error) {
        reject(error)
      }
    })
  })
}

function parseResponse(raw: Buffer, method: string): Exchange {
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) throw new Error(`no complete header section in ${raw.length} bytes`)
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? Number.NaN)
  if (Number.isNaN(status)) throw new Error(`not an HTTP/1.x status line: ${lines[0]}`)
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    const previous = headers.get(name)
    headers.set(name, previous === undefined ? value : `${previous}, ${value}`)
  }
  let body = raw.subarray(end + 4)
  if (method === 'HEAD' || NO_BODY_STATUSES.has(status)) body = Buffer.alloc(0)
  else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) body = dechunk(body)
  else {
    const length = headers.get('content-length')
    if (length !== undefined && body.length !== Number(length)) {
      throw new Error(`Content-Length ${length} but ${body.length} body bytes`)
    }
  }
  return { status, headers, body, headBytes: end + 4 }
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd < 0) throw new Error('truncated chunked body')
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16)
    if (Number.isNaN(size)) throw new Error('bad chunk size')
    if (size === 0) return Buffer.concat(parts)
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}

/** The parts of a multipart/byteranges body: each part's Content-Range and bytes. */
export function parseMultipart(
  body: Buffer,
  contentType: string,
): { contentRange: string; bytes: Buffer }[] {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1]
  if (boundary === undefined) throw new Error(`no boundary in '${contentType}'`)
  const delimiter = Buffer.from(`--${boundary}`, 'latin1')
  const parts: { contentRange: string; bytes: Buffer }[] = []
  let at = body.indexOf(delimiter)
  while (at >= 0) {
    const after = at + delimiter.length
    if (body.subarray(after, after + 2).toString('latin1') === '--') break
    const headEnd = body.indexOf('\r\n\r\n', after)
    if (headEnd < 0) throw new Error('truncated multipart part')
    const head = body.subarray(after, headEnd).toString('latin1')
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`, 'latin1'), headEnd + 4)
    if (next < 0) throw new Error('multipart body without a closing delimiter')
    const contentRange = /content-range:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim() ?? ''
    parts.push({ contentRange, bytes: body.subarray(headEnd + 4, next) })
    at = next + 2
  }
  return parts
}
