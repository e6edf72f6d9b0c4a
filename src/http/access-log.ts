/**
 * The access log: one line per request (or refused connection) with its outcome, and the
 * request ids that tie a line to the errors logged for the same request.
 */

import type { Logger } from '../log.js'
import type { Reply } from './reply.js'
import type { WriteOutcome } from './reply-writer.js'

let requestCounter = 0

/** A short id for one request (or one refused connection), unique within the process. */
export function nextRequestId(): string {
  return (++requestCounter).toString(36)
}

/** One access log line; `id` is taken only when the line is written, unless given. */
export function logRequest(
  logger: Logger,
  id: string | undefined,
  method: string,
  path: string | undefined,
  reply: Pick<Reply, 'status' | 'notes'>,
  started: number,
  outcome: WriteOutcome,
): void {
  const error = outcome.error
  if (!logger.isLevelEnabled('info') && error === undefined) return
  const entry = {
    id: id ?? nextRequestId(),
    method,
    path,
    status: outcome.status,
    bytes: outcome.bytes,
    ms: Math.round((performance.now() - started) * 10) / 10,
    ...reply.notes,
  }
  if (error === undefined) {
    logger.info(entry, 'request')
  } else if (outcome.status !== reply.status) {
    logger.error({ ...entry, error: error.message }, 'reply could not be written')
  } else {
    logger.warn({ ...entry, error: error.message }, 'response cut off')
  }
}
