/** Peer for the HTTP/2 bench: Fastify 5 with `http2: true` over TLS and @fastify/static. */

import { readFileSync } from 'node:fs'
import fastifyStatic from '@fastify/static'
import Fastify from 'fastify'

const value = (flag: string) => {
  const at = process.argv.indexOf(flag)
  if (at === -1) throw new Error(`fastify-h2: ${flag} is required`)
  return process.argv[at + 1]!
}
const app = Fastify({
  logger: false,
  http2: true,
  https: {
    allowHTTP1: true,
    cert: readFileSync(value('--cert')),
    key: readFileSync(value('--key')),
  },
})
await app.register(fastifyStatic, { root: value('--root'), prefix: '/' })
const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`fastify-h2 listening at ${address}\n`)
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
