/**
 * Conditional requests (RFC 9110 section 13): each precondition is a small function with a
 * three-way answer (true, false, or undefined when the field is absent or must be ignored), and
 * `evaluatePreconditions` is the evaluation order of section 13.2.2 written out step by step.
 */

import {
  type EntityTag,
  parseEntityTag,
  parseEntityTagList,
  strongMatch,
  weakMatch,
} from './entity-tag.js'
import { parseHttpDate } from './http-date.js'

/** The validators of the selected representation, as the origin server knows them now. */
export interface CurrentValidators {
  /** Its entity-tag (sluice's are strong; the application's may be weak). */
  readonly etag?: EntityTag | undefined
  /** Its last modification time in milliseconds; compared at whole-second resolution. */
  readonly lastModified?: number | undefined
}

/** The raw values of the conditional request fields; absent fields are undefined. */
export interface ConditionalFields {
  readonly ifMatch?: string | undefined
  readonly ifNoneMatch?: string | undefined
  readonly ifModifiedSince?: string | undefined
  readonly ifUnmodifiedSince?: string | undefined
}

export type PreconditionField =
  'If-Match' | 'If-Unmodified-Since' | 'If-None-Match' | 'If-Modified-Since'

export type PreconditionResult =
  /** Apply the method. `checked` lists the fields that were evaluated (and held). */
  | { readonly outcome: 'proceed'; readonly checked: readonly PreconditionField[] }
  /** 304 Not Modified (GET and HEAD only). */
  | { readonly outcome: 'not-modified'; readonly field: PreconditionField }
  /** 412 Precondition Failed. */
  | { readonly outcome: 'failed'; readonly field: PreconditionField }

/**
 * Section 13.2.2: evaluates the preconditions of a request against the selected
 * representation, or against no representation (`current` undefined) when the target resource
 * has none, as for a PUT that would create it.
 *
 * Section 13.2.1 also says preconditions are ignored when the response without them would not
 * have been 2xx or 412; callers only evaluate them once they know the method would succeed.
 * @example evaluatePreconditions('GET', { ifNoneMatch: '"a"' }, { etag: { weak: false, opaque: 'a' } }) // { outcome: 'not-modified', field: 'If-None-Match' }
 */
export function evaluatePreconditions(
  method: string,
  fields: ConditionalFields,
  current: CurrentValidators | undefined,
): PreconditionResult {
  const checked: PreconditionField[] = []
  const isRead = method === 'GET' || method === 'HEAD'

  // Step 1: If-Match, else step 2: If-Unmodified-Since. Sections 13.1.4 and 13.2.2 make the
  // choice on the field's presence, not on its value.
  if (fields.ifMatch !== undefined) {
    if (!checkIfMatch(fields.ifMatch, current)) return { outcome: 'failed', field: 'If-Match' }
    checked.push('If-Match')
  } else {
    const ifUnmodifiedSince = checkIfUnmodifiedSince(fields.ifUnmodifiedSince, current)
    if (ifUnmodifiedSince === false) return { outcome: 'failed', field: 'If-Unmodified-Since' }
    if (ifUnmodifiedSince === true) checked.push('If-Unmodified-Since')
  }

  // Step 3: If-None-Match, else step 4: If-Modified-Since (GET and HEAD only). Section 13.1.3:
  // If-Modified-Since is ignored whenever If-None-Match is present, even one too malformed to
  // evaluate.
  if (fields.ifNoneMatch !== undefined) {
    const ifNoneMatch = checkIfNoneMatch(fields.ifNoneMatch, current)
    if (ifNoneMatch === false) {
      return isRead
        ? { outcome: 'not-modified', field: 'If-None-Match' }
        : { outcome: 'failed', field: 'If-None-Match' }
    }
    if (ifNoneMatch === true) checked.push('If-None-Match')
  } else if (isRead) {
    const ifModifiedSince = checkIfModifiedSince(fields.ifModifiedSince, current)
    if (ifModifiedSince === false) return { outcome: 'not-modified', field: 'If-Modified-Since' }
    if (ifModifiedSince === true) checked.push('If-Modified-Since')
  }

  // Step 5 (If-Range) belongs to range processing: see checkIfRange.
  return { outcome: 'proceed', checked }
}

/**
 * Section 13.1.1, If-Match: true when `*` and a representation exists, or when one listed tag
 * matches the current one by strong comparison. A malformed value matches nothing: for the
 * state-changing requests this field protects, failing closed is the safe reading.
 * @example checkIfMatch('"a", "b"', { etag: { weak: false, opaque: 'b' } }) // true
 */
export function checkIfMatch(
  value: string | undefined,
  current: CurrentValidators | undefined,
): boolean | undefined {
  if (value === undefined) return undefined
  const condition = parseEntityTagList(value)
  if (condition === undefined || current === undefined) return false
  if (condition === '*') return true
  return anyTagMatches(condition, current.etag, strongMatch)
}

/**
 * Section 13.1.2, If-None-Match: false when `*` and a representation exists, or when a listed
 * tag matches the current one by weak comparison. A malformed value is ignored.
 * @example checkIfNoneMatch('W/"a"', { etag: { weak: false, opaque: 'a' } }) // false
 */
export function checkIfNoneMatch(
  value: string | undefined,
  current: CurrentValidators | undefined,
): boolean | undefined {
  if (value === undefined) return undefined
  const condition = parseEntityTagList(value)
  if (condition === undefined) return undefined
  if (current === undefined) return true
  if (condition === '*') return false
  return !anyTagMatches(condition, current.etag, weakMatch)
}

/**
 * Section 13.1.3, If-Modified-Since: false when the representation was not modified after the
 * given date. Ignored when the date is invalid or there is no modification date.
 * @example checkIfModifiedSince('Mon, 01 Jan 2024 00:00:00 GMT', { lastModified: Date.parse('2024-01-01T00:00:00Z') }) // false
 */
export function checkIfModifiedSince(
  value: string | undefined,
  current: CurrentValidators | undefined,
): boolean | undefined {
  const since = value === undefined ? undefined : parseHttpDate(value)
  const modified = wholeSeconds(current?.lastModified)
  if (since === undefined || modified === undefined) return undefined
  return modified > since
}

/**
 * Section 13.1.4, If-Unmodified-Since: true when the representation was not modified after the
 * given date. Ignored when the date is invalid or there is no modification date.
 * @example checkIfUnmodifiedSince('Mon, 01 Jan 2024 00:00:00 GMT', { lastModified: Date.parse('2024-06-01T00:00:00Z') }) // false
 */
export function checkIfUnmodifiedSince(
  value: string | undefined,
  current: CurrentValidators | undefined,
): boolean | undefined {
  const since = value === undefined ? undefined : parseHttpDate(value)
  const modified = wholeSeconds(current?.lastModified)
  if (since === undefined || modified === undefined) return undefined
  return modified <= since
}

/**
 * Section 13.1.5, If-Range: may the Range field be honoured? An entity-tag must match by
 * strong comparison (a weak tag never does); an HTTP-date must equal Last-Modified exactly and
 * that Last-Modified must be strong (section 8.8.2.2, see `isLastModifiedStrong`). Anything
 * else, including a malformed value, means "send the whole representation".
 * @example checkIfRange('"a"', { etag: { weak: false, opaque: 'a' } }, Date.now()) // true
 */
export function checkIfRange(value: string, current: CurrentValidators, now: number): boolean {
  let at = 0
  while (value[at] === ' ' || value[at] === '\t') at++
  if (value[at] === '"' || value.startsWith('W/', at)) {
    const tag = parseEntityTag(value)
    return tag !== undefined && current.etag !== undefined && strongMatch(tag, current.etag)
  }
  const date = parseHttpDate(value, now)
  const modified = wholeSeconds(current.lastModified)
  if (date === undefined || modified === undefined || date !== modified) return false
  return isLastModifiedStrong(current.lastModified!, now)
}

/**
 * Section 8.8.2.2: an origin server may treat a Last-Modified date as strong only when it
 * reliably knows the representation did not change twice within that second. A file can always
 * be rewritten by someone else, so sluice applies the conservative rule servers have long used:
 * a modification time less than one second before now is weak, because a second change in the
 * same second could still follow it unnoticed; older ones are treated as strong. The entity-tag
 * remains the validator that is exact.
 * @example isLastModifiedStrong(Date.parse('2024-01-01T00:00:00Z'), Date.parse('2024-01-01T00:00:00.500Z')) // false
 */
export function isLastModifiedStrong(lastModified: number, now: number): boolean {
  return now - lastModified >= 1000
}

function anyTagMatches(
  tags: readonly EntityTag[],
  current: EntityTag | undefined,
  match: (a: EntityTag, b: EntityTag) => boolean,
): boolean {
  if (current === undefined) return false
  for (const tag of tags) if (match(tag, current)) return true
  return false
}

function wholeSeconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.floor(ms / 1000) * 1000
}
