/**
 * Entity tags, RFC 9110 section 8.8.3, and the lists of If-Match / If-None-Match (sections
 * 13.1.1, 13.1.2 with the list rule of 5.6.1.2). Expectations come from the ABNF, from Table 3
 * of section 8.8.3.2, or from the regular-expression model below.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type EntityTag,
  formatEntityTag,
  isValidOpaque,
  parseEntityTag,
  parseEntityTagList,
  strongMatch,
  weakMatch,
} from '../../src/core/entity-tag.js'
import { fuzz } from '../support/fuzz.js'

const strong = (opaque: string): EntityTag => ({ weak: false, opaque })
const weak = (opaque: string): EntityTag => ({ weak: true, opaque })

// The model, from the ABNF of section 8.8.3 and the recipient list rule of section 5.6.1.2:
//   entity-tag = [ %s"W/" ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / %x80-FF
//   #element   = [ element ] *( OWS "," OWS [ element ] ), inside optional surrounding OWS.
const TAG = String.raw`(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"`
const LIST = new RegExp(String.raw`^[ \t]*(?:${TAG})?(?:[ \t]*,[ \t]*(?:${TAG})?)*[ \t]*$`)
const ONE = new RegExp(String.raw`^[ \t]*${TAG}[ \t]*$`)

function modelTag(text: string): EntityTag {
  const weakTag = text.startsWith('W/')
  return { weak: weakTag, opaque: text.slice(weakTag ? 3 : 1, -1) }
}

function modelList(value: string): '*' | EntityTag[] | undefined {
  if (/^[ \t]*\*[ \t]*$/.test(value)) return '*'
  if (!LIST.test(value)) return undefined
  const tags = [...value.matchAll(new RegExp(TAG, 'g'))].map((m) => modelTag(m[0]))
  return tags.length > 0 ? tags : undefined // 1#entity-tag: empty elements do not count
}

describe('parseEntityTag (RFC 9110 section 8.8.3)', () => {
  const valid: [string, string, EntityTag][] = [
    ['strong tag', '"xyzzy"', strong('xyzzy')],
    ['weak tag', 'W/"xyzzy"', weak('xyzzy')],
    ['empty opaque-tag', '""', strong('')],
    ['weak empty opaque-tag', 'W/""', weak('')],
    ['comma inside the quotes (etagc)', '"a,b"', strong('a,b')],
    [
      'every punctuation etagc',
      '"!#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~"',
      strong("!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    ],
    ['backslash is an ordinary etagc, not an escape', '"a\\"', strong('a\\')],
    ['W inside the quotes', '"W/x"', strong('W/x')],
    ['obs-text octets %x80-FF', '"\x80caf\xe9\xff"', strong('\x80caf\xe9\xff')],
    ['surrounding OWS', ' \t"v1"\t ', strong('v1')],
  ]
  for (const [name, value, expected] of valid) {
    test(`accepts ${name}: ${JSON.stringify(value)}`, () => {
      assert.deepEqual(parseEntityTag(value), expected)
    })
  }

  const invalid: [string, string][] = [
    ['lower-case w/ (weak is %s"W/", case-sensitive)', 'w/"x"'],
    ['space between W/ and the quote', 'W/ "x"'],
    ['W without slash', 'W"x"'],
    ['missing closing quote', '"x'],
    ['missing opening quote', 'x"'],
    ['unquoted', 'xyzzy'],
    ['single quotes', "'x'"],
    ['space inside (not etagc)', '"a b"'],
    ['tab inside', '"a\tb"'],
    ['DEL inside', '"a\x7fb"'],
    ['NUL inside', '"a\x00b"'],
    ['CR LF inside', '"a\r\nb"'],
    ['a character above U+00FF', '"\u0100"'],
    ['escaped quote (opaque-tag is not a quoted-string)', '"a\\"b"'],
    ['trailing characters', '"x"y'],
    ['two tags', '"x" "y"'],
    ['a list', '"x", "y"'],
    ['star', '*'],
    ['empty', ''],
    ['OWS only', ' \t'],
    ['W/ alone', 'W/'],
  ]
  for (const [name, value] of invalid) {
    test(`rejects ${name}: ${JSON.stringify(value)}`, () => {
      assert.equal(parseEntityTag(value), undefined)
    })
  }
})

describe('parseEntityTagList (RFC 9110 sections 13.1.1, 13.1.2, list rule 5.6.1.2)', () => {
  const valid: [string, string, '*' | EntityTag[]][] = [
    ['star', '*', '*'],
    ['star with surrounding OWS', ' \t* ', '*'],
    ['one tag', '"a"', [strong('a')]],
    [
      'the RFC 9110 13.1.1 example list',
      '"xyzzy", "r2d2xxxx", "c3piozzzz"',
      [strong('xyzzy'), strong('r2d2xxxx'), strong('c3piozzzz')],
    ],
    ['weak and strong mixed', 'W/"a", "b",W/"c"', [weak('a'), strong('b'), weak('c')]],
    ['commas inside quotes do not split', '"a,b", "c,,d"', [strong('a,b'), strong('c,,d')]],
    ['no OWS around the comma', '"a","b"', [strong('a'), strong('b')]],
    ['tabs as OWS', '"a"\t,\t"b"', [strong('a'), strong('b')]],
    ['empty elements are ignored', ',"a",, ,"b",', [strong('a'), strong('b')]],
    ['leading empty elements with OWS', ' , ,\t"a"', [strong('a')]],
    ['duplicates are kept', '"a", "a"', [strong('a'), strong('a')]],
    ['empty opaque-tags in a list', '"", W/""', [strong(''), weak('')]],
    ['obs-text in a list', '"\xe9", "\xff"', [strong('\xe9'), strong('\xff')]],
  ]
  for (const [name, value, expected] of valid) {
    test(`accepts ${name}: ${JSON.stringify(value)}`, () => {
      assert.deepEqual(parseEntityTagList(value), expected)
    })
  }

  const invalid: [string, string][] = [
    ['empty (1# needs an element)', ''],
    ['a comma only', ','],
    ['commas and OWS only', ',   ,'],
    ['star mixed with a tag after', '*, "a"'],
    ['star mixed with a tag before', '"a", *'],
    ['two stars', '*, *'],
    ['star star', '**'],
    ['star followed by text', '*a'],
    ['tags separated by space only', '"a" "b"'],
    ['tags separated by semicolon', '"a";"b"'],
    ['an unquoted element', '"a", b'],
    ['an unterminated element', '"a", "b'],
    ['lower-case weak prefix', 'W/"a", w/"b"'],
    ['space inside a tag', '"a b"'],
    ['garbage after the last tag', '"a", "b"c'],
  ]
  for (const [name, value] of invalid) {
    test(`rejects ${name}: ${JSON.stringify(value)}`, () => {
      assert.equal(parseEntityTagList(value), undefined)
    })
  }
})

describe('entity-tag comparison (RFC 9110 section 8.8.3.2, Table 3)', () => {
  // [ETag 1, ETag 2, strong comparison, weak comparison], exactly Table 3.
  const table: [string, string, boolean, boolean][] = [
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', '"1"', true, true],
  ]
  for (const [a, b, strongResult, weakResult] of table) {
    test(`${a} vs ${b}: strong ${strongResult ? 'match' : 'no match'}, weak ${weakResult ? 'match' : 'no match'}`, () => {
      const x = parseEntityTag(a)!
      const y = parseEntityTag(b)!
      assert.equal(strongMatch(x, y), strongResult)
      assert.equal(strongMatch(y, x), strongResult)
      assert.equal(weakMatch(x, y), weakResult)
      assert.equal(weakMatch(y, x), weakResult)
    })
  }
  test('opaque-tags match character by character: no case folding, no trimming', () => {
    assert.equal(weakMatch(strong('a'), strong('A')), false)
    assert.equal(strongMatch(strong('a'), strong('a ')), false)
    assert.equal(strongMatch(strong(''), strong('')), true)
  })
})

describe('formatEntityTag and isValidOpaque (RFC 9110 section 8.8.3)', () => {
  test('formats strong and weak tags', () => {
    assert.equal(formatEntityTag(strong('xyzzy')), '"xyzzy"')
    assert.equal(formatEntityTag(weak('xyzzy')), 'W/"xyzzy"')
    assert.equal(formatEntityTag(strong('')), '""')
  })
  const opaque: [string, boolean][] = [
    ['', true],
    ['abc-123_~!', true],
    ['a,b', true],
    ['\x80\xff', true],
    ['a"b', false],
    ['a b', false],
    ['\x7f', false],
    ['\x1f', false],
    ['\u0100', false],
  ]
  for (const [value, valid] of opaque) {
    test(`isValidOpaque(${JSON.stringify(value)}) is ${valid}`, () => {
      assert.equal(isValidOpaque(value), valid)
    })
  }
})

// ---------------------------------------------------------------------------------------------
// Properties.

const etagc = fc.oneof(
  fc.constant('\x21'),
  fc.integer({ min: 0x23, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
)
const anyTag = fc
  .tuple(fc.boolean(), fc.string({ unit: etagc, maxLength: 12 }))
  .map(([weak, opaque]): EntityTag => ({ weak, opaque }))
const ows = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 })
// Code units that matter to the grammar, plus a few that must never be accepted.
const listChar = fc.constantFrom(...'"W/,* \tab\x21\x23\x7e\x80\xff\x7f\x00\u0100\\'.split(''))

describe('entity-tag properties (fast-check)', () => {
  test('tags are valid opaque-tags, format and parse back equal', () => {
    fc.assert(
      fc.property(anyTag, (tag) => {
        assert.ok(isValidOpaque(tag.opaque))
        assert.deepEqual(parseEntityTag(formatEntityTag(tag)), tag)
      }),
      fuzz(),
    )
  })

  test('lists with random OWS and empty elements parse back to the same tags', () => {
    // Each element is a tag or empty; the separators are OWS "," OWS (section 5.6.1.2).
    const element = fc.option(anyTag, { freq: 4 })
    fc.assert(
      fc.property(
        fc.array(fc.tuple(ows, element, ows), { minLength: 1, maxLength: 8 }),
        ows,
        ows,
        (elements, before, after) => {
          const text =
            before +
            elements.map(([l, tag, r]) => `${l}${tag ? formatEntityTag(tag) : ''}${r}`).join(',') +
            after
          const tags = elements.flatMap(([, tag]) => (tag ? [tag] : []))
          assert.deepEqual(parseEntityTagList(text), tags.length > 0 ? tags : undefined)
        },
      ),
      fuzz(),
    )
  })

  test('random strings: the parsers never throw and agree with the grammar model', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: listChar, maxLength: 24 }), fc.string()), (s) => {
        assert.deepEqual(parseEntityTagList(s), modelList(s))
        const one = parseEntityTag(s)
        assert.deepEqual(one, ONE.test(s) ? modelTag(s.replace(/^[ \t]+|[ \t]+$/g, '')) : undefined)
      }),
      fuzz(2000),
    )
  })
})
