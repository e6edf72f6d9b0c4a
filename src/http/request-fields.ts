/**
 * How a request's header fields are read, in one place for every module of the HTTP layer:
 * their type as adapters hand them over, one value from a field sent on several lines, whether
 * the request has content, and whether it is a CORS preflight.
 */

/** A request's header fields: names in lower case, as node:http and the adapters give them. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>

/**
 * A field's value as one string: a field sent on several lines is their values joined with
 * ", ", which RFC 9110 section 5.3 makes equivalent for list fields.
 * @example fieldValue(['"a"', '"b"']) // '"a", "b"'
 */
export function fieldValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * Whether the request announces content (RFC 9112 section 6.3): a Transfer-Encoding, or a
 * Content-Length other than 0.
 * @example hasContent({ 'content-length': '0' }) // false
 */
export function hasContent(headers: RequestHeaders): boolean {
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Whether the client waits for 100 (Continue) before sending its content (RFC 9110 section
 * 10.1.1).
 * @example expectsContinue({ expect: '100-continue' }) // true
 */
export function expectsContinue(headers: RequestHeaders): boolean {
  const expect = fieldValue(headers.expect)
  return expect !== undefined && /100-continue/i.test(expect)
}

/**
 * Whether the request is a CORS-preflight request (Fetch, "CORS-preflight request"): OPTIONS
 * with Access-Control-Request-Method. Its value, when it is one.
 * @example preflightMethod('OPTIONS', { 'access-control-request-method': 'PUT' }) // 'PUT'
 */
export function preflightMethod(method: string, headers: RequestHeaders): string | undefined {
  return method === 'OPTIONS' ? fieldValue(headers['access-control-request-method']) : undefined
}
