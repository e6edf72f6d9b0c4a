/**
 * The lost update problem (RFC 9110 section 13.1.1; the seeds' "avoiding the lost update
 * problem with optimistic locking"): many clients increment one counter with read-modify-write
 * cycles guarded by If-Match. If checking the precondition and replacing the file were not one
 * atomic step, two clients that read the same version could both succeed and one increment
 * would vanish: the final counter would be lower than the number of successful PUTs.
 *
 * Run against one process through each adapter (node:http, Express, Fastify, the Fetch API),
 * against `--workers 2` (one port, two processes), and against several independent sluice
 * processes serving the same root, which is what proves the locking is linearizable across
 * processes.
 */

import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type CliProcess, runCli, startServer, tempRoot, VARIANTS } from '../support/server.js'
import { send } from '../support/writes.js'

const CLIENTS = 32
/** Attempts per client; a 412 and its retry use up a round, so the test is bounded. */
const ROUNDS = 12
/** Through the framework adapters, which share the engine and store: fewer, to bound the run. */
const ADAPTER_ROUNDS = 6

interface Tally {
  successes: number
  conflicts: number
}

/** One client: read the counter, add one, write it back if nobody wrote in between. */
async function incrementer(url: string, tally: Tally, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const read = await send('GET', url)
    assert.equal(read.status, 200)
    const etag = read.headers.get('etag')!
    const next = String(Number(read.text) + 1)
    const write = await send('PUT', url, next, { 'If-Match': etag })
    if (write.status === 204) tally.successes++
    else if (write.status === 412) tally.conflicts++
    else assert.fail(`unexpected ${write.status}: ${write.text}`)
  }
}

async function runCounter(
  urls: readonly string[],
  file: string,
  report: (message: string) => void,
  rounds = ROUNDS,
): Promise<Tally> {
  const started = Date.now()
  const tally: Tally = { successes: 0, conflicts: 0 }
  const clients = Array.from({ length: CLIENTS }, (_, i) =>
    incrementer(`${urls[i % urls.length]}/counter.txt`, tally, rounds),
  )
  await Promise.all(clients)
  const final = Number(await readFile(file, 'utf8'))
  assert.equal(final, tally.successes, 'every successful PUT is one increment, none lost')
  assert.ok(tally.successes > 0, 'some writes succeeded')
  // With 32 clients racing on one file conflicts are certain; without any, the test would
  // not have exercised the race it is about.
  assert.ok(tally.conflicts > 0, 'some writes lost the race and got 412')
  assert.equal(tally.successes + tally.conflicts, CLIENTS * rounds)
  report(
    `${tally.successes} increments, ${tally.conflicts} conflicts (412), ${Date.now() - started} ms`,
  )
  return tally
}

describe('lost update: 32 read-modify-write clients with If-Match', () => {
  let root: string
  let cleanup: () => Promise<void>

  before(async () => {
    const made = await tempRoot()
    root = made.dir
    cleanup = made.cleanup
  })
  after(() => cleanup())

  for (const variant of VARIANTS) {
    const adapter = variant.adapter
    test(`against one process (${adapter} adapter), the counter equals the number of successful PUTs`, async (t) => {
      await writeFile(join(root, 'counter.txt'), '0')
      const server = await startServer(root, { writable: true }, variant)
      try {
        const rounds = adapter === 'node' ? ROUNDS : ADAPTER_ROUNDS
        await runCounter([server.url], join(root, 'counter.txt'), (m) => t.diagnostic(m), rounds)
      } finally {
        await server.close()
      }
    })
  }

  test('against sluice --workers 2 (one URL, two processes), likewise', async (t) => {
    await writeFile(join(root, 'counter.txt'), '0')
    const cli = runCli(['serve', root, '--writable', '--port', '0', '--quiet', '--workers', '2'])
    try {
      await runCounter([await cli.url], join(root, 'counter.txt'), (m) => t.diagnostic(m))
    } finally {
      cli.child.kill('SIGTERM')
      assert.equal(await cli.exited, 0)
    }
  })

  test('against three sluice processes serving the same root, likewise', async (t) => {
    await writeFile(join(root, 'counter.txt'), '0')
    const processes: CliProcess[] = []
    try {
      for (let i = 0; i < 3; i++) {
        processes.push(runCli(['serve', root, '--writable', '--port', '0', '--quiet']))
      }
      const urls = await Promise.all(processes.map((p) => p.url))
      await runCounter(urls, join(root, 'counter.txt'), (m) => t.diagnostic(m))
    } finally {
      for (const p of processes) p.child.kill('SIGTERM')
      await Promise.all(processes.map((p) => p.exited))
    }
  })
})
