/**
 * The browser's side of CORS, as the Fetch standard specifies it: whether a request needs a
 * preflight (section "HTTP fetch" step 4.1 conditions), the CORS check (section "CORS check"),
 * the checks of a preflight answer (section "CORS-preflight fetch" step 7) and which response
 * headers a script may read (section "CORS-safelisted response-header name"). cors-check runs
 * these against any server; every failure is a sentence close to what Chromium's console says.
 *
 * Response headers are given as a record of lower-case names to values, with repeated fields
 * combined by `, ` (Fetch "get" a header).
 */

import { isToken, splitList } from '../field-syntax.js'
import {
  corsUnsafeRequestHeaderNames,
  type HeaderEntry,
  isCorsSafelistedMethod,
  isCorsSafelistedResponseHeaderName,
  isNonWildcardRequestHeaderName,
  whyNotSafelisted,
} from './safelist.js'

export type ResponseFields = Readonly<Record<string, string | undefined>>

/** A request as a script makes it. */
export interface BrowserRequest {
  /** The serialized origin of the page. */
  readonly origin: string
  /** Already normalized (Fetch "normalize" a method). */
  readonly method: string
  readonly headers: readonly HeaderEntry[]
  /** Credentials mode "include". */
  readonly credentials: boolean
}

export type Check = { readonly ok: true } | { readonly ok: false; readonly reason: string }

const OK: Check = { ok: true }

/**
 * Whether a browser sends a CORS-preflight request first, and why: a method other than GET,
 * HEAD and POST, or a header that is not CORS-safelisted (Fetch "CORS-unsafe request-header
 * names").
 * @example preflightReasons({ origin: 'https://app.example', method: 'PUT', headers: [['X-Custom', '1']], credentials: false }) // ['method PUT is not GET, HEAD or POST', 'x-custom is not a CORS-safelisted request-header']
 */
export function preflightReasons(request: BrowserRequest): string[] {
  const reasons: string[] = []
  if (!isCorsSafelistedMethod(request.method)) {
    reasons.push(`method ${request.method} is not GET, HEAD or POST`)
  }
  const unsafe = corsUnsafeRequestHeaderNames(request.headers)
  for (const name of unsafe) {
    const entry = request.headers.find(([n]) => n.toLowerCase() === name)
    const why = entry === undefined ? undefined : whyNotSafelisted(entry[0], entry[1])
    reasons.push(why ?? `safelisted header values add up to more than 1024 bytes (${name})`)
  }
  return reasons
}

/**
 * The header list of the preflight a browser sends for `request` (Fetch "CORS-preflight fetch"
 * steps 2 to 5): names joined by `,` without a space, as browsers do.
 * @example preflightRequestFields({ origin: 'https://app.example', method: 'PUT', headers: [['X-Custom', '1']], credentials: false })['Access-Control-Request-Headers'] // 'x-custom'
 */
export function preflightRequestFields(request: BrowserRequest): Record<string, string> {
  const fields: Record<string, string> = {
    Accept: '*/*',
    Origin: request.origin,
    'Access-Control-Request-Method': request.method,
  }
  const unsafe = corsUnsafeRequestHeaderNames(request.headers)
  if (unsafe.length > 0) fields['Access-Control-Request-Headers'] = unsafe.join(',')
  return fields
}

/**
 * Fetch "CORS check": may the response be shared with `origin`?
 * @example corsCheck('https://app.example', true, { 'access-control-allow-origin': '*' }) // { ok: false, reason: "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'" }
 */
export function corsCheck(origin: string, credentials: boolean, fields: ResponseFields): Check {
  const allowOrigin = fields['access-control-allow-origin']
  if (allowOrigin === undefined) {
    return fail("No 'Access-Control-Allow-Origin' header is present on the requested resource")
  }
  if (!credentials && allowOrigin === '*') return OK
  if (allowOrigin !== origin) {
    if (allowOrigin === '*') {
      return fail(
        "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'",
      )
    }
    if (allowOrigin.includes(',')) {
      return fail(
        `The 'Access-Control-Allow-Origin' header contains multiple values '${allowOrigin}', but only one is allowed`,
      )
    }
    return fail(
      `The 'Access-Control-Allow-Origin' header has a value '${allowOrigin}' that is not equal to the supplied origin '${origin}'`,
    )
  }
  if (!credentials) return OK
  const allowCredentials = fields['access-control-allow-credentials']
  // `true` is case-sensitive (Fetch "HTTP new-header syntax").
  if (allowCredentials === 'true') return OK
  return fail(
    `The value of the 'Access-Control-Allow-Credentials' header in the response is '${allowCredentials ?? ''}' which must be 'true' when the request's credentials mode is 'include'`,
  )
}

/** Fetch "extract header list values" for a `#token` header: null when absent, failure as undefined. */
function extractTokens(value: string | undefined): string[] | null | undefined {
  if (value === undefined) return null
  const items = splitList(value)
  return items.every(isToken) ? items : undefined
}

export interface PreflightVerdict {
  readonly check: Check
  /** Seconds the browser would cache the answer (5 when absent or invalid). */
  readonly maxAge: number
}

/**
 * Checks a preflight answer as Fetch "CORS-preflight fetch" step 7 does, for the request that
 * caused it.
 * @example checkPreflightResponse({ origin: 'https://app.example', method: 'PUT', headers: [], credentials: false }, 204, { 'access-control-allow-origin': 'https://app.example', 'access-control-allow-methods': 'PUT' }) // { check: { ok: true }, maxAge: 5 }
 */
export function checkPreflightResponse(
  request: BrowserRequest,
  status: number,
  fields: ResponseFields,
): PreflightVerdict {
  const verdict = (check: Check): PreflightVerdict => ({ check, maxAge: parseMaxAge(fields) })
  const cors = corsCheck(request.origin, request.credentials, fields)
  if (!cors.ok) return verdict(prefixed(cors.reason))
  if (status < 200 || status > 299) {
    return verdict(prefixed(`It does not have HTTP ok status (got ${status})`))
  }
  const methods = extractTokens(fields['access-control-allow-methods'])
  const headerNames = extractTokens(fields['access-control-allow-headers'])
  if (methods === undefined) {
    return verdict(
      fail('Access-Control-Allow-Methods in the preflight response is not a list of methods'),
    )
  }
  if (headerNames === undefined) {
    return verdict(
      fail('Access-Control-Allow-Headers in the preflight response is not a list of header names'),
    )
  }
  const allowedMethods = methods ?? []
  const method = request.method
  // Step 7.5: methods compare exactly; `*` counts only without credentials.
  if (
    !allowedMethods.includes(method) &&
    !isCorsSafelistedMethod(method) &&
    (request.credentials || !allowedMethods.includes('*'))
  ) {
    const why =
      request.credentials && allowedMethods.includes('*')
        ? " ('*' does not count with credentials)"
        : ''
    return verdict(
      fail(
        `Method ${method} is not allowed by Access-Control-Allow-Methods in preflight response${why}`,
      ),
    )
  }
  const names = new Set((headerNames ?? []).map((n) => n.toLowerCase()))
  const wildcard = names.has('*')
  // Step 7.6: Authorization is never covered by `*`.
  for (const [name] of request.headers) {
    if (isNonWildcardRequestHeaderName(name) && !names.has(name.toLowerCase())) {
      const why = wildcard ? " ('*' does not cover Authorization)" : ''
      return verdict(
        fail(
          `Request header field ${name.toLowerCase()} is not allowed by Access-Control-Allow-Headers in preflight response${why}`,
        ),
      )
    }
  }
  // Step 7.7: every CORS-unsafe name listed, `*` only without credentials.
  for (const name of corsUnsafeRequestHeaderNames(request.headers)) {
    if (!names.has(name) && (request.credentials || !wildcard)) {
      const why = request.credentials && wildcard ? " ('*' does not count with credentials)" : ''
      return verdict(
        fail(
          `Request header field ${name} is not allowed by Access-Control-Allow-Headers in preflight response${why}`,
        ),
      )
    }
  }
  return verdict(OK)
}

/** Access-Control-Max-Age as a browser reads it: delta-seconds, else the default 5. */
function parseMaxAge(fields: ResponseFields): number {
  const value = fields['access-control-max-age']
  return value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : 5
}

/**
 * The response header names a script can read (Fetch "CORS-safelisted response-header name";
 * `*` in Access-Control-Expose-Headers counts only without credentials).
 * @example readableResponseHeaders({ 'content-type': 'text/plain', etag: '"v1"', 'x-secret': '1', 'access-control-expose-headers': 'ETag' }, false) // ['content-type', 'etag']
 */
export function readableResponseHeaders(fields: ResponseFields, credentials: boolean): string[] {
  const exposed = splitList(fields['access-control-expose-headers'] ?? '')
  const all = !credentials && exposed.includes('*')
  return Object.keys(fields).filter((name) =>
    all
      ? name !== 'set-cookie' && name !== 'set-cookie2'
      : isCorsSafelistedResponseHeaderName(name, exposed),
  )
}

/**
 * What a correct server does that a browser does not enforce: Vary: Origin when
 * Access-Control-Allow-Origin names an origin (Fetch "CORS protocol and HTTP caches"), else a
 * shared cache may hand one origin's answer to another.
 * @example cachingWarnings({ 'access-control-allow-origin': 'https://app.example', vary: 'Origin' }) // []
 */
export function cachingWarnings(fields: ResponseFields): string[] {
  const allowOrigin = fields['access-control-allow-origin']
  if (allowOrigin === undefined || allowOrigin === '*') return []
  const vary = splitList(fields.vary ?? '').map((v) => v.toLowerCase())
  if (vary.includes('origin') || vary.includes('*')) return []
  return [
    `Access-Control-Allow-Origin names an origin but Vary lacks Origin: a cache may serve this answer to another origin`,
  ]
}

function prefixed(reason: string): Check {
  return fail(`Response to preflight request doesn't pass access control check: ${reason}`)
}

function fail(reason: string): Check {
  return { ok: false, reason }
}
