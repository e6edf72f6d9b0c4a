/**
 * node:http: `createHandler(options)` is a `(req, res)` request listener.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { createHandler } from 'sluice'
 * createServer(createHandler({ root: './public' })).listen(8080)
 */

import { createNodeHandler, type NodeHandler } from '../http/server.js'
import { buildEngine, type SluiceOptions } from '../options.js'

export function createHandler(options: SluiceOptions): NodeHandler {
  return createNodeHandler(buildEngine(options))
}
