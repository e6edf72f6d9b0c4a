/**
 * Peer: Fastify 5 with @fastify/cors and @fastify/static, as documented, with `preCompressed`
 * (it sends a file's .br or .gz sibling when the client accepts it; S7).
 */

import cors from '@fastify/cors'
import fastifyStatic from '@fastify/static'
import Fastify from 'fastify'
import { announce, CORS_POLICY, exitOnSignal, peerArgs } from './common.js'

const args = peerArgs()
const app = Fastify({ logger: false })
await app.register(cors, {
  origin: CORS_POLICY.origin,
  methods: [...CORS_POLICY.methods],
  allowedHeaders: [...CORS_POLICY.headers],
  maxAge: CORS_POLICY.maxAgeSeconds,
})
await app.register(fastifyStatic, { root: args.root, prefix: '/', preCompressed: true })
await app.listen({ host: args.host, port: args.port })
announce('fastify', app.server)
exitOnSignal(app.server)
