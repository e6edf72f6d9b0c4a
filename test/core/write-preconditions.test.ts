import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { ConditionalFields, CurrentValidators } from '../../src/core/preconditions.js'
import { decideWrite, type WriteDecision } from '../../src/core/write-preconditions.js'
import { fuzz } from '../support/fuzz.js'
import { BAD_DATES, BAD_TAG_LISTS, ODD_DATES, ODD_TAG_LISTS } from '../support/hostile.js'

const FILE: CurrentValidators = {
  etag: { weak: false, opaque: 'v1' },
  lastModified: Date.UTC(2020, 5, 1, 12, 0, 0),
}

/** [what, fields, current, requireValidator, expected] */
const CASES: [string, ConditionalFields, CurrentValidators | undefined, boolean, WriteDecision][] =
  [
    ['no preconditions', {}, FILE, false, { outcome: 'proceed', checked: [] }],
    [
      'If-Match holds',
      { ifMatch: '"v1"' },
      FILE,
      false,
      { outcome: 'proceed', checked: ['If-Match'] },
    ],
    [
      'If-Match stale (13.1.1)',
      { ifMatch: '"v0"' },
      FILE,
      false,
      { outcome: 'failed', field: 'If-Match' },
    ],
    [
      'If-Match weak (strong comparison)',
      { ifMatch: 'W/"v1"' },
      FILE,
      false,
      { outcome: 'failed', field: 'If-Match' },
    ],
    [
      'If-Match * on nothing',
      { ifMatch: '*' },
      undefined,
      false,
      { outcome: 'failed', field: 'If-Match' },
    ],
    [
      'If-Match malformed fails closed',
      { ifMatch: 'v1' },
      FILE,
      false,
      { outcome: 'failed', field: 'If-Match' },
    ],
    [
      'If-None-Match * on a file (13.1.2)',
      { ifNoneMatch: '*' },
      FILE,
      false,
      { outcome: 'failed', field: 'If-None-Match' },
    ],
    [
      'If-None-Match * on nothing',
      { ifNoneMatch: '*' },
      undefined,
      true,
      { outcome: 'proceed', checked: ['If-None-Match'] },
    ],
    [
      'If-Unmodified-Since before the change',
      { ifUnmodifiedSince: 'Mon, 01 Jun 2020 11:59:59 GMT' },
      FILE,
      false,
      { outcome: 'failed', field: 'If-Unmodified-Since' },
    ],
    [
      'If-Unmodified-Since at the change',
      { ifUnmodifiedSince: 'Mon, 01 Jun 2020 12:00:00 GMT' },
      FILE,
      true,
      { outcome: 'proceed', checked: ['If-Unmodified-Since'] },
    ],
    [
      'If-Modified-Since is for reads only',
      { ifModifiedSince: 'Mon, 01 Jun 2030 12:00:00 GMT' },
      FILE,
      false,
      { outcome: 'proceed', checked: [] },
    ],
    ['required, none sent (RFC 6585)', {}, FILE, true, { outcome: 'required' }],
    [
      'required, invalid date ignored',
      { ifUnmodifiedSince: 'yesterday' },
      FILE,
      true,
      { outcome: 'required' },
    ],
    [
      'required, If-None-Match tag only',
      { ifNoneMatch: '"v0"' },
      FILE,
      true,
      { outcome: 'required' },
    ],
    ['required but creating', {}, undefined, true, { outcome: 'proceed', checked: [] }],
    [
      'required, 412 reported before 428',
      { ifNoneMatch: '*' },
      FILE,
      true,
      { outcome: 'failed', field: 'If-None-Match' },
    ],
  ]

for (const [what, fields, current, required, expected] of CASES) {
  test(`decideWrite: ${what}`, () => {
    assert.deepEqual(decideWrite('PUT', fields, current, required), expected)
  })
}

test('decideWrite on hostile field values: never throws, never 304, required only for an existing resource (fast-check)', () => {
  const value = fc.oneof(
    fc.constantFrom(...BAD_TAG_LISTS, ...ODD_TAG_LISTS, ...BAD_DATES, ...ODD_DATES, '"v1"', '*'),
    fc.string(),
  )
  const field = fc.option(value, { nil: undefined })
  fc.assert(
    fc.property(
      fc.constantFrom('PUT', 'DELETE'),
      fc.record({
        ifMatch: field,
        ifNoneMatch: field,
        ifModifiedSince: field,
        ifUnmodifiedSince: field,
      }),
      fc.constantFrom(FILE, undefined),
      fc.boolean(),
      (method, fields, current, required) => {
        const decision = decideWrite(method, fields, current, required)
        assert.ok(['proceed', 'failed', 'required'].includes(decision.outcome))
        if (decision.outcome === 'required') assert.ok(required && current !== undefined)
        // If-Modified-Since never matters to a write (13.1.3).
        assert.deepEqual(
          decideWrite(method, { ...fields, ifModifiedSince: undefined }, current, required),
          decision,
        )
      },
    ),
    fuzz(2000),
  )
})
