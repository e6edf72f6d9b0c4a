/**
 * What a browser may send cross-origin without asking first, from the Fetch standard (section
 * "Methods" and "Headers"): the CORS-safelisted methods and request-headers with their value
 * rules, the CORS-unsafe request-header names a preflight announces, and the names a script may
 * not set at all. A server uses these to explain a decision; cors-check uses them to decide
 * whether a browser would preflight.
 *
 * Header values are byte sequences in Fetch; here they are strings of code points up to U+00FF
 * (as node:http and the Fetch API's isomorphic decoding give them), so length is bytes.
 */

import { isOws, isToken } from '../field-syntax.js'

/**
 * Fetch "CORS-safelisted method": `GET`, `HEAD` or `POST` (compared exactly).
 * @example isCorsSafelistedMethod('PUT') // false
 */
export function isCorsSafelistedMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'POST'
}

/**
 * Fetch "forbidden method": scripts cannot use these at all.
 * @example isForbiddenMethod('trace') // true
 */
export function isForbiddenMethod(method: string): boolean {
  const upper = method.toUpperCase()
  return upper === 'CONNECT' || upper === 'TRACE' || upper === 'TRACK'
}

const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

/**
 * Fetch "normalize" a method: these six are upper-cased, any other method is case-sensitive and
 * kept as written (`patch` stays `patch`, and a server listing `PATCH` does not match it).
 * @example normalizeMethod('patch') // 'patch'
 */
export function normalizeMethod(method: string): string {
  const upper = method.toUpperCase()
  return NORMALIZED_METHODS.has(upper) ? upper : method
}

/** The longest value a safelisted request-header may have (Fetch, step 1). */
export const SAFELISTED_VALUE_LIMIT = 128
/** The most bytes all safelisted request-header values together may have. */
export const SAFELISTED_TOTAL_LIMIT = 1024

/**
 * Fetch "CORS-unsafe request-header byte": controls other than HT, DEL, and the delimiters of
 * RFC 9110 section 5.6.2 except `,/;=`.
 * @example isCorsUnsafeRequestHeaderByte(0x22) // true
 */
export function isCorsUnsafeRequestHeaderByte(byte: number): boolean {
  if (byte < 0x20) return byte !== 0x09
  return '"():<>?@[\\]{}\x7f'.includes(String.fromCharCode(byte))
}

function hasUnsafeByte(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (isCorsUnsafeRequestHeaderByte(value.charCodeAt(i))) return true
  }
  return false
}

/** Accept-Language and Content-Language: `0-9 A-Z a-z`, space and `*,-.;=` only. */
function isLanguageValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    if (!alnum && !' *,-.;='.includes(value[i]!)) return false
  }
  return true
}

const SAFELISTED_CONTENT_TYPES = new Set([
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'text/plain',
])

/**
 * The essence (lower-cased `type/subtype`) of a MIME type, as MIME Sniffing's "parse a MIME type"
 * finds it, or undefined when that algorithm fails. Parameters never make it fail.
 * @example mimeEssence(' Text/Plain ; charset=utf-8') // 'text/plain'
 */
export function mimeEssence(value: string): string | undefined {
  let start = 0
  let end = value.length
  // HTTP whitespace: LF, CR, tab, space.
  const ws = (c: number) => c === 0x0a || c === 0x0d || isOws(c)
  while (start < end && ws(value.charCodeAt(start))) start++
  while (end > start && ws(value.charCodeAt(end - 1))) end--
  const text = value.slice(start, end)
  const slash = text.indexOf('/')
  if (slash <= 0) return undefined
  const type = text.slice(0, slash)
  const semicolon = text.indexOf(';', slash + 1)
  let subtype = text.slice(slash + 1, semicolon === -1 ? text.length : semicolon)
  let trimmed = subtype.length
  while (trimmed > 0 && ws(subtype.charCodeAt(trimmed - 1))) trimmed--
  subtype = subtype.slice(0, trimmed)
  if (!isToken(type) || !isToken(subtype)) return undefined
  return `${type}/${subtype}`.toLowerCase()
}

/**
 * Fetch "parse a single range header value" with whitespace not allowed: `bytes=` then an
 * optional start, `-`, an optional end; not both absent; start not above end.
 * @example parseSingleRange('bytes=100-') // { start: 100, end: null }
 */
export function parseSingleRange(
  value: string,
): { readonly start: number | null; readonly end: number | null } | undefined {
  const match = /^bytes=([0-9]*)-([0-9]*)$/.exec(value)
  if (match === null) return undefined
  const start = match[1] === '' ? null : Number(match[1])
  const end = match[2] === '' ? null : Number(match[2])
  if (start === null && end === null) return undefined
  if (start !== null && end !== null && start > end) return undefined
  return { start, end }
}

/** Header values are isomorphic strings; a code point above U+00FF cannot be sent at all. */
function isByteString(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0xff) return false
  return true
}

/**
 * Fetch "CORS-safelisted request-header": (name, value) may be sent cross-origin without a
 * preflight.
 * @example isCorsSafelistedRequestHeader('Content-Type', 'text/plain;charset=UTF-8') // true
 */
export function isCorsSafelistedRequestHeader(name: string, value: string): boolean {
  if (value.length > SAFELISTED_VALUE_LIMIT || !isByteString(value)) return false
  switch (name.toLowerCase()) {
    case 'accept':
      return !hasUnsafeByte(value)
    case 'accept-language':
    case 'content-language':
      return isLanguageValue(value)
    case 'content-type': {
      if (hasUnsafeByte(value)) return false
      const essence = mimeEssence(value)
      return essence !== undefined && SAFELISTED_CONTENT_TYPES.has(essence)
    }
    case 'range': {
      // Browsers never emitted `bytes=-500` from scripts, so a missing start is not safelisted.
      const range = parseSingleRange(value)
      return range !== undefined && range.start !== null
    }
    default:
      return false
  }
}

/**
 * Why a header is not safelisted, for messages; undefined when it is.
 * @example whyNotSafelisted('X-Custom', '1') // 'x-custom is not a CORS-safelisted request-header'
 */
export function whyNotSafelisted(name: string, value: string): string | undefined {
  if (isCorsSafelistedRequestHeader(name, value)) return undefined
  const lower = name.toLowerCase()
  const known = ['accept', 'accept-language', 'content-language', 'content-type', 'range']
  if (!known.includes(lower)) return `${lower} is not a CORS-safelisted request-header`
  if (value.length > SAFELISTED_VALUE_LIMIT) {
    return `${lower} is longer than ${SAFELISTED_VALUE_LIMIT} bytes`
  }
  if (lower === 'content-type') {
    return `content-type ${JSON.stringify(value)} is not application/x-www-form-urlencoded, multipart/form-data or text/plain`
  }
  if (lower === 'range') return `range ${JSON.stringify(value)} is not a single bytes=start-[end]`
  return `${lower} ${JSON.stringify(value)} has a byte its safelist does not allow`
}

/** A header as a script sets it: name and value. */
export type HeaderEntry = readonly [name: string, value: string]

/**
 * Fetch "CORS-unsafe request-header names": the sorted, lower-cased, de-duplicated names a
 * preflight lists in Access-Control-Request-Headers. Safelisted headers join the list when their
 * values add up to more than 1024 bytes.
 * @example corsUnsafeRequestHeaderNames([['X-B', '1'], ['Content-Type', 'application/json'], ['Accept', '*\/*']]) // ['content-type', 'x-b']
 */
export function corsUnsafeRequestHeaderNames(headers: readonly HeaderEntry[]): string[] {
  const unsafe: string[] = []
  const potentiallyUnsafe: string[] = []
  let safelistValueSize = 0
  for (const [name, value] of headers) {
    if (!isCorsSafelistedRequestHeader(name, value)) {
      unsafe.push(name)
    } else {
      potentiallyUnsafe.push(name)
      safelistValueSize += value.length
    }
  }
  if (safelistValueSize > SAFELISTED_TOTAL_LIMIT) unsafe.push(...potentiallyUnsafe)
  return [...new Set(unsafe.map((n) => n.toLowerCase()))].sort()
}

/**
 * Fetch "CORS non-wildcard request-header name": `*` in Access-Control-Allow-Headers never covers it.
 * @example isNonWildcardRequestHeaderName('Authorization') // true
 */
export function isNonWildcardRequestHeaderName(name: string): boolean {
  return name.toLowerCase() === 'authorization'
}

const FORBIDDEN_REQUEST_HEADERS = new Set([
  'accept-charset',
  'accept-encoding',
  'access-control-request-headers',
  'access-control-request-method',
  'connection',
  'content-length',
  'cookie',
  'cookie2',
  'date',
  'dnt',
  'expect',
  'host',
  'keep-alive',
  'origin',
  'referer',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
])

const METHOD_OVERRIDE_HEADERS = new Set([
  'x-http-method',
  'x-http-method-override',
  'x-method-override',
])

/**
 * Fetch "forbidden request-header": a script's attempt to set it is ignored by the browser.
 * @example isForbiddenRequestHeader('Cookie', 'a=1') // true
 */
export function isForbiddenRequestHeader(name: string, value: string): boolean {
  const lower = name.toLowerCase()
  if (FORBIDDEN_REQUEST_HEADERS.has(lower)) return true
  if (lower.startsWith('proxy-') || lower.startsWith('sec-')) return true
  if (METHOD_OVERRIDE_HEADERS.has(lower)) {
    return value.split(',').some((method) => isForbiddenMethod(method.trim()))
  }
  return false
}

/**
 * Fetch "CORS-safelisted response-header name": what a script can read from a cross-origin
 * response. `exposed` is Access-Control-Expose-Headers; `*` there counts only without credentials
 * and is resolved by the caller. Set-Cookie and Set-Cookie2 are never exposed.
 * @example isCorsSafelistedResponseHeaderName('ETag', ['etag']) // true
 */
export function isCorsSafelistedResponseHeaderName(
  name: string,
  exposed: readonly string[],
): boolean {
  const lower = name.toLowerCase()
  if (lower === 'set-cookie' || lower === 'set-cookie2') return false
  if (SAFELISTED_RESPONSE_HEADERS.has(lower)) return true
  return exposed.some((item) => item.toLowerCase() === lower)
}

const SAFELISTED_RESPONSE_HEADERS = new Set([
  'cache-control',
  'content-language',
  'content-length',
  'content-type',
  'expires',
  'last-modified',
  'pragma',
])
