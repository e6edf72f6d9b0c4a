import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type BrowserRequest,
  cachingWarnings,
  checkPreflightResponse,
  corsCheck,
  preflightReasons,
  preflightRequestFields,
  readableResponseHeaders,
} from '../../../src/core/cors/check.js'
import { matchPath, type PathPattern, parsePathPattern } from '../../../src/core/path-patterns.js'
import { fuzz } from '../../support/fuzz.js'

const APP = 'https://foo.example'

function request(overrides: Partial<BrowserRequest> = {}): BrowserRequest {
  return { origin: APP, method: 'GET', headers: [], credentials: false, ...overrides }
}

describe('Fetch "CORS check": the table of section "CORS protocol and credentials"', () => {
  const rows: [boolean, string | undefined, string | undefined, boolean][] = [
    [false, '*', undefined, true],
    [false, '*', 'true', true],
    [false, `${APP}/`, undefined, false],
    [false, APP, undefined, true],
    [true, '*', 'true', false],
    [true, APP, 'true', true],
    [true, APP, 'True', false],
    [false, undefined, undefined, false],
    [false, `${APP}, https://bar.other`, undefined, false],
  ]
  for (const [credentials, allowOrigin, allowCredentials, shared] of rows) {
    test(`credentials ${credentials ? 'include' : 'omit'}, ACAO ${allowOrigin}, ACAC ${allowCredentials}: ${shared ? 'shared' : 'blocked'}`, () => {
      const fields: Record<string, string> = {}
      if (allowOrigin !== undefined) fields['access-control-allow-origin'] = allowOrigin
      if (allowCredentials !== undefined)
        fields['access-control-allow-credentials'] = allowCredentials
      assert.equal(corsCheck(APP, credentials, fields).ok, shared)
    })
  }
  test('reasons read like the browser console', () => {
    const wildcard = corsCheck(APP, true, { 'access-control-allow-origin': '*' })
    assert.ok(!wildcard.ok)
    assert.match(
      wildcard.reason,
      /must not be the wildcard '\*' when the request's credentials mode is 'include'/,
    )
    const multiple = corsCheck(APP, false, { 'access-control-allow-origin': `${APP}, ${APP}` })
    assert.ok(!multiple.ok)
    assert.match(multiple.reason, /contains multiple values/)
  })
})

describe('when a browser preflights', () => {
  test('simple requests need none', () => {
    assert.deepEqual(preflightReasons(request()), [])
    assert.deepEqual(
      preflightReasons(
        request({ method: 'POST', headers: [['Content-Type', 'text/plain;charset=UTF-8']] }),
      ),
      [],
    )
  })
  test('unsafe methods and headers do, with the reason', () => {
    assert.deepEqual(
      preflightReasons(
        request({
          method: 'PUT',
          headers: [
            ['X-PINGOTHER', 'pingpong'],
            ['Content-Type', 'text/xml'],
          ],
        }),
      ),
      [
        'method PUT is not GET, HEAD or POST',
        'content-type "text/xml" is not application/x-www-form-urlencoded, multipart/form-data or text/plain',
        'x-pingother is not a CORS-safelisted request-header',
      ],
    )
  })
  test('the preflight lists sorted lower-case names joined by "," without spaces', () => {
    assert.deepEqual(
      preflightRequestFields(
        request({
          method: 'POST',
          headers: [
            ['X-PINGOTHER', 'p'],
            ['Content-Type', 'text/xml'],
          ],
        }),
      ),
      {
        Accept: '*/*',
        Origin: APP,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-pingother',
      },
    )
  })
})

describe('Fetch "CORS-preflight fetch" step 7', () => {
  const ok = { 'access-control-allow-origin': APP }
  const put = request({ method: 'PUT', headers: [['X-Custom', '1']] })
  test('passes with the method and header listed, any case, odd list syntax', () => {
    const verdict = checkPreflightResponse(put, 204, {
      ...ok,
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': ' , X-CUSTOM',
      'access-control-max-age': '600',
    })
    assert.deepEqual(verdict, { check: { ok: true }, maxAge: 600 })
  })
  test('fails on a non-ok status, missing method, missing header', () => {
    const fields = {
      ...ok,
      'access-control-allow-methods': 'PUT',
      'access-control-allow-headers': 'x-custom',
    }
    assert.match(
      reason(checkPreflightResponse(put, 403, fields).check),
      /does not have HTTP ok status/,
    )
    assert.match(
      reason(
        checkPreflightResponse(put, 204, { ...fields, 'access-control-allow-methods': 'GET' })
          .check,
      ),
      /^Method PUT is not allowed by Access-Control-Allow-Methods in preflight response$/,
    )
    assert.match(
      reason(
        checkPreflightResponse(put, 204, { ...ok, 'access-control-allow-methods': 'PUT' }).check,
      ),
      /^Request header field x-custom is not allowed by Access-Control-Allow-Headers in preflight response$/,
    )
  })
  test('* counts only without credentials, and never for Authorization', () => {
    const star = { 'access-control-allow-methods': '*', 'access-control-allow-headers': '*' }
    assert.ok(checkPreflightResponse(put, 204, { ...ok, ...star }).check.ok)
    const credentialed = { ...put, credentials: true }
    const withCredentials = {
      ...ok,
      ...star,
      'access-control-allow-credentials': 'true',
    }
    assert.match(
      reason(checkPreflightResponse(credentialed, 204, withCredentials).check),
      /'\*' does not count with credentials/,
    )
    const auth = request({ method: 'PUT', headers: [['Authorization', 'Bearer x']] })
    assert.match(
      reason(checkPreflightResponse(auth, 204, { ...ok, ...star }).check),
      /'\*' does not cover Authorization/,
    )
  })
  test('an invalid list is a network error, an invalid max-age falls back to 5', () => {
    assert.match(
      reason(
        checkPreflightResponse(put, 204, { ...ok, 'access-control-allow-methods': 'P UT' }).check,
      ),
      /not a list of methods/,
    )
    assert.equal(
      checkPreflightResponse(request(), 204, { ...ok, 'access-control-max-age': '-1' }).maxAge,
      5,
    )
  })
})

describe('what a script can read', () => {
  const fields = {
    'content-type': 'text/plain',
    etag: '"x"',
    'x-hidden': '1',
    'set-cookie': 'a=b',
    'access-control-expose-headers': 'ETag',
  }
  test('safelisted names plus the exposed ones, never Set-Cookie', () => {
    assert.deepEqual(readableResponseHeaders(fields, false), ['content-type', 'etag'])
    const star = { ...fields, 'access-control-expose-headers': '*' }
    assert.deepEqual(readableResponseHeaders(star, false).sort(), [
      'access-control-expose-headers',
      'content-type',
      'etag',
      'x-hidden',
    ])
    assert.deepEqual(readableResponseHeaders(star, true), ['content-type'])
  })
  test('a named Access-Control-Allow-Origin without Vary: Origin is a caching hazard', () => {
    assert.equal(cachingWarnings({ 'access-control-allow-origin': APP }).length, 1)
    assert.deepEqual(
      cachingWarnings({ 'access-control-allow-origin': APP, vary: 'Accept, origin' }),
      [],
    )
    assert.deepEqual(cachingWarnings({ 'access-control-allow-origin': '*' }), [])
  })
})

describe('path patterns', () => {
  const p = (text: string) => parsePathPattern(text) as PathPattern
  test('** matches any depth, * one segment, literals exactly', () => {
    assert.ok(matchPath(p('/assets/**'), ['assets']))
    assert.ok(matchPath(p('/assets/**'), ['assets', 'a', 'b.css']))
    assert.equal(matchPath(p('/assets/**'), ['assets2']), false)
    assert.equal(matchPath(p('/assets/**'), ['x', 'assets']), false)
    assert.ok(matchPath(p('/api/*'), ['api', 'users']))
    assert.equal(matchPath(p('/api/*'), ['api', 'users', '1']), false)
    assert.ok(matchPath(p('/**'), []))
    assert.ok(matchPath(p('/robots.txt'), ['robots.txt']))
  })
  test('refuses what would be ambiguous', () => {
    for (const bad of ['assets/**', '/a/**/b', '/a*', '/a/../b']) {
      assert.ok('error' in parsePathPattern(bad), bad)
    }
  })
})

function reason(check: { ok: boolean; reason?: string }): string {
  assert.equal(check.ok, false)
  return check.reason ?? ''
}

describe('the browser-side checks on a hostile answer (fast-check)', () => {
  const value = fc.oneof(
    fc.constantFrom(
      APP,
      `${APP}/`,
      '*',
      'null',
      'true',
      'TRUE',
      'GET, PUT',
      'x-a',
      '',
      ' , ',
      '-1',
      '86400',
    ),
    fc.string(),
    fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)) }),
  )
  const fields = fc.dictionary(
    fc.constantFrom(
      'access-control-allow-origin',
      'access-control-allow-credentials',
      'access-control-allow-methods',
      'access-control-allow-headers',
      'access-control-expose-headers',
      'access-control-max-age',
      'access-control-allow-private-network',
      'vary',
      'cache-control',
    ),
    value,
  )
  const browserRequest = fc.record({
    origin: fc.constant(APP),
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
    headers: fc.array(
      fc.tuple(fc.constantFrom('x-a', 'content-type', 'range'), fc.string()) as fc.Arbitrary<
        readonly [string, string]
      >,
      { maxLength: 3 },
    ),
    credentials: fc.boolean(),
  })

  test('never throw; the CORS check passes only for the exact origin, or * without credentials', () => {
    fc.assert(
      fc.property(
        browserRequest,
        fc.integer({ min: 100, max: 599 }),
        fields,
        (req, status, answer) => {
          const verdict = corsCheck(req.origin, req.credentials, answer)
          const origin = answer['access-control-allow-origin']
          if (verdict.ok) assert.ok(origin === req.origin || (origin === '*' && !req.credentials))
          const preflight = checkPreflightResponse(req, status, answer)
          assert.ok(Number.isFinite(preflight.maxAge) && preflight.maxAge >= 0)
          if (preflight.check.ok) assert.ok(verdict.ok && status >= 200 && status <= 299)
          readableResponseHeaders(answer, req.credentials)
          cachingWarnings(answer)
        },
      ),
      fuzz(2000),
    )
  })
})
