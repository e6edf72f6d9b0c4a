/**
 * `sluice serve` keeps V8's young generation at the size it has when serving starts
 * (src/cli/young-generation.ts), which took S6's peak RSS from about 105 to 85 MiB
 * (docs/PERFORMANCE.md), unless node was started with the user's own sizing flags.
 */

import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { youngGenerationSizedByUser } from '../../src/cli/young-generation.js'
import { deterministicBytes } from '../support/fixtures.js'
import { runCli, tempRoot } from '../support/server.js'

describe('youngGenerationSizedByUser', () => {
  test('node flags or NODE_OPTIONS that size the young generation are the user’s', () => {
    const sized = [
      [['--max-semi-space-size=2'], undefined],
      [['--max_semi_space_size=32'], undefined],
      [['--min-semi-space-size=1'], undefined],
      [['--semi-space-growth-factor=2'], undefined],
      [['--semi-space-growth-factor'], undefined],
      [[], '--max-semi-space-size=4'],
      [[], '--enable-source-maps  --max-semi-space-size=4'],
    ] as const
    for (const [execArgv, nodeOptions] of sized) {
      assert.equal(youngGenerationSizedByUser(execArgv, nodeOptions), true, String(execArgv))
    }
  })

  test('other flags are not', () => {
    const other = [
      [[], undefined],
      [['--enable-source-maps', '--max-old-space-size=512'], ''],
      [['--max-semi-space-sizes=2'], undefined],
      [[], '--max-old-space-size=512 --expose-gc'],
    ] as const
    for (const [execArgv, nodeOptions] of other) {
      assert.equal(youngGenerationSizedByUser(execArgv, nodeOptions), false, String(execArgv))
    }
  })
})

/**
 * Loaded with `node --import` into the served process: on SIGUSR2 it writes the young
 * generation's size (V8's new space) to stderr.
 */
const PROBE = `import { getHeapSpaceStatistics } from 'node:v8'
const size = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
process.on('SIGUSR2', () => process.stderr.write('young-generation ' + size() + '\\n'))
`

/** The young generation's size before and after some thousands of requests. */
async function sizesUnderLoad(nodeArgs: string[]): Promise<{ before: number; after: number }> {
  const { dir, cleanup } = await tempRoot()
  try {
    await writeFile(join(dir, 'probe.mjs'), PROBE)
    await writeFile(join(dir, 'page.bin'), deterministicBytes(4096))
    const cli = runCli(['serve', dir, '--port', '0', '--workers', '1', '--quiet'], {
      nodeArgs: [...nodeArgs, '--import', join(dir, 'probe.mjs')],
    })
    try {
      const url = await cli.url
      const sizeNow = async (): Promise<number> => {
        const reports = cli.stderr().match(/young-generation \d+/g)?.length ?? 0
        cli.child.kill('SIGUSR2')
        for (;;) {
          const all = [...cli.stderr().matchAll(/young-generation (\d+)/g)]
          if (all.length > reports) return Number(all.at(-1)![1])
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      }
      const before = await sizeNow()
      // 16 keep-alive clients, each a mix of whole, ranged, conditional and missing targets.
      await Promise.all(
        Array.from({ length: 16 }, async (_, client) => {
          for (let i = 0; i < 1500; i++) {
            const headers: Record<string, string> =
              i % 3 === 0 ? { range: `bytes=${client}-${client + 100},200-300` } : {}
            const response = await fetch(`${url}/${i % 5 === 0 ? 'missing' : 'page.bin'}`, {
              headers,
            })
            await response.arrayBuffer()
          }
        }),
      )
      return { before, after: await sizeNow() }
    } finally {
      cli.child.kill('SIGTERM')
      await cli.exited
    }
  } finally {
    await cleanup()
  }
}

describe('sluice serve and the young generation', () => {
  test('serving does not grow it', async () => {
    const { before, after } = await sizesUnderLoad([])
    assert.equal(after, before)
  })

  test('a growth factor the user gave node is left alone: the same load grows it', async () => {
    const { before, after } = await sizesUnderLoad(['--semi-space-growth-factor=2'])
    assert.ok(after > before, `young generation ${before} → ${after} bytes`)
  })
})
