/**
 * The request-target (RFC 9112 section 3.2) turned into a resource path, or refused.
 *
 * Each segment is percent-decoded on its own, and a decoded segment that could climb or split
 * the path (`.`, `..`, `/`, `\`, NUL, any control character) is refused with 400 before a store
 * ever sees it. Empty segments (`//`) are dropped, so `//evil.example/` names the resource
 * `/evil.example/` on this host and nothing else.
 */

import type { ResourcePath } from '../store/store.js'

export type Target =
  | {
      readonly kind: 'path'
      readonly segments: ResourcePath
      /** The path ended in `/` (a directory was asked for). */
      readonly trailingSlash: boolean
      /** The query, with its `?`, or ''. */
      readonly query: string
    }
  /** `OPTIONS *` (RFC 9110 section 9.3.7). */
  | { readonly kind: 'asterisk' }
  | { readonly kind: 'invalid'; readonly reason: string }

/** @example parseTarget('/docs/a%20b.txt?x=1') // { kind: 'path', segments: ['docs', 'a b.txt'], trailingSlash: false, query: '?x=1' } */
export function parseTarget(url: string): Target {
  if (url === '*') return { kind: 'asterisk' }
  let path = url
  // '' (or a bare query) is what an adapter passes for its mount point itself, `/static`
  // rather than `/static/`: the root, without its trailing slash.
  if (path === '' || path.startsWith('?')) {
    return { kind: 'path', segments: [], trailingSlash: false, query: path }
  }
  if (!path.startsWith('/')) {
    const absolute = stripAuthority(path)
    if (absolute === undefined) return invalid('the request-target is not an absolute path')
    path = absolute
  }
  const queryAt = path.indexOf('?')
  const query = queryAt === -1 ? '' : path.slice(queryAt)
  if (queryAt !== -1) path = path.slice(0, queryAt)
  const segments: string[] = []
  let start = 1
  while (start <= path.length) {
    let end = path.indexOf('/', start)
    if (end === -1) end = path.length
    if (end > start) {
      const segment = decodeSegment(path.slice(start, end))
      if (typeof segment !== 'string') return segment
      segments.push(segment)
    }
    start = end + 1
  }
  return { kind: 'path', segments, trailingSlash: path.endsWith('/'), query }
}

/** Percent-encodes a resource path back into an absolute path for a Location field. */
export function formatPath(segments: ResourcePath, trailingSlash: boolean): string {
  let out = ''
  for (const segment of segments) out += `/${encodeURIComponent(segment)}`
  return trailingSlash || segments.length === 0 ? `${out}/` : out
}

function decodeSegment(raw: string): string | Target {
  let segment = raw
  if (raw.includes('%')) {
    try {
      segment = decodeURIComponent(raw)
    } catch {
      return invalid('malformed percent-encoding in the path')
    }
  }
  if (segment === '.' || segment === '..')
    return invalid('dot-segments are not allowed in the path')
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i)
    if (c === 0x2f || c === 0x5c) return invalid('encoded slash or backslash in the path')
    if (c < 0x20 || c === 0x7f) return invalid('control character in the path')
  }
  return segment
}

/** `http://host:port/path` (absolute-form, RFC 9112 section 3.2.2) to `/path`. */
function stripAuthority(url: string): string | undefined {
  const match = /^https?:\/\/[^/?#]*/i.exec(url)
  if (match === null) return undefined
  const rest = url.slice(match[0].length)
  return rest.startsWith('/') ? rest : `/${rest}`
}

function invalid(reason: string): Target {
  return { kind: 'invalid', reason }
}

/**
 * Names starting with `.` are hidden (dotfiles, and the temporary files of writes); the one
 * exception is a top-level `.well-known` (RFC 8615), which exists to be served.
 */
export function isHidden(segments: ResourcePath): boolean {
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    if (segment.charCodeAt(0) === 0x2e && !(i === 0 && segment === '.well-known')) return true
  }
  return false
}
