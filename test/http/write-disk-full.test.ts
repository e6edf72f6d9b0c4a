/**
 * Disk full: a PUT that runs out of space gets 507 Insufficient Storage (RFC 4918 section
 * 11.5) and the old content stays whole. The root is a 1 MiB tmpfs, a real file system that
 * really fills up; mounting one needs root (CI runs as root on Debian). Where mounting is not
 * permitted the test is skipped and says why.
 */

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startServer } from '../support/server.js'
import { expectedTag, noStagedFiles, send } from '../support/writes.js'

test('a PUT that fills the disk: 507, old content intact, no staged file, and writes work again after', async (t) => {
  const mountPoint = await mkdtemp(join(tmpdir(), 'sluice-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], {
      stdio: 'pipe',
    })
  } catch (error) {
    await rm(mountPoint, { recursive: true, force: true })
    t.skip(`cannot mount a tmpfs here: ${(error as Error).message.split('\n')[0]}`)
    return
  }
  try {
    const old = Buffer.alloc(200 * 1024, 0x6f)
    await writeFile(join(mountPoint, 'doc.bin'), old)
    const server = await startServer(mountPoint, { writable: true })
    try {
      const tooBig = Buffer.alloc(2 * 1024 * 1024, 0x6e)
      const full = await send('PUT', `${server.url}/doc.bin`, tooBig, {
        'If-Match': expectedTag(old),
      })
      assert.equal(full.status, 507)
      assert.match(full.text, /nothing was changed/)
      assert.ok((await readFile(join(mountPoint, 'doc.bin'))).equals(old))
      assert.deepEqual(await noStagedFiles(mountPoint), [])

      const created = await send('PUT', `${server.url}/new/dir/big.bin`, tooBig)
      assert.equal(created.status, 507, 'also when creating')

      // The space of the failed uploads was given back.
      const fits = Buffer.alloc(300 * 1024, 0x79)
      const ok = await send('PUT', `${server.url}/doc.bin`, fits, { 'If-Match': expectedTag(old) })
      assert.equal(ok.status, 204)
      assert.equal(ok.headers.get('etag'), expectedTag(fits))
    } finally {
      await server.close()
    }
  } finally {
    execFileSync('umount', [mountPoint])
    await rm(mountPoint, { recursive: true, force: true })
  }
})
