/**
 * Conditional requests, RFC 9110 section 13: each precondition of 13.1, the evaluation order of
 * 13.2.2, and If-Range (13.1.5) with the Last-Modified strength rule of 8.8.2.2. Expected
 * outcomes are read off the RFC text quoted in the test names.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { type EntityTag, parseEntityTagList } from '../../src/core/entity-tag.js'
import { parseHttpDate } from '../../src/core/http-date.js'
import {
  type ConditionalFields,
  type CurrentValidators,
  checkIfRange,
  evaluatePreconditions,
  isLastModifiedStrong,
  type PreconditionField,
  type PreconditionResult,
} from '../../src/core/preconditions.js'
import { fuzz } from '../support/fuzz.js'

const strong = (opaque: string): EntityTag => ({ weak: false, opaque })
const weak = (opaque: string): EntityTag => ({ weak: true, opaque })

// The representation was last modified at 12:00:00.500 on Monday 15 January 2024; its
// Last-Modified field value is the whole second, Mon, 15 Jan 2024 12:00:00 GMT.
const T = Date.UTC(2024, 0, 15, 12, 0, 0) + 500
const AT = 'Mon, 15 Jan 2024 12:00:00 GMT'
const AT_850 = 'Monday, 15-Jan-24 12:00:00 GMT'
const AT_ASC = 'Mon Jan 15 12:00:00 2024'
const BEFORE = 'Mon, 15 Jan 2024 11:59:59 GMT'
const BEFORE_850 = 'Monday, 15-Jan-24 11:59:59 GMT'
const AFTER = 'Mon, 15 Jan 2024 12:00:01 GMT'
const AFTER_ASC = 'Mon Jan 15 12:00:01 2024'
const NOT_A_DATE = 'yesterday'
const FEB_30 = 'Fri, 30 Feb 2024 12:00:00 GMT'

const current: CurrentValidators = { etag: strong('v1'), lastModified: T }
const weakCurrent: CurrentValidators = { etag: weak('v1'), lastModified: T }
const noEtag: CurrentValidators = { lastModified: T }
const noDate: CurrentValidators = { etag: strong('v1') }
const ABSENT = undefined

const proceed = (...checked: PreconditionField[]): PreconditionResult => ({
  outcome: 'proceed',
  checked,
})
const failed = (field: PreconditionField): PreconditionResult => ({ outcome: 'failed', field })
const notModified = (field: PreconditionField): PreconditionResult => ({
  outcome: 'not-modified',
  field,
})

type Case = [
  name: string,
  method: string,
  fields: ConditionalFields,
  current: CurrentValidators | undefined,
  expected: PreconditionResult,
]

function run(cases: Case[]): void {
  for (const [name, method, fields, cur, expected] of cases) {
    test(`${name} [${method} ${JSON.stringify(fields)}]`, () => {
      assert.deepEqual(evaluatePreconditions(method, fields, cur), expected)
    })
  }
}

describe('13.2.2 step 1: If-Match (13.1.1, strong comparison)', () => {
  run([
    ['no conditional fields: proceed', 'GET', {}, current, proceed()],
    ['a listed tag matches: true', 'GET', { ifMatch: '"v1"' }, current, proceed('If-Match')],
    [
      'a later tag in the list matches: true',
      'GET',
      { ifMatch: '"x", "v1"' },
      current,
      proceed('If-Match'),
    ],
    ['no tag matches: 412', 'GET', { ifMatch: '"v2"' }, current, failed('If-Match')],
    [
      'a weak tag never matches in strong comparison: 412',
      'GET',
      { ifMatch: 'W/"v1"' },
      current,
      failed('If-Match'),
    ],
    [
      'the current tag is weak, so nothing matches: 412',
      'PUT',
      { ifMatch: '"v1"' },
      weakCurrent,
      failed('If-Match'),
    ],
    [
      'weak against weak is no strong match: 412',
      'PUT',
      { ifMatch: 'W/"v1"' },
      weakCurrent,
      failed('If-Match'),
    ],
    [
      '"*" and a current representation exists: true',
      'PUT',
      { ifMatch: '*' },
      current,
      proceed('If-Match'),
    ],
    [
      '"*" with a representation that has no entity tag: true',
      'PUT',
      { ifMatch: '*' },
      noEtag,
      proceed('If-Match'),
    ],
    [
      'a tag, and the representation has no entity tag: 412',
      'PUT',
      { ifMatch: '"v1"' },
      noEtag,
      failed('If-Match'),
    ],
    ['"*" and no current representation: 412', 'PUT', { ifMatch: '*' }, ABSENT, failed('If-Match')],
    [
      'a tag and no current representation: 412',
      'DELETE',
      { ifMatch: '"v1"' },
      ABSENT,
      failed('If-Match'),
    ],
    ['a malformed value fails closed: 412', 'PUT', { ifMatch: 'v1' }, current, failed('If-Match')],
    ['an empty value fails closed: 412', 'PUT', { ifMatch: '' }, current, failed('If-Match')],
    [
      'any method: GET 412 as well (not 304)',
      'GET',
      { ifMatch: '"nope"' },
      current,
      failed('If-Match'),
    ],
  ])
})

describe('13.2.2 step 2: If-Unmodified-Since without If-Match (13.1.4)', () => {
  run([
    [
      'modified before the date: true',
      'PUT',
      { ifUnmodifiedSince: AFTER },
      current,
      proceed('If-Unmodified-Since'),
    ],
    [
      'modified in the second of the date (whole-second comparison): true',
      'PUT',
      { ifUnmodifiedSince: AT },
      current,
      proceed('If-Unmodified-Since'),
    ],
    [
      'modified after the date: 412',
      'PUT',
      { ifUnmodifiedSince: BEFORE },
      current,
      failed('If-Unmodified-Since'),
    ],
    [
      'modified after the date, rfc850 form: 412',
      'PUT',
      { ifUnmodifiedSince: BEFORE_850 },
      current,
      failed('If-Unmodified-Since'),
    ],
    [
      'on GET too: 412',
      'GET',
      { ifUnmodifiedSince: BEFORE },
      current,
      failed('If-Unmodified-Since'),
    ],
    [
      'not a valid HTTP-date: ignored',
      'PUT',
      { ifUnmodifiedSince: NOT_A_DATE },
      current,
      proceed(),
    ],
    [
      '30 February is not a valid HTTP-date: ignored',
      'PUT',
      { ifUnmodifiedSince: FEB_30 },
      current,
      proceed(),
    ],
    [
      'a list of dates: ignored',
      'PUT',
      { ifUnmodifiedSince: `${BEFORE}, ${BEFORE}` },
      current,
      proceed(),
    ],
    [
      'no modification date available: ignored',
      'PUT',
      { ifUnmodifiedSince: BEFORE },
      noDate,
      proceed(),
    ],
    ['no current representation: ignored', 'PUT', { ifUnmodifiedSince: BEFORE }, ABSENT, proceed()],
  ])
})

describe('13.2.2 precedence: If-Match makes If-Unmodified-Since ignored (13.1.4)', () => {
  run([
    [
      'If-Match true, If-Unmodified-Since would fail: proceed',
      'PUT',
      { ifMatch: '"v1"', ifUnmodifiedSince: BEFORE },
      current,
      proceed('If-Match'),
    ],
    [
      'If-Match false, If-Unmodified-Since would hold: 412 for If-Match',
      'PUT',
      { ifMatch: '"v2"', ifUnmodifiedSince: AFTER },
      current,
      failed('If-Match'),
    ],
    [
      'If-Match malformed, If-Unmodified-Since would hold: 412 for If-Match',
      'PUT',
      { ifMatch: 'v1', ifUnmodifiedSince: AFTER },
      current,
      failed('If-Match'),
    ],
  ])
})

describe('13.2.2 step 3: If-None-Match (13.1.2, weak comparison)', () => {
  run([
    [
      'GET, a listed tag matches: 304',
      'GET',
      { ifNoneMatch: '"v1"' },
      current,
      notModified('If-None-Match'),
    ],
    [
      'HEAD, a listed tag matches: 304',
      'HEAD',
      { ifNoneMatch: '"v1"' },
      current,
      notModified('If-None-Match'),
    ],
    [
      'a weak tag matches a strong one in weak comparison: 304',
      'GET',
      { ifNoneMatch: 'W/"v1"' },
      current,
      notModified('If-None-Match'),
    ],
    [
      'a strong tag matches a weak current one: 304',
      'GET',
      { ifNoneMatch: '"v1"' },
      weakCurrent,
      notModified('If-None-Match'),
    ],
    [
      'a match anywhere in the list: 304',
      'GET',
      { ifNoneMatch: '"a", W/"b", "v1"' },
      current,
      notModified('If-None-Match'),
    ],
    [
      'no tag matches: true',
      'GET',
      { ifNoneMatch: '"v2", W/"v3"' },
      current,
      proceed('If-None-Match'),
    ],
    [
      'no entity tag to match: true',
      'GET',
      { ifNoneMatch: '"v1"' },
      noEtag,
      proceed('If-None-Match'),
    ],
    [
      'GET "*" with a current representation: 304',
      'GET',
      { ifNoneMatch: '*' },
      current,
      notModified('If-None-Match'),
    ],
    [
      'GET "*" and no current representation: true',
      'GET',
      { ifNoneMatch: '*' },
      ABSENT,
      proceed('If-None-Match'),
    ],
    [
      'PUT, a tag matches: 412, not 304',
      'PUT',
      { ifNoneMatch: '"v1"' },
      current,
      failed('If-None-Match'),
    ],
    ['POST, a tag matches: 412', 'POST', { ifNoneMatch: '"v1"' }, current, failed('If-None-Match')],
    [
      'DELETE, a tag matches: 412',
      'DELETE',
      { ifNoneMatch: 'W/"v1"' },
      current,
      failed('If-None-Match'),
    ],
    [
      'PUT "*" with a current representation: 412 (create only if absent)',
      'PUT',
      { ifNoneMatch: '*' },
      current,
      failed('If-None-Match'),
    ],
    [
      'PUT "*" and no current representation: true',
      'PUT',
      { ifNoneMatch: '*' },
      ABSENT,
      proceed('If-None-Match'),
    ],
    [
      'methods are case-sensitive (9.1): "get" is not GET, so 412',
      'get',
      { ifNoneMatch: '"v1"' },
      current,
      failed('If-None-Match'),
    ],
    ['a malformed value is ignored', 'GET', { ifNoneMatch: 'v1' }, current, proceed()],
  ])
})

describe('13.2.2 step 4: If-Modified-Since, GET and HEAD only, without If-None-Match (13.1.3)', () => {
  run([
    [
      'modified before the date: 304',
      'GET',
      { ifModifiedSince: AFTER },
      current,
      notModified('If-Modified-Since'),
    ],
    [
      'modified in the second of the date: 304',
      'GET',
      { ifModifiedSince: AT },
      current,
      notModified('If-Modified-Since'),
    ],
    [
      'the same date in rfc850 form: 304',
      'GET',
      { ifModifiedSince: AT_850 },
      current,
      notModified('If-Modified-Since'),
    ],
    [
      'the same date in asctime form: 304',
      'HEAD',
      { ifModifiedSince: AT_ASC },
      current,
      notModified('If-Modified-Since'),
    ],
    [
      'a later date in asctime form: 304',
      'GET',
      { ifModifiedSince: AFTER_ASC },
      current,
      notModified('If-Modified-Since'),
    ],
    [
      'modified after the date: true',
      'GET',
      { ifModifiedSince: BEFORE },
      current,
      proceed('If-Modified-Since'),
    ],
    ['not a valid HTTP-date: ignored', 'GET', { ifModifiedSince: NOT_A_DATE }, current, proceed()],
    ['30 February: ignored', 'GET', { ifModifiedSince: FEB_30 }, current, proceed()],
    [
      'more than one member: ignored',
      'GET',
      { ifModifiedSince: `${AFTER}, ${AFTER}` },
      current,
      proceed(),
    ],
    [
      'a method other than GET or HEAD: ignored',
      'POST',
      { ifModifiedSince: AFTER },
      current,
      proceed(),
    ],
    ['PUT: ignored', 'PUT', { ifModifiedSince: AFTER }, current, proceed()],
    [
      'no modification date available: ignored',
      'GET',
      { ifModifiedSince: AFTER },
      noDate,
      proceed(),
    ],
    ['no current representation: ignored', 'GET', { ifModifiedSince: AFTER }, ABSENT, proceed()],
  ])
})

describe('13.2.2 precedence: If-None-Match makes If-Modified-Since ignored (13.1.3)', () => {
  run([
    [
      'If-None-Match true, If-Modified-Since would give 304: proceed',
      'GET',
      { ifNoneMatch: '"v2"', ifModifiedSince: AFTER },
      current,
      proceed('If-None-Match'),
    ],
    [
      'If-None-Match false, If-Modified-Since would hold: 304 from If-None-Match',
      'GET',
      { ifNoneMatch: '"v1"', ifModifiedSince: BEFORE },
      current,
      notModified('If-None-Match'),
    ],
    [
      'a malformed If-None-Match still makes If-Modified-Since ignored',
      'GET',
      { ifNoneMatch: 'v1', ifModifiedSince: AFTER },
      current,
      proceed(),
    ],
    [
      'an empty If-None-Match still makes If-Modified-Since ignored',
      'GET',
      { ifNoneMatch: '', ifModifiedSince: AFTER },
      current,
      proceed(),
    ],
  ])
})

describe('13.2.2 order across steps', () => {
  run([
    [
      'If-Match fails before If-None-Match is looked at: 412',
      'GET',
      { ifMatch: '"v2"', ifNoneMatch: '"v1"' },
      current,
      failed('If-Match'),
    ],
    [
      'If-Unmodified-Since fails before If-None-Match: 412',
      'GET',
      { ifUnmodifiedSince: BEFORE, ifNoneMatch: '"v1"' },
      current,
      failed('If-Unmodified-Since'),
    ],
    [
      'If-Unmodified-Since fails before If-Modified-Since: 412',
      'GET',
      { ifUnmodifiedSince: BEFORE, ifModifiedSince: AFTER },
      current,
      failed('If-Unmodified-Since'),
    ],
    [
      'If-Match holds, then If-None-Match matches: 304',
      'GET',
      { ifMatch: '"v1"', ifNoneMatch: '"v1"' },
      current,
      notModified('If-None-Match'),
    ],
    [
      'If-Match and If-None-Match both hold',
      'GET',
      { ifMatch: '"v1"', ifNoneMatch: '"v2"', ifModifiedSince: AFTER },
      current,
      proceed('If-Match', 'If-None-Match'),
    ],
    [
      'If-Unmodified-Since and If-Modified-Since both hold',
      'GET',
      { ifUnmodifiedSince: AFTER, ifModifiedSince: BEFORE },
      current,
      proceed('If-Unmodified-Since', 'If-Modified-Since'),
    ],
    [
      'If-Match "*" and If-None-Match "*" with nothing there: If-Match fails first',
      'PUT',
      { ifMatch: '*', ifNoneMatch: '*' },
      ABSENT,
      failed('If-Match'),
    ],
  ])
})

describe('If-Range (13.1.5) and Last-Modified strength (8.8.2.2)', () => {
  const later = T + 10_000
  const cases: [string, string, CurrentValidators, number, boolean][] = [
    ['the same strong tag: true', '"v1"', current, later, true],
    ['a strong tag with surrounding OWS: true', ' "v1"\t', current, later, true],
    ['a different tag: false', '"v2"', current, later, false],
    ['a weak tag never matches (strong comparison): false', 'W/"v1"', current, later, false],
    ['the current tag is weak: false', '"v1"', weakCurrent, later, false],
    ['no current entity tag: false', '"v1"', noEtag, later, false],
    ['a list is not an If-Range value: false', '"v1", "v2"', current, later, false],
    ['an unterminated tag: false', '"v1', current, later, false],
    ['an unquoted tag is neither form: false', 'v1', current, later, false],
    ['exactly Last-Modified, IMF-fixdate: true', AT, current, later, true],
    ['exactly Last-Modified, rfc850-date: true', AT_850, current, later, true],
    ['exactly Last-Modified, asctime-date: true', AT_ASC, current, later, true],
    ['one second before Last-Modified: false', BEFORE, current, later, false],
    [
      'one second after Last-Modified (not "modified since", exact): false',
      AFTER,
      current,
      later,
      false,
    ],
    ['not a valid date: false', NOT_A_DATE, current, later, false],
    ['30 February: false', FEB_30, current, later, false],
    ['no Last-Modified: false', AT, noDate, later, false],
    ['Last-Modified less than a second before now is weak: false', AT, current, T + 999, false],
    ['Last-Modified a second or more before now is strong: true', AT, current, T + 1000, true],
  ]
  for (const [name, value, cur, now, expected] of cases) {
    test(`${name}: If-Range ${JSON.stringify(value)}`, () => {
      assert.equal(checkIfRange(value, cur, now), expected)
    })
  }

  test('the rfc850 two-digit year is read with the clock passed in (5.6.7)', () => {
    // Seen from 1970, 15-Jan-24 is 1924 (2024 would be more than 50 years on); from 2025, 2024.
    const in1924 = { lastModified: Date.UTC(1924, 0, 15, 12) }
    const value = 'Tuesday, 15-Jan-24 12:00:00 GMT'
    assert.equal(checkIfRange(value, in1924, Date.UTC(1970, 0, 1)), true)
    assert.equal(checkIfRange(value, in1924, Date.UTC(2025, 0, 1)), false)
  })

  test('isLastModifiedStrong: weak within the second after the modification', () => {
    assert.equal(isLastModifiedStrong(T, T), false)
    assert.equal(isLastModifiedStrong(T, T + 999), false)
    assert.equal(isLastModifiedStrong(T, T + 1000), true)
    assert.equal(isLastModifiedStrong(T, T - 5000), false, 'a modification in the future is weak')
  })
})

// ---------------------------------------------------------------------------------------------
// Properties: the precedence rules of 13.2.2 as metamorphic relations over random requests.

const tagValues = ['"v1"', '"v2"', 'W/"v1"', '*', '"v2", "v1"', 'v1', '', ' , ']
const dateValues = [AT, BEFORE, AFTER, AT_850, AT_ASC, BEFORE_850, NOT_A_DATE, FEB_30]
const optional = (values: string[]) => fc.option(fc.constantFrom(...values), { nil: undefined })
const anyFields = fc
  .tuple(optional(tagValues), optional(tagValues), optional(dateValues), optional(dateValues))
  .map(([ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince]): ConditionalFields => ({
    ifMatch,
    ifNoneMatch,
    ifModifiedSince,
    ifUnmodifiedSince,
  }))
const anyCurrent = fc.constantFrom<CurrentValidators | undefined>(
  current,
  weakCurrent,
  noEtag,
  noDate,
  {},
  ABSENT,
)
const anyMethod = fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS')

describe('precondition properties (fast-check)', () => {
  test('with If-Match present, If-Unmodified-Since never changes the outcome (13.1.4)', () => {
    fc.assert(
      fc.property(anyMethod, anyFields, anyCurrent, optional(dateValues), (m, f, cur, other) => {
        fc.pre(f.ifMatch !== undefined)
        assert.deepEqual(
          evaluatePreconditions(m, { ...f, ifUnmodifiedSince: other }, cur),
          evaluatePreconditions(m, f, cur),
        )
      }),
      fuzz(),
    )
  })

  test('with If-None-Match present, If-Modified-Since never changes the outcome (13.1.3)', () => {
    fc.assert(
      fc.property(anyMethod, anyFields, anyCurrent, optional(dateValues), (m, f, cur, other) => {
        fc.pre(f.ifNoneMatch !== undefined)
        assert.deepEqual(
          evaluatePreconditions(m, { ...f, ifModifiedSince: other }, cur),
          evaluatePreconditions(m, f, cur),
        )
      }),
      fuzz(),
    )
  })

  test('methods other than GET and HEAD never get 304, and ignore If-Modified-Since', () => {
    fc.assert(
      fc.property(anyMethod, anyFields, anyCurrent, optional(dateValues), (m, f, cur, other) => {
        fc.pre(m !== 'GET' && m !== 'HEAD')
        const result = evaluatePreconditions(m, f, cur)
        assert.notEqual(result.outcome, 'not-modified')
        assert.deepEqual(evaluatePreconditions(m, { ...f, ifModifiedSince: other }, cur), result)
      }),
      fuzz(),
    )
  })

  test('HEAD is decided exactly like GET', () => {
    fc.assert(
      fc.property(anyFields, anyCurrent, (f, cur) => {
        assert.deepEqual(
          evaluatePreconditions('HEAD', f, cur),
          evaluatePreconditions('GET', f, cur),
        )
      }),
      fuzz(),
    )
  })

  test('a failing If-Match or If-Unmodified-Since wins over everything after it', () => {
    fc.assert(
      fc.property(anyMethod, anyFields, anyCurrent, (m, f, cur) => {
        const first = evaluatePreconditions(
          m,
          { ifMatch: f.ifMatch, ifUnmodifiedSince: f.ifUnmodifiedSince },
          cur,
        )
        if (first.outcome === 'failed') assert.deepEqual(evaluatePreconditions(m, f, cur), first)
      }),
      fuzz(),
    )
  })

  // Hostile field values: near-valid lists and dates with junk mixed in, raw obs-text and
  // controls, whatever a client can put in a field.
  const junkChar = fc.constantFrom(...' \t,"W/*\\\x00\x7f\x80\xff\u0100a1:'.split(''))
  const hostile = fc.oneof(
    fc.constantFrom(...tagValues, ...dateValues),
    fc.string({ unit: junkChar, maxLength: 24 }),
    fc
      .tuple(
        fc.constantFrom(...tagValues, ...dateValues),
        fc.string({ unit: junkChar, maxLength: 4 }),
      )
      .map(([v, junk]) => v + junk),
    fc.string({ unit: fc.integer({ min: 0, max: 0x2ff }).map((c) => String.fromCharCode(c)) }),
  )
  const hostileFields = fc.record(
    {
      ifMatch: hostile,
      ifNoneMatch: hostile,
      ifModifiedSince: hostile,
      ifUnmodifiedSince: hostile,
    },
    { requiredKeys: [] },
  )

  test('hostile values never throw and always give one of the three outcomes', () => {
    fc.assert(
      fc.property(anyMethod, hostileFields, anyCurrent, hostile, (m, f, cur, ifRange) => {
        const result = evaluatePreconditions(m, f, cur)
        assert.ok(['proceed', 'not-modified', 'failed'].includes(result.outcome))
        if (cur !== undefined) assert.equal(typeof checkIfRange(ifRange, cur, T + 5000), 'boolean')
      }),
      fuzz(2000),
    )
  })

  test('a date field that is not an HTTP-date is ignored (13.1.3, 13.1.4)', () => {
    fc.assert(
      fc.property(anyMethod, hostileFields, anyCurrent, (m, f, cur) => {
        const without = { ...f }
        if (f.ifModifiedSince !== undefined && parseHttpDate(f.ifModifiedSince) === undefined)
          delete without.ifModifiedSince
        if (f.ifUnmodifiedSince !== undefined && parseHttpDate(f.ifUnmodifiedSince) === undefined)
          delete without.ifUnmodifiedSince
        const strip = (r: PreconditionResult) =>
          r.outcome === 'proceed' ? { outcome: r.outcome } : r
        assert.deepEqual(
          strip(evaluatePreconditions(m, f, cur)),
          strip(evaluatePreconditions(m, without, cur)),
        )
      }),
      fuzz(2000),
    )
  })

  test('an If-Match that is not an entity-tag list never holds (13.1.1)', () => {
    fc.assert(
      fc.property(anyMethod, hostile, anyCurrent, (m, ifMatch, cur) => {
        fc.pre(parseEntityTagList(ifMatch) === undefined)
        assert.deepEqual(evaluatePreconditions(m, { ifMatch }, cur), failed('If-Match'))
      }),
      fuzz(1000),
    )
  })

  test('an If-Range that is neither an entity-tag nor an HTTP-date never honours Range (13.1.5)', () => {
    fc.assert(
      fc.property(hostile, (ifRange) => {
        fc.pre(!/^[ \t]*(W\/)?"/.test(ifRange) && parseHttpDate(ifRange.trim(), T) === undefined)
        assert.equal(checkIfRange(ifRange, current, T + 5000), false)
      }),
      fuzz(1000),
    )
  })
})
