/**
 * Range requests over a real socket (RFC 9110 section 14), with byte-exact bodies.
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createFsStore } from '../../src/store/fs-store.js'
import { createSite, expectedEtag, OLD_MTIME, type SiteFixture } from '../support/fixtures.js'
import {
  VARIANTS,
  type RawResponse,
  type RunningServer,
  requestHead,
  startServer,
} from '../support/server.js'

let site: SiteFixture
let server: RunningServer
const SIZE = 10_000

before(async () => {
  site = await createSite()
})

after(async () => {
  await site.cleanup()
})

function get(path: string, fields: Record<string, string> = {}, method = 'GET') {
  return server.request(requestHead(method, path, fields))
}

function slice(start: number, end: number): Buffer {
  return site.sample.subarray(start, end + 1)
}

/** Builds the multipart/byteranges body RFC 9110 section 14.6 describes, independently. */
function multipartBody(boundary: string, type: string, ranges: [number, number][]): Buffer {
  const pieces: Buffer[] = []
  ranges.forEach(([start, end], i) => {
    const delimiter = `${i === 0 ? '' : '\r\n'}--${boundary}\r\n`
    const fields = `Content-Type: ${type}\r\nContent-Range: bytes ${start}-${end}/${SIZE}\r\n\r\n`
    pieces.push(Buffer.from(delimiter + fields), slice(start, end))
  })
  pieces.push(Buffer.from(`\r\n--${boundary}--\r\n`))
  return Buffer.concat(pieces)
}

function boundaryOf(res: RawResponse): string {
  const match = /^multipart\/byteranges; boundary=([A-Za-z0-9'()+_,\-./:=?]{1,70})$/.exec(
    res.headers['content-type'] ?? '',
  )
  assert.ok(match, `multipart content-type expected, got ${res.headers['content-type']}`)
  return match[1]!
}

/** Bodies from the bytes the store holds, and from the file (src/store/file-sender.ts). */
const MODES = [
  { name: 'held in memory', cache: undefined },
  { name: 'read from the file', cache: { maxFileBytes: 0 } },
] as const

for (const variant of VARIANTS) {
  for (const mode of MODES)
    describe(`through ${variant.name}, ${mode.name}`, () => {
      before(async () => {
        const store = mode.cache === undefined ? undefined : createFsStore(site.root, mode)
        server = await startServer(site.root, store === undefined ? {} : { store }, variant)
      })
      after(() => server.close())

      describe('single ranges (RFC 9110 14.1.1, 15.3.7)', () => {
        const cases: { range: string; start: number; end: number }[] = [
          { range: 'bytes=0-1023', start: 0, end: 1023 },
          { range: 'bytes=0-0', start: 0, end: 0 },
          { range: 'bytes=-500', start: SIZE - 500, end: SIZE - 1 },
          { range: 'bytes=9500-', start: 9500, end: SIZE - 1 },
          { range: 'bytes=9990-20000', start: 9990, end: SIZE - 1 },
          { range: 'bytes=-20000', start: 0, end: SIZE - 1 },
          { range: 'BYTES=100-199', start: 100, end: 199 },
          { range: 'bytes= 100-199 ', start: 100, end: 199 },
          { range: 'bytes=5000-5000, 5001-5999', start: 5000, end: 5999 },
          { range: 'bytes=200-299, 250-260', start: 200, end: 299 },
          { range: 'bytes=0-99999999999999999999999', start: 0, end: SIZE - 1 },
        ]
        for (const { range, start, end } of cases) {
          test(`${range} gives 206 with bytes ${start}-${end}`, async () => {
            const res = await get('/sample.bin', { Range: range })
            assert.equal(res.status, 206)
            assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${SIZE}`)
            assert.equal(res.headers['content-length'], String(end - start + 1))
            assert.equal(res.headers['content-type'], 'application/octet-stream')
            assert.equal(res.headers.etag, expectedEtag(site.sample))
            assert.equal(res.headers['accept-ranges'], 'bytes')
            assert.deepEqual(res.body, slice(start, end))
          })
        }
      })

      describe('multiple ranges give multipart/byteranges (RFC 9110 14.6)', () => {
        const cases: { range: string; parts: [number, number][] }[] = [
          {
            range: 'bytes=0-50, 100-150',
            parts: [
              [0, 50],
              [100, 150],
            ],
          },
          {
            range: 'bytes=9000-9099,0-99,5000-5099',
            parts: [
              [9000, 9099],
              [0, 99],
              [5000, 5099],
            ],
          },
          // Overlapping and adjacent ranges are coalesced; the merged part keeps the first place.
          {
            range: 'bytes=500-599,0-9,550-700,10-19',
            parts: [
              [500, 700],
              [0, 19],
            ],
          },
          {
            range: 'bytes=-100,0-99',
            parts: [
              [SIZE - 100, SIZE - 1],
              [0, 99],
            ],
          },
        ]
        for (const { range, parts } of cases) {
          test(`${range} gives ${parts.length} parts, byte-exact with an exact Content-Length`, async () => {
            const res = await get('/sample.bin', { Range: range })
            assert.equal(res.status, 206)
            assert.equal(res.headers['content-range'], undefined)
            const expected = multipartBody(boundaryOf(res), 'application/octet-stream', parts)
            assert.equal(res.headers['content-length'], String(expected.length))
            assert.deepEqual(res.body, expected)
          })
        }

        test('each multipart response gets a fresh boundary', async () => {
          const a = await get('/sample.bin', { Range: 'bytes=0-1,5-6' })
          const b = await get('/sample.bin', { Range: 'bytes=0-1,5-6' })
          assert.notEqual(boundaryOf(a), boundaryOf(b))
        })

        test('unsatisfiable ranges are dropped from a multipart response', async () => {
          const res = await get('/sample.bin', { Range: 'bytes=0-9,20000-30000,100-109' })
          const expected = multipartBody(boundaryOf(res), 'application/octet-stream', [
            [0, 9],
            [100, 109],
          ])
          assert.deepEqual(res.body, expected)
        })
      })

      describe('unsatisfiable ranges give 416 (RFC 9110 15.5.17)', () => {
        for (const range of [
          'bytes=10000-',
          'bytes=10000-10010',
          'bytes=-0',
          'bytes=20000-,30000-30001',
        ]) {
          test(`${range} gives 416 with Content-Range: bytes */${SIZE}`, async () => {
            const res = await get('/sample.bin', { Range: range })
            assert.equal(res.status, 416)
            assert.equal(res.headers['content-range'], `bytes */${SIZE}`)
            assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
          })
        }
      })

      describe('a Range the grammar rejects, or another unit, is ignored (RFC 9110 14.2)', () => {
        const ignored = [
          'bytes=500-100',
          'bytes=abc',
          'bytes=',
          'bytes=1-2-3',
          'bytes=--5',
          'bytes=5',
          'bytes 0-5',
          'items=0-5',
          'bytes=0-5;x',
          'bytes=0x10-0x20',
          'bytes=1-2, bytes=3-4',
        ]
        for (const range of ignored) {
          test(`Range: ${range} gives 200 with the whole body`, async () => {
            const res = await get('/sample.bin', { Range: range })
            assert.equal(res.status, 200)
            assert.equal(res.headers['content-range'], undefined)
            assert.deepEqual(res.body, site.sample)
          })
        }
      })

      describe('range abuse is answered without amplification (RFC 9110 14.2, CVE-2011-3192)', () => {
        test('more ranges than the limit (64 by default) give the whole body once', async () => {
          const specs = Array.from({ length: 65 }, (_, i) => `${i * 100}-${i * 100 + 1}`).join(',')
          const res = await get('/sample.bin', { Range: `bytes=${specs}` })
          assert.equal(res.status, 200)
          assert.equal(res.body.length, SIZE)
        })

        test('many overlapping whole-file ranges are coalesced into one', async () => {
          const specs = Array.from({ length: 50 }, () => '0-').join(',')
          const res = await get('/sample.bin', { Range: `bytes=${specs}` })
          assert.equal(res.status, 206)
          assert.equal(res.headers['content-range'], `bytes 0-${SIZE - 1}/${SIZE}`)
          assert.equal(res.body.length, SIZE)
        })

        test('small ranges whose multipart framing would outgrow the file give 200 with the file', async () => {
          // Three one-byte parts of a 12-byte file need ~300 bytes of framing: send the file.
          const res = await get('/data.json', { Range: 'bytes=0-0,2-2,4-4' })
          assert.equal(res.status, 200)
          assert.equal(res.body.toString(), '{"ok":true}\n')
        })

        test('the response is never larger than the file for any number of ranges up to the limit', async () => {
          for (const count of [2, 8, 32, 64]) {
            const specs = Array.from({ length: count }, (_, i) => `${i * 150}-${i * 150 + 4}`).join(
              ',',
            )
            const res = await get('/sample.bin', { Range: `bytes=${specs}` })
            assert.ok(res.body.length <= SIZE, `${count} ranges gave ${res.body.length} bytes`)
          }
        })
      })

      describe('Range applies to GET only (RFC 9110 14.2)', () => {
        test('HEAD with Range gives the 200 headers, no body', async () => {
          const res = await get('/sample.bin', { Range: 'bytes=0-9' }, 'HEAD')
          assert.equal(res.status, 200)
          assert.equal(res.headers['content-length'], String(SIZE))
          assert.equal(res.headers['content-range'], undefined)
          assert.equal(res.body.length, 0)
        })
      })

      describe('If-Range (RFC 9110 13.1.5)', () => {
        const lastModified = OLD_MTIME.toUTCString()
        const etag = () => expectedEtag(site.sample)
        const cases: { name: string; ifRange: () => string; status: number }[] = [
          { name: 'the current strong entity-tag', ifRange: etag, status: 206 },
          { name: 'another entity-tag', ifRange: () => '"stale"', status: 200 },
          {
            name: 'the current tag marked weak (strong comparison fails)',
            ifRange: () => `W/${etag()}`,
            status: 200,
          },
          {
            name: 'the exact Last-Modified date of an old file',
            ifRange: () => lastModified,
            status: 206,
          },
          {
            name: 'a date one second later than Last-Modified',
            ifRange: () => new Date(OLD_MTIME.getTime() + 1000).toUTCString(),
            status: 200,
          },
          {
            name: 'a date one second earlier',
            ifRange: () => new Date(OLD_MTIME.getTime() - 1000).toUTCString(),
            status: 200,
          },
          { name: 'a malformed value', ifRange: () => 'not a validator', status: 200 },
        ]
        for (const { name, ifRange, status } of cases) {
          test(`If-Range with ${name} gives ${status}`, async () => {
            const res = await get('/sample.bin', { Range: 'bytes=0-99', 'If-Range': ifRange() })
            assert.equal(res.status, status)
            assert.deepEqual(res.body, status === 206 ? slice(0, 99) : site.sample)
          })
        }

        test('If-Range without Range is ignored', async () => {
          const res = await get('/sample.bin', { 'If-Range': '"stale"' })
          assert.equal(res.status, 200)
        })
      })

      describe('empty files', () => {
        test('GET gives 200 with Content-Length: 0', async () => {
          const res = await get('/empty.txt')
          assert.equal(res.status, 200)
          assert.equal(res.headers['content-length'], '0')
          assert.equal(res.body.length, 0)
          assert.equal(res.headers.etag, expectedEtag(Buffer.alloc(0)))
        })

        for (const range of ['bytes=0-', 'bytes=-5', 'bytes=0-0']) {
          test(`Range ${range} on an empty file is ignored: 200 (RFC 9110 14.2)`, async () => {
            const res = await get('/empty.txt', { Range: range })
            assert.equal(res.status, 200)
            assert.equal(res.body.length, 0)
          })
        }
      })
    })
}
