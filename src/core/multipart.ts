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
 * Lays out a multipart/byteranges body. `boundary` must be 1 to 70 characters from the
 * boundary alphabet that cannot occur in the part headers; the caller makes it fresh per
 * response so it is very unlikely to occur inside the file's bytes either.
 */
export function planMultipart(
  ranges: readonly ByteRange[],
  size: number,
  partContentType: string,
  boundary: string,
): MultipartPlan {
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
