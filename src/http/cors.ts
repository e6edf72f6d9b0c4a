/**
 * The CORS layer: an Engine around an Engine. It runs before the inner engine so that a request
 * it refuses (an unsafe method from an origin the policy does not allow) never reaches the code
 * that would act on it, answers CORS-preflight requests itself, and adds the Access-Control-*
 * fields to whatever the inner engine answers, whatever the status.
 *
 * Statuses it chooses (documented in README "CORS"):
 * - 204 for an allowed preflight;
 * - 403 for a refused preflight, with no Access-Control-Allow-* field at all (Fetch "HTTP
 *   responses": "the 403 status can be used, coupled with omitting the relevant headers");
 * - 400 for a preflight whose Access-Control-Request-Method or -Headers is not valid syntax;
 * - 403 for a method other than GET, HEAD and OPTIONS from an origin the policy does not allow.
 */

import type { CorsDenial, CorsPolicy } from '../core/cors/policy.js'
import { matchPath, type PathPattern } from '../core/path-patterns.js'
import { escapeControls, type Logger, silentLogger } from '../log.js'
import type { Engine, EngineRequest } from './engine.js'
import type { FastLane, FastReply } from './fast-path.js'
import { type Reply, textReply } from './reply.js'
import { fieldValue, preflightMethod } from './request-fields.js'
import { parseTarget } from './target.js'

/** A policy for the paths matching `pattern`; `null` means no CORS there. */
export interface CorsRoute {
  readonly pattern: PathPattern
  readonly policy: CorsPolicy<EngineRequest> | null
}

export interface CorsLayerOptions {
  /** The policy for paths that no route matches; absent means no cross-origin access there. */
  readonly policy?: CorsPolicy<EngineRequest> | null
  /** Per-path policies, first match wins. */
  readonly routes?: readonly CorsRoute[]
  /** Denials are logged at warn, once per origin and reason. */
  readonly logger?: Logger
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const VARY_ACTUAL = ['Origin']
const VARY_PREFLIGHT = ['Origin', 'Access-Control-Request-Method', 'Access-Control-Request-Headers']
const VARY_PREFLIGHT_PRIVATE = [...VARY_PREFLIGHT, 'Access-Control-Request-Private-Network']
/** Distinct (origin, reason) pairs remembered for logging once; then the set starts over. */
const DENIAL_LOG_LIMIT = 1000

/** Short fixed phrases for response bodies: never a reflected request value. */
const DENIAL_PHRASES: Readonly<Record<CorsDenial['code'] | 'no-policy', string>> = {
  origin: 'the origin is not allowed',
  method: 'the method is not allowed',
  header: 'a request header is not allowed',
  credentials: 'credentials are not allowed',
  'private-network': 'private network access is not enabled',
  'no-policy': 'no CORS policy covers this path',
}

/**
 * Wraps `engine` with CORS.
 * @example withCors(createEngine({ store }), { policy: createCorsPolicy({ origins: ['https://app.example'] }) })
 */
export function withCors(engine: Engine, options: CorsLayerOptions): Engine {
  const fallback = options.policy ?? null
  const routes = options.routes ?? []
  const anyPolicy = fallback !== null || routes.some((r) => r.policy !== null)
  const logger = options.logger ?? silentLogger()
  const logged = new Set<string>()

  const policyFor = (url: string): CorsPolicy<EngineRequest> | null => {
    // Per-path policies cost a parse of the target; without routes there is nothing to match.
    if (routes.length === 0) return fallback
    const target = parseTarget(url)
    if (target.kind !== 'path') return fallback
    for (const route of routes) if (matchPath(route.pattern, target.segments)) return route.policy
    return fallback
  }

  const logDenial = (request: EngineRequest, origin: string, denial: CorsDenial | string) => {
    const reason = typeof denial === 'string' ? denial : denial.message
    // Bounded keys: a thousand of them, each as long as a request head allows, would be a lot.
    const key = `${origin.slice(0, 200)}\n${reason.slice(0, 400)}`
    if (logged.has(key)) return
    if (logged.size >= DENIAL_LOG_LIMIT) logged.clear()
    logged.add(key)
    // The origin is request content: obs-text can carry C1 controls, which JSON leaves raw.
    logger.warn(
      {
        origin: escapeControls(origin.slice(0, 200)),
        method: request.method,
        path: request.url.slice(0, 200),
        reason: escapeControls(reason),
      },
      'CORS denied',
    )
  }

  const inner = async (request: EngineRequest): Promise<Reply> => {
    try {
      return await engine(request)
    } catch (error) {
      // The error still gets its CORS fields, so a script can read that it failed.
      logger.error({ err: error }, 'request failed')
      return textReply(500, 'Internal Server Error')
    }
  }

  const cors: Engine = async function cors(request: EngineRequest): Promise<Reply> {
    const origin = fieldValue(request.headers.origin)
    const policy = policyFor(request.url)
    // Requests without Origin, and same-origin ones, are not CORS requests: untouched, except
    // that a response under a policy would differ with an Origin, which caches must know.
    if (origin === undefined || isSameOrigin(origin, fieldValue(request.headers.host))) {
      const reply = await engine(request)
      if (policy !== null) addVary(reply, VARY_ACTUAL)
      return reply
    }

    const requestMethod = preflightMethod(request.method, request.headers)
    if (requestMethod !== undefined) {
      return preflight(request, origin, requestMethod, policy)
    }

    if (policy === null) {
      if (SAFE_METHODS.has(request.method)) {
        const reply = await engine(request)
        if (anyPolicy) {
          logDenial(request, origin, DENIAL_PHRASES['no-policy'])
          reply.notes.cors = 'denied: no policy'
        }
        return reply
      }
      logDenial(request, origin, `${DENIAL_PHRASES['no-policy']}: ${request.method} refused`)
      return refuse(403, `Forbidden: ${DENIAL_PHRASES['no-policy']}`, 'refused: no policy')
    }

    const credentialed =
      request.headers.cookie !== undefined || request.headers.authorization !== undefined
    const decision = await policy.decideActual({ origin, credentialed }, request)
    if (!decision.allowed) {
      logDenial(request, origin, decision.denial)
      if (!SAFE_METHODS.has(request.method)) {
        return refuse(403, `Forbidden: ${DENIAL_PHRASES[decision.denial.code]}`, 'refused: origin')
      }
      const reply = await inner(request)
      addVary(reply, VARY_ACTUAL)
      reply.notes.cors = `denied: ${decision.denial.code}`
      return reply
    }
    const reply = await inner(request)
    Object.assign(reply.headers, decision.headers)
    addVary(reply, VARY_ACTUAL)
    if (decision.warning !== undefined) {
      logDenial(request, origin, decision.warning)
      reply.notes.cors = `allowed, but ${decision.warning.code}`
    } else {
      reply.notes.cors = 'allowed'
    }
    return reply
  }
  cors.fast = fastLane(engine.fast, policyFor)
  return cors

  async function preflight(
    request: EngineRequest,
    origin: string,
    method: string,
    policy: CorsPolicy<EngineRequest> | null,
  ): Promise<Reply> {
    if (policy === null) {
      logDenial(request, origin, DENIAL_PHRASES['no-policy'])
      return refuse(
        403,
        `Forbidden: CORS preflight refused: ${DENIAL_PHRASES['no-policy']}`,
        'preflight denied: no policy',
        VARY_PREFLIGHT,
      )
    }
    const decision = await policy.decidePreflight(
      {
        origin,
        method,
        headers: fieldValue(request.headers['access-control-request-headers']),
        privateNetwork:
          fieldValue(request.headers['access-control-request-private-network']) === 'true',
      },
      request,
    )
    const vary = policy.options.privateNetwork ? VARY_PREFLIGHT_PRIVATE : VARY_PREFLIGHT
    if (decision.allowed) {
      return {
        status: 204,
        headers: { ...decision.headers, Vary: vary.join(', ') },
        body: { kind: 'none' },
        notes: { cors: 'preflight allowed' },
      }
    }
    if ('malformed' in decision) {
      return refuse(400, `Bad Request: ${decision.malformed}`, 'preflight malformed', vary)
    }
    logDenial(request, origin, decision.denial)
    return refuse(
      403,
      `Forbidden: CORS preflight refused: ${DENIAL_PHRASES[decision.denial.code]}`,
      `preflight denied: ${decision.denial.code}`,
      vary,
    )
  }
}

/**
 * The CORS layer's fast lane (fast-path.ts): a request without Origin takes the inner lane,
 * with `Vary: Origin` where a policy applies, as the layer adds it; an allowed preflight under
 * a policy with a fixed allow-list is answered from the policy's cache of decisions, each
 * turned into a prebuilt answer once. Anything else (denials, same-origin requests, a policy
 * function) returns undefined and goes through the layer.
 */
function fastLane(
  inner: FastLane | undefined,
  policyFor: (url: string) => CorsPolicy<EngineRequest> | null,
): FastLane {
  const varied = new WeakMap<FastReply, FastReply>()
  const preflights = new WeakMap<object, FastReply>()
  return (method, url, headers) => {
    const origin = fieldValue(headers.origin)
    if (origin === undefined) {
      const reply = inner?.(method, url, headers)
      if (reply === undefined || policyFor(url) === null) return reply
      let withOrigin = varied.get(reply)
      if (withOrigin === undefined) {
        withOrigin = withVary(reply, VARY_ACTUAL)
        varied.set(reply, withOrigin)
      }
      return withOrigin
    }
    const requestMethod = preflightMethod(method, headers)
    if (requestMethod === undefined) return undefined
    if (isSameOrigin(origin, fieldValue(headers.host))) return undefined
    const policy = policyFor(url)
    if (policy === null || policy.options.origins === 'function') return undefined
    const decision = policy.decidePreflight(
      {
        origin,
        method: requestMethod,
        headers: fieldValue(headers['access-control-request-headers']),
        privateNetwork: fieldValue(headers['access-control-request-private-network']) === 'true',
      },
      { method, url, headers },
    )
    if (decision instanceof Promise || !decision.allowed) return undefined
    let reply = preflights.get(decision)
    if (reply === undefined) {
      const vary = policy.options.privateNetwork ? VARY_PREFLIGHT_PRIVATE : VARY_PREFLIGHT
      const head: string[] = []
      for (const [name, value] of Object.entries(decision.headers)) head.push(name, value)
      head.push('Vary', vary.join(', '))
      reply = Object.freeze({
        status: 204,
        head: Object.freeze(head),
        body: undefined,
        stream: undefined,
        notes: PREFLIGHT_ALLOWED,
      })
      preflights.set(decision, reply)
    }
    return reply
  }
}

const PREFLIGHT_ALLOWED = Object.freeze({ cors: 'preflight allowed' })

function refuse(status: number, reason: string, note: string, vary = VARY_ACTUAL): Reply {
  const reply = textReply(status, reason, { Vary: vary.join(', ') })
  reply.notes.cors = note
  return reply
}

/**
 * Browsers send Origin on same-origin requests too (for every method but GET and HEAD). An
 * Origin whose host and port are the request's Host is this server's own page: http or https,
 * since sluice may sit behind a proxy that terminates TLS.
 */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false
  const lowerHost = host.toLowerCase()
  for (const [scheme, port] of [
    ['http://', ':80'],
    ['https://', ':443'],
  ] as const) {
    if (!origin.startsWith(scheme)) continue
    const authority = origin.slice(scheme.length)
    return (
      authority === lowerHost ||
      `${authority}${port}` === lowerHost ||
      authority === `${lowerHost}${port}`
    )
  }
  return false
}

/**
 * The same answer with `names` added to its Vary, as addVary does to a reply: merged into the
 * Vary field already there (fast-path.ts puts `Vary: Accept-Encoding` on negotiable files), in
 * its place, or as a field of its own at the end (memoized per answer by the caller).
 */
function withVary(reply: FastReply, names: readonly string[]): FastReply {
  const head = [...reply.head]
  let at = -1
  for (let i = 0; i < head.length; i += 2) if (head[i] === 'Vary') at = i
  if (at === -1) head.push('Vary', names.join(', '))
  else head[at + 1] = mergeVary(head[at + 1]!, names)
  return Object.freeze({ ...reply, head: Object.freeze(head) })
}

/** Adds names to Vary, keeping what is there (RFC 9110 section 12.5.5) and not repeating any. */
export function addVary(reply: Reply, names: readonly string[]): void {
  const existing = reply.headers.Vary
  const merged = mergeVary(existing === undefined ? '' : String(existing), names)
  if (merged !== '') reply.headers.Vary = merged
}

/** The Vary value `current` with `names` added, unless there already (or `current` is `*`). */
export function mergeVary(current: string, names: readonly string[]): string {
  if (current.trim() === '*') return current
  const have = new Set(
    current
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== ''),
  )
  const add = names.filter((n) => n !== '' && !have.has(n.toLowerCase()))
  if (add.length === 0) return current
  return current.trim() === '' ? add.join(', ') : `${current}, ${add.join(', ')}`
}
