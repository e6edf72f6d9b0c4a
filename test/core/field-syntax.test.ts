/**
 * Tokens and lists (RFC 9110 5.6.1, 5.6.2), which the CORS layer reads from
 * Access-Control-Request-Method and -Headers: properties over hostile strings (fast-check).
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { isToken, parseTokenList, splitList } from '../../src/core/field-syntax.js'
import { fuzz } from '../support/fuzz.js'

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const listChar = fc.constantFrom(...'aZ9-_!~, \t;"()/\\:=@\x00\x7f\x80\xff\u0100'.split(''))
const hostile = fc.oneof(
  fc.string({ unit: listChar, maxLength: 30 }),
  fc.string(),
  fc.string({ unit: fc.integer({ min: 0, max: 0x2ff }).map((c) => String.fromCharCode(c)) }),
)

describe('token and list properties (fast-check)', () => {
  test('isToken is exactly the tchar grammar', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        assert.equal(isToken(s), TOKEN.test(s))
      }),
      fuzz(2000),
    )
  })

  test('splitList: elements are non-empty, trimmed of OWS, free of commas, in order', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const items = splitList(s)
        for (const item of items) {
          assert.ok(item.length > 0)
          assert.doesNotMatch(item, /^[ \t]|[ \t]$|,/)
        }
        assert.deepEqual(
          items,
          s
            .split(',')
            .map((e) => e.replace(/^[ \t]+|[ \t]+$/g, ''))
            .filter((e) => e !== ''),
        )
      }),
      fuzz(2000),
    )
  })

  test('parseTokenList accepts a list exactly when every element is a token', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const items = splitList(s)
        const parsed = parseTokenList(s)
        if (items.every((item) => TOKEN.test(item))) assert.deepEqual(parsed, items)
        else assert.equal(parsed, undefined)
      }),
      fuzz(2000),
    )
  })
})
