/**
 * Run as a child process (`node dist/test/support/faulty-server.js <root>`): sluice's node:http
 * server over the faulty store (faulty-store.ts), plus `/dynamic`, an application route whose
 * range source throws. Prints its URL, and stops on SIGTERM. If an error in one request could
 * take the process down, this process would exit.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendRepresentation } from '../../src/adapters/node.js'
import { createEngine } from '../../src/http/engine.js'
import { listen, shutdown } from '../../src/http/connections.js'
import { createNodeHandler } from '../../src/http/node-handler.js'
import { createHttpServer } from '../../src/http/server.js'
import { createLogger } from '../../src/log.js'
import { openFsStore } from '../../src/store/fs-store.js'
import { faultyStore } from './faulty-store.js'

const root = process.argv[2]
if (root === undefined) throw new Error('usage: faulty-server.js <root>')

const logger = createLogger({ format: 'json' })
const files = createNodeHandler(
  createEngine({ store: faultyStore(await openFsStore({ root })) }),
  logger,
)
const handler = (req: IncomingMessage, res: ServerResponse) => {
  if (req.url === '/dynamic') {
    // An application callback that throws, inside a representation sluice streams.
    sendRepresentation(req, res, {
      etag: '"d1"',
      body: {
        size: 10_000,
        read() {
          throw new Error('range source bug')
        },
      },
    })
    return
  }
  if (req.url === '/dynamic-rejects') {
    sendRepresentation(req, res, {
      etag: '"d2"',
      body: { size: 10_000, read: () => Promise.reject(new Error('range source rejects')) },
    })
    return
  }
  files(req, res)
}
const server = createHttpServer(handler, {}, logger)
const url = await listen(server, '127.0.0.1', 0)
process.stdout.write(`faulty sluice at ${url}\n`)
process.once('SIGTERM', () => {
  shutdown(server, 1000).then(() => {
    logger.flush()
    process.exitCode = 0
  })
})
