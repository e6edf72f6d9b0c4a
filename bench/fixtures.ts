/**
 * The files every server serves: random bytes (so no server can compress or guess them), made
 * once per run in a temporary directory that the harness removes at the end; and, for S7, a
 * 100 KB JavaScript file with its br and gzip siblings (made here, at the best levels, so every
 * server sends the same bytes), and a copy without siblings for compression on the fly.
 *
 * sluice re-verifies a file's bytes while its last change is under two seconds old (the racy
 * window of src/store/file-identity.ts); `settle` waits that out so no scenario measures a
 * freshly written file.
 */

import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const KiB = 1024
export const MiB = 1024 * KiB

export const SMALL = { path: '/1k.bin', size: KiB }
export const MEDIUM = { path: '/1m.bin', size: MiB }
export const LARGE = { path: '/64m.bin', size: 64 * MiB }

/** S7: JavaScript with precompressed siblings, and the same bytes without (on the fly). */
export const SCRIPT = { path: '/100k.js', size: 100 * 1000 }
export const SCRIPT_ON_THE_FLY = { path: '/fly.js', size: SCRIPT.size }
/** What browsers send (Chromium, Firefox). */
export const BROWSER_ACCEPT_ENCODING = 'gzip, deflate, br'

/** S4's ranges: 1 MiB each, at a random offset of the large file. */
export const RANGE_LENGTH = MiB

/** S5's Range field: 10 ranges of 1 KiB, 100 KiB apart, in the 1 MiB file. */
export const MULTIPART_RANGES: readonly { start: number; end: number }[] = Array.from(
  { length: 10 },
  (_, i) => ({ start: i * 100 * KiB, end: i * 100 * KiB + KiB - 1 }),
)
export const MULTIPART_FIELD = `bytes=${MULTIPART_RANGES.map((r) => `${r.start}-${r.end}`).join(',')}`

const SETTLE_MS = 2500

export interface Fixtures {
  readonly root: string
  /** The bytes of each file, by URL path. */
  readonly bytes: ReadonlyMap<string, Buffer>
  /** Resolves once the files are old enough for every server to trust their metadata. */
  settle(): Promise<void>
  remove(): Promise<void>
}

/** `size` bytes of JavaScript-like text: identifiers and numbers from a seeded generator. */
function scriptBytes(size: number): Buffer {
  let state = 7
  const next = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
  const words = ['value', 'index', 'result', 'render', 'state', 'props', 'node', 'items', 'key']
  let text = ''
  for (let i = 0; text.length < size; i++) {
    const a = words[next(words.length)]!
    const b = words[next(words.length)]!
    text += `export function ${a}${i}(${b}, ${a}) { return ${b}.${a} + ${next(1000)} * ${a}.length }\n`
  }
  return Buffer.from(text.slice(0, size))
}

export async function makeFixtures(): Promise<Fixtures> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-'))
  const bytes = new Map<string, Buffer>()
  for (const file of [SMALL, MEDIUM, LARGE]) {
    const content = randomBytes(file.size)
    await writeFile(join(root, file.path.slice(1)), content)
    bytes.set(file.path, content)
  }
  const script = scriptBytes(SCRIPT.size)
  const siblings = {
    '.br': brotliCompressSync(script, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    '.gz': gzipSync(script, { level: 9 }),
  }
  for (const path of [SCRIPT.path, SCRIPT_ON_THE_FLY.path]) {
    await writeFile(join(root, path.slice(1)), script)
    bytes.set(path, script)
  }
  // After the source: a sibling older than its source is stale.
  for (const [suffix, encoded] of Object.entries(siblings)) {
    await writeFile(join(root, SCRIPT.path.slice(1) + suffix), encoded)
    bytes.set(SCRIPT.path + suffix, encoded)
  }
  const writtenAt = Date.now()
  return {
    root,
    bytes,
    settle: async () => {
      const left = writtenAt + SETTLE_MS - Date.now()
      if (left > 0) await sleep(left)
    },
    remove: () => rm(root, { recursive: true, force: true }),
  }
}
