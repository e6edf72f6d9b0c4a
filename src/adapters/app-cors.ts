/**
 * CORS around an application's own routes: sluice's CORS layer (src/http/cors.ts) over an
 * engine that answers nothing itself. The layer's reply is either the answer (a preflight's 204,
 * 403 or 400; a 403 for an unsafe method from an origin the policy refuses, before the
 * application runs) or, marked `fallthrough`, the Access-Control-* and Vary fields to add to
 * whatever the application answers. Each adapter (corsMiddleware, fastifyCors, withCorsFetch)
 * only carries those two outcomes to its framework.
 */

import { addVary, withCors } from '../http/cors.js'
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
  for (const [name, value] of corsFields(reply)) {
    if (name !== 'Vary') set(name, value)
  }
  const vary = reply.headers.Vary
  if (vary !== undefined) {
    const current = get('vary')
    set(
      'Vary',
      mergeVary(
        current === undefined || current === null ? undefined : String(current),
        String(vary),
      ),
    )
  }
}

/** The Access-Control-* fields of a `fallthrough` reply. */
function corsFields(reply: Reply): [name: string, value: string][] {
  const fields: [string, string][] = []
  for (const [name, value] of Object.entries(reply.headers)) {
    if (name.startsWith('Access-Control-')) fields.push([name, String(value)])
  }
  return fields
}

/** `current` (a Vary value the application set, if any) with `added`'s names merged in. */
function mergeVary(current: string | undefined, added: string): string {
  const reply: Reply = {
    status: 200,
    headers: current === undefined || current === '' ? {} : { Vary: current },
    body: { kind: 'none' },
    notes: {},
  }
  addVary(
    reply,
    added.split(',').map((name) => name.trim()),
  )
  return String(reply.headers.Vary)
}
