/**
 * CORS around an application's own routes: sluice's CORS layer (src/http/cors.ts) over an
 * engine that answers nothing itself. The layer's reply is either the answer (a preflight's 204,
 * 403 or 400; a 403 for an unsafe method from an origin the policy refuses, before the
 * application runs) or, marked `fallthrough`, the Access-Control-* and Vary fields to add to
 * whatever the application answers. Each adapter (corsMiddleware, fastifyCors, withCorsFetch)
 * only carries those two outcomes to its framework.
 */

import { mergeVary, withCors } from '../http/cors.js'
import type { Engine } from '../http/engine.js'
import type { Reply } from '../http/reply.js'
import { type AppCorsSettings, type CorsOptions, resolveAppCors } from '../options.js'

/** The inner engine: every request is the application's. */
const APPLICATION: Engine = async () => ({
  status: 404,
  headers: {},
  body: { kind: 'none' },
  notes: {},
  fallthrough: true,
})

/** The CORS decision for requests the application answers, validated at construction. */
export function createAppCors(options: CorsOptions, settings?: AppCorsSettings): Engine {
  const { policy, logger } = resolveAppCors(options, settings)
  return withCors(APPLICATION, { policy, logger })
}

/**
 * Adds a `fallthrough` reply's fields (Access-Control-*, and Vary merged with the one the
 * response has) to a response the application writes, through that framework's `get`/`set`.
 */
export function addCorsFields(
  reply: Reply,
  get: (name: string) => unknown,
  set: (name: string, value: string) => void,
): void {
  for (const [name, value] of Object.entries(reply.headers)) {
    if (name.startsWith('Access-Control-')) set(name, String(value))
  }
  const vary = reply.headers.Vary
  if (vary !== undefined) {
    const current = get('vary')
    const names = String(vary)
      .split(',')
      .map((name) => name.trim())
    set('Vary', mergeVary(current === undefined || current === null ? '' : String(current), names))
  }
}
