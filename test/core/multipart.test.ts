/**
 * multipart/byteranges, RFC 9110 section 14.6, framed as RFC 2046 section 5.1.1 says:
 *
 *   multipart-body  = dash-boundary CRLF body-part *( delimiter CRLF body-part ) close-delimiter
 *   dash-boundary   = "--" boundary
 *   delimiter       = CRLF dash-boundary
 *   close-delimiter = delimiter "--"
 *
 * followed here by a CRLF (an empty epilogue), as in the example of section 14.6. The expected
 * bodies are written by hand or built by `buildBody` below from that grammar, and checked with
 * an independent parser; the plan's `length` must equal the number of bytes in the body.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type { ByteRange } from '../../src/core/byte-ranges.js'
import { type MultipartPlan, planMultipart } from '../../src/core/multipart.js'
import { fuzz } from '../support/fuzz.js'

/** The body a writer sends for `plan`: each head (latin1), the part's bytes, then the tail. */
function writePlan(plan: MultipartPlan, file: Buffer): Buffer {
  const chunks: Buffer[] = []
  for (const part of plan.parts) {
    chunks.push(Buffer.from(part.head, 'latin1'))
    chunks.push(file.subarray(part.range.start, part.range.end + 1))
  }
  chunks.push(Buffer.from(plan.tail, 'latin1'))
  return Buffer.concat(chunks)
}

/** The body built directly from the RFC 2046 grammar. */
function buildBody(file: Buffer, ranges: ByteRange[], type: string, boundary: string): Buffer {
  const crlf = Buffer.from('\r\n')
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1')
  const chunks: Buffer[] = []
  ranges.forEach(({ start, end }, i) => {
    if (i > 0) chunks.push(crlf) // the CRLF of the delimiter
    chunks.push(dashBoundary, crlf)
    chunks.push(Buffer.from(`Content-Type: ${type}`, 'latin1'), crlf)
    chunks.push(Buffer.from(`Content-Range: bytes ${start}-${end}/${file.length}`), crlf)
    chunks.push(crlf) // end of the part's header section
    chunks.push(file.subarray(start, end + 1))
  })
  chunks.push(crlf, dashBoundary, Buffer.from('--'), crlf)
  return Buffer.concat(chunks)
}

/** Reads a body back: the parts' header fields and content, or throws. */
function parseBody(
  body: Buffer,
  boundary: string,
): { fields: Map<string, string>; data: Buffer }[] {
  const text = body.toString('latin1')
  const open = `--${boundary}\r\n`
  const close = `\r\n--${boundary}--\r\n`
  assert.ok(text.startsWith(open), 'starts with the dash-boundary')
  assert.ok(text.endsWith(close), 'ends with the close-delimiter and CRLF')
  const inner = text.slice(open.length, text.length - close.length)
  return inner.split(`\r\n--${boundary}\r\n`).map((part) => {
    const split = part.indexOf('\r\n\r\n')
    assert.ok(split >= 0, 'a part has a header section')
    const fields = new Map<string, string>()
    for (const line of part.slice(0, split).split('\r\n')) {
      const m = /^([A-Za-z-]+): (.*)$/.exec(line)
      assert.ok(m, `a header line: ${JSON.stringify(line)}`)
      fields.set(m[1]!.toLowerCase(), m[2]!)
    }
    return { fields, data: Buffer.from(part.slice(split + 4), 'latin1') }
  })
}

describe('planMultipart: exact layout (RFC 9110 section 14.6)', () => {
  const file = Buffer.from('abcdefghij')

  test('two parts, byte for byte', () => {
    const plan = planMultipart(
      [
        { start: 0, end: 2 },
        { start: 5, end: 6 },
      ],
      10,
      'text/plain',
      'XYZ',
    )
    const expected =
      '--XYZ\r\n' +
      'Content-Type: text/plain\r\n' +
      'Content-Range: bytes 0-2/10\r\n' +
      '\r\n' +
      'abc' +
      '\r\n--XYZ\r\n' +
      'Content-Type: text/plain\r\n' +
      'Content-Range: bytes 5-6/10\r\n' +
      '\r\n' +
      'fg' +
      '\r\n--XYZ--\r\n'
    assert.equal(writePlan(plan, file).toString('latin1'), expected)
    assert.equal(plan.length, expected.length)
    assert.equal(plan.contentType, 'multipart/byteranges; boundary=XYZ')
  })

  test('parts follow the given order, even when not ascending (14.6: request order)', () => {
    const ranges = [
      { start: 8, end: 9 },
      { start: 0, end: 0 },
      { start: 4, end: 4 },
    ]
    const plan = planMultipart(ranges, 10, 'text/plain', 'b')
    assert.deepEqual(
      plan.parts.map((p) => p.range),
      ranges,
    )
    const parts = parseBody(writePlan(plan, file), 'b')
    assert.deepEqual(
      parts.map((p) => [p.fields.get('content-range'), p.data.toString()]),
      [
        ['bytes 8-9/10', 'ij'],
        ['bytes 0-0/10', 'a'],
        ['bytes 4-4/10', 'e'],
      ],
    )
  })

  test("the part Content-Type is the representation's, parameters included", () => {
    const type = 'text/html; charset=utf-8'
    const plan = planMultipart(
      [
        { start: 0, end: 0 },
        { start: 9, end: 9 },
      ],
      10,
      type,
      'q',
    )
    for (const part of parseBody(writePlan(plan, file), 'q')) {
      assert.equal(part.fields.get('content-type'), type)
    }
  })

  test('a body with one part is still well-formed (the caller decides when to use multipart)', () => {
    const plan = planMultipart([{ start: 0, end: 9 }], 10, 'text/plain', 'one')
    const body = writePlan(plan, file)
    assert.equal(plan.length, body.length)
    assert.deepEqual(body, buildBody(file, [{ start: 0, end: 9 }], 'text/plain', 'one'))
  })

  test('a 70-character boundary, the RFC 2046 maximum, and the widest alphabet', () => {
    const boundary = `${"'+-._"}${'A'.repeat(30)}${'z9'.repeat(17)}x`
    assert.equal(boundary.length, 70)
    const plan = planMultipart(
      [
        { start: 1, end: 2 },
        { start: 4, end: 5 },
      ],
      10,
      'a/b',
      boundary,
    )
    assert.deepEqual(
      writePlan(plan, file),
      buildBody(
        file,
        [
          { start: 1, end: 2 },
          { start: 4, end: 5 },
        ],
        'a/b',
        boundary,
      ),
    )
  })
})

describe('planMultipart refuses what would break the framing or the length', () => {
  const ok = [{ start: 0, end: 1 }]
  const cases: [string, () => unknown][] = [
    ['no ranges', () => planMultipart([], 10, 'text/plain', 'b')],
    ['an empty boundary', () => planMultipart(ok, 10, 'text/plain', '')],
    ['a 71-character boundary', () => planMultipart(ok, 10, 'text/plain', 'a'.repeat(71))],
    ['a boundary with a space', () => planMultipart(ok, 10, 'text/plain', 'a b')],
    ['a boundary with a quote', () => planMultipart(ok, 10, 'text/plain', 'a"b')],
    [
      'a boundary with "/" (needs quoting in Content-Type)',
      () => planMultipart(ok, 10, 'text/plain', 'a/b'),
    ],
    ['a boundary with CR LF', () => planMultipart(ok, 10, 'text/plain', 'a\r\nb')],
    ['a Content-Type with CR LF', () => planMultipart(ok, 10, 'text/plain\r\nX-Evil: 1', 'b')],
    ['a Content-Type with NUL', () => planMultipart(ok, 10, 'text/plain\x00', 'b')],
    ['a Content-Type above U+00FF', () => planMultipart(ok, 10, 'text/plain; x=\u20ac', 'b')],
    ['a range past the end', () => planMultipart([{ start: 5, end: 10 }], 10, 'text/plain', 'b')],
    [
      'a range with end before start',
      () => planMultipart([{ start: 5, end: 4 }], 10, 'text/plain', 'b'),
    ],
    ['a negative start', () => planMultipart([{ start: -1, end: 4 }], 10, 'text/plain', 'b')],
    ['a fractional offset', () => planMultipart([{ start: 0.5, end: 4 }], 10, 'text/plain', 'b')],
  ]
  for (const [name, call] of cases) {
    test(name, () => assert.throws(call, RangeError))
  }
  test('accepts obs-text and HTAB in the part Content-Type (field-value, RFC 9110 5.5)', () => {
    const plan = planMultipart(ok, 10, 'text/plain;\tx="caf\xe9"', 'b')
    assert.equal(plan.length, writePlan(plan, Buffer.alloc(10)).length)
  })
})

describe('multipart properties (fast-check)', () => {
  const boundaryChar = fc.constantFrom(
    ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'+-._".split(''),
  )
  const contentType = fc.constantFrom(
    'application/octet-stream',
    'text/plain; charset=utf-8',
    'image/png',
    'text/x-caf\xe9',
  )
  const fileAndRanges = fc.uint8Array({ minLength: 1, maxLength: 300 }).chain((bytes) =>
    fc.tuple(
      fc.constant(Buffer.from(bytes)),
      fc.array(
        fc
          .tuple(fc.nat(bytes.length - 1), fc.nat(bytes.length - 1))
          .map(([a, b]): ByteRange => ({ start: Math.min(a, b), end: Math.max(a, b) })),
        { minLength: 1, maxLength: 8 },
      ),
    ),
  )

  test('length always equals the body built from the grammar, byte for byte', () => {
    fc.assert(
      fc.property(
        fileAndRanges,
        contentType,
        fc.string({ unit: boundaryChar, minLength: 1, maxLength: 70 }),
        ([file, ranges], type, boundary) => {
          const plan = planMultipart(ranges, file.length, type, boundary)
          const body = writePlan(plan, file)
          assert.equal(plan.length, body.length)
          assert.deepEqual(body, buildBody(file, ranges, type, boundary))
        },
      ),
      fuzz(),
    )
  })

  test('a body parses back into the requested parts with true Content-Range fields', () => {
    fc.assert(
      fc.property(fileAndRanges, contentType, ([file, ranges], type) => {
        const boundary = 'sluice-test-boundary-7a1c'
        // A boundary must not occur in the content; random bytes of this length never hold it.
        assert.equal(file.includes(boundary), false)
        const parts = parseBody(
          writePlan(planMultipart(ranges, file.length, type, boundary), file),
          boundary,
        )
        assert.equal(parts.length, ranges.length)
        parts.forEach((part, i) => {
          const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(part.fields.get('content-range') ?? '')
          assert.ok(m)
          const [start, end, size] = [Number(m[1]), Number(m[2]), Number(m[3])]
          assert.deepEqual({ start, end }, ranges[i])
          assert.equal(size, file.length)
          assert.deepEqual(part.data, file.subarray(start, end + 1))
          assert.equal(part.fields.get('content-type'), type)
        })
      }),
      fuzz(),
    )
  })
})
