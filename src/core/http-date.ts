/**
 * HTTP-date (RFC 9110 section 5.6.7): formatting in the preferred IMF-fixdate form and parsing of
 * all three forms a recipient must accept.
 *
 *   IMF-fixdate   Sun, 06 Nov 1994 08:49:37 GMT
 *   rfc850-date   Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime-date  Sun Nov  6 08:49:37 1994
 *
 * The grammar is case-sensitive and fixed-width, so the parsers below are positional scanners.
 * Times are milliseconds since the epoch, always whole seconds.
 */

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const
const DAY_NAMES_LONG = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
]
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** The latest instant an IMF-fixdate can express (its year has four digits). */
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59)

/**
 * Formats a time as an IMF-fixdate, dropping the fraction of a second.
 * @example formatHttpDate(784111777000) // 'Sun, 06 Nov 1994 08:49:37 GMT'
 */
export function formatHttpDate(ms: number): string {
  if (Number.isNaN(ms)) throw new RangeError('formatHttpDate: the time is NaN')
  // Clamped to 1970..9999, where V8's toUTCString is exactly the IMF-fixdate form.
  const clamped = Math.min(Math.max(ms, 0), MAX_TIME)
  return new Date(clamped - (clamped % 1000)).toUTCString()
}

/**
 * Drops the fraction of a second: HTTP-dates have whole-second resolution.
 * @example toWholeSeconds(1500) // 1000
 */
export function toWholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000
}

/**
 * Parses any of the three HTTP-date forms. Returns milliseconds since the epoch, or undefined
 * when the value is not a valid HTTP-date (callers then ignore the field, as section 13.1
 * requires for the date-based preconditions).
 * @example parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT') // 784111777000
 */
export function parseHttpDate(value: string, now: number = Date.now()): number | undefined {
  const text = trimOws(value)
  if (text.length === 29 && text.charCodeAt(3) === 0x2c) return parseImfFixdate(text)
  if (text.length === 24 && text.charCodeAt(3) === 0x20) return parseAsctime(text)
  const comma = text.indexOf(',')
  if (comma > 3) return parseRfc850(text, comma, now)
  return undefined
}

/** `Sun, 06 Nov 1994 08:49:37 GMT` */
function parseImfFixdate(s: string): number | undefined {
  if (!DAY_NAMES.includes(s.slice(0, 3) as (typeof DAY_NAMES)[number])) return undefined
  if (s[4] !== ' ' || s[7] !== ' ' || s[11] !== ' ' || s[16] !== ' ' || s[25] !== ' ') {
    return undefined
  }
  if (s.slice(26) !== 'GMT') return undefined
  const day = digits(s, 5, 2)
  const month = MONTHS.indexOf(s.slice(8, 11))
  const year = digits(s, 12, 4)
  return build(year, month, day, timeOfDay(s, 17))
}

/** `Sunday, 06-Nov-94 08:49:37 GMT` */
function parseRfc850(s: string, comma: number, now: number): number | undefined {
  if (!DAY_NAMES_LONG.includes(s.slice(0, comma))) return undefined
  const rest = s.slice(comma + 1)
  // rest: ` 06-Nov-94 08:49:37 GMT`
  if (rest.length !== 23) return undefined
  if (
    rest[0] !== ' ' ||
    rest[3] !== '-' ||
    rest[7] !== '-' ||
    rest[10] !== ' ' ||
    rest[19] !== ' '
  ) {
    return undefined
  }
  if (rest.slice(20) !== 'GMT') return undefined
  const day = digits(rest, 1, 2)
  const month = MONTHS.indexOf(rest.slice(4, 7))
  const twoDigitYear = digits(rest, 8, 2)
  const time = timeOfDay(rest, 11)
  if (twoDigitYear === undefined || day === undefined || month < 0 || time === undefined) {
    return undefined
  }
  const year = resolveTwoDigitYear(twoDigitYear, [month, day, ...time], now)
  return build(year, month, day, time)
}

/** `Sun Nov  6 08:49:37 1994` (the day is space-padded) */
function parseAsctime(s: string): number | undefined {
  if (!DAY_NAMES.includes(s.slice(0, 3) as (typeof DAY_NAMES)[number])) return undefined
  if (s[7] !== ' ' || s[10] !== ' ' || s[19] !== ' ') return undefined
  const month = MONTHS.indexOf(s.slice(4, 7))
  const day = s[8] === ' ' ? digits(s, 9, 1) : digits(s, 8, 2)
  const year = digits(s, 20, 4)
  return build(year, month, day, timeOfDay(s, 11))
}

/**
 * Section 5.6.7: "Recipients of a timestamp value in rfc850-date format, which uses a two-digit
 * year, MUST interpret a timestamp that appears to be more than 50 years in the future as
 * representing the most recent year in the past that had the same last two digits."
 *
 * The timestamp is first read in the nearest year, not before the current one, that ends in
 * those digits; if that instant is more than 50 years after `now` it moves back a century. So
 * every rfc850-date lands in the 100 years that end exactly 50 years from now, whatever the
 * current century's last two digits are. `rest` is month, day, hour, minute, second, compared
 * as a tuple so that no invalid date (29 Feb of a century year) is ever built.
 */
function resolveTwoDigitYear(twoDigits: number, rest: readonly number[], now: number): number {
  const clock = new Date(now)
  const currentYear = clock.getUTCFullYear()
  let year = currentYear - (currentYear % 100) + twoDigits
  if (year < currentYear) year += 100
  const limit = [
    currentYear + 50,
    clock.getUTCMonth(),
    clock.getUTCDate(),
    clock.getUTCHours(),
    clock.getUTCMinutes(),
    clock.getUTCSeconds(),
  ]
  const candidate = [year, ...rest]
  for (let i = 0; i < limit.length; i++) {
    if (candidate[i]! !== limit[i]!) return candidate[i]! > limit[i]! ? year - 100 : year
  }
  return year
}

/** Reads `HH:MM:SS` at `at`; time-of-day allows second 60 (a leap second). */
function timeOfDay(s: string, at: number): [number, number, number] | undefined {
  if (s[at + 2] !== ':' || s[at + 5] !== ':') return undefined
  const hour = digits(s, at, 2)
  const minute = digits(s, at + 3, 2)
  const second = digits(s, at + 6, 2)
  if (hour === undefined || minute === undefined || second === undefined) return undefined
  if (hour > 23 || minute > 59 || second > 60) return undefined
  return [hour, minute, second]
}

/**
 * Validates the calendar date and builds the instant. A leap second is read as the last second
 * of its minute. Years 0 to 99 are taken as written: `Date.UTC` would move them to 1900-1999.
 */
function build(
  year: number | undefined,
  month: number,
  day: number | undefined,
  time: readonly [number, number, number] | undefined,
): number | undefined {
  if (year === undefined || day === undefined || month < 0 || time === undefined) return undefined
  if (day < 1 || day > daysInMonth(year, month)) return undefined
  const instant = new Date(0)
  instant.setUTCFullYear(year, month, day)
  instant.setUTCHours(time[0], time[1], Math.min(time[2], 59), 0)
  return instant.getTime()
}

/** Days in a month of the proleptic Gregorian calendar (`month` from 0). */
function daysInMonth(year: number, month: number): number {
  if (month === 1) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return month === 3 || month === 5 || month === 8 || month === 10 ? 30 : 31
}

/** Reads exactly `count` ASCII digits at `at`, or undefined. */
function digits(s: string, at: number, count: number): number | undefined {
  let n = 0
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i) - 0x30
    if (!(c >= 0 && c <= 9)) return undefined
    n = n * 10 + c
  }
  return n
}

function trimOws(s: string): string {
  let start = 0
  let end = s.length
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--
  return start === 0 && end === s.length ? s : s.slice(start, end)
}
