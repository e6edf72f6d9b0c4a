/**
 * Hostile If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since and If-Range values
 * over real sockets, through every adapter. Every answer is clean (test/support/hostile.ts), and
 * where RFC 9110 says what a malformed value means, it means that: a date that is not an
 * HTTP-date is ignored (13.1.3, 13.1.4), an If-Match that lists no entity-tag never holds
 * (13.1.1), an If-None-Match that lists none never matches (13.1.2), and an If-Range that is
 * neither validator sends the whole representation (13.1.5).
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createSite, expectedEtag, type SiteFixture } from '../support/fixtures.js'
import {
  assertClean,
  BAD_DATES,
  BAD_TAG_LISTS,
  ODD_DATES,
  ODD_TAG_LISTS,
  sendable,
} from '../support/hostile.js'
import {
  ADAPTERS,
  type RawResponse,
  type RunningServer,
  rawRequest,
  requestHead,
  startServer,
} from '../support/server.js'

let site: SiteFixture
let server: RunningServer
let etag: string

before(async () => {
  site = await createSite()
  etag = expectedEtag(site.sample)
})
after(() => site.cleanup())

async function get(fields: Record<string, string>, method = 'GET'): Promise<RawResponse> {
  const res = await rawRequest(server.port, requestHead(method, '/sample.bin', fields))
  const shown = JSON.stringify(fields).slice(0, 120)
  assertClean(res, `${method} ${shown}`, { method, paths: [site.base] })
  return res
}

for (const adapter of ADAPTERS) {
  describe(`hostile conditional fields through the ${adapter} adapter`, () => {
    before(async () => {
      server = await startServer(site.root, {}, adapter)
    })
    after(() => server.close())

    test('If-Match that lists no entity-tag never holds: 412 (13.1.1)', async () => {
      for (const value of BAD_TAG_LISTS) {
        const res = await get({ 'If-Match': value })
        assert.equal(res.status, sendable(value) ? 412 : 400, `If-Match: ${value.slice(0, 40)}`)
      }
    })

    test('If-None-Match that lists no entity-tag never matches: 200 (13.1.2)', async () => {
      for (const value of BAD_TAG_LISTS) {
        const res = await get({ 'If-None-Match': value })
        assert.equal(
          res.status,
          sendable(value) ? 200 : 400,
          `If-None-Match: ${value.slice(0, 40)}`,
        )
      }
    })

    test('odd but valid lists are evaluated: they do not match, except *', async () => {
      for (const value of ODD_TAG_LISTS) {
        const match = await get({ 'If-Match': value })
        assert.equal(match.status, value === '*' ? 200 : 412, `If-Match: ${value.slice(0, 40)}`)
        const none = await get({ 'If-None-Match': value })
        assert.equal(none.status, value === '*' ? 304 : 200, `If-None-Match: ${value.slice(0, 40)}`)
      }
      // The current tag anywhere in a long list is found.
      const list = `${Array.from({ length: 1000 }, (_, i) => `"t${i}"`).join(',')}, ${etag}`
      assert.equal((await get({ 'If-None-Match': list })).status, 304)
      assert.equal((await get({ 'If-Match': list })).status, 200)
    })

    test('a date that is not an HTTP-date is ignored (13.1.3, 13.1.4)', async () => {
      for (const value of BAD_DATES) {
        for (const name of ['If-Modified-Since', 'If-Unmodified-Since']) {
          const res = await get({ [name]: value })
          assert.equal(res.status, 200, `${name}: ${value.slice(0, 40)}`)
        }
      }
    })

    test('dates at the edges of the formats are evaluated without error', async () => {
      for (const value of ODD_DATES) {
        for (const name of ['If-Modified-Since', 'If-Unmodified-Since']) {
          const res = await get({ [name]: value })
          assert.ok([200, 304, 412].includes(res.status), `${name}: ${value}: ${res.status}`)
        }
      }
    })

    test('If-Range that is neither validator sends the whole file (13.1.5)', async () => {
      for (const value of [...BAD_DATES, ...BAD_TAG_LISTS, `W/${etag}`, `${etag}x`]) {
        const res = await get({ Range: 'bytes=0-9', 'If-Range': value })
        assert.equal(res.status, sendable(value) ? 200 : 400, `If-Range: ${value.slice(0, 40)}`)
        if (res.status === 200) assert.equal(res.body.length, site.sample.length)
      }
      const honoured = await get({ Range: 'bytes=0-9', 'If-Range': etag })
      assert.equal(honoured.status, 206)
    })

    test('every field hostile at once, on GET and HEAD', async () => {
      for (let i = 0; i < BAD_DATES.length; i++) {
        const fields = {
          'If-Match': BAD_TAG_LISTS[i % BAD_TAG_LISTS.length]!,
          'If-None-Match': ODD_TAG_LISTS[i % ODD_TAG_LISTS.length]!,
          'If-Modified-Since': BAD_DATES[i]!,
          'If-Unmodified-Since': BAD_DATES[(i + 7) % BAD_DATES.length]!,
          'If-Range': BAD_DATES[(i + 3) % BAD_DATES.length]!,
          Range: 'bytes=0-1',
        }
        for (const method of ['GET', 'HEAD']) {
          const res = await get(fields, method)
          assert.ok([200, 304, 400, 412, 431].includes(res.status), `${res.status}`)
        }
      }
    })
  })
}
