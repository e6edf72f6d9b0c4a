/**
 * Conditional GET and HEAD over a real socket (RFC 9110 section 13), in the order of 13.2.2.
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createSite, expectedEtag, OLD_MTIME, type SiteFixture } from '../support/fixtures.js'
import { VARIANTS, type RunningServer, requestHead, startServer } from '../support/server.js'

let site: SiteFixture
let server: RunningServer
let etag: string

before(async () => {
  site = await createSite()
  etag = expectedEtag(site.sample)
})

after(async () => {
  await site.cleanup()
})

function get(fields: Record<string, string>, method = 'GET', path = '/sample.bin') {
  return server.request(requestHead(method, path, fields))
}

const LM = OLD_MTIME.getTime()
const imf = (ms: number) => new Date(ms).toUTCString()
/** rfc850-date: `Sunday, 06-Nov-94 08:49:37 GMT` */
function rfc850(ms: number): string {
  const d = new Date(ms)
  const day = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][
    d.getUTCDay()
  ]
  const [, dd, mon, yyyy, time] = d.toUTCString().split(' ')
  return `${day}, ${dd}-${mon}-${yyyy!.slice(2)} ${time} GMT`
}
/** asctime-date: `Sun Nov  6 08:49:37 1994` */
function asctime(ms: number): string {
  const [wkd, dd, mon, yyyy, time] = new Date(ms).toUTCString().split(' ')
  return `${wkd!.slice(0, 3)} ${mon} ${String(Number(dd)).padStart(2, ' ')} ${time} ${yyyy}`
}

interface Case {
  name: string
  fields: () => Record<string, string>
  status: number
}

const cases: Case[] = [
  // Step 1: If-Match, strong comparison (13.1.1).
  { name: 'If-Match with the current tag', fields: () => ({ 'If-Match': etag }), status: 200 },
  { name: 'If-Match: *', fields: () => ({ 'If-Match': '*' }), status: 200 },
  {
    name: 'If-Match with a list holding the tag',
    fields: () => ({ 'If-Match': `"x", ${etag} , "y"` }),
    status: 200,
  },
  { name: 'If-Match with another tag', fields: () => ({ 'If-Match': '"other"' }), status: 412 },
  {
    name: 'If-Match with the tag marked weak',
    fields: () => ({ 'If-Match': `W/${etag}` }),
    status: 412,
  },
  { name: 'If-Match malformed', fields: () => ({ 'If-Match': 'unquoted' }), status: 412 },
  // Step 2: If-Unmodified-Since only without If-Match (13.1.4).
  {
    name: 'If-Unmodified-Since before Last-Modified',
    fields: () => ({ 'If-Unmodified-Since': imf(LM - 1000) }),
    status: 412,
  },
  {
    name: 'If-Unmodified-Since equal to Last-Modified',
    fields: () => ({ 'If-Unmodified-Since': imf(LM) }),
    status: 200,
  },
  {
    name: 'If-Unmodified-Since invalid (ignored)',
    fields: () => ({ 'If-Unmodified-Since': 'yesterday' }),
    status: 200,
  },
  {
    name: 'If-Match passing makes a failing If-Unmodified-Since irrelevant',
    fields: () => ({ 'If-Match': etag, 'If-Unmodified-Since': imf(LM - 1000) }),
    status: 200,
  },
  {
    name: 'If-Match failing wins over a matching If-None-Match',
    fields: () => ({ 'If-Match': '"other"', 'If-None-Match': etag }),
    status: 412,
  },
  // Step 3: If-None-Match, weak comparison (13.1.2).
  {
    name: 'If-None-Match with the current tag',
    fields: () => ({ 'If-None-Match': etag }),
    status: 304,
  },
  {
    name: 'If-None-Match with the tag marked weak',
    fields: () => ({ 'If-None-Match': `W/${etag}` }),
    status: 304,
  },
  { name: 'If-None-Match: *', fields: () => ({ 'If-None-Match': '*' }), status: 304 },
  {
    name: 'If-None-Match list with the tag',
    fields: () => ({ 'If-None-Match': `"a",,${etag}` }),
    status: 304,
  },
  {
    name: 'If-None-Match with other tags',
    fields: () => ({ 'If-None-Match': '"a", "b"' }),
    status: 200,
  },
  // Step 4: If-Modified-Since, only without If-None-Match (13.1.3), all three date forms.
  {
    name: 'If-Modified-Since (IMF-fixdate) equal',
    fields: () => ({ 'If-Modified-Since': imf(LM) }),
    status: 304,
  },
  {
    name: 'If-Modified-Since (rfc850) equal',
    fields: () => ({ 'If-Modified-Since': rfc850(LM) }),
    status: 304,
  },
  {
    name: 'If-Modified-Since (asctime) equal',
    fields: () => ({ 'If-Modified-Since': asctime(LM) }),
    status: 304,
  },
  {
    name: 'If-Modified-Since later',
    fields: () => ({ 'If-Modified-Since': imf(LM + 3600_000) }),
    status: 304,
  },
  {
    name: 'If-Modified-Since earlier',
    fields: () => ({ 'If-Modified-Since': imf(LM - 1000) }),
    status: 200,
  },
  {
    name: 'If-Modified-Since invalid (ignored)',
    fields: () => ({ 'If-Modified-Since': 'Sun, 32 Nov 2024 08:49:37 GMT' }),
    status: 200,
  },
  {
    name: 'If-Modified-Since ignored when If-None-Match is present',
    fields: () => ({ 'If-None-Match': '"other"', 'If-Modified-Since': imf(LM + 1000) }),
    status: 200,
  },
]

for (const variant of VARIANTS) {
  describe(`through ${variant.name}`, () => {
    before(async () => {
      server = await startServer(site.root, { cacheControl: 'public, max-age=60' }, variant)
    })
    after(() => server.close())

    describe('preconditions on GET in RFC 9110 13.2.2 order', () => {
      for (const { name, fields, status } of cases) {
        test(`${name}: ${status}`, async () => {
          const res = await get(fields())
          assert.equal(res.status, status)
          if (status === 200) assert.deepEqual(res.body, site.sample)
          if (status !== 200) assert.notEqual(res.body.length, site.sample.length)
        })
      }
    })

    describe('HEAD gives the status and fields GET gives, and no body', () => {
      for (const { name, fields, status } of cases) {
        test(`${name}: ${status}`, async () => {
          const getRes = await get(fields())
          const headRes = await get(fields(), 'HEAD')
          assert.equal(headRes.status, getRes.status)
          assert.equal(headRes.body.length, 0)
          const strip = (lines: string[]) => lines.filter((line) => !/^date:/i.test(line))
          assert.deepEqual(strip(headRes.rawHeaders), strip(getRes.rawHeaders))
        })
      }
    })

    describe('304 Not Modified (RFC 9110 15.4.5)', () => {
      test('carries ETag, Last-Modified, Cache-Control and Date, and no body', async () => {
        const res = await get({ 'If-None-Match': etag })
        assert.equal(res.status, 304)
        assert.equal(res.headers.etag, etag)
        assert.equal(res.headers['last-modified'], imf(LM))
        assert.equal(res.headers['cache-control'], 'public, max-age=60')
        assert.ok(res.headers.date)
        assert.equal(res.headers['content-length'], undefined)
        assert.equal(res.body.length, 0)
      })
    })

    describe('412 Precondition Failed', () => {
      test('has a short plain-text reason naming the field', async () => {
        const res = await get({ 'If-Match': '"other"' })
        assert.equal(res.status, 412)
        assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
        assert.match(res.body.toString(), /If-Match/)
      })
    })

    describe('preconditions are ignored when the response would not be 2xx (RFC 9110 13.2.1)', () => {
      test('If-Match on a missing file gives 404, not 412', async () => {
        const res = await get({ 'If-Match': '"x"' }, 'GET', '/missing.txt')
        assert.equal(res.status, 404)
      })
    })
  })
}
