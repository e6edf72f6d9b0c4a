/**
 * The precondition gate for an application's own writes: the application gives its resource's
 * current validators (or none, when the resource does not exist), and sluice decides with the
 * rules it applies to files (`decideWrite`: RFC 9110 section 13.2.2, then RFC 6585's 428)
 * whether the write may go ahead, or is answered 412 or 428 before anything changes.
 *
 * The gate decides; it cannot make the check and the change one step. The application must
 * apply its change right after a `proceed` without yielding to other requests in between
 * (no `await`), or do both in one transaction of its database, or two writers that read the
 * same version can both be allowed (the lost update of RFC 9110 section 13.1.1).
 */

import type { CurrentValidators } from '../core/preconditions.js'
import { decideWrite } from '../core/write-preconditions.js'
import type { ReadRequest } from './read.js'
import type { Reply } from './reply.js'
import { entityTagOf, timeOf } from './representation.js'
import { conditionalFields, preconditionFailed, preconditionRequired } from './write.js'

/** A resource's current version, as the application knows it. */
export interface CurrentVersion {
  /** Its ETag field value, e.g. `"v7"` (If-Match compares strongly: a weak tag never matches). */
  readonly etag?: string
  /** When it last changed (If-Unmodified-Since). */
  readonly lastModified?: Date | number
}

export interface WriteGateOptions {
  /** A write to an existing resource must carry If-Match or If-Unmodified-Since (428). */
  readonly requirePreconditions?: boolean
}

/**
 * Decides whether `request` (a PUT, POST, PATCH or DELETE) may change a resource whose version
 * is `current` (undefined: it does not exist). Undefined means go ahead; otherwise the 412 or
 * 428 reply to send instead.
 * @example replyToWriteGate({ method: 'PUT', headers: { 'if-match': '"v1"' } }, { etag: '"v2"' })?.status // 412
 */
export function replyToWriteGate(
  request: ReadRequest,
  current: CurrentVersion | undefined,
  options: WriteGateOptions = {},
): Reply | undefined {
  const requirePreconditions = options?.requirePreconditions ?? false
  if (typeof requirePreconditions !== 'boolean') {
    throw new TypeError(
      `sluice: 'requirePreconditions' must be true or false, got ${JSON.stringify(requirePreconditions)}`,
    )
  }
  const validators = validatorsOf(current)
  const decision = decideWrite(
    request.method,
    conditionalFields(request.headers),
    validators,
    requirePreconditions,
  )
  if (decision.outcome === 'failed') return preconditionFailed(decision.field)
  if (decision.outcome === 'required') return preconditionRequired()
  return undefined
}

function validatorsOf(current: CurrentVersion | undefined): CurrentValidators | undefined {
  if (current === undefined || current === null) return undefined
  if (typeof current !== 'object') {
    throw new TypeError(
      `sluice: the current version must be { etag, lastModified } or undefined, got ${JSON.stringify(current)}`,
    )
  }
  return {
    etag: current.etag === undefined ? undefined : entityTagOf(current.etag, undefined),
    lastModified: timeOf(current.lastModified),
  }
}
