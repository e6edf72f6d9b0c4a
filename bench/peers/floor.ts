/**
 * The floor: a bare node:http server that answers every scenario with fixed bytes held in
 * memory, deciding nothing (no stat, no validator, no parsing beyond picking the canned answer).
 * It is what Node can do at all on this machine; no file server can beat it.
 */

import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import {
  LARGE,
  MEDIUM,
  MULTIPART_FIELD,
  MULTIPART_RANGES,
  SCRIPT,
  SCRIPT_ON_THE_FLY,
  SMALL,
} from '../fixtures.js'
import { announce, CORS_POLICY, exitOnSignal, peerArgs } from './common.js'

const args = peerArgs()
const small = readFileSync(join(args.root, SMALL.path.slice(1)))
const medium = readFileSync(join(args.root, MEDIUM.path.slice(1)))
const large = readFileSync(join(args.root, LARGE.path.slice(1)))
const ETAG = '"floor"'

const preflight = [
  'Access-Control-Allow-Origin',
  CORS_POLICY.origin,
  'Access-Control-Allow-Methods',
  CORS_POLICY.methods.join(', '),
  'Access-Control-Allow-Headers',
  CORS_POLICY.headers.join(', '),
  'Access-Control-Max-Age',
  String(CORS_POLICY.maxAgeSeconds),
  'Vary',
  'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
]
const smallHead = [
  'Content-Type',
  'application/octet-stream',
  'ETag',
  ETAG,
  'Content-Length',
  String(small.length),
]
const multipart = buildMultipart(medium)
// S7: the br sibling with the fields a compressed variant needs.
const scriptBr = readFileSync(join(args.root, `${SCRIPT.path.slice(1)}.br`))
const scriptHead = [
  'Content-Type',
  'text/javascript; charset=utf-8',
  'Content-Encoding',
  'br',
  'ETag',
  ETAG,
  'Vary',
  'Accept-Encoding',
  'Content-Length',
  String(scriptBr.length),
]

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  if (req.method === 'OPTIONS') {
    res.writeHead(204, preflight)
    res.end()
  } else if (req.url === SMALL.path) {
    if (req.headers['if-none-match'] !== undefined) {
      res.writeHead(304, ['ETag', ETAG])
      res.end()
    } else {
      res.writeHead(200, smallHead)
      res.end(small)
    }
  } else if (req.url === LARGE.path) {
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
    if (range === null) {
      res.writeHead(200, [
        'Content-Type',
        'application/octet-stream',
        'Content-Length',
        String(large.length),
      ])
      res.end(large)
    } else {
      const start = Number(range[1])
      const end = Number(range[2])
      res.writeHead(206, [
        'Content-Type',
        'application/octet-stream',
        'Content-Range',
        `bytes ${start}-${end}/${large.length}`,
        'Content-Length',
        String(end - start + 1),
      ])
      res.end(large.subarray(start, end + 1))
    }
  } else if (req.url === SCRIPT.path || req.url === SCRIPT_ON_THE_FLY.path) {
    res.writeHead(200, scriptHead)
    res.end(scriptBr)
  } else if (req.url === MEDIUM.path && req.headers.range === MULTIPART_FIELD) {
    res.writeHead(206, [
      'Content-Type',
      multipart.type,
      'Content-Length',
      String(multipart.body.length),
    ])
    res.end(multipart.body)
  } else {
    res.writeHead(404, ['Content-Type', 'text/plain', 'Content-Length', '10'])
    res.end('Not Found\n')
  }
})

/** The one multipart/byteranges answer S5 asks for, built once. */
function buildMultipart(file: Buffer): { type: string; body: Buffer } {
  const boundary = 'floorboundary'
  const chunks: Buffer[] = []
  for (const { start, end } of MULTIPART_RANGES) {
    const head = `\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${end}/${file.length}\r\n\r\n`
    chunks.push(Buffer.from(head, 'latin1'), file.subarray(start, end + 1))
  }
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'))
  return { type: `multipart/byteranges; boundary=${boundary}`, body: Buffer.concat(chunks) }
}

server.keepAliveTimeout = 5000
server.listen(args.port, args.host, () => announce('floor', server))
exitOnSignal(server)
