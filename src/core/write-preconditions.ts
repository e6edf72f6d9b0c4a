/**
 * Whether a write (PUT or DELETE) may be applied to the current state of its resource: the
 * preconditions of RFC 9110 section 13.2.2, then RFC 6585's 428 for servers that require writes
 * to be conditional. Pure: a store calls it with the validators it holds at the moment it
 * would apply the change, inside the same atomic step.
 */

import {
  type ConditionalFields,
  type CurrentValidators,
  evaluatePreconditions,
  type PreconditionField,
} from './preconditions.js'

export type WriteDecision =
  /** Apply the write. `checked` lists the preconditions that held. */
  | { readonly outcome: 'proceed'; readonly checked: readonly PreconditionField[] }
  /** 412 Precondition Failed: `field` evaluated to false. */
  | { readonly outcome: 'failed'; readonly field: PreconditionField }
  /** 428 Precondition Required (RFC 6585 section 3). */
  | { readonly outcome: 'required' }

/**
 * Decides a write against `current` (undefined when the resource has no representation, as for
 * a PUT that creates it).
 *
 * With `requireValidator`, a write to an existing resource must have had an If-Match or an
 * If-Unmodified-Since evaluated and holding: those are the fields that name the version the
 * client based its change on (RFC 6585 section 3: "the 'lost update' problem"). A field that
 * was ignored (an invalid date, section 13.1.4) does not count. Creating a resource needs no
 * validator, since there is no version to lose. Failed preconditions are reported before a
 * missing one: a client that sent `If-None-Match: *` learns that the resource exists.
 * @example decideWrite('PUT', { ifMatch: '"a"' }, { etag: { weak: false, opaque: 'b' } }, false) // { outcome: 'failed', field: 'If-Match' }
 */
export function decideWrite(
  method: string,
  fields: ConditionalFields,
  current: CurrentValidators | undefined,
  requireValidator: boolean,
): WriteDecision {
  // If-Modified-Since applies to GET and HEAD only (section 13.1.3); evaluatePreconditions
  // skips it for other methods, and 304 is never an outcome here.
  const verdict = evaluatePreconditions(method, fields, current)
  if (verdict.outcome === 'failed') return verdict
  if (verdict.outcome === 'not-modified') return { outcome: 'failed', field: verdict.field }
  if (
    requireValidator &&
    current !== undefined &&
    !verdict.checked.includes('If-Match') &&
    !verdict.checked.includes('If-Unmodified-Since')
  ) {
    return { outcome: 'required' }
  }
  return verdict
}
