/**
 * Test fixtures for content codings: a root with compressible files, fresh and stale
 * precompressed siblings, and the codecs to check what comes back.
 *
 * Siblings are made at other levels than sluice's on-the-fly ones (gzip 1, br 2 against 6 and
 * 5), so a test can tell from the bytes alone whether a response came from the sibling file
 * or was compressed on the fly (which it predicts byte for byte with the same node:zlib).
 */

import { utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import zlib from 'node:zlib'
import type { ContentCoding } from '../../src/core/accept-encoding.js'
import { compress, ON_THE_FLY_LEVELS, RUNTIME_CODINGS } from '../../src/store/codecs.js'
import { deterministicBytes, OLD_MTIME, settle } from './fixtures.js'
import { tempRoot } from './server.js'

/** Text that compresses like source code: `lines` lines of varied, repetitive JavaScript. */
export function scriptText(lines: number, seed = 1): Buffer {
  const noise = deterministicBytes(lines, seed)
  let text = ''
  for (let i = 0; i < lines; i++) {
    text += `export function f${i}(a, b) { return a * ${noise[i]} + b - ${i % 17} } // ${'x'.repeat(noise[i]! % 23)}\n`
  }
  return Buffer.from(text)
}

/** The codings this runtime produces (zstd only where node:zlib has it). */
export const CODINGS: readonly ContentCoding[] = RUNTIME_CODINGS
export const ZSTD = RUNTIME_CODINGS.includes('zstd')

/** Decodes `bytes` that came with Content-Encoding `coding`. */
export function decode(coding: string | undefined, bytes: Buffer): Buffer {
  switch (coding) {
    case undefined:
      return bytes
    case 'gzip':
      return zlib.gunzipSync(bytes)
    case 'br':
      return zlib.brotliDecompressSync(bytes)
    case 'zstd': {
      const z = zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer }
      return z.zstdDecompressSync(bytes)
    }
    default:
      throw new Error(`unexpected Content-Encoding ${coding}`)
  }
}

/** Compresses as the siblings of the fixture are made (other levels than on the fly). */
export function siblingBytes(coding: ContentCoding, bytes: Buffer): Promise<Buffer> {
  const level = { gzip: 1, br: 2, zstd: 1 }[coding]
  return compress(coding, bytes, level)
}

/** What sluice's on-the-fly compression makes of `bytes` (the same zlib, the same levels). */
export function onTheFlyBytes(coding: ContentCoding, bytes: Buffer): Promise<Buffer> {
  return compress(coding, bytes, ON_THE_FLY_LEVELS[coding])
}

export const SUFFIX: Readonly<Record<ContentCoding, string>> = {
  br: '.br',
  zstd: '.zst',
  gzip: '.gz',
}

export interface CompressedSite {
  readonly root: string
  /** `app.js`: siblings for every coding of this runtime (and a `.zst` one regardless). */
  readonly app: Buffer
  readonly appSiblings: Readonly<Partial<Record<ContentCoding, Buffer>>>
  /** `style.css`: no siblings, compressed on the fly. */
  readonly style: Buffer
  /** `old.js` with siblings older than it; `other.js` with siblings made from other bytes. */
  readonly old: Buffer
  readonly other: Buffer
  /** `image.png` (not compressible) with a fresh `.gz` sibling, and `photo.png` with a stale one. */
  readonly image: Buffer
  readonly imageGz: Buffer
  readonly photo: Buffer
  /** `tiny.js` (below the minimum size) and `data.bin` (not compressible, no sibling). */
  readonly tiny: Buffer
  readonly data: Buffer
  /** `archive.gz`, a file of its own. */
  readonly archive: Buffer
  cleanup(): Promise<void>
}

const SOURCE_TIME = OLD_MTIME
const LATER = new Date(OLD_MTIME.getTime() + 60_000)
const EARLIER = new Date(OLD_MTIME.getTime() - 86_400_000)

/** Writes the site and resolves once every file is settled (cached by sluice). */
export async function createCompressedSite(): Promise<CompressedSite> {
  const { dir: root, cleanup } = await tempRoot()
  const write = async (name: string, bytes: Buffer, time = SOURCE_TIME) => {
    await writeFile(join(root, name), bytes)
    await utimes(join(root, name), time, time)
  }
  const app = scriptText(400, 1)
  const appSiblings: Partial<Record<ContentCoding, Buffer>> = {}
  await write('app.js', app)
  for (const coding of CODINGS) {
    appSiblings[coding] = await siblingBytes(coding, app)
    await write(`app.js${SUFFIX[coding]}`, appSiblings[coding]!, LATER)
  }
  // Where this runtime cannot decode zstd, a .zst sibling cannot be checked: never served.
  if (!ZSTD) await write('app.js.zst', Buffer.from('not checked: no zstd here'), LATER)
  const style = Buffer.from(
    Array.from(
      { length: 300 },
      (_, i) =>
        `.c${i} { margin: ${i % 9}px; color: #${(i * 4099).toString(16).padStart(6, '0').slice(0, 6)} }\n`,
    ).join(''),
  )
  await write('style.css', style)
  const old = scriptText(300, 2)
  await write('old.js', old)
  for (const coding of CODINGS) {
    await write(`old.js${SUFFIX[coding]}`, await siblingBytes(coding, old), EARLIER)
  }
  const other = scriptText(300, 3)
  await write('other.js', other)
  for (const coding of CODINGS) {
    await write(`other.js${SUFFIX[coding]}`, await siblingBytes(coding, scriptText(300, 4)), LATER)
  }
  const image = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(8000, 7)])
  const imageGz = await siblingBytes('gzip', image)
  await write('image.png', image)
  await write('image.png.gz', imageGz, LATER)
  const photo = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(6000, 9)])
  await write('photo.png', photo)
  await write('photo.png.gz', await siblingBytes('gzip', image), LATER)
  const tiny = Buffer.from('export const tiny = 1\n')
  await write('tiny.js', tiny)
  const data = deterministicBytes(5000, 5)
  await write('data.bin', data)
  const archive = zlib.gzipSync(scriptText(50, 6))
  await write('archive.gz', archive)
  await settle()
  return {
    root,
    app,
    appSiblings,
    style,
    old,
    other,
    image,
    imageGz,
    photo,
    tiny,
    data,
    archive,
    cleanup,
  }
}
