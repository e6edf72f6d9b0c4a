/**
 * Field value syntax shared by several headers (RFC 9110 section 5.6): tokens and comma-separated
 * lists. Hand-written linear scanners, no regular expressions over request input.
 *
 *   token = 1*tchar
 *   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
 *         / "~" / DIGIT / ALPHA
 */

const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1

/**
 * Section 5.6.2: a method, a field name and most list elements are tokens.
 * @example isToken('X-Custom') // true
 */
export function isToken(value: string): boolean {
  if (value.length === 0) return false
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c >= 128 || TCHAR[c] === 0) return false
  }
  return true
}

/** Section 5.6.3: optional whitespace is spaces and horizontal tabs. */
export function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09
}

/**
 * Splits a `#element` list (section 5.6.1) on commas, trimming whitespace around each element.
 * Empty elements are dropped, as section 5.6.1 tells recipients to accept and ignore them
 * (`a, ,b` is `a`, `b`). Elements are returned as written; the caller validates them.
 * @example splitList(' GET,, PUT ') // ['GET', 'PUT']
 */
export function splitList(value: string): string[] {
  const out: string[] = []
  let start = 0
  for (let i = 0; i <= value.length; i++) {
    if (i < value.length && value.charCodeAt(i) !== 0x2c) continue
    let a = start
    let b = i
    while (a < b && isOws(value.charCodeAt(a))) a++
    while (b > a && isOws(value.charCodeAt(b - 1))) b--
    if (b > a) out.push(value.slice(a, b))
    start = i + 1
  }
  return out
}

/**
 * A `#token` list: the elements, or undefined when one of them is not a token.
 * @example parseTokenList('x-a, X-B') // ['x-a', 'X-B']
 */
export function parseTokenList(value: string): string[] | undefined {
  const items = splitList(value)
  for (const item of items) if (!isToken(item)) return undefined
  return items
}
