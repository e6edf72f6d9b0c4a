/**
 * The request-target parser (src/http/target.ts), which stands between the network and the
 * filesystem: properties over random and hostile targets (fast-check). Whatever comes in, a
 * path it accepts is a list of plain names, and the Location sluice builds from it is a path on
 * this host.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { formatPath, parseTarget } from '../../src/http/target.js'
import { fuzz } from '../support/fuzz.js'

/** Pieces that matter to a path parser, in every encoding an attacker would try. */
const piece = fc.constantFrom(
  ...[
    '/',
    '//',
    '.',
    '..',
    '...',
    '%2e',
    '%2E',
    '%2e%2e',
    '%252e',
    '%2f',
    '%2F',
    '%252f',
    '%5c',
    '%5C',
    '\\',
    '%00',
    '%0a',
    '%0d',
    '%7f',
    '%c0%ae',
    '%c0%af',
    '%e0%80%ae',
    '%c1%9c',
    '%ff',
    '%',
    '%2',
    '%zz',
    '%25',
    '?',
    '#',
    ';',
    ':',
    '@',
    'a',
    'b.txt',
    'CON',
    'aux.txt',
    '~',
    '%20',
    '+',
    '%e2%80%ae',
  ],
)
const hostileTarget = fc.oneof(
  fc.array(piece, { maxLength: 12 }).map((pieces) => `/${pieces.join('')}`),
  fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join('')),
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.webPath(),
)

describe('parseTarget properties (fast-check)', () => {
  test('never throws; an accepted path is plain names: no empty, dot, slash, backslash or control', () => {
    fc.assert(
      fc.property(hostileTarget, (url) => {
        const target = parseTarget(url)
        if (target.kind !== 'path') return
        for (const segment of target.segments) {
          assert.notEqual(segment, '')
          assert.notEqual(segment, '.')
          assert.notEqual(segment, '..')
          // eslint-disable-next-line no-control-regex -- control characters are what it looks for
          assert.doesNotMatch(segment, /[/\\\x00-\x1f\x7f]/)
        }
      }),
      fuzz(3000),
    )
  })

  test('formatPath of an accepted path parses back to the same names, always on this host', () => {
    fc.assert(
      fc.property(hostileTarget, fc.boolean(), (url, slash) => {
        const target = parseTarget(url)
        if (target.kind !== 'path') return
        const location = formatPath(target.segments, slash)
        assert.ok(location.startsWith('/') && !location.startsWith('//'), location)
        assert.doesNotMatch(location, /[^\x21-\x7e]|\\/)
        const again = parseTarget(location)
        assert.equal(again.kind, 'path')
        if (again.kind === 'path') assert.deepEqual(again.segments, target.segments)
      }),
      fuzz(3000),
    )
  })

  test('percent-decoding happens once: an encoded percent stays a literal percent', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const raw = pieces.join('').replace(/[/?#]/g, '')
        fc.pre(raw !== '')
        // Double-encode everything: the result must decode to the raw text, never further.
        const target = parseTarget(`/${encodeURIComponent(raw)}`)
        if (raw === '.' || raw === '..') return assert.equal(target.kind, 'invalid')
        if (target.kind === 'path') assert.deepEqual(target.segments, [raw])
        else if (target.kind === 'invalid') assert.match(target.reason, /slash|control/)
        else assert.fail(`${raw} parsed as ${target.kind}`)
      }),
      fuzz(2000),
    )
  })
})
