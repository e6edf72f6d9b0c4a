/**
 * Shared descriptors (src/store/opened-file.ts) are never revived once closed, and a cache
 * entry dropped between the cache's answer and its use sends the filesystem store
 * (src/store/fs-store.ts) back to a full lookup instead of through the closed descriptor.
 */

import assert from 'node:assert/strict'
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { identityOf } from '../../src/store/file-identity.js'
import { createFsStore } from '../../src/store/fs-store.js'
import {
  OpenRepresentation,
  SharedDescriptor,
  StaleRepresentationError,
} from '../../src/store/opened-file.js'
import { RepresentationCache } from '../../src/store/representation-cache.js'
import { deterministicBytes, settled } from '../support/fixtures.js'
import { tempRoot } from '../support/server.js'

let dir: string
let cleanup: () => Promise<void>
const content = deterministicBytes(256 * 1024, 5)

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  writeFileSync(join(dir, 'large.bin'), content)
})
after(() => cleanup())

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

describe('shared descriptors', () => {
  test('acquire is refused once the last share was released; release never closes twice', () => {
    const fd = openSync(join(dir, 'large.bin'), 'r')
    const descriptor = new SharedDescriptor(fd)
    assert.equal(descriptor.acquire(), true)
    descriptor.release()
    descriptor.release()
    assert.equal(descriptor.acquire(), false, 'a closed descriptor is not revived')
    descriptor.release()
  })

  test('an OpenRepresentation whose entry was dropped is not opened', () => {
    const path = join(dir, 'large.bin')
    const fd = openSync(path, 'r')
    const identity = identityOf(fstatSync(fd, { bigint: true }))
    const cache = new RepresentationCache(dir, { watch: false })
    const state = {
      kind: 'file' as const,
      path,
      real: path,
      identity,
      opaque: 'tag',
      contentType: 'application/octet-stream',
      bytes: undefined,
    }
    const entry = cache.admit('large.bin', state, cache.epoch, performance.now())!
    assert.ok(entry !== undefined)
    let released = 0
    const held = new OpenRepresentation(
      new SharedDescriptor(fd),
      identity,
      'tag',
      'application/octet-stream',
      entry,
      () => released++,
    )
    entry.attachment = held
    const opened = held.open()
    opened.close()
    cache.invalidatePath(path)
    assert.equal(released, 1)
    assert.equal(held.tryOpen(), undefined)
    assert.throws(() => held.open(), StaleRepresentationError)
    cache.close()
  })
})

describe('the filesystem store', () => {
  test('an entry dropped after the cache answered: the store looks the path up again', async () => {
    // Settled (ctime two seconds old), so that the cache keeps the file open.
    await settled(join(dir, 'large.bin'))
    const store = createFsStore(dir, { cache: { maxFileBytes: 0, watch: false } })
    const cache = store.cache!
    const first = await store.open(['large.bin'])
    assert.equal(first.kind, 'file')
    if (first.kind === 'file') first.file.close()
    assert.equal(cache.size, 1, 'the cache keeps the file')
    // A change is learnt of in the turns between the cache's answer and its use.
    const get = cache.get.bind(cache)
    let dropped = 0
    cache.get = async (key) => {
      const entry = await get(key)
      if (entry !== undefined) {
        cache.invalidatePath(join(store.root, 'large.bin'))
        dropped++
      }
      return entry
    }
    // Its descriptor is closed; open another file so that the number may be reused.
    writeFileSync(join(dir, 'other.txt'), 'another file')
    const other = openSync(join(dir, 'other.txt'), 'r')
    try {
      const lookup = await store.open(['large.bin'])
      assert.equal(dropped, 1)
      assert.equal(lookup.kind, 'file')
      if (lookup.kind !== 'file') return
      const bytes = await readAll(lookup.file.read(0, lookup.file.size - 1))
      lookup.file.close()
      assert.ok(bytes.equals(readFileSync(join(dir, 'large.bin'))), 'the file, from its own open')
    } finally {
      await store.close()
      closeSync(other)
    }
  })
})
