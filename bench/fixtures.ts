/**
 * The files every server serves: random bytes (so no server can compress or guess them), made
 * once per run in a temporary directory that the harness removes at the end.
 *
 * sluice re-verifies a file's bytes while its last change is under two seconds old (the racy
 * window of src/store/file-identity.ts); `settle` waits that out so no scenario measures a
 * freshly written file.
 */

import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const KiB = 1024
export const MiB = 1024 * KiB

export const SMALL = { path: '/1k.bin', size: KiB }
export const MEDIUM = { path: '/1m.bin', size: MiB }
export const LARGE = { path: '/64m.bin', size: 64 * MiB }

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

export async function makeFixtures(): Promise<Fixtures> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-'))
  const bytes = new Map<string, Buffer>()
  for (const file of [SMALL, MEDIUM, LARGE]) {
    const content = randomBytes(file.size)
    await writeFile(join(root, file.path.slice(1)), content)
    bytes.set(file.path, content)
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
