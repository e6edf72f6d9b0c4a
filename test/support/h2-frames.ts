/**
 * Test support: a raw HTTP/2 client over TLS that writes frames as an attacker would (RFC 9113
 * section 4), without a client library's manners: HEADERS with literal HPACK fields, RST_STREAM,
 * SETTINGS, PING, CONTINUATION, as many and as fast as asked, and a reader that records what the
 * server sends back (RST_STREAM codes, GOAWAY) until it closes the connection.
 */

import { connect, type TLSSocket } from 'node:tls'

export const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const

export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

/** One frame: 9-byte header (length, type, flags, stream id) and the payload. */
export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(stream & 0x7fffffff, 5)
  return Buffer.concat([head, payload])
}

/** An HPACK integer with an `prefix`-bit prefix (RFC 7541 section 5.1). */
function hpackInteger(value: number, prefix: number, first = 0): Buffer {
  const max = (1 << prefix) - 1
  if (value < max) return Buffer.from([first | value])
  const bytes = [first | max]
  let rest = value - max
  while (rest >= 128) {
    bytes.push((rest % 128) + 128)
    rest = Math.floor(rest / 128)
  }
  bytes.push(rest)
  return Buffer.from(bytes)
}

/** A header block of literal fields without indexing, no Huffman coding (RFC 7541 6.2.2). */
export function headerBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = []
  for (const [name, value] of fields) {
    parts.push(Buffer.from([0x00]), hpackInteger(name.length, 7), Buffer.from(name, 'latin1'))
    parts.push(hpackInteger(Buffer.byteLength(value), 7), Buffer.from(value, 'latin1'))
  }
  return Buffer.concat(parts)
}

/** The fields of a GET of `path` from 127.0.0.1. */
export function getFields(path: string, port: number): [string, string][] {
  return [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':authority', `127.0.0.1:${port}`],
    [':path', path],
  ]
}

export interface RawHttp2Connection {
  readonly socket: TLSSocket
  /** RST_STREAM codes received, by stream. */
  readonly resets: Map<number, number>
  /** Streams that got a HEADERS frame (a response). */
  readonly answered: Set<number>
  /** The error code of the first GOAWAY, once one came. */
  goaway: number | undefined
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>
  send(...frames: Buffer[]): void
}

/**
 * Connects with ALPN h2, sends the preface and an empty SETTINGS, ACKs the server's, and
 * resolves once the server has acknowledged ours: from then on both sides' settings are in
 * force (RFC 9113 section 6.5.3), the server's limits included.
 */
export function rawHttp2(port: number): Promise<RawHttp2Connection> {
  return new Promise((resolve, reject) => {
    let settled: () => void = () => {}
    const socket = connect({
      port,
      host: '127.0.0.1',
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
    })
    let buffered = Buffer.alloc(0)
    let closedResolve: () => void = () => {}
    const connection: RawHttp2Connection = {
      socket,
      resets: new Map(),
      answered: new Set(),
      goaway: undefined,
      closed: new Promise<void>((done) => (closedResolve = done)),
      send: (...frames) => {
        if (!socket.destroyed) socket.write(Buffer.concat(frames))
      },
    }
    socket.on('error', () => {})
    socket.on('close', () => closedResolve())
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3)
        if (buffered.length < 9 + length) break
        const type = buffered[3]!
        const flags = buffered[4]!
        const stream = buffered.readUInt32BE(5) & 0x7fffffff
        const payload = buffered.subarray(9, 9 + length)
        buffered = buffered.subarray(9 + length)
        if (type === FRAME.SETTINGS && (flags & FLAG.ACK) === 0) {
          connection.send(frame(FRAME.SETTINGS, FLAG.ACK, 0))
        } else if (type === FRAME.RST_STREAM) {
          connection.resets.set(stream, payload.readUInt32BE(0))
        } else if (type === FRAME.HEADERS) {
          connection.answered.add(stream)
        } else if (type === FRAME.GOAWAY) {
          connection.goaway ??= payload.readUInt32BE(4)
        }
        if (type === FRAME.SETTINGS && (flags & FLAG.ACK) !== 0) settled()
      }
    })
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') return reject(new Error('the server did not choose h2'))
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]))
      settled = () => {
        settled = () => {}
        resolve(connection)
      }
    })
  })
}
