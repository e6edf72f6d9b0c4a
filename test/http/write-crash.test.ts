/**
 * Crash safety of writes: a sluice process is killed with SIGKILL at random moments while
 * large PUTs stream into it. After each restart every file must be byte-exactly one of the
 * versions that were sent (never a mix, never a truncated file), served with the entity-tag
 * of exactly those bytes, and no staged file may be left anywhere in the tree.
 *
 * SIGKILL keeps the page cache, so this proves atomicity (staged file + rename) and the sweep
 * of leftovers; fsync's part (power loss) cannot be shown by a test on a live kernel.
 */

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { runCli, tempRoot } from '../support/server.js'
import { expectedTag, send, stagedFiles } from '../support/writes.js'

const FILES = ['a.bin', 'nested/b.bin', 'c.bin']
const SIZE = 3 * 1024 * 1024
const KILLS = 5

test('SIGKILL during a stream of large PUTs leaves every file whole, with a matching ETag, and no staged file', async (t) => {
  const { dir: root, cleanup } = await tempRoot()
  /** Every version ever sent (or written first), by SHA-256, per file. */
  const versions = new Map<string, Set<string>>()
  const remember = (file: string, bytes: Buffer) => {
    const digest = createHash('sha256').update(bytes).digest('hex')
    versions.get(file)!.add(digest)
  }
  let leftoversSeen = 0
  try {
    for (const file of FILES) {
      versions.set(file, new Set())
      const first = randomBytes(SIZE)
      remember(file, first)
      if (!file.includes('/')) await writeFile(join(root, file), first)
    }

    for (let round = 0; round < KILLS; round++) {
      const sluice = runCli(['serve', root, '--writable', '--port', '0', '--quiet'])
      const url = await sluice.url
      await checkTree(root, url, versions)

      let stop = false
      const uploads = FILES.map(async (file) => {
        while (!stop) {
          const bytes = randomBytes(SIZE)
          remember(file, bytes) // before sending: a version may land the moment it is sent
          await streamPut(`${url}/${file}`, bytes).catch(() => {})
        }
      })
      // Kill at a random moment while at least one upload is streaming into a staged file.
      const deadline = Date.now() + 10_000
      while ((await stagedFiles(root)).length === 0 && Date.now() < deadline) await sleep(5)
      await sleep(Math.random() * 150)
      sluice.child.kill('SIGKILL')
      assert.equal(await sluice.exited, 'SIGKILL')
      stop = true
      await Promise.all(uploads)
      leftoversSeen += (await stagedFiles(root)).length
    }

    // The last restart: everything whole, and the leftovers gone.
    const sluice = runCli(['serve', root, '--writable', '--port', '0', '--quiet'])
    try {
      await checkTree(root, await sluice.url, versions)
    } finally {
      sluice.child.kill('SIGTERM')
      await sluice.exited
    }
    t.diagnostic(`${KILLS} kills; ${leftoversSeen} staged files left by them, all swept`)
    assert.ok(leftoversSeen > 0, 'the kills interrupted uploads (else this proves nothing)')
  } finally {
    await cleanup()
  }
})

/** After a (re)start: no staged file, and each file whole, served with its own ETag. */
async function checkTree(
  root: string,
  url: string,
  versions: Map<string, Set<string>>,
): Promise<void> {
  assert.deepEqual(await stagedFiles(root), [], 'staged files are removed at start-up')
  for (const [file, known] of versions) {
    const res = await fetch(`${url}/${file}`)
    if (res.status === 404) continue // not created yet (a nested file before its first PUT)
    assert.equal(res.status, 200)
    const bytes = Buffer.from(await res.arrayBuffer())
    const digest = createHash('sha256').update(bytes).digest('hex')
    assert.ok(known.has(digest), `${file} is byte-exactly one of the versions sent`)
    assert.equal(res.headers.get('etag'), expectedTag(bytes), `${file}'s ETag matches its bytes`)
    assert.ok((await readFile(join(root, file))).equals(bytes))
  }
  // The server still takes writes after the crash.
  const probe = await send('PUT', `${url}/probe.txt`, 'alive')
  assert.ok(probe.status === 201 || probe.status === 204)
}

/** A PUT whose body goes out in 64 KiB pieces with pauses, so that it takes a while. */
function streamPut(url: string, bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PUT',
      headers: { 'Content-Length': bytes.length, 'Content-Type': 'application/octet-stream' },
    })
    req.on('response', (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    let at = 0
    const pump = () => {
      if (at >= bytes.length) {
        req.end()
        return
      }
      const piece = bytes.subarray(at, at + 64 * 1024)
      at += piece.length
      if (req.write(piece)) setTimeout(pump, 1)
      else req.once('drain', pump)
    }
    pump()
  })
}
