/**
 * Peer: sirv in production mode (it indexes the directory at start-up) under a plain
 * node:http server, with `brotli` and `gzip` (it sends a file's .br or .gz sibling; S7). sirv
 * has no CORS middleware, so this peer takes no part in S3.
 */

import { createServer } from 'node:http'
import sirv from 'sirv'
import { announce, exitOnSignal, peerArgs } from './common.js'

const args = peerArgs()
const serve = sirv(args.root, { dev: false, etag: true, brotli: true, gzip: true })
const server = createServer((req, res) =>
  serve(req, res, () => {
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10 })
    res.end('Not Found\n')
  }),
)
server.listen(args.port, args.host, () => announce('sirv', server))
exitOnSignal(server)
