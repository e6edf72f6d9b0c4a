/**
 * Every parser that reads a request field takes time linear in its input (no regular
 * expression or loop that backtracks): each gets 1 MiB of its own grammar's worst repetitions,
 * the most a request head can carry with `--max-header-size` at its maximum. A quadratic
 * parser would need minutes for these; a linear one needs milliseconds.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { acceptedCodings } from '../../src/core/accept-encoding.js'
import { parseRange, resolveRanges } from '../../src/core/byte-ranges.js'
import { parseEntityTag, parseEntityTagList } from '../../src/core/entity-tag.js'
import { parseHttpDate } from '../../src/core/http-date.js'
import { checkIfRange, evaluatePreconditions } from '../../src/core/preconditions.js'
import { parseOrigin } from '../../src/core/cors/origin.js'
import { createCorsPolicy } from '../../src/core/cors/policy.js'
import { parseTokenList } from '../../src/core/field-syntax.js'
import { decideWrite } from '../../src/core/write-preconditions.js'
import { parseTarget } from '../../src/http/target.js'

const MIB = 1024 * 1024
/** Generous: a linear pass over 1 MiB takes a few milliseconds even on a slow machine. */
const BUDGET_MS = 1500

const repeat = (unit: string, prefix = '', suffix = '') =>
  prefix + unit.repeat(Math.ceil((MIB - prefix.length - suffix.length) / unit.length)) + suffix

const parsers: [string, (value: string) => unknown, string[]][] = [
  [
    'parseRange + resolveRanges',
    (v) => {
      const specs = parseRange(v)
      return specs && resolveRanges(specs, 10_000, { maxRanges: 64, coalesceGap: 80 })
    },
    [
      repeat(' ', 'bytes='),
      repeat(',', 'bytes='),
      repeat(' ,\t', 'bytes='),
      repeat('0-0,', 'bytes='),
      repeat('1-,', 'bytes='),
      repeat('-1,', 'bytes='),
      repeat('9'),
      repeat('9', 'bytes='),
      repeat('9', 'bytes=', '-'),
      repeat('0', 'bytes=', '-x'),
      repeat('-', 'bytes='),
      repeat('bytes='),
    ],
  ],
  [
    'parseEntityTagList',
    parseEntityTagList,
    [
      repeat('"a",'),
      repeat('"a" ,\t'),
      repeat('W/"a",'),
      repeat('W/'),
      repeat('"'),
      repeat(' '),
      repeat(','),
      repeat('a', '"'),
      repeat('*,'),
      repeat('"a",', '', 'x'),
    ],
  ],
  [
    'acceptedCodings (Accept-Encoding)',
    acceptedCodings,
    [
      repeat('gzip,'),
      repeat('br;q=0.5 , \t'),
      repeat(','),
      repeat(' '),
      repeat(';'),
      repeat('a'),
      repeat('x', '', ';q=0.5'),
      repeat('br;q=0,'),
    ],
  ],
  ['parseEntityTag', parseEntityTag, [repeat('a', '"'), repeat('W/'), repeat(' ', '', '"a"')]],
  [
    'parseHttpDate',
    (v) => parseHttpDate(v, 0),
    [repeat(' '), repeat('0'), repeat('Sun, '), repeat('Mon, 15 Jan 2024 12:00:00 GMT ')],
  ],
  [
    'evaluatePreconditions and checkIfRange',
    (v) => {
      const current = { etag: { weak: false, opaque: 'a' }, lastModified: 0 }
      checkIfRange(v, current, 5000)
      return evaluatePreconditions(
        'GET',
        { ifMatch: v, ifNoneMatch: v, ifModifiedSince: v, ifUnmodifiedSince: v },
        current,
      )
    },
    [repeat('"a",'), repeat('W/"a", '), repeat(' '), repeat('Sun, ')],
  ],
  [
    'decideWrite',
    (v) =>
      decideWrite(
        'PUT',
        { ifMatch: v, ifNoneMatch: v, ifUnmodifiedSince: v },
        { etag: { weak: false, opaque: 'a' }, lastModified: 0 },
        true,
      ),
    [repeat('"a",'), repeat('W/"a", '), repeat(' ')],
  ],
  [
    'parseOrigin',
    parseOrigin,
    [
      repeat('a.', 'https://'),
      repeat('a', 'https://'),
      repeat('-', 'https://a'),
      repeat(':', 'https://[::1'),
      repeat('1', 'https://a:'),
      repeat('/'),
      repeat('a'),
    ],
  ],
  [
    'parseTokenList and a CORS preflight decision',
    (v) => {
      parseTokenList(v)
      const policy = createCorsPolicy({ origins: ['https://*.example.com'], headers: ['x-a'] })
      return policy.decidePreflight(
        {
          origin: `https://${'a.'.repeat(1000)}example.com`,
          method: 'PUT',
          headers: v,
          privateNetwork: false,
        },
        {},
      )
    },
    [repeat('x-a,'), repeat('x-a , \t'), repeat(','), repeat(' '), repeat('x', '', ' y')],
  ],
  [
    'parseTarget',
    parseTarget,
    [
      repeat('/'),
      repeat('a/', '/'),
      repeat('%2e', '/'),
      repeat('%', '/'),
      repeat('%e2%80%ae', '/'),
      repeat('?', '/'),
      repeat('/', 'http://'),
      repeat('a', 'http://'),
    ],
  ],
]

describe('parsers stay linear on 1 MiB of their worst input', () => {
  for (const [name, parse, inputs] of parsers) {
    test(name, () => {
      for (const input of inputs) parse(input.slice(0, 1000)) // warm up
      for (const input of inputs) {
        const started = performance.now()
        parse(input)
        const ms = performance.now() - started
        const shown = JSON.stringify(input.slice(0, 24))
        assert.ok(ms < BUDGET_MS, `${name}(${shown}... ${input.length} chars) took ${ms} ms`)
      }
    })
  }
})
