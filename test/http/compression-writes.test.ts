/**
 * Writes and content codings, through every adapter: a PUT makes the resource's siblings
 * stale at once (never served after it), a write's If-Match compares against the identity
 * representation's ETag (what a PUT replaces), and a PUT with Content-Encoding stays 415.
 * Across `--workers`: test/cli/workers.test.ts.
 */

import assert from 'node:assert/strict'
import { utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { decode, onTheFlyBytes, scriptText, siblingBytes } from '../support/compressed-site.js'
import { expectedEtag, OLD_MTIME, settle } from '../support/fixtures.js'
import {
  ADAPTERS,
  type RunningServer,
  rawRequest,
  requestHead,
  startServer,
  tempRoot,
} from '../support/server.js'

for (const adapter of ADAPTERS) {
  describe(`writes and siblings through the ${adapter} adapter`, () => {
    let server: RunningServer
    let root: string
    let cleanup: () => Promise<void>
    const page = scriptText(200, 11)
    const image = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(4000, 3)])
    let pageGz: Buffer
    let imageGz: Buffer

    before(async () => {
      ;({ dir: root, cleanup } = await tempRoot())
      pageGz = await siblingBytes('gzip', page)
      imageGz = await siblingBytes('gzip', image)
      const later = new Date(OLD_MTIME.getTime() + 1000)
      for (const [name, bytes, time] of [
        ['page.js', page, OLD_MTIME],
        ['page.js.gz', pageGz, later],
        ['image.png', image, OLD_MTIME],
        ['image.png.gz', imageGz, later],
      ] as const) {
        await writeFile(join(root, name), bytes)
        await utimes(join(root, name), time, time)
      }
      await settle()
      server = await startServer(root, { writable: true }, adapter)
    })
    after(async () => {
      await server.close()
      await cleanup()
    })

    const get = (path: string, fields: Record<string, string> = {}) =>
      rawRequest(server.port, requestHead('GET', path, fields))
    const put = (path: string, body: Buffer, fields: Record<string, string> = {}) =>
      rawRequest(
        server.port,
        requestHead('PUT', path, { 'Content-Length': String(body.length), ...fields }),
        { body },
      )

    test("a write's If-Match compares against the identity ETag, never a variant's", async () => {
      const gz = await get('/page.js', { 'Accept-Encoding': 'gzip' })
      assert.deepEqual(gz.body, pageGz)
      const refused = await put('/page.js', page, { 'If-Match': gz.headers.etag! })
      assert.equal(refused.status, 412)
      const accepted = await put('/page.js', page, { 'If-Match': expectedEtag(page) })
      assert.equal(accepted.status, 204)
      assert.equal(accepted.headers.etag, expectedEtag(page))
    })

    test('a PUT with Content-Encoding is 415, and changes nothing', async () => {
      const res = await put('/page.js', pageGz, { 'Content-Encoding': 'gzip' })
      assert.equal(res.status, 415)
      assert.equal(res.headers['accept-encoding'], 'identity')
    })

    test('after a PUT, the siblings are never served again, settled or not', async () => {
      // The PUT above wrote the same bytes: the sibling is older than the new version now.
      const next = scriptText(200, 12)
      for (const [path, bytes, sibling] of [
        ['/page.js', next, pageGz],
        ['/image.png', Buffer.concat([image, Buffer.from('more')]), imageGz],
      ] as const) {
        const before = await get(path, { 'Accept-Encoding': 'gzip' })
        assert.equal(before.status, 200)
        const res = await put(path, bytes)
        assert.equal(res.status, 204, path)
        const now = await get(path, { 'Accept-Encoding': 'gzip' })
        assert.notDeepEqual(now.body, sibling, `${path} right after the PUT`)
        assert.deepEqual(decode(now.headers['content-encoding'], now.body), bytes)
      }
      await settle()
      const js = await get('/page.js', { 'Accept-Encoding': 'gzip' })
      assert.equal(js.headers['content-encoding'], 'gzip')
      assert.deepEqual(js.body, await onTheFlyBytes('gzip', next), 'compressed on the fly')
      const png = await get('/image.png', { 'Accept-Encoding': 'gzip' })
      assert.equal(png.headers['content-encoding'], undefined, 'no fresh sibling: identity')
      const stale = server.log.filter((e) => e.msg === 'precompressed sibling not served')
      assert.ok(stale.some((e) => e.path === '/image.png.gz'))
    })

    test('a PUT of a fresh sibling makes it the variant again', async () => {
      const current = (await get('/image.png')).body
      const fresh = await siblingBytes('gzip', current)
      assert.equal((await put('/image.png.gz', fresh)).status, 204)
      await settle()
      const res = await get('/image.png', { 'Accept-Encoding': 'gzip' })
      assert.equal(res.headers['content-encoding'], 'gzip')
      assert.deepEqual(res.body, fresh)
    })
  })
}
