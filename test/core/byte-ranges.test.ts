/**
 * Byte ranges, RFC 9110 sections 14.1 (grammar, satisfiability), 14.2 (Range, ignoring it),
 * 14.4 (Content-Range) and 14.6 (coalescing). Expectations come from the RFC's examples, or from
 * the model below: a regular expression written from the ABNF, BigInt arithmetic, and a byte set
 * (one boolean per byte) for the resolved ranges.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type ByteRange,
  coalesceRanges,
  DEFAULT_RANGE_LIMITS,
  formatContentRange,
  formatUnsatisfiedRange,
  parseRange,
  type RangeDecision,
  type RangeSpec,
  rangeLength,
  resolveRanges,
} from '../../src/core/byte-ranges.js'
import { fuzz, mutated } from '../support/fuzz.js'

// ---------------------------------------------------------------------------------------------
// The model.

/**
 * ranges-specifier = range-unit "=" range-set, range-set = 1#range-spec (14.1.1), with the
 * recipient list rule of 5.6.1.2, `[ element ] *( OWS "," OWS [ element ] )`, and two
 * allowances: OWS around the whole field value (it is not part of the value, section 5.5) and
 * OWS right after "=", as in the RFC's own example `bytes= 0-999, 4500-5499, -1000` (14.1.2).
 * The unit is case-insensitive (14.1); only `bytes` is understood. Byte ranges never use
 * other-range (14.1.2), so a bytes range-spec is an int-range or a suffix-range.
 */
const SPEC = '(?:[0-9]+-[0-9]*|-[0-9]+)'
const GRAMMAR = new RegExp(
  String.raw`^[ \t]*[Bb][Yy][Tt][Ee][Ss]=[ \t]*(?:${SPEC})?(?:[ \t]*,[ \t]*(?:${SPEC})?)*[ \t]*$`,
)

type ModelSpec = { first?: bigint; last?: bigint; suffix?: bigint }

function modelParse(value: string): ModelSpec[] | undefined {
  if (!GRAMMAR.test(value)) return undefined
  const specs: ModelSpec[] = []
  for (const m of value.slice(value.indexOf('=') + 1).matchAll(/([0-9]*)-([0-9]*)/g)) {
    if (m[1] === '') {
      specs.push({ suffix: BigInt(m[2]!) })
    } else {
      const first = BigInt(m[1]!)
      const last = m[2] === '' ? undefined : BigInt(m[2]!)
      // 14.1.1: an int-range with last-pos < first-pos is invalid, and so is the whole field.
      if (last !== undefined && last < first) return undefined
      specs.push({ first, last })
    }
  }
  return specs.length > 0 ? specs : undefined
}

/** 14.1.2: the bytes a spec selects in a representation of `size` bytes, or undefined. */
function modelSatisfy(spec: ModelSpec, size: number): ByteRange | undefined {
  const n = BigInt(size)
  if (spec.suffix !== undefined) {
    if (spec.suffix === 0n) return undefined
    return { start: Number(spec.suffix >= n ? 0n : n - spec.suffix), end: size - 1 }
  }
  if (spec.first! >= n) return undefined
  const last = spec.last === undefined || spec.last >= n ? n - 1n : spec.last
  return { start: Number(spec.first!), end: Number(last) }
}

/**
 * The decision, from a byte set: mark every byte a satisfiable spec selects, fill holes of at
 * most `gap` bytes between marked runs, and the runs are the parts; each part goes where the
 * first spec that selected any of its bytes was (14.6: request order, merged ranges at the
 * place of their earliest member).
 */
type ModelDecision = { kind: 'ignore' } | Exclude<RangeDecision, { kind: 'ignore' }>

function modelResolve(
  specs: ModelSpec[],
  size: number,
  maxRanges: number,
  gap: number,
): ModelDecision {
  if (size === 0) return { kind: 'ignore' } // 14.2: a server MAY ignore Range
  if (specs.length > maxRanges) return { kind: 'ignore' }
  const selected = specs.map((s) => modelSatisfy(s, size))
  if (selected.every((r) => r === undefined)) return { kind: 'unsatisfiable' }
  const bytes = new Array<boolean>(size).fill(false)
  for (const r of selected) if (r) for (let i = r.start; i <= r.end; i++) bytes[i] = true
  const runs: ByteRange[] = []
  for (let i = 0; i < size; i++) {
    if (!bytes[i]) continue
    const last = runs[runs.length - 1]
    if (last && i - last.end - 1 <= gap) runs[runs.length - 1] = { start: last.start, end: i }
    else runs.push({ start: i, end: i })
  }
  const firstIndex = (run: ByteRange) =>
    selected.findIndex((r) => r !== undefined && r.start >= run.start && r.end <= run.end)
  const ordered = runs.map((run) => ({ run, at: firstIndex(run) })).sort((a, b) => a.at - b.at)
  return { kind: 'ranges', ranges: ordered.map(({ run }) => run) }
}

/** The reason an ignored Range gives is free text, for the log; only the kind is compared. */
function sameDecision(got: RangeDecision, want: ModelDecision): void {
  if (want.kind === 'ignore') assert.equal(got.kind, 'ignore')
  else assert.deepEqual(got, want)
}

function specsEqual(got: RangeSpec[], want: ModelSpec[]): void {
  // Values beyond 2^53 - 1 may saturate in the implementation; they are beyond any file.
  const cap = (v: bigint) =>
    v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v)
  assert.deepEqual(
    got,
    want.map((s): RangeSpec =>
      s.suffix !== undefined
        ? { kind: 'suffix', length: cap(s.suffix) }
        : s.last === undefined
          ? { kind: 'int', first: cap(s.first!) }
          : { kind: 'int', first: cap(s.first!), last: cap(s.last) },
    ),
  )
}

const int = (first: number, last?: number): RangeSpec =>
  last === undefined ? { kind: 'int', first } : { kind: 'int', first, last }
const suffix = (length: number): RangeSpec => ({ kind: 'suffix', length })
const r = (start: number, end: number): ByteRange => ({ start, end })

// ---------------------------------------------------------------------------------------------
// Tables.

describe('parseRange: bytes ranges-specifier (RFC 9110 section 14.1)', () => {
  const valid: [string, string, RangeSpec[]][] = [
    ['14.1.2 first 500 bytes', 'bytes=0-499', [int(0, 499)]],
    ['14.1.2 second 500 bytes', 'bytes=500-999', [int(500, 999)]],
    ['14.1.2 final 500 bytes as suffix-range', 'bytes=-500', [suffix(500)]],
    ['14.1.2 final 500 bytes as first-pos only', 'bytes=9500-', [int(9500)]],
    ['14.1.2 first and last bytes', 'bytes=0-0,-1', [int(0, 0), suffix(1)]],
    [
      '14.1.2 first, middle and last 1000 bytes, with OWS after "="',
      'bytes= 0-999, 4500-5499, -1000',
      [int(0, 999), int(4500, 5499), suffix(1000)],
    ],
    ['14.1.2 non-canonical adjacent', 'bytes=500-600,601-999', [int(500, 600), int(601, 999)]],
    ['14.1.2 non-canonical overlapping', 'bytes=500-700,601-999', [int(500, 700), int(601, 999)]],
    ['first-pos equal to last-pos', 'bytes=7-7', [int(7, 7)]],
    ['zero suffix-length is valid syntax', 'bytes=-0', [suffix(0)]],
    ['leading zeros', 'bytes=007-010', [int(7, 10)]],
    ['unit in upper case (14.1: case-insensitive)', 'BYTES=0-1', [int(0, 1)]],
    ['unit in mixed case', 'ByTeS=0-1', [int(0, 1)]],
    ['OWS around commas', 'bytes=0-1 ,\t2-3 , -4', [int(0, 1), int(2, 3), suffix(4)]],
    ['empty list elements (5.6.1.2)', 'bytes=,0-1,, ,2-3,', [int(0, 1), int(2, 3)]],
    ['surrounding OWS', ' bytes=0-1 ', [int(0, 1)]],
    ['a repeated range is kept', 'bytes=0-1,0-1', [int(0, 1), int(0, 1)]],
    [
      '2^53 + 1 as last-pos with first-pos 2^53',
      'bytes=9007199254740992-9007199254740993',
      [int(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)],
    ],
  ]
  for (const [name, value, expected] of valid) {
    test(`accepts ${name}: ${JSON.stringify(value)}`, () => {
      const got = parseRange(value)
      assert.deepEqual(got, expected)
      specsEqual(got!, modelParse(value)!)
    })
  }

  const invalid: [string, string][] = [
    ['another unit (14.2: MUST ignore)', 'items=0-1'],
    ['a unit that starts with bytes', 'bytesx=0-1'],
    ['a unit that bytes starts with', 'byte=0-1'],
    ['no unit', '=0-1'],
    ['no "="', 'bytes 0-1'],
    ['space before "="', 'bytes =0-1'],
    ['the unit alone', 'bytes'],
    ['no range-spec', 'bytes='],
    ['only empty elements', 'bytes=, ,'],
    ['last-pos below first-pos (14.1.1 invalid)', 'bytes=5-4'],
    ['one invalid range-spec makes the whole field invalid', 'bytes=0-1,5-4,8-9'],
    ['last-pos below first-pos, compared with leading zeros', 'bytes=010-9'],
    [
      'last-pos below first-pos beyond 2^53 (exact comparison)',
      'bytes=9007199254740993-9007199254740992',
    ],
    [
      'last-pos below first-pos, 30 digits',
      'bytes=100000000000000000000000000001-100000000000000000000000000000',
    ],
    ['a dash only', 'bytes=-'],
    ['two dashes', 'bytes=--1'],
    ['a number without a dash', 'bytes=1'],
    ['three numbers', 'bytes=1-2-3'],
    ['space before the dash', 'bytes=1 -2'],
    ['space after the dash', 'bytes=1- 2'],
    ['space inside a suffix-range', 'bytes=- 5'],
    ['two specs without a comma', 'bytes=0-1 2-3'],
    ['a plus sign', 'bytes=+1-2'],
    ['a negative number', 'bytes=-1-2'],
    ['hexadecimal', 'bytes=0x10-20'],
    ['a decimal point', 'bytes=1.5-2'],
    ['exponent notation', 'bytes=1e3-2e3'],
    ['letters', 'bytes=a-b'],
    ['semicolon separator', 'bytes=0-1;2-3'],
    ['other-range, which bytes does not use (14.1.2)', 'bytes=first'],
    ['two ranges-specifiers joined as by a proxy', 'bytes=0-1, bytes=2-3'],
    ['full-width digits', 'bytes=０-1'],
    ['empty', ''],
  ]
  for (const [name, value] of invalid) {
    test(`rejects ${name}: ${JSON.stringify(value)}`, () => {
      assert.equal(modelParse(value), undefined, 'the model agrees')
      assert.equal(parseRange(value), undefined)
    })
  }
})

describe('resolveRanges: satisfiable ranges (RFC 9110 sections 14.1.2, 14.2)', () => {
  const size = 10000
  const cases: [string, string, number, RangeDecision][] = [
    [
      '14.1.2 final 500 bytes, suffix',
      'bytes=-500',
      size,
      { kind: 'ranges', ranges: [r(9500, 9999)] },
    ],
    [
      '14.1.2 final 500 bytes, open int-range',
      'bytes=9500-',
      size,
      { kind: 'ranges', ranges: [r(9500, 9999)] },
    ],
    [
      '14.1.2 first and last bytes',
      'bytes=0-0,-1',
      size,
      { kind: 'ranges', ranges: [r(0, 0), r(9999, 9999)] },
    ],
    [
      '14.1.2 first, middle and last 1000',
      'bytes= 0-999, 4500-5499, -1000',
      size,
      { kind: 'ranges', ranges: [r(0, 999), r(4500, 5499), r(9000, 9999)] },
    ],
    [
      '14.1.2 adjacent ranges coalesce into the second 500 bytes',
      'bytes=500-600,601-999',
      size,
      { kind: 'ranges', ranges: [r(500, 999)] },
    ],
    [
      '14.1.2 overlapping ranges coalesce into the second 500 bytes',
      'bytes=500-700,601-999',
      size,
      { kind: 'ranges', ranges: [r(500, 999)] },
    ],
    [
      'last-pos at or beyond the length is the remainder',
      'bytes=9000-10000',
      size,
      { kind: 'ranges', ranges: [r(9000, 9999)] },
    ],
    [
      'last-pos far beyond 2^53 is the remainder',
      'bytes=0-99999999999999999999999',
      size,
      { kind: 'ranges', ranges: [r(0, 9999)] },
    ],
    [
      'suffix longer than the representation is all of it',
      'bytes=-20000',
      size,
      { kind: 'ranges', ranges: [r(0, 9999)] },
    ],
    [
      'suffix beyond 2^53 is all of it',
      'bytes=-99999999999999999999',
      size,
      { kind: 'ranges', ranges: [r(0, 9999)] },
    ],
    ['suffix equal to the length', 'bytes=-10000', size, { kind: 'ranges', ranges: [r(0, 9999)] }],
    [
      'the last byte by first-pos',
      'bytes=9999-',
      size,
      { kind: 'ranges', ranges: [r(9999, 9999)] },
    ],
    ['one-byte representation', 'bytes=0-0', 1, { kind: 'ranges', ranges: [r(0, 0)] }],
    [
      'unsatisfiable specs are dropped, the rest served',
      'bytes=20000-,0-9,-0',
      size,
      { kind: 'ranges', ranges: [r(0, 9)] },
    ],
    [
      'request order is kept (14.6 SHOULD)',
      'bytes=500-599,0-99',
      size,
      { kind: 'ranges', ranges: [r(500, 599), r(0, 99)] },
    ],
    [
      'a merged range takes the place of its earliest member',
      'bytes=200-299,0-9,250-400',
      size,
      { kind: 'ranges', ranges: [r(200, 400), r(0, 9)] },
    ],
    [
      'a later range can merge two earlier ones',
      'bytes=50-59,0-9,10-49',
      size,
      { kind: 'ranges', ranges: [r(0, 59)] },
    ],
    [
      'a range inside another',
      'bytes=0-999,100-199',
      size,
      { kind: 'ranges', ranges: [r(0, 999)] },
    ],
    [
      'one byte apart is not adjacent',
      'bytes=0-9,11-19',
      size,
      { kind: 'ranges', ranges: [r(0, 9), r(11, 19)] },
    ],
    ['duplicates collapse', 'bytes=0-1,0-1,0-1', size, { kind: 'ranges', ranges: [r(0, 1)] }],
    [
      'first-pos beyond 2^53 with a satisfiable range',
      'bytes=9007199254740993-,5-6',
      size,
      { kind: 'ranges', ranges: [r(5, 6)] },
    ],
  ]
  for (const [name, value, n, expected] of cases) {
    test(`${name}: ${value} of ${n} bytes`, () => {
      const specs = parseRange(value)!
      assert.deepEqual(resolveRanges(specs, n), expected)
      sameDecision(resolveRanges(specs, n), modelResolve(modelParse(value)!, n, 64, 0))
    })
  }
})

describe('resolveRanges: unsatisfiable and ignored (RFC 9110 sections 14.1.2, 14.2, 15.5.17)', () => {
  const unsatisfiable: [string, string, number][] = [
    ['first-pos equal to the length', 'bytes=10000-', 10000],
    ['first-pos beyond the length', 'bytes=10001-20000', 10000],
    ['zero suffix-length', 'bytes=-0', 10000],
    ['several, none satisfiable', 'bytes=10000-,-0,20000-30000', 10000],
    ['first-pos beyond 2^53', 'bytes=99999999999999999999-', 10000],
    ['first-pos 2^53 - 1 exactly', 'bytes=9007199254740991-', 10000],
  ]
  for (const [name, value, n] of unsatisfiable) {
    test(`unsatisfiable: ${name}: ${value} of ${n} bytes`, () => {
      assert.deepEqual(resolveRanges(parseRange(value)!, n), { kind: 'unsatisfiable' })
    })
  }
  test('an empty representation: Range is ignored (14.2 MAY ignore; no Content-Range can describe 0 bytes)', () => {
    for (const value of ['bytes=0-', 'bytes=-1', 'bytes=0-0', 'bytes=-0']) {
      assert.equal(resolveRanges(parseRange(value)!, 0).kind, 'ignore', value)
    }
  })
  test('more range-specs than maxRanges: ignored (14.2 allows refusing many ranges)', () => {
    const limits = { maxRanges: 3, coalesceGap: 0 }
    const three = parseRange('bytes=0-0,2-2,4-4')!
    const four = parseRange('bytes=0-0,2-2,4-4,6-6')!
    assert.equal(resolveRanges(three, 100, limits).kind, 'ranges')
    assert.equal(resolveRanges(four, 100, limits).kind, 'ignore')
    // The count is of range-specs as sent, before coalescing or dropping unsatisfiable ones.
    assert.equal(resolveRanges(parseRange('bytes=0-1,0-1,0-1,0-1')!, 100, limits).kind, 'ignore')
    assert.equal(resolveRanges(parseRange('bytes=0-1,-0,200-,300-')!, 100, limits).kind, 'ignore')
  })
  test('the default limit is 64 range-specs', () => {
    assert.equal(DEFAULT_RANGE_LIMITS.maxRanges, 64)
    const specs = (n: number) => Array.from({ length: n }, (_, i) => int(2 * i, 2 * i))
    assert.equal(resolveRanges(specs(64), 1000).kind, 'ranges')
    assert.equal(resolveRanges(specs(65), 1000).kind, 'ignore')
  })
})

describe('coalesceRanges (RFC 9110 section 14.6)', () => {
  const cases: [string, ByteRange[], number, ByteRange[]][] = [
    ['nothing to merge keeps order', [r(50, 59), r(0, 9)], 0, [r(50, 59), r(0, 9)]],
    ['overlap', [r(10, 19), r(0, 12)], 0, [r(0, 19)]],
    ['adjacent', [r(0, 9), r(10, 19)], 0, [r(0, 19)]],
    ['adjacent in reverse order', [r(10, 19), r(0, 9)], 0, [r(0, 19)]],
    ['a gap of one byte with coalesceGap 0', [r(0, 9), r(11, 19)], 0, [r(0, 9), r(11, 19)]],
    ['a gap of one byte with coalesceGap 1', [r(0, 9), r(11, 19)], 1, [r(0, 19)]],
    ['a gap of two bytes with coalesceGap 1', [r(0, 9), r(12, 19)], 1, [r(0, 9), r(12, 19)]],
    [
      'chains merge transitively',
      [r(20, 29), r(0, 10), r(10, 20), r(40, 49)],
      0,
      [r(0, 29), r(40, 49)],
    ],
    ['one range', [r(3, 4)], 0, [r(3, 4)]],
    ['none', [], 0, []],
  ]
  for (const [name, input, gap, expected] of cases) {
    test(name, () => assert.deepEqual(coalesceRanges(input, gap), expected))
  }
  test('does not modify its argument', () => {
    const input = [r(10, 19), r(0, 12)]
    coalesceRanges(input, 0)
    assert.deepEqual(input, [r(10, 19), r(0, 12)])
  })
})

describe('Content-Range values (RFC 9110 section 14.4)', () => {
  test('a satisfied range: bytes first-last/complete-length', () => {
    assert.equal(formatContentRange(r(0, 499), 1234), 'bytes 0-499/1234')
    assert.equal(formatContentRange(r(21010, 47021), 47022), 'bytes 21010-47021/47022')
  })
  test('an unsatisfied range: bytes */complete-length', () => {
    assert.equal(formatUnsatisfiedRange(1234), 'bytes */1234')
  })
  test('rangeLength counts inclusive offsets', () => {
    assert.equal(rangeLength(r(0, 0)), 1)
    assert.equal(rangeLength(r(0, 499)), 500)
  })
})

// ---------------------------------------------------------------------------------------------
// Properties.

/** A decimal numeral: small (near the sizes below), with leading zeros, or huge. */
const numeral = fc.oneof(
  { weight: 6, arbitrary: fc.nat(320).map(String) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('0', '00'), fc.nat(320)).map(([z, n]) => z + n),
  },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n - 3n, max: 2n ** 53n + 3n }).map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: 10n ** 15n, max: 10n ** 30n }).map(String) },
)
const ows = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 2 })
const rangeSpecText = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.nat(320), fc.nat(100)).map(([a, d]) => `${a}-${a + d}`) },
  { weight: 2, arbitrary: fc.tuple(numeral, numeral).map(([a, b]) => `${a}-${b}`) },
  { weight: 2, arbitrary: numeral.map((a) => `${a}-`) },
  { weight: 2, arbitrary: numeral.map((a) => `-${a}`) },
)
const unit = fc
  .array(fc.boolean(), { minLength: 5, maxLength: 5 })
  .map((upper) => [...'bytes'].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''))
/** A Range field value from the grammar, with OWS and empty elements. */
const rangeHeader = fc
  .tuple(
    unit,
    ows,
    fc.array(fc.tuple(ows, fc.option(rangeSpecText, { freq: 6 }), ows), {
      minLength: 1,
      maxLength: 8,
    }),
  )
  .map(
    ([u, afterEquals, elements]) =>
      `${u}=${afterEquals}${elements.map((e) => e.join('')).join(',')}`,
  )
/** A grammatical value with a few characters replaced, inserted or deleted. */
const nearRange = mutated(rangeHeader, '0123456789-,= \tbytexBYTES;.+\x00')
const junk = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'bytes=BYTES-,0123456789 \t;x*'.split('')), maxLength: 30 }),
  fc.string(),
  fc.string({ unit: fc.integer({ min: 0, max: 0x2ff }).map((c) => String.fromCharCode(c)) }),
)
const anyValue = fc.oneof(
  { weight: 3, arbitrary: rangeHeader },
  { weight: 2, arbitrary: nearRange },
  junk,
)

describe('Range properties against the model (fast-check)', () => {
  test('parseRange never throws and accepts exactly what the grammar model accepts', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const got = parseRange(value)
        const want = modelParse(value)
        if (want === undefined) assert.equal(got, undefined)
        else specsEqual(got!, want)
      }),
      fuzz(3000),
    )
  })

  test('resolveRanges equals the byte-set model for every size, limit and gap', () => {
    fc.assert(
      fc.property(
        anyValue,
        fc.nat(300),
        fc.integer({ min: 1, max: 10 }),
        fc.constantFrom(0, 0, 1, 5, 40),
        (value, size, maxRanges, gap) => {
          const specs = parseRange(value)
          const model = modelParse(value)
          if (specs === undefined || model === undefined) return
          const got = resolveRanges(specs, size, { maxRanges, coalesceGap: gap })
          sameDecision(got, modelResolve(model, size, maxRanges, gap))
        },
      ),
      fuzz(2000),
    )
  })

  test('huge representations: parts are satisfiable bytes only, disjoint, non-adjacent, in first-appearance order', () => {
    fc.assert(
      fc.property(
        rangeHeader,
        fc.oneof(fc.nat(400), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
        (value, size) => {
          const model = modelParse(value)
          const specs = parseRange(value)
          if (model === undefined || specs === undefined) return
          const decision = resolveRanges(specs, size, { maxRanges: 100, coalesceGap: 0 })
          const selected = model.map((s) => modelSatisfy(s, size))
          const wanted = selected.filter((x): x is ByteRange => x !== undefined)
          if (size === 0) return assert.equal(decision.kind, 'ignore')
          if (wanted.length === 0) return assert.equal(decision.kind, 'unsatisfiable')
          assert.equal(decision.kind, 'ranges')
          if (decision.kind !== 'ranges') return
          const parts = decision.ranges
          for (const p of parts) assert.ok(0 <= p.start && p.start <= p.end && p.end < size)
          // Disjoint and not adjacent: sorted, each starts more than one byte after the last.
          const sorted = [...parts].sort((a, b) => a.start - b.start)
          for (let i = 1; i < sorted.length; i++)
            assert.ok(sorted[i]!.start > sorted[i - 1]!.end + 1)
          // Every selected range lies in exactly one part; every part is covered, without holes,
          // by the selected ranges inside it; parts are ordered by their earliest member.
          const owner = wanted.map((w) =>
            parts.findIndex((p) => p.start <= w.start && w.end <= p.end),
          )
          assert.ok(owner.every((o) => o >= 0))
          parts.forEach((p, i) => {
            const inside = wanted.filter((_, j) => owner[j] === i).sort((a, b) => a.start - b.start)
            let reach = p.start - 1
            for (const w of inside) {
              assert.ok(w.start <= reach + 1, 'no hole inside a part')
              reach = Math.max(reach, w.end)
            }
            assert.equal(reach, p.end)
          })
          const firstOwners = owner.filter((o, j) => owner.indexOf(o) === j)
          assert.deepEqual(
            firstOwners,
            parts.map((_, i) => i),
          )
        },
      ),
      fuzz(1000),
    )
  })

  test('resolved parts never hold more bytes than the representation (no amplification by overlap)', () => {
    fc.assert(
      fc.property(rangeHeader, fc.integer({ min: 1, max: 1000 }), (value, size) => {
        const specs = parseRange(value)
        if (specs === undefined) return
        const decision = resolveRanges(specs, size, { maxRanges: 100, coalesceGap: 0 })
        if (decision.kind !== 'ranges') return
        const total = decision.ranges.reduce((n, p) => n + rangeLength(p), 0)
        assert.ok(total <= size)
      }),
      fuzz(),
    )
  })
})
