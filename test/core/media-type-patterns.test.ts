/**
 * Media type patterns (the compressible types): `type/subtype`, `type/*` and `+suffix`,
 * compared without case and without parameters.
 */

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  compilePatterns,
  DEFAULT_COMPRESSIBLE_TYPES,
  matchesMediaType,
  patternProblem,
} from '../../src/core/media-type-patterns.js'
import { contentTypeFor } from '../../src/store/media-types.js'

describe('media type patterns', () => {
  const defaults = compilePatterns(DEFAULT_COMPRESSIBLE_TYPES)
  const cases: [name: string, compressible: boolean][] = [
    ['app.js', true],
    ['app.mjs', true],
    ['style.css', true],
    ['index.html', true],
    ['data.json', true],
    ['feed.xml', true],
    ['logo.svg', true],
    ['module.wasm', true],
    ['app.webmanifest', true],
    ['font.ttf', true],
    ['favicon.ico', true],
    ['notes.md', true],
    ['photo.jpg', false],
    ['image.png', false],
    ['font.woff2', false],
    ['movie.mp4', false],
    ['archive.gz', false],
    ['archive.zip', false],
    ['doc.pdf', false],
    ['unknown.bin', false],
  ]
  for (const [name, compressible] of cases) {
    test(`${name} (${contentTypeFor(name)}) is ${compressible ? '' : 'not '}compressed by default`, () => {
      assert.equal(matchesMediaType(defaults, contentTypeFor(name)), compressible)
    })
  }

  test('case, parameters and suffixes', () => {
    const patterns = compilePatterns(['TEXT/*', 'Application/WASM', '+json'])
    assert.ok(matchesMediaType(patterns, 'text/plain; charset=utf-8'))
    assert.ok(matchesMediaType(patterns, 'Text/CSS'))
    assert.ok(matchesMediaType(patterns, 'application/wasm'))
    assert.ok(matchesMediaType(patterns, 'application/ld+json; profile="x"'))
    assert.ok(!matchesMediaType(patterns, 'application/json'))
    assert.ok(!matchesMediaType(patterns, 'textual/plain'))
    assert.ok(!matchesMediaType(patterns, 'text'))
    assert.ok(!matchesMediaType(compilePatterns([]), 'text/plain'))
  })

  test('a pattern that is none of the three forms is named as such', () => {
    for (const good of ['text/*', 'application/json', '+xml', 'image/svg+xml']) {
      assert.equal(patternProblem(good), undefined, good)
    }
    for (const bad of [
      '',
      'text',
      '*/*',
      'text/',
      '/json',
      'text/plain; charset=utf-8',
      '+',
      'a b/c',
    ]) {
      assert.match(patternProblem(bad) ?? '', /^expected/, JSON.stringify(bad))
    }
  })
})
