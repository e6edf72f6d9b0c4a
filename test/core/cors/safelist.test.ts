/**
 * The safelists against the Fetch standard (https://fetch.spec.whatwg.org/, "CORS protocol"
 * and "Headers" sections). The facts below are transcribed from the standard as data, each
 * with the definition it comes from, and compared with sluice's rules over every input: every
 * byte value, every listed name, and random names and values.
 */

import assert from 'node:assert/strict'
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
import { fuzz } from '../../support/fuzz.js'

/** Fetch, "CORS-safelisted method". */
const SAFELISTED_METHODS = ['GET', 'HEAD', 'POST']

/**
 * Fetch, "CORS-unsafe request-header byte": a byte below 0x20 other than HT, or one of these
 * fourteen: " ( ) : < > ? @ [ \ ] { } DEL.
 */
const UNSAFE_DELIMITERS = [
  0x22, 0x28, 0x29, 0x3a, 0x3c, 0x3e, 0x3f, 0x40, 0x5b, 0x5c, 0x5d, 0x7b, 0x7d, 0x7f,
]

/**
 * Fetch, "CORS-safelisted request-header", `accept-language` and `content-language`: digits,
 * ASCII letters, and SP * , - . ; =.
 */
const LANGUAGE_RANGES: readonly (readonly [number, number])[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
]
const LANGUAGE_SINGLES = [0x20, 0x2a, 0x2c, 0x2d, 0x2e, 0x3b, 0x3d]

/** Fetch, "CORS-safelisted request-header", `content-type`: the three MIME type essences. */
const CONTENT_TYPE_ESSENCES = [
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'text/plain',
]

/** Fetch, "CORS-safelisted request-header": the names it switches on; all others are false. */
const SAFELISTED_NAMES = ['accept', 'accept-language', 'content-language', 'content-type', 'range']

/** Fetch, "CORS-safelisted response-header name": the seven names (plus exposed ones). */
const SAFELISTED_RESPONSE_NAMES = [
  'Cache-Control',
  'Content-Language',
  'Content-Length',
  'Content-Type',
  'Expires',
  'Last-Modified',
  'Pragma',
]

describe('Fetch "CORS-safelisted method"', () => {
  test('GET, HEAD and POST, and exactly those, are safelisted', () => {
    for (const m of SAFELISTED_METHODS) assert.ok(isCorsSafelistedMethod(m))
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
  test('matches the standard for all 256 byte values', () => {
    const listed = new Set(UNSAFE_DELIMITERS)
    for (let byte = 0; byte < 256; byte++) {
      const expected = (byte < 0x20 && byte !== 0x09) || listed.has(byte)
      assert.equal(isCorsUnsafeRequestHeaderByte(byte), expected, `byte 0x${byte.toString(16)}`)
    }
  })
})

describe('Fetch "CORS-safelisted request-header"', () => {
  test('a value longer than 128 bytes is never safelisted', () => {
    assert.equal(SAFELISTED_VALUE_LIMIT, 128)
    const long = 'a'.repeat(SAFELISTED_VALUE_LIMIT)
    assert.ok(isCorsSafelistedRequestHeader('Accept', long))
    assert.equal(isCorsSafelistedRequestHeader('Accept', `${long}a`), false)
    assert.ok(isCorsSafelistedRequestHeader('Content-Language', 'en'.repeat(64)))
    assert.equal(isCorsSafelistedRequestHeader('Content-Language', `${'en'.repeat(64)}x`), false)
  })

  test('Accept-Language and Content-Language allow exactly the bytes the standard lists', () => {
    const ranges = LANGUAGE_RANGES
    const singles = new Set(LANGUAGE_SINGLES)
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
    const essences = CONTENT_TYPE_ESSENCES
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
    // Fetch: `range` is safelisted only if "parse a single range header value" succeeds and
    // its start is not null (no suffix range).
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
    const names = SAFELISTED_NAMES
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.string(), (name, value) => {
        fc.pre(!names.includes(name.toLowerCase()))
        return !isCorsSafelistedRequestHeader(name, value)
      }),
      fuzz(),
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
      fuzz(),
    )
  })
})

describe('Fetch "CORS-unsafe request-header names"', () => {
  test('safelisted values adding up to more than 1024 bytes make them all unsafe', () => {
    assert.equal(SAFELISTED_TOTAL_LIMIT, 1024)
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
    const listed = SAFELISTED_RESPONSE_NAMES
    for (const name of listed) assert.ok(isCorsSafelistedResponseHeaderName(name.toLowerCase(), []))
    assert.equal(isCorsSafelistedResponseHeaderName('etag', []), false)
    assert.ok(isCorsSafelistedResponseHeaderName('etag', ['ETag']))
    assert.equal(isCorsSafelistedResponseHeaderName('set-cookie', ['Set-Cookie']), false)
  })
  test('Authorization is the one non-wildcard request-header name', () => {
    // Fetch, "CORS non-wildcard request-header name": `Authorization`.
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
