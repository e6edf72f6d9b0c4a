/**
 * Accept-Encoding (RFC 9110 section 12.5.3): which content codings a request accepts, and so
 * which representation of a negotiable resource it gets. A hand-written linear scanner, no
 * regular expression over request input.
 *
 *   Accept-Encoding = #( codings [ weight ] )
 *   codings         = content-coding / "identity" / "*"
 *   weight          = OWS ";" OWS "q=" qvalue
 *   qvalue          = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
 *
 * What sluice decides where the RFC leaves it open (docs/ARCHITECTURE.md, "Content codings"):
 * - no field, a malformed field, or an empty one: identity only (a client that did not say it
 *   can decode a coding never gets one; "malformed" is the whole field, never a part of it);
 * - identity not listed (and no `*`) is acceptable, after every coding listed with q > 0;
 * - a coding listed twice counts with its lowest weight, so a refusal is never overridden and
 *   the order of the elements never matters;
 * - among equal weights the server prefers br, then zstd, then gzip, then identity;
 * - `x-gzip` is `gzip` (section 8.4.1.3).
 */

import { isOws } from './field-syntax.js'

/** The content codings sluice can produce, besides identity. */
export type ContentCoding = 'br' | 'zstd' | 'gzip'
export type Coding = ContentCoding | 'identity'

/** The server's preference among codings of equal weight, most preferred first. */
export const SERVER_PREFERENCE: readonly Coding[] = Object.freeze([
  'br',
  'zstd',
  'gzip',
  'identity',
])

/** The field as parsed: the weight of each coding named, in thousandths (0 to 1000). */
export interface AcceptEncoding {
  /** Per coding name in lower case (`x-gzip` as `gzip`), its lowest weight listed. */
  readonly weights: ReadonlyMap<string, number>
  /** The weight of `*`, when listed. */
  readonly any: number | undefined
}

/** The weight implicit identity has: acceptable, but after every coding listed with q > 0. */
const IMPLICIT_IDENTITY = 0.5

/** identity alone: what a request without a (well-formed, non-empty) field gets. */
const IDENTITY_ONLY: readonly Coding[] = Object.freeze(['identity'])

const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1

/**
 * Parses an Accept-Encoding field value; undefined when it is malformed anywhere. Empty list
 * elements and whitespace around commas and semicolons are allowed (section 5.6.1.2).
 * @example [...parseAcceptEncoding('gzip;q=0.5, BR')!.weights] // [['gzip', 500], ['br', 1000]]
 */
export function parseAcceptEncoding(value: string): AcceptEncoding | undefined {
  const weights = new Map<string, number>()
  let any: number | undefined
  let at = 0
  const end = value.length
  for (;;) {
    while (at < end && (isOws(value.charCodeAt(at)) || value.charCodeAt(at) === 0x2c)) at++
    if (at === end) break
    const start = at
    while (at < end) {
      const c = value.charCodeAt(at)
      if (c >= 128 || TCHAR[c] === 0) break
      at++
    }
    if (at === start) return undefined
    const name = value.slice(start, at).toLowerCase()
    while (at < end && isOws(value.charCodeAt(at))) at++
    let weight = 1000
    if (at < end && value.charCodeAt(at) === 0x3b /* ; */) {
      at++
      while (at < end && isOws(value.charCodeAt(at))) at++
      const parsed = scanQvalue(value, at)
      if (parsed === undefined) return undefined
      weight = parsed.weight
      at = parsed.end
      while (at < end && isOws(value.charCodeAt(at))) at++
    }
    if (at < end && value.charCodeAt(at) !== 0x2c) return undefined
    if (name === '*') {
      any = any === undefined ? weight : Math.min(any, weight)
    } else {
      const coding = name === 'x-gzip' ? 'gzip' : name
      const known = weights.get(coding)
      weights.set(coding, known === undefined ? weight : Math.min(known, weight))
    }
  }
  return { weights, any }
}

/** `q=` and a qvalue at `at`: the weight in thousandths and where it ends, or undefined. */
function scanQvalue(value: string, at: number): { weight: number; end: number } | undefined {
  const q = value.charCodeAt(at)
  if ((q !== 0x71 && q !== 0x51) /* q Q */ || value.charCodeAt(at + 1) !== 0x3d /* = */) {
    return undefined
  }
  at += 2
  const first = value.charCodeAt(at)
  if (first !== 0x30 && first !== 0x31) return undefined
  let weight = first === 0x31 ? 1000 : 0
  at++
  if (value.charCodeAt(at) === 0x2e /* . */) {
    at++
    let scale = 100
    for (let digits = 0; digits < 3; digits++) {
      const c = value.charCodeAt(at)
      if (!(c >= 0x30 && c <= 0x39)) break
      if (first === 0x31 && c !== 0x30) return undefined
      weight += (c - 0x30) * scale
      scale /= 10
      at++
    }
  }
  // A fourth decimal, or any other character glued to the number, is not a qvalue.
  const next = value.charCodeAt(at)
  if (at < value.length && !isOws(next) && next !== 0x2c) return undefined
  return { weight, end: at }
}

/**
 * The codings `accept` accepts among `SERVER_PREFERENCE`, most preferred first: by weight,
 * then by the server's preference. Identity is missing when the field refuses it
 * (`identity;q=0`, or `*;q=0` without an identity entry). `undefined` (no field, or a
 * malformed one) and an empty field give identity alone.
 * @example rankCodings(parseAcceptEncoding('gzip, br;q=0.8')) // ['gzip', 'br', 'identity']
 */
export function rankCodings(accept: AcceptEncoding | undefined): readonly Coding[] {
  if (accept === undefined || (accept.weights.size === 0 && accept.any === undefined)) {
    return IDENTITY_ONLY
  }
  const weighted: { coding: Coding; weight: number; order: number }[] = []
  SERVER_PREFERENCE.forEach((coding, order) => {
    const weight =
      accept.weights.get(coding) ?? accept.any ?? (coding === 'identity' ? IMPLICIT_IDENTITY : 0)
    if (weight > 0) weighted.push({ coding, weight, order })
  })
  weighted.sort((a, b) => b.weight - a.weight || a.order - b.order)
  return Object.freeze(weighted.map((w) => w.coding))
}

/**
 * The field value's ranking (parse, then rank): what a request with this Accept-Encoding
 * accepts, in order.
 * @example acceptedCodings('gzip, deflate, br') // ['br', 'gzip', 'identity']
 */
export function acceptedCodings(value: string | undefined): readonly Coding[] {
  return value === undefined ? IDENTITY_ONLY : rankCodings(parseAcceptEncoding(value))
}

/**
 * The first coding of `ranking` that `available` has (identity is always available), or
 * undefined when none is: identity refused and no acceptable coding available.
 * @example chooseCoding(['zstd', 'gzip', 'identity'], (c) => c === 'gzip') // 'gzip'
 */
export function chooseCoding(
  ranking: readonly Coding[],
  available: (coding: ContentCoding) => boolean,
): Coding | undefined {
  for (const coding of ranking) {
    if (coding === 'identity' || available(coding)) return coding
  }
  return undefined
}
