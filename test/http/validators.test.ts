/**
 * Entity-tags and Last-Modified over a real socket (RFC 9110 8.8): derived from the bytes,
 * changed by any change of the bytes, stable across restarts and replicas.
 */

import assert from 'node:assert/strict'
import { open, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { expectedEtag } from '../support/fixtures.js'
import {
  type RunningServer,
  rawRequest,
  requestHead,
  startServer,
  tempRoot,
} from '../support/server.js'

let dir: string
let cleanup: () => Promise<void>
let server: RunningServer

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  server = await startServer(dir)
})

after(async () => {
  await server.close()
  await cleanup()
})

async function etagOf(port: number, path: string): Promise<string> {
  const res = await rawRequest(port, requestHead('HEAD', path))
  assert.equal(res.status, 200)
  return res.headers.etag!
}

/** Rewrites a file in place (same inode, same size) and puts its old mtime back. */
async function rewriteInPlace(path: string, content: string): Promise<void> {
  const before = await stat(path)
  const handle = await open(path, 'r+')
  await handle.write(content, 0)
  await handle.close()
  await utimes(path, before.atime, before.mtime)
}

describe('the ETag is derived from the bytes', () => {
  test('it is the documented SHA-256 prefix, so replicas with the same bytes agree', async () => {
    await writeFile(join(dir, 'a.txt'), 'replica bytes\n')
    assert.equal(await etagOf(server.port, '/a.txt'), expectedEtag(Buffer.from('replica bytes\n')))
  })

  test('it is stable across a restart', async () => {
    await writeFile(join(dir, 'restart.txt'), 'same bytes\n')
    const first = await etagOf(server.port, '/restart.txt')
    const second = await startServer(dir)
    try {
      assert.equal(await etagOf(second.port, '/restart.txt'), first)
    } finally {
      await second.close()
    }
  })

  test('it changes on a same-size rewrite within the same second, mtime restored', async () => {
    const path = join(dir, 'quick.txt')
    await writeFile(path, 'version A\n')
    const a = await etagOf(server.port, '/quick.txt')
    await rewriteInPlace(path, 'version B\n')
    const b = await etagOf(server.port, '/quick.txt')
    assert.notEqual(b, a)
    assert.equal(b, expectedEtag(Buffer.from('version B\n')))
  })

  test('it changes on a same-size rewrite of a long-settled file, mtime restored', async () => {
    const path = join(dir, 'settled.txt')
    await writeFile(path, 'version A\n')
    await sleep(2200) // past the racy window: the first tag is cached as settled
    const a = await etagOf(server.port, '/settled.txt')
    assert.equal(await etagOf(server.port, '/settled.txt'), a)
    await rewriteInPlace(path, 'version C\n')
    // A settled file is held by the representation cache, which sees an outside change within
    // its freshness bound (docs/PERFORMANCE.md; test/http/freshness.test.ts holds it to it).
    const expected = expectedEtag(Buffer.from('version C\n'))
    const deadline = Date.now() + 1000
    let c = await etagOf(server.port, '/settled.txt')
    while (c !== expected && Date.now() < deadline) {
      assert.ok(c === a, `an ETag of neither version: ${c}`)
      await sleep(5)
      c = await etagOf(server.port, '/settled.txt')
    }
    assert.equal(c, expected)
  })

  test('identical bytes written again keep the same tag', async () => {
    const path = join(dir, 'same.txt')
    await writeFile(path, 'unchanged\n')
    const a = await etagOf(server.port, '/same.txt')
    await writeFile(path, 'unchanged\n')
    assert.equal(await etagOf(server.port, '/same.txt'), a)
  })
})

describe('Last-Modified (RFC 9110 8.8.2)', () => {
  test('is the file modification time in IMF-fixdate', async () => {
    const path = join(dir, 'dated.txt')
    await writeFile(path, 'dated\n')
    const when = new Date('2023-07-04T10:20:30Z')
    await utimes(path, when, when)
    const res = await rawRequest(server.port, requestHead('GET', '/dated.txt'))
    assert.equal(res.headers['last-modified'], 'Tue, 04 Jul 2023 10:20:30 GMT')
  })

  test('a modification time in the future is replaced by the response date (8.8.2.1)', async () => {
    const path = join(dir, 'future.txt')
    await writeFile(path, 'future\n')
    const when = new Date(Date.now() + 86_400_000)
    await utimes(path, when, when)
    const res = await rawRequest(server.port, requestHead('GET', '/future.txt'))
    const lastModified = Date.parse(res.headers['last-modified']!)
    assert.ok(lastModified <= Date.parse(res.headers.date!), res.headers['last-modified'])
  })
})
