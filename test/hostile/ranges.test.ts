/**
 * Hostile Range values over real sockets, through every adapter: every way to break the grammar
 * of RFC 9110 section 14.1, numbers beyond 2^53, negative and reversed ranges, and thousands of
 * ranges (CVE-2011-3192). Whatever the value, the answer is clean (test/support/hostile.ts),
 * is 200, 206 or 416 (or node's 400 for bytes a field may not carry), and never carries more
 * bytes than the representation itself.
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createSite, type SiteFixture } from '../support/fixtures.js'
import { assertClean, MARKER } from '../support/hostile.js'
import {
  ADAPTERS,
  type RunningServer,
  rawRequest,
  requestHead,
  startServer,
} from '../support/server.js'

const SIZE = 10_000 // sample.bin
const BIG = (2n ** 53n).toString()
const BEYOND = (2n ** 53n + 1n).toString()
const HUGE = '9'.repeat(400)

/** Values that break section 14.1's grammar somewhere, one way each. */
const MALFORMED = [
  '',
  ' ',
  'bytes',
  'bytes=',
  'bytes= ',
  'bytes=,',
  'bytes=,,,',
  'bytes==0-1',
  '=0-1',
  'bytes =0-1',
  'bytes:0-1',
  'bytes 0-1',
  'bytes\t=0-1',
  'byte=0-1',
  'bytess=0-1',
  'items=0-1',
  `${MARKER}=0-1`,
  'bytes=-',
  'bytes=--',
  'bytes=--1',
  'bytes=-1-',
  'bytes=1--2',
  'bytes=1-2-3',
  'bytes=1',
  'bytes=a-b',
  'bytes=1-b',
  'bytes=a-1',
  'bytes=0x0-0x1',
  'bytes=1e3-2e3',
  'bytes=+1-2',
  'bytes=1-+2',
  'bytes=1.5-2',
  'bytes=1 -2',
  'bytes=1- 2',
  'bytes=0-1;x',
  'bytes=0-1 x',
  'bytes=0-1,bytes=2-3',
  'bytes=0-1,;',
  'bytes=0-1,*',
  'bytes=*',
  'bytes=\xb9-\xb2', // superscript digits (obs-text)
  'bytes=0-1\xa0',
  `bytes=${MARKER}`,
  `bytes=0-1,${MARKER}`,
  'bytes=0-1\t,\t\t,  2-3', // valid: OWS and empty list elements
]

/** Grammatical, but negative, reversed, empty or out of any representation's reach. */
const EDGES = [
  'bytes=-0',
  'bytes=-1',
  'bytes=5-1',
  'bytes=9999-0',
  'bytes=10000-',
  'bytes=10000-10000',
  'bytes=0-0',
  'bytes=9999-',
  'bytes=-10000',
  'bytes=-10001',
  `bytes=${BIG}-`,
  `bytes=${BEYOND}-`,
  `bytes=${BEYOND}-${BEYOND}`,
  `bytes=0-${BEYOND}`,
  `bytes=-${BEYOND}`,
  `bytes=${BEYOND}-1`,
  `bytes=${HUGE}-`,
  `bytes=0-${HUGE}`,
  `bytes=-${HUGE}`,
  `bytes=${'0'.repeat(4000)}1-2`,
  `bytes=0-${'0'.repeat(4000)}`,
  'bytes=0-0,-1',
  'bytes=0-,0-,0-',
  'bytes=-1,-1,-1',
  `bytes=0-1,${BEYOND}-`,
]

/** Many ranges, each field within node's default 16 KiB head. */
const MANY = [
  `bytes=${Array.from({ length: 1000 }, () => '0-0').join(',')}`,
  `bytes=${Array.from({ length: 1000 }, (_, i) => `${i * 10}-${i * 10}`).join(',')}`,
  `bytes=${Array.from({ length: 1000 }, () => '0-').join(',')}`,
  `bytes=${Array.from({ length: 2000 }, () => '-1').join(',')}`,
  // The Apache Killer (CVE-2011-3192): overlapping ranges that each repeat most of the file.
  `bytes=0-,${Array.from({ length: 1300 }, (_, i) => `5-${i}`).join(',')}`,
  `bytes=${Array.from({ length: 64 }, (_, i) => `${i}-`).join(',')}`,
  `bytes=${Array.from({ length: 65 }, (_, i) => `${i * 2}-${i * 2}`).join(',')}`,
]

let site: SiteFixture
let server: RunningServer

before(async () => {
  site = await createSite()
})
after(() => site.cleanup())

async function check(range: string, path = '/sample.bin', size = SIZE) {
  const res = await rawRequest(server.port, requestHead('GET', path, { Range: range }))
  const what = `Range: ${JSON.stringify(range.length > 80 ? `${range.slice(0, 80)}...` : range)}`
  assertClean(res, what, { paths: [site.base] })
  assert.ok([200, 206, 400, 416, 431].includes(res.status), `${what}: status ${res.status}`)
  assert.ok(res.body.length <= size, `${what}: ${res.body.length} bytes for a ${size}-byte file`)
  if (res.status === 200) assert.deepEqual(res.body, site.sample, `${what}: 200 is the file`)
  if (res.status === 416) assert.equal(res.headers['content-range'], `bytes */${size}`)
  return res
}

for (const adapter of ADAPTERS) {
  describe(`hostile Range values through the ${adapter} adapter`, () => {
    before(async () => {
      server = await startServer(site.root, {}, adapter)
    })
    after(() => server.close())

    test(`${MALFORMED.length} malformed values are ignored: 200 with the file`, async () => {
      for (const range of MALFORMED) {
        const res = await check(range)
        const valid = range.startsWith('bytes=0-1\t')
        assert.equal(res.status, valid ? 206 : 200, `Range: ${JSON.stringify(range)}`)
      }
    })

    test(`${EDGES.length} negative, reversed, empty and beyond-2^53 values`, async () => {
      for (const range of EDGES) await check(range)
    })

    test('a reversed range is invalid and ignored; an empty suffix or one beyond 2^53 is unsatisfiable', async () => {
      assert.equal((await check('bytes=5-1')).status, 200)
      assert.equal((await check('bytes=-0')).status, 416)
      assert.equal((await check(`bytes=${BEYOND}-`)).status, 416)
      // A last-byte-pos beyond 2^53 means "to the end": the whole file as one range.
      const open = await check(`bytes=0-${HUGE}`)
      assert.equal(open.status, 206)
      assert.equal(open.headers['content-range'], `bytes 0-${SIZE - 1}/${SIZE}`)
    })

    test(`${MANY.length} fields of hundreds to thousands of ranges never amplify`, async () => {
      for (const range of MANY) {
        const started = Date.now()
        await check(range)
        assert.ok(Date.now() - started < 2000, 'answered promptly')
      }
    })

    test('the same on an empty file and a one-byte file', async () => {
      for (const range of [...EDGES, ...MALFORMED.slice(0, 10)]) {
        const empty = await rawRequest(
          server.port,
          requestHead('GET', '/empty.txt', { Range: range }),
        )
        assertClean(empty, `empty.txt Range: ${range.slice(0, 40)}`)
        assert.equal(empty.status, 200)
        assert.equal(empty.body.length, 0)
      }
    })
  })
}

describe('10,000 ranges in one field', () => {
  const TEN_THOUSAND = {
    adjacent: `bytes=${Array.from({ length: 10_000 }, (_, i) => `${i}-${i}`).join(',')}`,
    spaced: `bytes=${Array.from({ length: 10_000 }, (_, i) => `${(i * 2) % SIZE}-${(i * 2) % SIZE}`).join(',')}`,
    killer: `bytes=0-,${Array.from({ length: 9_999 }, (_, i) => `5-${i}`).join(',')}`,
  }

  test("exceed node's default head size: 431, clean", async () => {
    server = await startServer(site.root)
    try {
      const res = await check(TEN_THOUSAND.adjacent)
      assert.equal(res.status, 431)
    } finally {
      await server.close()
    }
  })

  for (const maxRanges of [64, 10_000]) {
    test(`with a 1 MiB head limit and maxRanges ${maxRanges}: never more than the file, promptly`, async () => {
      server = await startServer(site.root, { maxRanges }, 'node', { maxHeaderSize: 1024 * 1024 })
      try {
        for (const [name, range] of Object.entries(TEN_THOUSAND)) {
          const started = Date.now()
          const res = await check(range)
          assert.ok(Date.now() - started < 2000, `${name}: answered promptly`)
          // Over the limit the field is ignored; within it, the ranges coalesce (adjacent and
          // overlapping) or their framing would outgrow the file: the file, once, either way.
          assert.equal(res.body.length, SIZE, `${name}: ${res.status}`)
        }
      } finally {
        await server.close()
      }
    })
  }
})
