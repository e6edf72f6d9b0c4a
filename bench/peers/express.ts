/** Peer: Express 5 with the cors middleware in front of serve-static, as documented. */

import cors from 'cors'
import express from 'express'
import serveStatic from 'serve-static'
import { announce, CORS_POLICY, exitOnSignal, peerArgs } from './common.js'

const args = peerArgs()
const app = express()
app.disable('x-powered-by')
app.use(
  cors({
    origin: CORS_POLICY.origin,
    methods: [...CORS_POLICY.methods],
    allowedHeaders: [...CORS_POLICY.headers],
    maxAge: CORS_POLICY.maxAgeSeconds,
  }),
)
app.use(serveStatic(args.root))
const server = app.listen(args.port, args.host, () => announce('express', server))
exitOnSignal(server)
