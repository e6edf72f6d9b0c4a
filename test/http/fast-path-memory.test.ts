/**
 * What the fast lane (src/http/fast-path.ts) keeps alive stays within the representation
 * cache's budget: the bytes of versions the cache dropped are garbage once their responses are
 * written, however many request-targets named them; and the request-targets it remembers take
 * a bounded number of bytes. And a version modified in the future is answered once that time
 * has passed.
 */

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setImmediate as turn, setTimeout as sleep } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createEngine } from '../../src/http/engine.js'
import { createFileLane, fileLaneStats } from '../../src/http/fast-path.js'
import { createNodeHandler } from '../../src/http/node-handler.js'
import { createFsStore } from '../../src/store/fs-store.js'
import type { HeldRepresentation, Store } from '../../src/store/store.js'
import { deterministicBytes, settled } from '../support/fixtures.js'
import { rawRequest, requestHead, serve, tempRoot } from '../support/server.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const FILES = 40
const FILE_BYTES = 16 * 1024
const BUDGET = 64 * 1024
let dir: string
let cleanup: () => Promise<void>

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  for (let i = 0; i < FILES; i++) {
    writeFileSync(join(dir, `f${i}.bin`), deterministicBytes(FILE_BYTES, i + 1))
  }
  // Only settled versions (ctime two seconds old) are cached, and so answered by the lane.
  await settled(join(dir, `f${FILES - 1}.bin`))
})
after(() => cleanup())

describe('the fast lane holds no more than the cache', () => {
  test('bytes of files the cache dropped are not kept alive by the lane', async () => {
    const cache = { maxBytes: BUDGET, checkIntervalMs: 60_000 }
    const store = createFsStore(dir, { cache })
    const engine = createEngine({ store })
    const server = await serve(createNodeHandler(engine))
    const held: WeakRef<Buffer>[] = []
    try {
      for (let i = 0; i < FILES; i++) {
        for (let variant = 0; variant < 3; variant++) {
          const path = `/f${i}.bin?v=${variant}`
          // Twice: the first fills the cache, the second is the lane's.
          for (let round = 0; round < 2; round++) {
            const res = await rawRequest(server.port, requestHead('GET', path))
            assert.equal(res.status, 200)
            assert.equal(res.body.length, FILE_BYTES)
          }
        }
        const bytes = store.peek([`f${i}.bin`])?.bytes
        assert.ok(bytes !== undefined, `f${i}.bin is held by the cache`)
        held.push(new WeakRef(bytes))
      }
      const stats = fileLaneStats(engine.fast!)
      assert.ok(stats !== undefined && stats.targets > 0, 'the lane answered')
      // WeakRefs are cleared by a collection in a later turn than the one that made them.
      await turn()
      gc()
      let alive = 0
      for (const ref of held) if (ref.deref() !== undefined) alive += FILE_BYTES
      assert.ok(
        alive <= BUDGET,
        `${alive} bytes of file content still alive, the cache's budget is ${BUDGET}`,
      )
    } finally {
      await server.close()
      await store.close()
    }
  })

  test('the request-targets it remembers take a bounded number of bytes', async () => {
    const store = createFsStore(dir, { cache: { checkIntervalMs: 60_000 } })
    const engine = createEngine({ store })
    const lane = engine.fast!
    const first = await engine({ method: 'GET', url: '/f0.bin', headers: {} })
    if (first.body.kind === 'file') first.body.file.close()
    const long = 'x'.repeat(1000)
    for (let i = 0; i < 5000; i++) {
      const reply = lane('GET', `/f0.bin?${long}${i}`, {})
      assert.equal(reply?.status, 200)
      const stats = fileLaneStats(lane)!
      assert.ok(stats.targetBytes <= 2 * 1024 * 1024, `${stats.targetBytes} bytes of targets`)
    }
    // Targets too long to remember are still answered, parsed each time.
    assert.equal(lane('GET', `/f0.bin?${'y'.repeat(8000)}`, {})?.status, 200)
    await store.close()
  })
})

describe('a version modified in the future', () => {
  test('the lane declines it until its modification time has passed, then answers it', async () => {
    const bytes = Buffer.from('from the future\n')
    const lastModified = Date.now() + 400
    const file: HeldRepresentation = {
      size: bytes.length,
      etag: { weak: false, opaque: 'future' },
      etagField: '"future"',
      lastModified,
      contentType: 'text/plain; charset=utf-8',
      bytes,
      current: () => true,
      open: () => {
        throw new Error('not opened: its bytes are held')
      },
    }
    const store: Store = { open: async () => ({ kind: 'missing' }), peek: () => file }
    const lane = createFileLane(store, { cacheControl: 'no-cache', dotfiles: false })!
    // Last-Modified would be later than Date: read.ts sends the response's date instead.
    assert.equal(lane('GET', '/future.txt', {}), undefined)
    await sleep(Math.max(0, lastModified - Date.now()) + 50)
    const reply = lane('GET', '/future.txt', {})
    assert.equal(reply?.status, 200)
    assert.ok(reply.body?.equals(bytes))
  })
})
