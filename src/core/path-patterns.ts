/**
 * Path patterns for per-path settings: `/assets/**`, `/api/*`, `/robots.txt`. A pattern is
 * compared segment by segment with the decoded resource path (the same segments the store sees,
 * so `//api/x` and `/api/%78` match `/api/**` exactly as they are served), never as a substring
 * or a regular expression.
 *
 * - a literal segment matches itself exactly;
 * - `*` matches one whole segment;
 * - `**`, only as the last segment, matches zero or more segments.
 */

export interface PathPattern {
  readonly text: string
  readonly segments: readonly string[]
  /** Ends in `**`. */
  readonly rest: boolean
}

/**
 * @example parsePathPattern('/assets/**') // { text: '/assets/**', segments: ['assets'], rest: true }
 */
export function parsePathPattern(text: string): PathPattern | { readonly error: string } {
  if (!text.startsWith('/')) return { error: `expected a path starting with '/', got '${text}'` }
  const parts = text.split('/').filter((s) => s !== '')
  let rest = false
  if (parts.at(-1) === '**') {
    rest = true
    parts.pop()
  }
  for (const part of parts) {
    if (part === '**') return { error: `expected '**' only as the last segment, got '${text}'` }
    if (part !== '*' && part.includes('*')) {
      return { error: `expected '*' only as a whole segment, got '${text}'` }
    }
    if (part === '.' || part === '..') {
      return { error: `expected no '.' or '..' segments, got '${text}'` }
    }
  }
  return { text, segments: parts, rest }
}

/** @example matchPath(parsePathPattern('/api/**') as PathPattern, ['api', 'users']) // true */
export function matchPath(pattern: PathPattern, segments: readonly string[]): boolean {
  const fixed = pattern.segments
  if (pattern.rest ? segments.length < fixed.length : segments.length !== fixed.length) return false
  for (let i = 0; i < fixed.length; i++) {
    if (fixed[i] !== '*' && fixed[i] !== segments[i]) return false
  }
  return true
}
