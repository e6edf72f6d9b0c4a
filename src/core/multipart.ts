/**
 * multipart/byteranges framing (RFC 9110 section 14.6). The whole layout, and so the exact
 * Content-Length, is computed before any byte of the body is sent.
 *
 *   --BOUNDARY CRLF
 *   Content-Type: text/plain CRLF
 *   Content-Range: bytes 0-50/1270 CRLF
 *   CRLF
 *   <51 bytes> CRLF
 *   --BOUNDARY CRLF
 *   ...
 *   <bytes> CRLF
 *   --BOUNDARY-- CRLF
 */

import { type ByteRange, formatContentRange, rangeLength } from './byte-ranges.js'

export interface MultipartPart {
  /** The delimiter and part headers that precede the part's bytes (ASCII text). */
  readonly head: string
  readonly range: ByteRange
}

export interface MultipartPlan {
  /** The value of the response's Content-Type field. */
  readonly contentType: string
  readonly parts: readonly MultipartPart[]
  /** The CRLF, close-delimiter and CRLF that end the body. */
  readonly tail: string
  /** The exact number of bytes in the body. */
  readonly length: number
}

/**
 * Lays out a multipart/byteranges body. `boundary` must be 1 to 70 characters that are both
 * boundary characters (RFC 2046 section 5.1.1) and token characters (so the Content-Type
 * parameter needs no quotes): letters, digits and `'+-._`. The caller makes it fresh per
 * response so it is very unlikely to occur inside the file's bytes either.
 *
 * Every string in the plan is one byte per character when written as latin1, which is what
 * makes `length` exact; inputs that would break that, or the framing, throw a RangeError:
 * no ranges, a range outside `[0, size)`, a bad boundary, or a part Content-Type with a
 * control character (CR and LF would end the part's header section) or a character above
 * U+00FF.
 * @example planMultipart([{ start: 0, end: 4 }, { start: 10, end: 14 }], 100, 'text/plain', 'b0undary').length // 170
 */
export function planMultipart(
  ranges: readonly ByteRange[],
  size: number,
  partContentType: string,
  boundary: string,
): MultipartPlan {
  if (ranges.length === 0) throw new RangeError('planMultipart: a multipart body needs a part')
  if (!/^[A-Za-z0-9'+\-._]{1,70}$/.test(boundary)) {
    throw new RangeError(`planMultipart: unusable boundary ${JSON.stringify(boundary)}`)
  }
  if (/[^\t\x20-\x7e\x80-\xff]/.test(partContentType)) {
    throw new RangeError('planMultipart: the part Content-Type is not a valid field value')
  }
  for (const { start, end } of ranges) {
    const inside = Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start
    if (!inside || start > end || end >= size) {
      throw new RangeError(`planMultipart: range ${start}-${end} is not inside ${size} bytes`)
    }
  }
  const parts: MultipartPart[] = []
  let length = 0
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i]!
    const head =
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\n` +
      `Content-Type: ${partContentType}\r\n` +
      `Content-Range: ${formatContentRange(range, size)}\r\n\r\n`
    parts.push({ head, range })
    length += head.length + rangeLength(range)
  }
  const tail = `\r\n--${boundary}--\r\n`
  length += tail.length
  return { contentType: `multipart/byteranges; boundary=${boundary}`, parts, tail, length }
}
