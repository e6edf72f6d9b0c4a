/**
 * The filesystem store's encoded variants (src/store/variants.ts) from the store's side: the
 * first compression of a version is shared by every request that wants it at once and never
 * repeated, variants go with their version, the budget for compressed bytes holds, and
 * siblings that are not their source's compressed form (other bytes, invalid data, larger than
 * the source, a link outside the root) are never used.
 */

import assert from 'node:assert/strict'
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { RUNTIME_CODINGS } from '../../src/store/codecs.js'
import { createFsStore, type FsStore } from '../../src/store/fs-store.js'
import type { OpenedFile } from '../../src/store/store.js'
import { onTheFlyBytes, scriptText, siblingBytes } from '../support/compressed-site.js'
import { expectedEtag, OLD_MTIME, settle } from '../support/fixtures.js'
import { captureLogger, tempRoot } from '../support/server.js'

let base: string
let root: string
let cleanup: () => Promise<void>
const text = scriptText(300, 71)

before(async () => {
  ;({ dir: base, cleanup } = await tempRoot())
  root = join(base, 'root')
  await mkdir(root)
  const later = new Date(OLD_MTIME.getTime() + 1000)
  const files: [string, Buffer, Date][] = [
    ['a.js', text, OLD_MTIME],
    ['b.js', scriptText(300, 72), OLD_MTIME],
    ['c.js', scriptText(300, 73), OLD_MTIME],
    ['corrupt.js', text, OLD_MTIME],
    ['corrupt.js.gz', Buffer.from('\x1f\x8bnot really gzip at all'), later],
    ['larger.js', Buffer.from('x'.repeat(2000)), OLD_MTIME],
    ['larger.js.gz', Buffer.alloc(3000, 1), later],
    ['linked.js', text, OLD_MTIME],
  ]
  for (const [name, bytes, time] of files) {
    await writeFile(join(root, name), bytes)
    await utimes(join(root, name), time, time)
  }
  // A sibling that is a link out of the root, to a valid compressed form of the source.
  await writeFile(join(base, 'outside.gz'), await siblingBytes('gzip', text))
  await symlink('../outside.gz', join(root, 'linked.js.gz'))
  await settle()
})
after(() => cleanup())

async function opened(store: FsStore, name: string): Promise<OpenedFile> {
  const lookup = await store.open([name])
  assert.equal(lookup.kind, 'file')
  return (lookup as { file: OpenedFile }).file
}

describe('variants of a cached version', () => {
  test('concurrent requests share the first compression; later ones get the same bytes', async () => {
    const store = createFsStore(root)
    const file = await opened(store, 'a.js')
    const variants = file.variants!
    assert.deepEqual(variants.codings, RUNTIME_CODINGS)
    assert.equal(variants.peek!('br'), undefined, 'not known before the first request')
    const all = await Promise.all(Array.from({ length: 32 }, () => variants.open('br')))
    assert.ok(
      all.every((v) => v === all[0]),
      'one variant object: one compression',
    )
    const variant = all[0]!
    assert.deepEqual(variant.bytes, await onTheFlyBytes('br', text))
    assert.equal(variant.etagField, expectedEtag(variant.bytes!))
    assert.equal(variant.contentType, file.contentType)
    assert.equal(variant.variants, undefined, 'a variant has no variants of its own')
    assert.equal(await variants.open('br'), variant)
    assert.equal(variants.peek!('br'), variant, 'held for the fast lane')
    // The next lookup of the same version has the same variants.
    assert.equal((await opened(store, 'a.js')).variants, variants)
    await store.close()
  })

  test('the variants go with their version', async () => {
    const store = createFsStore(root, { cache: { watch: false } })
    const first = await opened(store, 'b.js')
    const variant = await first.variants!.open('gzip')
    assert.ok(variant !== undefined)
    store.cache!.invalidatePath(join(root, 'b.js'))
    assert.equal(first.variants!.peek!('gzip'), undefined, 'no longer current')
    assert.equal(await first.variants!.open('gzip'), undefined, 'nor opened')
    const again = await opened(store, 'b.js')
    assert.notEqual(again.variants, first.variants)
    await store.close()
  })

  test('compressed bytes stay within their budget, and one too large for it is not kept', async () => {
    const size = (await onTheFlyBytes('gzip', text)).length
    const store = createFsStore(root, { compress: { cacheBytes: size * 2 + 10 } })
    for (const name of ['a.js', 'b.js', 'c.js']) {
      const file = await opened(store, name)
      assert.ok((await file.variants!.open('gzip')) !== undefined, name)
    }
    // Three variants of about `size` do not fit in two and a bit: the oldest went, entry and all.
    const held = ['a.js', 'b.js', 'c.js'].filter((name) => store.peek([name]) !== undefined)
    assert.ok(held.length < 3, `held: ${held.join(', ')}`)
    await store.close()
    const tiny = createFsStore(root, { compress: { cacheBytes: 10 } })
    const file = await opened(tiny, 'a.js')
    assert.equal(await file.variants!.open('gzip'), undefined)
    assert.equal(file.variants!.peek!('gzip'), null, 'known to be none for this version')
    await tiny.close()
  })

  test('siblings that are not the compressed form of their source are never used', async () => {
    const { logger, log } = captureLogger()
    const store = createFsStore(root, { compress: false, logger })
    for (const name of ['corrupt.js', 'larger.js', 'linked.js']) {
      const file = await opened(store, name)
      assert.deepEqual(file.variants?.codings, ['gzip'], `${name} has a sibling`)
      assert.equal(await file.variants!.open('gzip'), undefined, name)
      assert.equal(file.variants!.peek!('gzip'), null, name)
    }
    const reasons = Object.fromEntries(log.map((e) => [e.path, e.reason]))
    assert.match(String(reasons['/corrupt.js.gz']), /does not decode/)
    assert.match(String(reasons['/larger.js.gz']), /not smaller/)
    assert.match(String(reasons['/linked.js.gz']), /outside the root/)
    await store.close()
  })

  test('without the cache, no variants', async () => {
    const store = createFsStore(root, { cache: false })
    assert.equal((await opened(store, 'a.js')).variants, undefined)
  })
})
