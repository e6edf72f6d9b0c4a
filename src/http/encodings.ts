/**
 * Which representation of a file a GET or HEAD gets (RFC 9110 section 12.5.3): identity, or an
 * encoded variant the store has (store.ts `Variants`), chosen by the request's Accept-Encoding
 * (core/accept-encoding.ts) among the codings the store can actually produce. A resource with
 * variants is negotiable: every response about it carries `Vary: Accept-Encoding` (read.ts).
 *
 * When identity is refused and no acceptable variant exists, a negotiable resource answers 406
 * (section 15.5.7; section 12.5.3 asks for identity only while identity is acceptable). A
 * resource with one representation ignores Accept-Encoding altogether (section 12.1: it is not
 * subject to negotiation), so it never answers 406.
 */

import {
  acceptedCodings,
  type Coding,
  type ContentCoding,
  SERVER_PREFERENCE,
} from '../core/accept-encoding.js'
import type { OpenedFile } from '../store/store.js'
import { type Reply, textReply } from './reply.js'
import { fieldValue } from './request-fields.js'

/** What read.ts needs to know of the choice: the coding, and whether there was one to make. */
export interface Encoding {
  /** The Content-Encoding of the representation chosen, undefined for identity. */
  readonly coding: ContentCoding | undefined
  /** The resource has other representations: `Vary: Accept-Encoding` on every response. */
  readonly negotiable: boolean
}

export const IDENTITY_ONLY: Encoding = Object.freeze({ coding: undefined, negotiable: false })
export const NEGOTIATED_IDENTITY: Encoding = Object.freeze({ coding: undefined, negotiable: true })
const NEGOTIATED: Readonly<Record<ContentCoding, Encoding>> = Object.freeze({
  br: Object.freeze({ coding: 'br', negotiable: true }),
  zstd: Object.freeze({ coding: 'zstd', negotiable: true }),
  gzip: Object.freeze({ coding: 'gzip', negotiable: true }),
})

/** The field sluice adds to every response of a negotiable resource. */
export const VARY_ACCEPT_ENCODING = 'Accept-Encoding'

/** Distinct field values whose ranking is remembered (browsers send a handful); then it starts over. */
const RANKINGS_LIMIT = 256
const REMEMBERED_VALUE_LENGTH = 256

/**
 * The ranking of codings for each Accept-Encoding value (acceptedCodings), remembered by the
 * exact field value, so a request costs one map lookup rather than a parse.
 */
export class CodingPreferences {
  readonly #rankings = new Map<string, readonly Coding[]>()

  /** The codings a request with this field accepts, most preferred first. */
  rank(field: string | string[] | undefined): readonly Coding[] {
    if (field === undefined) return acceptedCodings(undefined)
    const value = fieldValue(field)!
    let ranking = this.#rankings.get(value)
    if (ranking === undefined) {
      ranking = acceptedCodings(value)
      if (value.length <= REMEMBERED_VALUE_LENGTH) {
        if (this.#rankings.size >= RANKINGS_LIMIT) this.#rankings.clear()
        this.#rankings.set(value, ranking)
      }
    }
    return ranking
  }
}

export type Selection =
  | { readonly kind: 'file'; readonly file: OpenedFile; readonly encoding: Encoding }
  /** Identity refused, and no acceptable variant: the reply (406). */
  | { readonly kind: 'reply'; readonly reply: Reply }

/**
 * Chooses among `identity` and its variants for a request accepting `ranking`. The file not
 * chosen is closed; the one chosen is the caller's to close.
 */
export async function selectRepresentation(
  identity: OpenedFile,
  ranking: readonly Coding[],
): Promise<Selection> {
  const variants = identity.variants
  if (variants === undefined || variants.codings.length === 0) {
    return { kind: 'file', file: identity, encoding: IDENTITY_ONLY }
  }
  for (const coding of ranking) {
    if (coding === 'identity')
      return { kind: 'file', file: identity, encoding: NEGOTIATED_IDENTITY }
    if (!variants.codings.includes(coding)) continue
    const variant = await variants.open(coding)
    if (variant !== undefined) {
      identity.close()
      return { kind: 'file', file: variant, encoding: NEGOTIATED[coding] }
    }
  }
  identity.close()
  return { kind: 'reply', reply: notAcceptable(variants.codings) }
}

/** Section 15.5.7: 406, naming the codings the resource has (never a reflected value). */
function notAcceptable(codings: readonly ContentCoding[]): Reply {
  const offered = SERVER_PREFERENCE.filter((c) => c === 'identity' || codings.includes(c))
  return textReply(
    406,
    `Not Acceptable: Accept-Encoding refuses every coding this resource has (${offered.join(', ')})`,
    { Vary: VARY_ACCEPT_ENCODING },
  )
}
