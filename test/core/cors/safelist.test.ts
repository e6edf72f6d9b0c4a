/**
 * The safelists against the Fetch standard's own text (test/fixtures/fetch-standard), so a
 * rule typed wrongly here cannot agree with itself: the byte sets, method list, MIME essences and
 * limits are read out of the standard's prose and compared over every input.
 */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  corsUnsafeRequestHeaderNames,
  isCorsSafelistedMethod,
  isCorsSafelistedRequestHeader,
  isCorsSafelistedResponseHeaderName,
  isCorsUnsafeRequestHeaderByte,
  isForbiddenRequestHeader,
  isNonWildcardRequestHeaderName,
  mimeEssence,
  normalizeMethod,
  parseSingleRange,
  SAFELISTED_TOTAL_LIMIT,
  SAFELISTED_VALUE_LIMIT,
} from '../../../src/core/cors/safelist.js'
import { PROJECT_ROOT } from '../../support/server.js'

const STANDARD = readFileSync(
  join(PROJECT_ROOT, 'test/fixtures/fetch-standard/safelists.bs'),
  'utf8',
)

/** The text between a definition and the next `</div>` or blank-line paragraph end. */
function section(start: string, end: string): string {
  const from = STANDARD.indexOf(start)
  assert.ok(from >= 0, `the excerpt has "${start}"`)
  const to = STANDARD.indexOf(end, from + start.length)
  return STANDARD.slice(from, to === -1 ? undefined : to)
}

function hexBytes(text: string): number[] {
  return [...text.matchAll(/0x([0-9A-F]{2})/g)].map((m) => Number.parseInt(m[1]!, 16))
}

/** `<code>X</code>` items of a passage. */
function codes(text: string): string[] {
  return [...text.matchAll(/<code>([^<]+)<\/code>/g)].map((m) => m[1]!)
}

describe('Fetch "CORS-safelisted method"', () => {
  const listed = codes(section('CORS-safelisted method</dfn>', '\n\n'))
  test('the standard lists GET, HEAD and POST, and exactly those are safelisted', () => {
    assert.deepEqual(listed, ['GET', 'HEAD', 'POST'])
    for (const m of listed) assert.ok(isCorsSafelistedMethod(m))
    for (const m of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'get', 'post', 'CONNECT']) {
      assert.equal(isCorsSafelistedMethod(m), false, m)
    }
  })
  test('normalize upper-cases the six methods and keeps others as written', () => {
    assert.equal(normalizeMethod('put'), 'PUT')
    assert.equal(normalizeMethod('Delete'), 'DELETE')
    assert.equal(normalizeMethod('patch'), 'patch')
  })
})

describe('Fetch "CORS-unsafe request-header byte"', () => {
  const text = section('CORS-unsafe request-header byte</dfn>', '</div>')
  const [controls, delimiters] = text.split('<li>').slice(1) as [string, string]
  test('matches the standard for all 256 byte values', () => {
    assert.match(controls, /less than 0x20 and is not 0x09 HT/)
    const listed = new Set(hexBytes(delimiters))
    assert.equal(listed.size, 14)
    for (let byte = 0; byte < 256; byte++) {
      const expected = (byte < 0x20 && byte !== 0x09) || listed.has(byte)
      assert.equal(isCorsUnsafeRequestHeaderByte(byte), expected, `byte 0x${byte.toString(16)}`)
    }
  })
})

describe('Fetch "CORS-safelisted request-header"', () => {
  const text = section('CORS-safelisted request-header</dfn>', '</div>')

  test(`a value longer than ${SAFELISTED_VALUE_LIMIT} bytes is never safelisted`, () => {
    assert.match(text, new RegExp(`length</a> is greater than ${SAFELISTED_VALUE_LIMIT}`))
    const long = 'a'.repeat(SAFELISTED_VALUE_LIMIT)
    assert.ok(isCorsSafelistedRequestHeader('Accept', long))
    assert.equal(isCorsSafelistedRequestHeader('Accept', `${long}a`), false)
    assert.ok(isCorsSafelistedRequestHeader('Content-Language', 'en'.repeat(64)))
    assert.equal(isCorsSafelistedRequestHeader('Content-Language', `${'en'.repeat(64)}x`), false)
  })

  test('Accept-Language and Content-Language allow exactly the bytes the standard lists', () => {
    const passage = section('<dt>`<code>accept-language</code>`', '<dt>`<code>content-type')
    const ranges = [...passage.matchAll(/range (0x[0-9A-F]{2}) \(.\) to\s+(0x[0-9A-F]{2})/g)].map(
      (m) => [Number(m[1]), Number(m[2])] as const,
    )
    assert.equal(ranges.length, 3)
    const singles = new Set(hexBytes(passage.slice(passage.indexOf('is not 0x20'))))
    assert.equal(singles.size, 7)
    for (let byte = 0; byte < 256; byte++) {
      const expected = ranges.some(([a, b]) => byte >= a && byte <= b) || singles.has(byte)
      const value = `en${String.fromCharCode(byte)}`
      for (const name of ['Accept-Language', 'content-language']) {
        assert.equal(
          isCorsSafelistedRequestHeader(name, value),
          expected,
          `${name} 0x${byte.toString(16)}`,
        )
      }
    }
  })

  test('Content-Type: exactly the three essences the standard names, parameters ignored', () => {
    const passage = section('<dt>`<code>content-type</code>`', '<p class=warning>')
    const essences = codes(passage).filter((c) => c.includes('/'))
    assert.deepEqual(essences, [
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      'text/plain',
    ])
    for (const essence of essences) {
      assert.ok(isCorsSafelistedRequestHeader('Content-Type', essence))
      assert.ok(
        isCorsSafelistedRequestHeader('content-type', `${essence.toUpperCase()}; charset=utf-8`),
      )
      assert.ok(isCorsSafelistedRequestHeader('Content-Type', ` ${essence} ;a=b`))
    }
    for (const value of [
      'application/json',
      'text/plain2',
      'text/html',
      'text/plain; charset="utf-8"', // `"` is a CORS-unsafe byte
      'text /plain',
      '/plain',
      'text/',
      'text/plain\x00',
    ]) {
      assert.equal(isCorsSafelistedRequestHeader('Content-Type', value), false, value)
    }
  })

  test('Range: a single bytes=start-[end], never a suffix range, no whitespace', () => {
    assert.match(STANDARD, /rangeValue<\/var>\[0\] is null, then return false/)
    for (const ok of ['bytes=0-', 'bytes=0-499', 'bytes=500-500']) {
      assert.ok(isCorsSafelistedRequestHeader('Range', ok), ok)
    }
    for (const no of [
      'bytes=-500',
      'bytes=5-1',
      'bytes= 0-1',
      'bytes=0-1,2-3',
      'Bytes=0-',
      'bytes=-',
    ]) {
      assert.equal(isCorsSafelistedRequestHeader('Range', no), false, no)
    }
    assert.deepEqual(parseSingleRange('bytes=-500'), { start: null, end: 500 })
  })

  test('every other name is not safelisted, whatever its value', () => {
    const names = codes(section('switch on the result', '<dt>Otherwise')).filter((c) =>
      /^[a-z-]+$/.test(c),
    )
    assert.deepEqual(names, [
      'accept',
      'accept-language',
      'content-language',
      'content-type',
      'range',
    ])
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.string(), (name, value) => {
        fc.pre(!names.includes(name.toLowerCase()))
        return !isCorsSafelistedRequestHeader(name, value)
      }),
    )
  })

  test('Accept: any value without an unsafe byte, up to the limit', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (value) => {
        const bytes = [...value].map((c) => c.charCodeAt(0))
        const expected =
          value.length <= SAFELISTED_VALUE_LIMIT &&
          bytes.every((b) => b <= 0xff && !isCorsUnsafeRequestHeaderByte(b))
        return isCorsSafelistedRequestHeader('Accept', value) === expected
      }),
    )
  })
})

describe('Fetch "CORS-unsafe request-header names"', () => {
  test(`safelisted values adding up to more than ${SAFELISTED_TOTAL_LIMIT} bytes make them all unsafe`, () => {
    assert.match(
      STANDARD,
      new RegExp(`safelistValueSize</var> is greater than ${SAFELISTED_TOTAL_LIMIT}`),
    )
    const v = 'a'.repeat(128)
    const eight = Array.from(
      { length: 8 },
      (_, i) => [i % 2 ? 'Accept' : 'Accept-Language', v] as const,
    )
    assert.deepEqual(corsUnsafeRequestHeaderNames(eight), [])
    assert.deepEqual(corsUnsafeRequestHeaderNames([...eight, ['Content-Language', 'x']]), [
      'accept',
      'accept-language',
      'content-language',
    ])
  })
  test('sorted, lower-cased, without duplicates', () => {
    assert.deepEqual(
      corsUnsafeRequestHeaderNames([
        ['X-B', '1'],
        ['x-a', '1'],
        ['X-B', '2'],
        ['Content-Type', 'application/json'],
        ['Accept', 'text/html'],
      ]),
      ['content-type', 'x-a', 'x-b'],
    )
  })
})

describe('response-header names and other lists', () => {
  test('CORS-safelisted response-header names are the seven the standard lists', () => {
    const listed = codes(section('CORS-safelisted response-header name</dfn>', '</ul>'))
    assert.equal(listed.length, 7)
    for (const name of listed) assert.ok(isCorsSafelistedResponseHeaderName(name.toLowerCase(), []))
    assert.equal(isCorsSafelistedResponseHeaderName('etag', []), false)
    assert.ok(isCorsSafelistedResponseHeaderName('etag', ['ETag']))
    assert.equal(isCorsSafelistedResponseHeaderName('set-cookie', ['Set-Cookie']), false)
  })
  test('Authorization is the one non-wildcard request-header name', () => {
    assert.match(
      STANDARD,
      /CORS non-wildcard request-header name<\/dfn>[\s\S]*?<code>Authorization<\/code>/,
    )
    assert.ok(isNonWildcardRequestHeaderName('AUTHORIZATION'))
    assert.equal(isNonWildcardRequestHeaderName('x-authorization'), false)
  })
  test('forbidden request-headers: listed names, proxy- and sec- prefixes, method overrides', () => {
    for (const name of ['Cookie', 'origin', 'Sec-Fetch-Mode', 'Proxy-Authorization', 'Host']) {
      assert.ok(isForbiddenRequestHeader(name, 'x'), name)
    }
    assert.ok(isForbiddenRequestHeader('X-HTTP-Method-Override', 'GET, TRACE'))
    assert.equal(isForbiddenRequestHeader('X-HTTP-Method-Override', 'PUT'), false)
    assert.equal(isForbiddenRequestHeader('X-Custom', 'v'), false)
  })
  test('mimeEssence follows "parse a MIME type"', () => {
    assert.equal(mimeEssence(' Text/Plain ; charset=x'), 'text/plain')
    assert.equal(mimeEssence('text'), undefined)
    assert.equal(mimeEssence('te xt/plain'), undefined)
  })
})
