/**
 * Lists of media types by pattern, as the compression options give them: which media types
 * sluice compresses on the fly. A pattern is a media type (`application/wasm`), every subtype
 * of a type (`text/*`), or a structured syntax suffix (`+json`, RFC 6838 section 4.2.8), all
 * compared without case and without parameters (`; charset=utf-8`).
 */

/**
 * The media types compressed on the fly by default: text, JavaScript (its legacy names too),
 * JSON, XML, SVG, WebAssembly, and the font and icon formats that are not compressed already.
 */
export const DEFAULT_COMPRESSIBLE_TYPES: readonly string[] = Object.freeze([
  'text/*',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/json',
  'application/manifest+json',
  '+json',
  'application/xml',
  '+xml',
  'image/svg+xml',
  'application/wasm',
  'application/x-ndjson',
  'application/vnd.ms-fontobject',
  'font/ttf',
  'font/otf',
  'image/vnd.microsoft.icon',
  'image/x-icon',
  'image/bmp',
])

/** A list of patterns checked once, for matching many media types quickly. */
export interface MediaTypePatterns {
  readonly exact: ReadonlySet<string>
  /** `text` for `text/*`. */
  readonly types: ReadonlySet<string>
  /** `+json` for `+json`. */
  readonly suffixes: readonly string[]
}

/**
 * Why `pattern` is not a media type pattern, or undefined when it is one.
 * @example patternProblem('text') // 'expected type/subtype, type/* or +suffix'
 */
export function patternProblem(pattern: string): string | undefined {
  const expected = 'expected type/subtype, type/* or +suffix'
  if (!/^[\x21-\x7e]+$/.test(pattern) || pattern.includes(';')) return expected
  if (pattern.startsWith('+'))
    return /^\+[A-Za-z0-9!#$&^_.-]+$/.test(pattern) ? undefined : expected
  return /^[A-Za-z0-9!#$&^_.+-]+\/([A-Za-z0-9!#$&^_.+-]+|\*)$/.test(pattern) ? undefined : expected
}

/**
 * Compiles `patterns` (checked with patternProblem first).
 * @example matchesMediaType(compilePatterns(['text/*']), 'text/css; charset=utf-8') // true
 */
export function compilePatterns(patterns: readonly string[]): MediaTypePatterns {
  const exact = new Set<string>()
  const types = new Set<string>()
  const suffixes: string[] = []
  for (const pattern of patterns) {
    const lower = pattern.toLowerCase()
    if (lower.startsWith('+')) suffixes.push(lower)
    else if (lower.endsWith('/*')) types.add(lower.slice(0, -2))
    else exact.add(lower)
  }
  return { exact, types, suffixes }
}

/**
 * True when `contentType` (a Content-Type value, parameters allowed) matches one of `patterns`.
 * @example matchesMediaType(compilePatterns(['+json']), 'application/ld+json') // true
 */
export function matchesMediaType(patterns: MediaTypePatterns, contentType: string): boolean {
  const semicolon = contentType.indexOf(';')
  const essence = (semicolon === -1 ? contentType : contentType.slice(0, semicolon))
    .trim()
    .toLowerCase()
  const slash = essence.indexOf('/')
  if (slash <= 0) return false
  if (patterns.exact.has(essence) || patterns.types.has(essence.slice(0, slash))) return true
  for (const suffix of patterns.suffixes) if (essence.endsWith(suffix)) return true
  return false
}
