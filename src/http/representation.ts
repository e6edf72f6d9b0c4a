/**
 * Conditional and range requests for representations an application generates: the app gives
 * the bytes (or a source that reads a byte range and knows its length) and, if it has them,
 * its validators; sluice answers 304, 412, 206, 416 or 200 exactly as it does for files.
 */

import { Readable } from 'node:stream'
import { DEFAULT_RANGE_LIMITS } from '../core/byte-ranges.js'
import { type EntityTag, formatEntityTag, parseEntityTag } from '../core/entity-tag.js'
import { opaqueTagOf } from '../store/content-tags.js'
import type { OpenedFile } from '../store/store.js'
import { DEFAULT_CACHE_CONTROL } from './engine.js'
import { type ReadRequest, replyWithFile } from './read.js'
import type { Reply } from './reply.js'

/** A body too large or too costly to hold in memory: reads a byte range on demand. */
export interface RangeSource {
  /** Length in bytes. */
  readonly size: number
  /** Bytes `start` to `end`, inclusive. */
  read(
    start: number,
    end: number,
  ): Readable | AsyncIterable<Uint8Array> | Uint8Array | Promise<Uint8Array>
}

export interface DynamicRepresentation {
  /** The representation's bytes (a string is sent as UTF-8), or a range source. */
  readonly body: string | Uint8Array | RangeSource
  /**
   * Its entity-tag as sent in ETag, strong (`"v7"`) or weak (`W/"v7"`). Without one, sluice
   * computes a strong tag from the bytes; a range source must give one.
   */
  readonly etag?: string
  /** When it last changed. */
  readonly lastModified?: Date | number
  /** Default: `text/plain; charset=utf-8` for a string, `application/octet-stream` otherwise. */
  readonly contentType?: string
  /** Default `no-cache`. */
  readonly cacheControl?: string
}

/**
 * Decides the response to `request` for a dynamic representation.
 * @example
 * const reply = replyWithRepresentation(req, { body: JSON.stringify(page), contentType: 'application/json', etag: `"${page.version}"` })
 */
export function replyWithRepresentation(
  request: ReadRequest,
  representation: DynamicRepresentation,
): Reply {
  const source = toOpenedFile(representation)
  const cacheControl = representation.cacheControl ?? DEFAULT_CACHE_CONTROL
  if (!/^[\x20-\x7e]+$/.test(cacheControl)) {
    throw new TypeError(
      `sluice: 'cacheControl' must be printable ASCII text, got ${JSON.stringify(cacheControl)}`,
    )
  }
  return replyWithFile(
    request,
    source,
    { cacheControl, rangeLimits: DEFAULT_RANGE_LIMITS },
    Date.now(),
  )
}

function toOpenedFile(representation: DynamicRepresentation): OpenedFile {
  const { body } = representation
  const isText = typeof body === 'string'
  const bytes = isText ? Buffer.from(body) : body instanceof Uint8Array ? asBuffer(body) : undefined
  const contentType =
    representation.contentType ??
    (isText ? 'text/plain; charset=utf-8' : 'application/octet-stream')
  if (!/^[\x20-\x7e]+$/.test(contentType)) {
    throw new TypeError(
      `sluice: 'contentType' must be printable ASCII text, got ${JSON.stringify(contentType)}`,
    )
  }
  const etag = entityTagOf(representation.etag, bytes)
  const lastModified = timeOf(representation.lastModified)
  if (bytes !== undefined) {
    return {
      size: bytes.length,
      etag,
      etagField: formatEntityTag(etag),
      lastModified,
      contentType,
      bytes,
      read: (start, end) => Readable.from([bytes.subarray(start, end + 1)]),
      close() {},
    }
  }
  const source = body as RangeSource
  if (!Number.isSafeInteger(source.size) || source.size < 0 || typeof source.read !== 'function') {
    throw new TypeError("sluice: 'body' must be a string, bytes, or { size, read(start, end) }")
  }
  return {
    size: source.size,
    etag,
    etagField: formatEntityTag(etag),
    lastModified,
    contentType,
    read: (start, end) => exactly(end - start + 1, toReadable(source.read(start, end))),
    close() {},
  }
}

/**
 * The strong ETag sluice gives these bytes (and a file with these bytes): the first 128 bits of
 * their SHA-256, base64url. An application that stores bytes can send it after a write, and
 * name the same version `sendRepresentation` would.
 * @example etagFor('hello\n') // '"WJG1tSLV3whtD_CxEPvZ0g"'
 */
export function etagFor(body: string | Uint8Array): string {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError('sluice: etagFor expects a string or bytes')
  }
  return formatEntityTag({ weak: false, opaque: opaqueTagOf(bytes) })
}

/** The app's ETag field value, parsed; or the strong tag of `bytes` when it gave none. */
export function entityTagOf(given: string | undefined, bytes: Buffer | undefined): EntityTag {
  if (given !== undefined) {
    const tag = typeof given === 'string' ? parseEntityTag(given) : undefined
    if (tag === undefined) {
      throw new TypeError(
        `sluice: 'etag' must be an entity-tag such as "v1" or W/"v1", got ${JSON.stringify(given)}`,
      )
    }
    return tag
  }
  if (bytes === undefined)
    throw new TypeError("sluice: 'etag' is required when 'body' is a range source")
  return { weak: false, opaque: opaqueTagOf(bytes) }
}

/** The app's Last-Modified (a Date or milliseconds) as milliseconds. */
export function timeOf(value: Date | number | undefined): number | undefined {
  if (value === undefined) return undefined
  const ms = value instanceof Date ? value.getTime() : value
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new TypeError(
      `sluice: 'lastModified' must be a Date or milliseconds, got ${String(value)}`,
    )
  }
  return ms
}

function toReadable(result: ReturnType<RangeSource['read']>): Readable {
  if (result instanceof Readable) return result
  if (result instanceof Uint8Array) return Readable.from([result])
  if (result instanceof Promise) {
    return Readable.from(
      (async function* () {
        yield await result
      })(),
    )
  }
  return Readable.from(result)
}

/** Passes `length` bytes through and fails the stream if the source gives more or fewer. */
function exactly(length: number, source: Readable): Readable {
  return Readable.from(
    (async function* () {
      let seen = 0
      for await (const chunk of source) {
        seen += (chunk as Uint8Array).length
        if (seen > length)
          throw new Error(`range source gave more than the ${length} bytes asked for`)
        yield chunk as Uint8Array
      }
      if (seen !== length)
        throw new Error(`range source gave ${seen} of the ${length} bytes asked for`)
    })(),
  )
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
