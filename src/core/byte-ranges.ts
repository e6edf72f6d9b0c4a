/**
 * Byte ranges (RFC 9110 section 14): parsing the Range field, deciding which ranges are
 * satisfiable, and refusing to amplify.
 *
 *   ranges-specifier = range-unit "=" range-set
 *   range-set        = 1#range-spec
 *   range-spec       = int-range / suffix-range / other-range
 *   int-range        = first-pos "-" [ last-pos ]
 *   suffix-range     = "-" suffix-length
 *
 * Parsing and resolving are separate steps so a caller can tell "malformed: ignore the field"
 * from "valid but unsatisfiable: 416" and choose the status itself.
 */

/** One range-spec as written: `first-last`, `first-` or `-suffix`. */
export type RangeSpec =
  | { readonly kind: 'int'; readonly first: number; readonly last?: number }
  | { readonly kind: 'suffix'; readonly length: number }

/** A satisfiable range resolved against a representation: inclusive offsets. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

export interface RangeLimits {
  /** More range-specs than this and the field is ignored (section 14.2 allows it). */
  readonly maxRanges: number
  /**
   * Ranges that overlap, touch, or lie within this many bytes of each other are merged into
   * one part (section 14.6 allows it). The default, 0, merges only overlapping and adjacent
   * ranges, so a client gets the parts it asked for.
   */
  readonly coalesceGap: number
}

export const DEFAULT_RANGE_LIMITS: RangeLimits = { maxRanges: 64, coalesceGap: 0 }

export type RangeDecision =
  /** Serve the whole representation with 200; `reason` says why the field did not apply. */
  | { readonly kind: 'ignore'; readonly reason: string }
  /** 416 with `Content-Range: bytes *\/size`. */
  | { readonly kind: 'unsatisfiable' }
  /** 206: one range, or several in request order after coalescing. */
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] }

/** Offsets above this are beyond any file; they compare correctly without exact arithmetic. */
const HUGE = Number.MAX_SAFE_INTEGER

/**
 * Parses a Range field value for the `bytes` unit (compared case-insensitively, section 14.1).
 * Returns undefined when the value is not a valid bytes ranges-specifier: another unit, a
 * syntax error, or an int-range whose last-pos is below its first-pos (section 14.1.1).
 * @example parseRange('bytes=0-499, -500') // [{ kind: 'int', first: 0, last: 499 }, { kind: 'suffix', length: 500 }]
 */
export function parseRange(value: string): RangeSpec[] | undefined {
  let at = skipOws(value, 0)
  if (value.length - at < 6 || value.slice(at, at + 6).toLowerCase() !== 'bytes=') return undefined
  at += 6
  const specs: RangeSpec[] = []
  while (at < value.length) {
    const c = value.charCodeAt(at)
    if (c === 0x2c /* , */ || c === 0x20 || c === 0x09) {
      at++
      continue
    }
    const scanned = scanRangeSpec(value, at)
    if (scanned === undefined) return undefined
    specs.push(scanned.spec)
    at = skipOws(value, scanned.end)
    if (at < value.length && value.charCodeAt(at) !== 0x2c) return undefined
  }
  return specs.length > 0 ? specs : undefined
}

/**
 * Resolves parsed specs against a representation of `size` bytes (section 14.1.1), merges
 * overlapping and nearby ranges (section 14.6), and ignores requests that would amplify.
 * @example resolveRanges(parseRange('bytes=0-99,-100'), 1000) // { kind: 'ranges', ranges: [{ start: 0, end: 99 }, { start: 900, end: 999 }] }
 */
export function resolveRanges(
  specs: readonly RangeSpec[],
  size: number,
  limits: RangeLimits = DEFAULT_RANGE_LIMITS,
): RangeDecision {
  // Section 14.2: a server MAY ignore Range when the representation has no content; there is
  // also no Content-Range that could describe zero bytes.
  if (size === 0) return { kind: 'ignore', reason: 'empty representation' }
  if (specs.length > limits.maxRanges) {
    return { kind: 'ignore', reason: `more than ${limits.maxRanges} ranges` }
  }
  const satisfiable: ByteRange[] = []
  for (const spec of specs) {
    const range = satisfy(spec, size)
    if (range !== undefined) satisfiable.push(range)
  }
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' }
  const ranges = coalesceRanges(satisfiable, limits.coalesceGap)
  return { kind: 'ranges', ranges }
}

/** Section 14.1.1: which bytes a range-spec selects, or undefined when it is unsatisfiable. */
function satisfy(spec: RangeSpec, size: number): ByteRange | undefined {
  if (spec.kind === 'suffix') {
    if (spec.length === 0) return undefined
    return { start: Math.max(0, size - spec.length), end: size - 1 }
  }
  if (spec.first >= size) return undefined
  const last = spec.last === undefined ? size - 1 : Math.min(spec.last, size - 1)
  return { start: spec.first, end: last }
}

/**
 * Merges ranges that overlap or lie within `gap` bytes of each other, whatever their order in
 * the request, and keeps the rest in request order (section 14.6: parts SHOULD follow the
 * order of the range-specs). A merged range takes the place of its earliest member.
 * @example coalesceRanges([{ start: 10, end: 19 }, { start: 0, end: 12 }], 0) // [{ start: 0, end: 19 }]
 */
export function coalesceRanges(ranges: readonly ByteRange[], gap: number): ByteRange[] {
  if (ranges.length < 2) return ranges.slice()
  const order = ranges.map((range, index) => ({ range, index }))
  order.sort((a, b) => a.range.start - b.range.start || a.index - b.index)
  const merged: { start: number; end: number; index: number }[] = []
  for (const { range, index } of order) {
    const last = merged[merged.length - 1]
    if (last !== undefined && range.start <= last.end + 1 + gap) {
      last.end = Math.max(last.end, range.end)
      last.index = Math.min(last.index, index)
    } else {
      merged.push({ start: range.start, end: range.end, index })
    }
  }
  merged.sort((a, b) => a.index - b.index)
  return merged.map(({ start, end }) => ({ start, end }))
}

/** @example formatContentRange({ start: 0, end: 1023 }, 10000) // 'bytes 0-1023/10000' */
export function formatContentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`
}

/**
 * The Content-Range of a 416 (section 14.4).
 * @example formatUnsatisfiedRange(1000) === 'bytes *\u002F1000' // true
 */
export function formatUnsatisfiedRange(size: number): string {
  return `bytes */${size}`
}

/**
 * The number of bytes a range covers.
 * @example rangeLength({ start: 0, end: 99 }) // 100
 */
export function rangeLength(range: ByteRange): number {
  return range.end - range.start + 1
}

function scanRangeSpec(s: string, at: number): { spec: RangeSpec; end: number } | undefined {
  if (s.charCodeAt(at) === 0x2d /* - */) {
    const length = scanNumber(s, at + 1)
    if (length === undefined) return undefined
    return { spec: { kind: 'suffix', length: length.value }, end: length.end }
  }
  const first = scanNumber(s, at)
  if (first === undefined || s.charCodeAt(first.end) !== 0x2d) return undefined
  const last = scanNumber(s, first.end + 1)
  if (last === undefined) {
    return { spec: { kind: 'int', first: first.value }, end: first.end + 1 }
  }
  // Section 14.1.1: an int-range with last-pos < first-pos is invalid, not unsatisfiable.
  if (compareDigits(last.digits, first.digits) < 0) return undefined
  return { spec: { kind: 'int', first: first.value, last: last.value }, end: last.end }
}

/** 1*DIGIT at `at`. Values beyond 2^53 - 1 saturate; their digits are kept for exact order. */
function scanNumber(
  s: string,
  at: number,
): { value: number; digits: string; end: number } | undefined {
  let end = at
  while (end < s.length) {
    const c = s.charCodeAt(end)
    if (c < 0x30 || c > 0x39) break
    end++
  }
  if (end === at) return undefined
  const digits = s.slice(at, end)
  const value = digits.length > 15 ? Math.min(Number(digits), HUGE) : Number(digits)
  return { value, digits, end }
}

/** Compares two digit strings as non-negative integers of any length. */
function compareDigits(a: string, b: string): number {
  const x = stripZeros(a)
  const y = stripZeros(b)
  if (x.length !== y.length) return x.length - y.length
  return x < y ? -1 : x > y ? 1 : 0
}

function stripZeros(s: string): string {
  let i = 0
  while (i < s.length - 1 && s.charCodeAt(i) === 0x30) i++
  return s.slice(i)
}

function skipOws(s: string, at: number): number {
  while (at < s.length && (s.charCodeAt(at) === 0x20 || s.charCodeAt(at) === 0x09)) at++
  return at
}
