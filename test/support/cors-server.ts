/**
 * Test support for CORS: a sluice engine behind the CORS layer on a loopback port, with a count of
 * the requests that reached the inner engine (to prove a refused request had no effect) and the
 * log lines written.
 */

import { Writable } from 'node:stream'
import { type CorsPolicyOptions, createCorsPolicy } from '../../src/core/cors/policy.js'
import { type PathPattern, parsePathPattern } from '../../src/core/path-patterns.js'
import { withCors } from '../../src/http/cors.js'
import { createEngine, type Engine, type EngineRequest } from '../../src/http/engine.js'
import { listen, shutdown } from '../../src/http/connections.js'
import { createNodeHandler } from '../../src/http/node-handler.js'
import { createHttpServer } from '../../src/http/server.js'
import { createLogger } from '../../src/log.js'
import { openFsStore } from '../../src/store/fs-store.js'
import type { RunningServer } from './server.js'

export interface CorsTestServer extends RunningServer {
  /** Requests that reached the inner engine, as `METHOD url`. */
  readonly reached: string[]
}

export interface CorsTestOptions {
  readonly policy?: CorsPolicyOptions<EngineRequest>
  readonly routes?: Record<string, CorsPolicyOptions<EngineRequest> | null>
  /** Replaces the file engine (for statuses the file engine does not produce). */
  readonly inner?: Engine
}

export async function startCorsServer(
  root: string,
  options: CorsTestOptions,
): Promise<CorsTestServer> {
  const store = await openFsStore({ root })
  const files = options.inner ?? createEngine({ store })
  const reached: string[] = []
  const counted: Engine = (request) => {
    reached.push(`${request.method} ${request.url}`)
    return files(request)
  }
  // Every log line (access log and CORS denials), parsed, in order.
  const log: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) log.push(JSON.parse(line))
      callback()
    },
  })
  const logger = createLogger({ format: 'json', destination })
  const engine = withCors(counted, {
    policy: options.policy === undefined ? null : createCorsPolicy(options.policy),
    routes: Object.entries(options.routes ?? {}).map(([path, policy]) => ({
      pattern: parsePathPattern(path) as PathPattern,
      policy: policy === null ? null : createCorsPolicy(policy),
    })),
    logger,
  })
  const server = createHttpServer(createNodeHandler(engine, logger))
  const url = await listen(server, '127.0.0.1', 0)
  return {
    url,
    port: Number(new URL(url).port),
    reached,
    log,
    close: () => shutdown(server, 1000),
  }
}
