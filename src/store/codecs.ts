/**
 * The content codings sluice produces and checks (RFC 9110 section 8.4.1), all through
 * node:zlib: gzip and br everywhere, zstd where the runtime's zlib has it (Node 22.15 and
 * later; not Node 20). Compression levels, the names of precompressed siblings, and the check
 * that a sibling decodes to exactly its source's bytes.
 *
 * Decoding is only ever done to check a sibling file against its source, and it stops one byte
 * past the source's size: a sibling that would expand further (a compression bomb) costs no
 * more than reading its source once.
 */

import { createHash } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import type { ContentCoding } from '../core/accept-encoding.js'
import { SERVER_PREFERENCE } from '../core/accept-encoding.js'
import { opaqueTagOfDigest } from './content-tags.js'

/** The zstd functions of node:zlib, present from Node 22.15 / 23.8 on. */
interface ZstdZlib {
  zstdCompress(
    bytes: Uint8Array,
    options: { params: Record<number, number> },
    callback: (error: Error | null, result: Buffer) => void,
  ): void
  createZstdDecompress(): zlib.Gunzip
  constants: { ZSTD_c_compressionLevel: number }
}

const zstd: ZstdZlib | undefined =
  typeof (zlib as unknown as Partial<ZstdZlib>).zstdCompress === 'function'
    ? (zlib as unknown as ZstdZlib)
    : undefined

/** The codings this runtime can produce and decode, in the server's order of preference. */
export const RUNTIME_CODINGS: readonly ContentCoding[] = Object.freeze(
  SERVER_PREFERENCE.filter(
    (c): c is ContentCoding => c !== 'identity' && (c !== 'zstd' || zstd !== undefined),
  ),
)

/** The file name suffix of each coding's precompressed sibling: `app.js.br`. */
export const SIBLING_SUFFIXES: Readonly<Record<ContentCoding, string>> = Object.freeze({
  br: '.br',
  zstd: '.zst',
  gzip: '.gz',
})

/** A compression level per coding. */
export type CompressionLevels = Readonly<Record<ContentCoding, number>>

/** The levels each coding accepts: brotli's quality 0-11, gzip 1-9, zstd 1-19 (22 is "ultra"). */
export const LEVEL_RANGES: Readonly<Record<ContentCoding, readonly [number, number]>> =
  Object.freeze({ br: [0, 11], gzip: [1, 9], zstd: [1, 19] })

/**
 * On the fly: about 30 MB/s per core for br 5 and gzip 6 on JavaScript (docs/PERFORMANCE.md),
 * paid once per file version, and within a point or two of the best ratios.
 */
export const ON_THE_FLY_LEVELS: CompressionLevels = Object.freeze({ br: 5, gzip: 6, zstd: 6 })

/** `sluice compress`, ahead of time: the best each coding offers (brotli 11 is slow: ~1 MB/s). */
export const PRECOMPRESS_LEVELS: CompressionLevels = Object.freeze({ br: 11, gzip: 9, zstd: 19 })

/** Compresses `bytes` with `coding` at `level`, on libuv's thread pool. */
export function compress(coding: ContentCoding, bytes: Uint8Array, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: Buffer) => (error ? reject(error) : resolve(result))
    switch (coding) {
      case 'gzip':
        zlib.gzip(bytes, { level }, done)
        return
      case 'br':
        zlib.brotliCompress(
          bytes,
          {
            params: {
              [zlib.constants.BROTLI_PARAM_QUALITY]: level,
              [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
            },
          },
          done,
        )
        return
      case 'zstd':
        if (zstd === undefined) {
          reject(new Error('zstd is not available in this runtime'))
          return
        }
        zstd.zstdCompress(
          bytes,
          { params: { [zstd.constants.ZSTD_c_compressionLevel]: level } },
          done,
        )
        return
    }
  })
}

/** A decoding stream for `coding`. */
function decoder(coding: ContentCoding): NodeJS.ReadWriteStream {
  switch (coding) {
    case 'gzip':
      return zlib.createGunzip()
    case 'br':
      return zlib.createBrotliDecompress()
    case 'zstd':
      if (zstd === undefined) throw new Error('zstd is not available in this runtime')
      return zstd.createZstdDecompress()
  }
}

/** Decoding went past the size it was allowed. */
class TooLargeError extends Error {}

/**
 * The opaque-tag (content-tags.ts) of what `encoded` decodes to with `coding`, or undefined
 * when it is not valid `coding` data or decodes to more than `maxBytes`: so a sibling is the
 * compressed form of its source exactly when this equals the source's own opaque-tag.
 * @example await decodedTag('gzip', [gzipSync('hi')], 2) // the opaque-tag of 'hi'
 */
export async function decodedTag(
  coding: ContentCoding,
  encoded: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxBytes: number,
): Promise<string | undefined> {
  if (!RUNTIME_CODINGS.includes(coding)) return undefined
  const hash = createHash('sha256')
  let total = 0
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      total += chunk.length
      if (total > maxBytes) return callback(new TooLargeError())
      hash.update(chunk)
      callback()
    },
  })
  try {
    await pipeline(Readable.from(encoded, { objectMode: false }), decoder(coding), sink)
  } catch {
    return undefined
  }
  return opaqueTagOfDigest(hash.digest())
}
