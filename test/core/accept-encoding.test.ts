/**
 * Accept-Encoding (RFC 9110 section 12.5.3): the parser against an independent reading of the
 * grammar over hostile strings, the ranking's properties over generated fields (fast-check),
 * and a table of fields to the coding chosen.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  acceptedCodings,
  type Coding,
  type ContentCoding,
  chooseCoding,
  parseAcceptEncoding,
  rankCodings,
  SERVER_PREFERENCE,
} from '../../src/core/accept-encoding.js'
import { fuzz } from '../support/fuzz.js'

/** The grammar of one list element, written independently as a regular expression. */
const ELEMENT =
  /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*;[ \t]*[qQ]=(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?$/

/** Section 5.6.1.2: a #list, empty elements allowed, whitespace around the commas. */
function grammatical(value: string): boolean {
  return value
    .split(',')
    .map((e) => e.replace(/^[ \t]+|[ \t]+$/g, ''))
    .every((e) => e === '' || ELEMENT.test(e))
}

const fieldChar = fc.constantFrom(
  ...'gzipbrGZIPBRstd*x-;qQ=0.15, \t"/\\:()\x00\x7f\u00e9'.split(''),
)
const hostile = fc.oneof(
  fc.string({ unit: fieldChar, maxLength: 40 }),
  fc.string({ maxLength: 40 }),
)

interface Element {
  readonly name: string
  /** Thousandths, or undefined for no weight (1). */
  readonly q: number | undefined
}

const NAMES = ['br', 'gzip', 'zstd', 'identity', 'x-gzip', 'deflate', 'compress', '*']
const element = fc.record({
  name: fc.oneof(fc.constantFrom(...NAMES), fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/)),
  q: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
})

/** A qvalue for `thousandths`, written in one of its valid spellings. */
function qvalue(thousandths: number, style: number): string {
  if (thousandths === 1000) return ['1', '1.', '1.0', '1.000'][style % 4]!
  const digits = String(thousandths).padStart(3, '0').replace(/0+$/, '')
  return digits === '' ? ['0', '0.', '0.000'][style % 3]! : `0.${digits}`
}

/** Writes elements as a field, with varying case, whitespace and empty elements. */
function format(elements: readonly Element[], style: number): string {
  const space = [' ', '', '\t', '  '][style % 4]!
  return elements
    .map((e, i) => {
      const name = (style + i) % 3 === 0 ? e.name.toUpperCase() : e.name
      if (e.q === undefined) return name
      const q = (style + i) % 2 === 0 ? 'q' : 'Q'
      return `${name}${space};${space}${q}=${qvalue(e.q, style + i)}`
    })
    .join(`${space},${style % 5 === 0 ? ' ,' : ''}${space}`)
}

/** The weights the model expects: the lowest listed per coding, x-gzip as gzip. */
function model(elements: readonly Element[]) {
  const weights = new Map<string, number>()
  let any: number | undefined
  for (const e of elements) {
    const q = e.q ?? 1000
    if (e.name === '*') any = any === undefined ? q : Math.min(any, q)
    else {
      const name = e.name === 'x-gzip' ? 'gzip' : e.name
      weights.set(name, Math.min(weights.get(name) ?? 1000, q))
    }
  }
  return { weights, any }
}

/** The effective weight of `coding`, per section 12.5.3 and sluice's reading of it. */
function weightOf(coding: Coding, m: ReturnType<typeof model>): number {
  return m.weights.get(coding) ?? m.any ?? (coding === 'identity' ? 0.5 : 0)
}

describe('Accept-Encoding parsing and ranking (fast-check)', () => {
  test('the parser accepts exactly the grammar; a malformed field means identity alone', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const parsed = parseAcceptEncoding(value)
        assert.equal(parsed !== undefined, grammatical(value), JSON.stringify(value))
        if (parsed === undefined) assert.deepEqual(acceptedCodings(value), ['identity'])
      }),
      fuzz(3000),
    )
  })

  test('generated fields parse to the weights written, whatever the case and whitespace', () => {
    fc.assert(
      fc.property(fc.array(element, { maxLength: 8 }), fc.nat(), (elements, style) => {
        const parsed = parseAcceptEncoding(format(elements, style))
        assert.ok(parsed !== undefined, format(elements, style))
        const expected = model(elements)
        assert.deepEqual(new Map(parsed.weights), expected.weights)
        assert.equal(parsed.any, expected.any)
      }),
      fuzz(1000),
    )
  })

  test('the ranking: acceptable codings only, by weight, then br > zstd > gzip > identity', () => {
    fc.assert(
      fc.property(
        fc.array(element, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (elements, style) => {
          const ranking = acceptedCodings(format(elements, style))
          const m = model(elements)
          const expected = SERVER_PREFERENCE.filter((c) => weightOf(c, m) > 0).sort(
            (a, b) =>
              weightOf(b, m) - weightOf(a, m) ||
              SERVER_PREFERENCE.indexOf(a) - SERVER_PREFERENCE.indexOf(b),
          )
          assert.deepEqual(ranking, expected)
          // A refusal is never overridden: nothing listed with q=0 (or refused by *) appears.
          for (const coding of ranking) assert.ok(weightOf(coding, m) > 0)
        },
      ),
      fuzz(1000),
    )
  })

  test('the order of the elements never changes the ranking', () => {
    fc.assert(
      fc.property(
        fc.array(element, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.nat(),
        (elements, style, seed) => {
          const shuffled = [...elements]
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = (seed + i * 7919) % (i + 1)
            ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
          }
          assert.deepEqual(
            acceptedCodings(format(shuffled, style)),
            acceptedCodings(format(elements, style + 1)),
          )
        },
      ),
      fuzz(1000),
    )
  })

  test('identity is refused exactly by identity;q=0, or *;q=0 without an identity entry', () => {
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 8 }), (elements) => {
        const m = model(elements)
        const refused =
          m.weights.get('identity') === 0 || (!m.weights.has('identity') && m.any === 0)
        assert.equal(!acceptedCodings(format(elements, 0)).includes('identity'), refused)
      }),
      fuzz(1000),
    )
  })
})

describe('Accept-Encoding: a table of fields to the coding chosen (RFC 9110 12.5.3)', () => {
  const ALL: readonly ContentCoding[] = ['br', 'zstd', 'gzip']
  const cases: [
    field: string | undefined,
    available: readonly ContentCoding[],
    chosen: Coding | undefined,
  ][] = [
    // No field: the client said nothing it can decode.
    [undefined, ALL, 'identity'],
    // An empty field: no content coding wanted (12.5.3).
    ['', ALL, 'identity'],
    [' , ,', ALL, 'identity'],
    // What browsers send.
    ['gzip, deflate, br', ALL, 'br'],
    ['gzip, deflate, br, zstd', ALL, 'br'],
    ['gzip, deflate, br, zstd', ['zstd', 'gzip'], 'zstd'],
    ['gzip, deflate, br, zstd', ['gzip'], 'gzip'],
    ['gzip, deflate', ['br'], 'identity'],
    // Chromium's media requests.
    ['identity;q=1, *;q=0', ALL, 'identity'],
    // Weights decide before the server's preference.
    ['br;q=0.5, gzip', ALL, 'gzip'],
    ['br;q=0.5, gzip;q=0.5', ALL, 'br'],
    ['gzip;q=0.001', ALL, 'gzip'],
    ['gzip;q=0.001', ['br'], 'identity'],
    // Explicit identity competes on weight; ties go to the coding.
    ['gzip;q=0.5, identity', ALL, 'identity'],
    ['gzip, identity', ALL, 'gzip'],
    // *: any coding not listed, identity included unless listed.
    ['*', ALL, 'br'],
    ['*', [], 'identity'],
    ['*;q=0.5, gzip', ALL, 'gzip'],
    ['br;q=0, *', ALL, 'zstd'],
    ['br;q=0, *', ['br'], 'identity'],
    // Refusals.
    ['gzip;q=0', ALL, 'identity'],
    ['identity;q=0', ALL, undefined],
    ['identity;q=0, gzip', ['br'], undefined],
    ['identity;q=0, gzip', ['gzip'], 'gzip'],
    ['*;q=0', ALL, undefined],
    ['*;q=0, identity', ALL, 'identity'],
    ['*;q=0, gzip', ALL, 'gzip'],
    // A coding listed twice counts with its lowest weight, wherever the refusal is.
    ['gzip, gzip;q=0', ['gzip'], 'identity'],
    ['gzip;q=0, gzip', ['gzip'], 'identity'],
    // Case, whitespace, x-gzip (8.4.1.3).
    ['GZIP ; Q=1.000', ['gzip'], 'gzip'],
    ['\tBr\t', ALL, 'br'],
    ['x-gzip', ALL, 'gzip'],
    // Malformed anywhere: no preference at all, so identity (never a part of the field).
    ['gzip;q=0.5x', ALL, 'identity'],
    ['br;q=1.5, gzip', ALL, 'identity'],
    ['br;q=0.0001', ALL, 'identity'],
    ['br;level=5', ALL, 'identity'],
    ['br;q = 1', ALL, 'identity'],
    ['"br"', ALL, 'identity'],
    ['br gzip', ALL, 'identity'],
    ['identity;q=0, br;q=2', ALL, 'identity'],
  ]
  for (const [field, available, chosen] of cases) {
    test(`${JSON.stringify(field)} with ${available.join('/') || 'no variants'}: ${chosen ?? 'nothing (406)'}`, () => {
      assert.equal(
        chooseCoding(acceptedCodings(field), (c) => available.includes(c)),
        chosen,
      )
    })
  }

  test('rankCodings of an unparsed field is identity alone', () => {
    assert.deepEqual(rankCodings(undefined), ['identity'])
  })
})
