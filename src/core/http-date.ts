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
  // Clamped to 1970..9999, where V8's toUTCString is exactly the IMF-fixdate form.
  const clamped = Math.min(Math.max(ms, 0), MAX_TIME)
  return new Date(clamped - (clamped % 1000)).toUTCString()
}

/** Drops the fraction of a second: HTTP-dates have whole-second resolution. */
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
  return build(year, month, day, s, 17)
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
  if (twoDigitYear === undefined) return undefined
  return build(resolveTwoDigitYear(twoDigitYear, now), month, day, rest, 11)
}

/** `Sun Nov  6 08:49:37 1994` (the day is space-padded) */
function parseAsctime(s: string): number | undefined {
  if (!DAY_NAMES.includes(s.slice(0, 3) as (typeof DAY_NAMES)[number])) return undefined
  if (s[7] !== ' ' || s[10] !== ' ' || s[19] !== ' ') return undefined
  const month = MONTHS.indexOf(s.slice(4, 7))
  const day = s[8] === ' ' ? digits(s, 9, 1) : digits(s, 8, 2)
  const year = digits(s, 20, 4)
  return build(year, month, day, s, 11)
}

/**
 * Section 5.6.7: a two-digit year that appears to be more than 50 years in the future is the
 * most recent past year with the same last two digits.
 */
function resolveTwoDigitYear(twoDigits: number, now: number): number {
  const currentYear = new Date(now).getUTCFullYear()
  let year = currentYear - (currentYear % 100) + twoDigits
  if (year > currentYear + 50) year -= 100
  return year
}

/** Validates the calendar fields and the `HH:MM:SS` at `timeAt`, then builds the instant. */
function build(
  year: number | undefined,
  month: number,
  day: number | undefined,
  s: string,
  timeAt: number,
): number | undefined {
  if (year === undefined || day === undefined || month < 0) return undefined
  if (s[timeAt + 2] !== ':' || s[timeAt + 5] !== ':') return undefined
  const hour = digits(s, timeAt, 2)
  const minute = digits(s, timeAt + 3, 2)
  const second = digits(s, timeAt + 6, 2)
  if (hour === undefined || minute === undefined || second === undefined) return undefined
  // time-of-day allows second 60 (a leap second); it is read as the last second of the minute.
  if (hour > 23 || minute > 59 || second > 60) return undefined
  if (day < 1 || day > daysInMonth(year, month)) return undefined
  return Date.UTC(year, month, day, hour, minute, Math.min(second, 59))
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate()
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
