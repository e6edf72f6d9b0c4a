/**
 * HTTP-date, RFC 9110 section 5.6.7. Expected instants come from the RFC's examples or from the
 * independent calendar model below (days-from-civil arithmetic and regular expressions written
 * from the ABNF), never from the implementation's own output.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { formatHttpDate, parseHttpDate, toWholeSeconds } from '../../src/core/http-date.js'
import { fuzz, mutated } from '../support/fuzz.js'

// ---------------------------------------------------------------------------------------------
// The model: the grammar of section 5.6.7 as regular expressions, and a proleptic Gregorian
// calendar done with integer arithmetic (no Date).

const DAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const DAY_L = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

const IMF = new RegExp(
  `^(${DAY.join('|')}), (\\d\\d) (${MON.join('|')}) (\\d{4}) (\\d\\d):(\\d\\d):(\\d\\d) GMT$`,
)
const RFC850 = new RegExp(
  `^(${DAY_L.join('|')}), (\\d\\d)-(${MON.join('|')})-(\\d\\d) (\\d\\d):(\\d\\d):(\\d\\d) GMT$`,
)
const ASCTIME = new RegExp(
  `^(${DAY.join('|')}) (${MON.join('|')}) (\\d\\d| \\d) (\\d\\d):(\\d\\d):(\\d\\d) (\\d{4})$`,
)

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
}

function monthLength(y: number, m: number): number {
  return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m]!
}

/** Days from 1970-01-01 to y-m-d (m from 1), after H. Hinnant's days_from_civil. */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y
  const era = Math.floor(yy / 400)
  const yoe = yy - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/** The inverse: the civil date and weekday (0 = Sunday) of a day number. */
function civilFromDays(z: number): { y: number; m: number; d: number; wd: number } {
  const zz = z + 719468
  const era = Math.floor(zz / 146097)
  const doe = zz - era * 146097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0)
  return { y, m, d, wd: (((z + 4) % 7) + 7) % 7 }
}

type Fields = [year: number, month: number, day: number, h: number, mi: number, s: number]

/** The instant of validated fields (month from 0; second 60 is read as 59), or undefined. */
function instant([y, mo, d, h, mi, s]: Fields): number | undefined {
  if (d < 1 || d > monthLength(y, mo) || h > 23 || mi > 59 || s > 60) return undefined
  return ((daysFromCivil(y, mo + 1, d) * 24 + h) * 60 + mi) * 60_000 + Math.min(s, 59) * 1000
}

function fieldsOf(ms: number): Fields {
  const days = Math.floor(ms / 86_400_000)
  const rest = ms - days * 86_400_000
  const { y, m, d } = civilFromDays(days)
  return [
    y,
    m - 1,
    d,
    Math.floor(rest / 3_600_000),
    Math.floor(rest / 60_000) % 60,
    Math.floor(rest / 1000) % 60,
  ]
}

/** Section 5.6.7's 50-year rule, by search: the one year ending in `yy` whose instant lies in
 *  (now - 50 years, now + 50 years], comparing field tuples so no invalid date is built. */
function rfc850Year(yy: number, rest: number[], now: number): number {
  const [ny, ...nrest] = fieldsOf(now)
  const cmp = (a: number[], b: number[]) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
    return 0
  }
  const found: number[] = []
  for (let y = ny - 150; y <= ny + 150; y++) {
    if (((y % 100) + 100) % 100 !== yy) continue
    const t = [y, ...rest]
    if (cmp(t, [ny - 50, ...nrest]) > 0 && cmp(t, [ny + 50, ...nrest]) <= 0) found.push(y)
  }
  assert.equal(found.length, 1, 'the 100-year window holds exactly one such year')
  return found[0]!
}

function modelParse(value: string, now: number): number | undefined {
  const s = value.replace(/^[ \t]+|[ \t]+$/g, '')
  const num = Number
  let m = IMF.exec(s)
  if (m) return instant([num(m[4]), MON.indexOf(m[3]!), num(m[2]), num(m[5]), num(m[6]), num(m[7])])
  m = RFC850.exec(s)
  if (m) {
    const rest = [MON.indexOf(m[3]!), num(m[2]), num(m[5]), num(m[6]), num(m[7])]
    return instant([rfc850Year(num(m[4]), rest, now), ...rest] as Fields)
  }
  m = ASCTIME.exec(s)
  if (m)
    return instant([
      num(m[7]),
      MON.indexOf(m[2]!),
      num(m[3]!.trim()),
      num(m[4]),
      num(m[5]),
      num(m[6]),
    ])
  return undefined
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

function imf(ms: number): string {
  const [y, mo, d, h, mi, s] = fieldsOf(ms)
  const wd = civilFromDays(Math.floor(ms / 86_400_000)).wd
  return `${DAY[wd]}, ${pad(d)} ${MON[mo]} ${pad(y, 4)} ${pad(h)}:${pad(mi)}:${pad(s)} GMT`
}

function rfc850(ms: number): string {
  const [y, mo, d, h, mi, s] = fieldsOf(ms)
  const wd = civilFromDays(Math.floor(ms / 86_400_000)).wd
  return `${DAY_L[wd]}, ${pad(d)}-${MON[mo]}-${pad(y % 100)} ${pad(h)}:${pad(mi)}:${pad(s)} GMT`
}

function asctime(ms: number): string {
  const [y, mo, d, h, mi, s] = fieldsOf(ms)
  const wd = civilFromDays(Math.floor(ms / 86_400_000)).wd
  return `${DAY[wd]} ${MON[mo]} ${String(d).padStart(2, ' ')} ${pad(h)}:${pad(mi)}:${pad(s)} ${pad(y, 4)}`
}

// The RFC's example instant, Sunday 6 November 1994 08:49:37 UTC, from the model.
const EXAMPLE = instant([1994, 10, 6, 8, 49, 37])!
const NOW = instant([2026, 10, 22, 12, 0, 0])!

describe('HTTP-date model self-check', () => {
  test('the model agrees with the RFC example and with ECMAScript Date', () => {
    assert.equal(EXAMPLE, 784111777000)
    assert.equal(imf(EXAMPLE), 'Sun, 06 Nov 1994 08:49:37 GMT')
    assert.equal(rfc850(EXAMPLE), 'Sunday, 06-Nov-94 08:49:37 GMT')
    assert.equal(asctime(EXAMPLE), 'Sun Nov  6 08:49:37 1994')
    for (const ms of [0, 951782400000, 253402300799000, -62167219200000]) {
      assert.equal(instant(fieldsOf(ms)), ms)
    }
  })
})

describe('parseHttpDate: the three formats of RFC 9110 section 5.6.7', () => {
  const cases: [string, string, number | undefined][] = [
    ['IMF-fixdate example', 'Sun, 06 Nov 1994 08:49:37 GMT', EXAMPLE],
    ['obsolete RFC 850 example', 'Sunday, 06-Nov-94 08:49:37 GMT', EXAMPLE],
    ['asctime example, day space-padded', 'Sun Nov  6 08:49:37 1994', EXAMPLE],
    ['asctime with a two-digit day (date3 allows 2DIGIT)', 'Sun Nov 06 08:49:37 1994', EXAMPLE],
    [
      'asctime with a two-digit day above 9',
      'Thu Nov 10 08:49:37 1994',
      instant([1994, 10, 10, 8, 49, 37]),
    ],
    ['IMF-fixdate at the epoch', 'Thu, 01 Jan 1970 00:00:00 GMT', 0],
    ['IMF-fixdate at the last second of 9999', 'Fri, 31 Dec 9999 23:59:59 GMT', 253402300799000],
    [
      'IMF-fixdate before the epoch',
      'Sat, 01 Jan 1966 00:00:00 GMT',
      instant([1966, 0, 1, 0, 0, 0]),
    ],
    [
      'IMF-fixdate in year 0094 stays in year 94',
      'Sat, 06 Nov 0094 08:49:37 GMT',
      instant([94, 10, 6, 8, 49, 37]),
    ],
    [
      'IMF-fixdate 29 Feb 0000 (a leap year)',
      'Tue, 29 Feb 0000 00:00:00 GMT',
      instant([0, 1, 29, 0, 0, 0]),
    ],
    ['asctime in year 0001', 'Mon Jan  1 00:00:00 0001', instant([1, 0, 1, 0, 0, 0])],
    ['29 Feb of a leap year', 'Tue, 29 Feb 2000 12:00:00 GMT', instant([2000, 1, 29, 12, 0, 0])],
    [
      'leap second 23:59:60 reads as 23:59:59',
      'Sat, 31 Dec 2016 23:59:60 GMT',
      instant([2016, 11, 31, 23, 59, 59]),
    ],
    [
      'surrounding OWS is not part of a field value (5.5)',
      ' \tSun, 06 Nov 1994 08:49:37 GMT\t ',
      EXAMPLE,
    ],
  ]
  for (const [name, value, expected] of cases) {
    test(`accepts ${name}: ${JSON.stringify(value)}`, () => {
      assert.notEqual(expected, undefined)
      assert.equal(parseHttpDate(value, NOW), expected)
    })
  }
})

describe('parseHttpDate rejects what section 5.6.7 does not define', () => {
  const invalid: [string, string][] = [
    // Case sensitivity: "HTTP-date is case sensitive".
    ['lower-case day-name', 'sun, 06 Nov 1994 08:49:37 GMT'],
    ['upper-case day-name', 'SUN, 06 Nov 1994 08:49:37 GMT'],
    ['lower-case month', 'Sun, 06 nov 1994 08:49:37 GMT'],
    ['lower-case GMT', 'Sun, 06 Nov 1994 08:49:37 gmt'],
    ['lower-case long day-name', 'sunday, 06-Nov-94 08:49:37 GMT'],
    ['upper-case asctime month', 'Sun NOV  6 08:49:37 1994'],
    // Calendar and clock.
    ['30 February', 'Mon, 30 Feb 2015 00:00:00 GMT'],
    ['29 February of a common year', 'Sun, 29 Feb 2015 00:00:00 GMT'],
    ['29 February 1900 (century, not leap)', 'Thu, 29 Feb 1900 00:00:00 GMT'],
    ['31 April', 'Fri, 31 Apr 2015 00:00:00 GMT'],
    ['day 00', 'Sun, 00 Nov 1994 08:49:37 GMT'],
    ['day 32', 'Sun, 32 Jan 1994 08:49:37 GMT'],
    ['hour 24', 'Sun, 06 Nov 1994 24:00:00 GMT'],
    ['minute 60', 'Sun, 06 Nov 1994 08:60:37 GMT'],
    ['second 61', 'Sun, 06 Nov 1994 08:49:61 GMT'],
    ['rfc850 31 June', 'Tuesday, 31-Jun-94 08:49:37 GMT'],
    ['asctime day 0', 'Sun Nov  0 08:49:37 1994'],
    ['asctime hour 24', 'Sun Nov  6 24:49:37 1994'],
    // Names.
    ['unknown day-name', 'Sux, 06 Nov 1994 08:49:37 GMT'],
    ['long day-name in IMF-fixdate', 'Sunday, 06 Nov 1994 08:49:37 GMT'],
    ['short day-name in rfc850-date', 'Sun, 06-Nov-94 08:49:37 GMT'],
    ['misspelt long day-name', 'Sundy, 06-Nov-94 08:49:37 GMT'],
    ['full month name', 'Sun, 06 November 1994 08:49:37 GMT'],
    ['unknown month', 'Sun, 06 Nox 1994 08:49:37 GMT'],
    ['UTC instead of GMT', 'Sun, 06 Nov 1994 08:49:37 UTC'],
    ['numeric zone', 'Sun, 06 Nov 1994 08:49:37 +0000'],
    // Widths.
    ['one-digit day in IMF-fixdate', 'Sun, 6 Nov 1994 08:49:37 GMT'],
    ['two-digit year in IMF-fixdate', 'Sun, 06 Nov 94 08:49:37 GMT'],
    ['five-digit year', 'Sun, 06 Nov 19940 08:49:37 GMT'],
    ['one-digit hour', 'Sun, 06 Nov 1994 8:49:37 GMT'],
    ['four-digit year in rfc850-date', 'Sunday, 06-Nov-1994 08:49:37 GMT'],
    ['one-digit day in rfc850-date', 'Sunday, 6-Nov-94 08:49:37 GMT'],
    ['asctime day not padded', 'Sun Nov 6 08:49:37 1994'],
    ['asctime day zero-and-space', 'Sun Nov 6  08:49:37 1994'],
    ['asctime two-digit year', 'Sun Nov  6 08:49:37 94'],
    ['fraction of a second', 'Sun, 06 Nov 1994 08:49:37.5 GMT'],
    // Whitespace and punctuation inside.
    ['double space after the comma', 'Sun,  06 Nov 1994 08:49:37 GMT'],
    ['double space before GMT', 'Sun, 06 Nov 1994 08:49:37  GMT'],
    ['tab for a space', 'Sun, 06\tNov 1994 08:49:37 GMT'],
    ['no comma', 'Sun 06 Nov 1994 08:49:37 GMT'],
    ['no space after the comma', 'Sun,06 Nov 1994 08:49:37 GMT'],
    ['dashes in IMF-fixdate', 'Sun, 06-Nov-1994 08:49:37 GMT'],
    ['dots for colons', 'Sun, 06 Nov 1994 08.49.37 GMT'],
    ['rfc850 spaces for dashes', 'Sunday, 06 Nov 94 08:49:37 GMT'],
    ['asctime with GMT', 'Sun Nov  6 08:49:37 1994 GMT'],
    ['asctime with a comma', 'Sun, Nov  6 08:49:37 1994'],
    ['trailing garbage', 'Sun, 06 Nov 1994 08:49:37 GMTx'],
    ['two dates (a list)', 'Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT'],
    ['ISO 8601', '1994-11-06T08:49:37Z'],
    ['a number', '784111777'],
    ['empty', ''],
    ['whitespace only', ' \t '],
    ['full-width digits', 'Sun, ０6 Nov 1994 08:49:37 GMT'],
    ['CR LF inside', 'Sun, 06 Nov 1994\r\n08:49:37 GMT'],
  ]
  for (const [name, value] of invalid) {
    test(`rejects ${name}: ${JSON.stringify(value)}`, () => {
      assert.equal(parseHttpDate(value, NOW), undefined)
    })
  }
})

describe('rfc850-date two-digit years (RFC 9110 section 5.6.7, 50-year rule)', () => {
  // [name, now, value, expected year]
  const at = (y: number, mo = 0, d = 1, h = 0) => instant([y, mo, d, h, 0, 0])!
  const cases: [string, number, string, number][] = [
    ['94 in 2026 is in the past century', NOW, 'Sunday, 06-Nov-94 08:49:37 GMT', 1994],
    ['26 in 2026 is this year', NOW, 'Thursday, 01-Jan-26 00:00:00 GMT', 2026],
    ['25 in 2026 is last year', NOW, 'Wednesday, 01-Jan-25 00:00:00 GMT', 2025],
    ['27 in 2026 is next year', NOW, 'Friday, 01-Jan-27 00:00:00 GMT', 2027],
    [
      '76, exactly 50 years ahead, stays in the future',
      at(2026, 0, 1),
      'Wednesday, 01-Jan-76 00:00:00 GMT',
      2076,
    ],
    [
      '76, one second more than 50 years ahead, is in the past',
      at(2026, 0, 1),
      'Thursday, 01-Jan-76 00:00:01 GMT',
      1976,
    ],
    [
      '76 in December when now is November is more than 50 years ahead',
      NOW,
      'Friday, 31-Dec-76 08:49:37 GMT',
      1976,
    ],
    ['77 in 2026 is in the past century', NOW, 'Saturday, 01-Jan-77 00:00:00 GMT', 1977],
    ['00 in 2026 is 2000, not 2100', NOW, 'Saturday, 01-Jan-00 00:00:00 GMT', 2000],
    [
      '29 Feb 00 in 2026 is 2000 (2100 would not be a leap year)',
      NOW,
      'Tuesday, 29-Feb-00 00:00:00 GMT',
      2000,
    ],
    [
      '10 in 2080 is 2110, 30 years ahead, not 2010',
      at(2080, 5, 1),
      'Thursday, 06-Nov-10 08:49:37 GMT',
      2110,
    ],
    [
      '30 in 2080 is 2130, 50 years ahead to the day',
      at(2080, 5, 1),
      'Thursday, 01-Jun-30 00:00:00 GMT',
      2130,
    ],
    [
      '31 in 2080 is 2031, as 2131 is more than 50 years ahead',
      at(2080, 5, 1),
      'Wednesday, 01-Jan-31 00:00:00 GMT',
      2031,
    ],
    ['99 in 2099 is this year', at(2099, 5, 1), 'Thursday, 01-Jan-99 00:00:00 GMT', 2099],
    ['49 in 1999 is 2049', at(1999, 5, 1), 'Friday, 01-Jan-49 00:00:00 GMT', 2049],
    ['50 in 1999 is 1950', at(1999, 5, 1), 'Sunday, 01-Jan-50 00:00:00 GMT', 1950],
  ]
  for (const [name, now, value, year] of cases) {
    test(name, () => {
      const got = parseHttpDate(value, now)
      assert.notEqual(got, undefined)
      assert.equal(fieldsOf(got!)[0], year)
      assert.equal(got, modelParse(value, now))
    })
  }
  test('29-Feb-00 read as a century year that is not a leap year would be invalid', () => {
    // In 2060 the window is (2010, 2110]: 00 is 2100, which has no 29 February.
    assert.equal(parseHttpDate('Monday, 29-Feb-00 00:00:00 GMT', at(2060, 0, 1)), undefined)
  })
})

describe('formatHttpDate: IMF-fixdate (RFC 9110 section 5.6.7)', () => {
  const cases: [string, number, string][] = [
    ['the RFC example', EXAMPLE, 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['drops the fraction of a second', EXAMPLE + 999, 'Sun, 06 Nov 1994 08:49:37 GMT'],
    [
      'pads day, hour, minute, second',
      instant([2001, 1, 3, 4, 5, 6])!,
      'Sat, 03 Feb 2001 04:05:06 GMT',
    ],
    ['the epoch', 0, 'Thu, 01 Jan 1970 00:00:00 GMT'],
    ['clamps a time before the epoch to the epoch', -5000, 'Thu, 01 Jan 1970 00:00:00 GMT'],
    ['clamps beyond year 9999', 253402300800000 + 86_400_000, 'Fri, 31 Dec 9999 23:59:59 GMT'],
    ['clamps +Infinity', Number.POSITIVE_INFINITY, 'Fri, 31 Dec 9999 23:59:59 GMT'],
  ]
  for (const [name, ms, expected] of cases) {
    test(`${name}: ${expected}`, () => assert.equal(formatHttpDate(ms), expected))
  }
  test('refuses NaN rather than writing "Invalid Date" into a field', () => {
    assert.throws(() => formatHttpDate(Number.NaN), RangeError)
  })
  test('toWholeSeconds floors to the second, also before the epoch', () => {
    assert.equal(toWholeSeconds(EXAMPLE + 999), EXAMPLE)
    assert.equal(toWholeSeconds(EXAMPLE), EXAMPLE)
    assert.equal(toWholeSeconds(-1), -1000)
  })
})

// ---------------------------------------------------------------------------------------------
// Properties.

const MIN_MS = 0
const MAX_MS = 253402300799000 // Fri, 31 Dec 9999 23:59:59 GMT
const anyInstant = fc.integer({ min: MIN_MS / 1000, max: MAX_MS / 1000 }).map((s) => s * 1000)
const anySubSecond = fc.integer({ min: MIN_MS, max: MAX_MS + 999 })
const YEARS_49 = 49 * 365 * 86_400_000

// Code units up to U+02FF: controls, obs-text and a little beyond what a header can carry.
const latin1AndBeyond = fc.integer({ min: 0, max: 0x2ff }).map((c) => String.fromCharCode(c))

describe('HTTP-date properties (fast-check)', () => {
  test('formatHttpDate writes what the model writes, and every instant round-trips', () => {
    fc.assert(
      fc.property(anySubSecond, (ms) => {
        const whole = Math.floor(ms / 1000) * 1000
        const text = formatHttpDate(ms)
        assert.equal(text, imf(whole))
        assert.equal(parseHttpDate(text), whole)
      }),
      fuzz(),
    )
  })

  test('IMF-fixdate and asctime-date of any instant in 0000-9999 parse to that second', () => {
    const anyYear = fc.integer({ min: -62167219200, max: MAX_MS / 1000 }).map((s) => s * 1000)
    fc.assert(
      fc.property(anyYear, (ms) => {
        assert.equal(parseHttpDate(imf(ms), NOW), ms)
        assert.equal(parseHttpDate(asctime(ms), NOW), ms)
      }),
      fuzz(),
    )
  })

  test('rfc850-date of an instant within 49 years of now parses to that second', () => {
    fc.assert(
      fc.property(
        anyInstant.filter((ms) => ms > YEARS_49 && ms < MAX_MS - YEARS_49),
        fc.integer({ min: -YEARS_49, max: YEARS_49 }),
        (now, offset) => {
          const ms = Math.floor((now + offset) / 1000) * 1000
          assert.equal(parseHttpDate(rfc850(ms), now), ms)
        },
      ),
      fuzz(),
    )
  })

  test('rfc850-date of any instant follows the 50-year window of the model', () => {
    fc.assert(
      fc.property(anyInstant, anyInstant, (ms, now) => {
        const text = rfc850(ms)
        assert.equal(parseHttpDate(text, now), modelParse(text, now))
      }),
      fuzz(),
    )
  })

  // Strings close to valid dates: a valid date of each form with a few characters replaced,
  // inserted or deleted. The implementation must agree with the regular-expression model.
  const nearDate = mutated(
    fc.tuple(anyInstant, fc.constantFrom(imf, rfc850, asctime)).map(([ms, form]) => form(ms)),
    '0123456789 \t,:-GMTSunMonNovDecday\x00é',
    { min: 0 },
  )

  test('near-valid strings: parseHttpDate agrees with the grammar model', () => {
    fc.assert(
      fc.property(nearDate, (s) => {
        assert.equal(parseHttpDate(s, NOW), modelParse(s, NOW))
      }),
      fuzz(2000),
    )
  })

  test('random strings never throw and never yield NaN or a fraction of a second', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: latin1AndBeyond }), nearDate), (s) => {
        const got = parseHttpDate(s, NOW)
        if (got !== undefined) {
          assert.ok(Number.isInteger(got / 1000), `${JSON.stringify(s)} gave ${got}`)
        }
        assert.equal(got, modelParse(s, NOW))
      }),
      fuzz(1000),
    )
  })
})
