/**
 * The representation cache (src/store/representation-cache.ts) refuses to keep a lookup's
 * result only when something that result depends on changed while it was made: changes to
 * other files (a log file appended to inside the served root) do not keep files out.
 */

import assert from 'node:assert/strict'
import { appendFileSync, mkdirSync, realpathSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { identityOf } from '../../src/store/file-identity.js'
import { createFsStore } from '../../src/store/fs-store.js'
import { type EntryState, RepresentationCache } from '../../src/store/representation-cache.js'
import { settled } from '../support/fixtures.js'
import { tempRoot } from '../support/server.js'

let root: string
let cleanup: () => Promise<void>

before(async () => {
  let dir: string
  ;({ dir, cleanup } = await tempRoot())
  root = realpathSync(dir)
  mkdirSync(join(root, 'sub'))
  writeFileSync(join(root, 'page.html'), '<p>hello</p>')
  writeFileSync(join(root, 'sub', 'other.txt'), 'other')
  writeFileSync(join(root, 'app.log'), '')
})
after(() => cleanup())

function stateOf(...segments: string[]): EntryState {
  const path = join(root, ...segments)
  const identity = identityOf(statSync(path, { bigint: true }))
  const bytes = Buffer.from('x')
  return {
    kind: 'file',
    path,
    real: path,
    identity,
    opaque: 'tag',
    contentType: 'text/plain',
    bytes,
  }
}

describe('admission after changes', () => {
  test('a change to another path does not refuse a lookup; one to its own path does', () => {
    const cache = new RepresentationCache(root, { watch: false })
    let epoch = cache.epoch
    cache.invalidatePath(join(root, 'app.log'))
    cache.invalidatePath(join(root, 'sub', 'other.txt'))
    assert.ok(cache.admit('page.html', stateOf('page.html'), epoch, performance.now()))

    epoch = cache.epoch
    cache.invalidatePath(join(root, 'page.html'))
    assert.equal(
      cache.admit('page.html', stateOf('page.html'), epoch, performance.now()),
      undefined,
    )

    // A directory on the path, or a whole subtree, changed.
    epoch = cache.epoch
    cache.invalidatePath(join(root, 'sub'))
    assert.equal(cache.admit('sub/other.txt', stateOf('sub', 'other.txt'), epoch, 0), undefined)
    epoch = cache.epoch
    cache.invalidateUnder(join(root, 'sub'))
    assert.equal(cache.admit('sub/other.txt', stateOf('sub', 'other.txt'), epoch, 0), undefined)
    assert.ok(cache.admit('page.html', stateOf('page.html'), epoch, performance.now()))
    // The root itself: everything.
    epoch = cache.epoch
    cache.invalidateUnder(root)
    assert.equal(
      cache.admit('page.html', stateOf('page.html'), epoch, performance.now()),
      undefined,
    )
    cache.close()
  })

  test('past the paths remembered, every older lookup is refused', () => {
    const cache = new RepresentationCache(root, { watch: false })
    const epoch = cache.epoch
    cache.invalidatePath(join(root, 'page.html'))
    for (let i = 0; i < 5000; i++) cache.invalidatePath(join(root, `gone-${i}`))
    assert.equal(
      cache.admit('page.html', stateOf('page.html'), epoch, performance.now()),
      undefined,
    )
    const later = cache.epoch
    cache.invalidatePath(join(root, 'gone-x'))
    assert.ok(cache.admit('page.html', stateOf('page.html'), later, performance.now()))
    cache.close()
  })

  test('a log file appended to in the root while a file is looked up: the file is cached', async () => {
    // Only settled versions (ctime two seconds old) are cached.
    await settled(join(root, 'page.html'))
    const store = createFsStore(root)
    const cache = store.cache!
    // Every lookup sees an append to the log (and its watcher's notice) while it runs.
    const admit = cache.admit.bind(cache)
    cache.admit = (key, state, epoch, observedAt) => {
      appendFileSync(join(root, 'app.log'), 'GET /page.html 200\n')
      cache.invalidatePath(join(root, 'app.log'))
      return admit(key, state, epoch, observedAt)
    }
    for (let i = 0; i < 3; i++) {
      const lookup = await store.open(['page.html'])
      assert.equal(lookup.kind, 'file')
      if (lookup.kind === 'file') lookup.file.close()
    }
    assert.equal(cache.size, 1, 'the file was admitted')
    assert.ok(store.peek(['page.html'])?.bytes?.equals(Buffer.from('<p>hello</p>')))
    await store.close()
  })
})

describe('options', () => {
  test('a wrong cache option is a TypeError naming it; none is taken silently', () => {
    const cases: [unknown, RegExp][] = [
      [{ maxBytes: -1 }, /'cache\.maxBytes': expected a non-negative integer/],
      [{ checkIntervalMs: 1.5 }, /'cache\.checkIntervalMs': expected a non-negative integer/],
      [{ maxEntries: '10' }, /'cache\.maxEntries': expected a non-negative integer/],
      [{ watch: 'no' }, /'cache\.watch': expected a boolean/],
      [{ maxbytes: 1 }, /'cache\.maxbytes' is unknown/],
      [true, /option 'cache': expected an object of limits, or false/],
    ]
    for (const [cache, message] of cases) {
      assert.throws(
        () => new RepresentationCache('/', cache as never),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
        JSON.stringify(cache),
      )
    }
    const cache = new RepresentationCache('/', { maxBytes: 0, checkIntervalMs: 50, watch: false })
    assert.equal(cache.options.maxBytes, 0)
    assert.equal(cache.options.checkIntervalMs, 50)
    assert.equal(cache.options.maxFileBytes, 1024 * 1024, 'defaults fill the rest')
    cache.close()
  })
})
