/**
 * Entity tags (RFC 9110 section 8.8.3): parsing single tags and the lists carried by If-Match and
 * If-None-Match, and the two comparison functions of section 8.8.3.2.
 *
 *   entity-tag = [ weak ] opaque-tag
 *   weak       = %s"W/"
 *   opaque-tag = DQUOTE *etagc DQUOTE
 *   etagc      = %x21 / %x23-7E / obs-text
 *
 * Commas are legal inside an opaque-tag, so lists are split by a linear scanner that knows about
 * quotes, never by `split(',')`.
 */

export interface EntityTag {
  readonly weak: boolean
  /** The characters between the quotes. */
  readonly opaque: string
}

/** `*` or a list of tags; `undefined` from the parser means the field value is malformed. */
export type EntityTagCondition = '*' | readonly EntityTag[]

/** @example formatEntityTag({ weak: true, opaque: 'v1' }) // 'W/"v1"' */
export function formatEntityTag(tag: EntityTag): string {
  return tag.weak ? `W/"${tag.opaque}"` : `"${tag.opaque}"`
}

/**
 * True when every character may appear between the quotes of an entity-tag.
 * @example isValidOpaque('v1 "quoted"') // false
 */
export function isValidOpaque(opaque: string): boolean {
  for (let i = 0; i < opaque.length; i++) {
    if (!isEtagc(opaque.charCodeAt(i))) return false
  }
  return true
}

/**
 * Parses one entity-tag (as in ETag or If-Range), surrounding whitespace allowed.
 * @example parseEntityTag('W/"abc"') // { weak: true, opaque: 'abc' }
 */
export function parseEntityTag(value: string): EntityTag | undefined {
  const scan = scanEntityTag(value, skipOws(value, 0))
  if (scan === undefined || skipOws(value, scan.end) !== value.length) return undefined
  return scan.tag
}

/**
 * Parses an If-Match / If-None-Match value: `*` or `#entity-tag`. Empty list elements and
 * whitespace around commas are tolerated (section 5.6.1.2); anything else is malformed.
 * @example parseEntityTagList('"a", W/"b"') // [{ weak: false, opaque: 'a' }, { weak: true, opaque: 'b' }]
 */
export function parseEntityTagList(value: string): EntityTagCondition | undefined {
  let at = skipOws(value, 0)
  if (value.charCodeAt(at) === 0x2a /* * */ && skipOws(value, at + 1) === value.length) return '*'
  const tags: EntityTag[] = []
  while (at < value.length) {
    if (value.charCodeAt(at) === 0x2c /* , */) {
      at = skipOws(value, at + 1)
      continue
    }
    const scan = scanEntityTag(value, at)
    if (scan === undefined) return undefined
    tags.push(scan.tag)
    at = skipOws(value, scan.end)
    if (at < value.length && value.charCodeAt(at) !== 0x2c) return undefined
  }
  return tags.length > 0 ? tags : undefined
}

/**
 * Strong comparison (section 8.8.3.2): both strong and the opaque parts identical.
 * @example strongMatch({ weak: false, opaque: 'a' }, { weak: true, opaque: 'a' }) // false
 */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque
}

/**
 * Weak comparison (section 8.8.3.2): the opaque parts identical, weakness ignored.
 * @example weakMatch({ weak: false, opaque: 'a' }, { weak: true, opaque: 'a' }) // true
 */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque
}

function scanEntityTag(s: string, at: number): { tag: EntityTag; end: number } | undefined {
  let weak = false
  if (s.charCodeAt(at) === 0x57 /* W */ && s.charCodeAt(at + 1) === 0x2f /* / */) {
    weak = true
    at += 2
  }
  if (s.charCodeAt(at) !== 0x22) return undefined
  const start = at + 1
  let end = start
  while (end < s.length && isEtagc(s.charCodeAt(end))) end++
  if (s.charCodeAt(end) !== 0x22) return undefined
  return { tag: { weak, opaque: s.slice(start, end) }, end: end + 1 }
}

function isEtagc(c: number): boolean {
  return c === 0x21 || (c >= 0x23 && c <= 0x7e) || (c >= 0x80 && c <= 0xff)
}

function skipOws(s: string, at: number): number {
  while (at < s.length) {
    const c = s.charCodeAt(at)
    if (c !== 0x20 && c !== 0x09) break
    at++
  }
  return at
}
