import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  explainOriginMismatch,
  matchesRule,
  type OriginRule,
  parseOrigin,
  parseOriginRule,
} from '../../../src/core/cors/origin.js'
import { fuzz, mutated } from '../../support/fuzz.js'

function rule(text: string): OriginRule {
  const parsed = parseOriginRule(text)
  if ('error' in parsed) throw new Error(parsed.error)
  return parsed
}

function allowed(ruleText: string, origin: string): boolean {
  const parsed = origin === 'null' ? 'null' : parseOrigin(origin)
  return parsed !== undefined && matchesRule(rule(ruleText), parsed)
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/)

describe('parseOrigin: only what a browser sends (HTML "serialization of an origin")', () => {
  test('accepts serialized origins', () => {
    for (const o of [
      'https://app.example',
      'http://127.0.0.1:8080',
      'http://[::1]:3000',
      'https://a.b.c.example',
    ]) {
      assert.equal(parseOrigin(o)?.serialized, o)
    }
    assert.deepEqual(parseOrigin('https://app.example:8443'), {
      scheme: 'https',
      host: 'app.example',
      port: 8443,
      serialized: 'https://app.example:8443',
    })
  })
  test('refuses what browsers never send', () => {
    for (const o of [
      'null',
      'app.example',
      'https://app.example/',
      'https://app.example/path',
      'https://APP.example',
      'HTTPS://app.example',
      'https://app.example:443',
      'http://app.example:080',
      'https://app.example:99999',
      'https://',
      'https://a..example',
      'https://app.example?x',
      ' https://app.example',
      'https://user@app.example',
    ]) {
      assert.equal(parseOrigin(o), undefined, o)
    }
  })
})

describe('parseOriginRule: configuration errors name the problem', () => {
  const cases: [string, RegExp][] = [
    ['https://app.example/', /without a trailing slash/],
    ['https://app.example/api', /without a path/],
    ['app.example', /with a scheme/],
    ['//app.example', /with a scheme/],
    ['https://app.example.', /without a trailing dot/],
    ['https://*app.example', /whole leftmost label/],
    ['https://app.*.example', /whole leftmost label/],
    ['*.example.com', /with a scheme/],
    ['https://*.com', /at least two labels/],
    ['https://*.127.0.0.1', /not an IP address/],
    ['https://app.example:70000', /port from 0 to 65535/],
    ['https://app_ex ample', /DNS labels/],
  ]
  for (const [text, message] of cases) {
    test(`'${text}'`, () => {
      const parsed = parseOriginRule(text)
      assert.ok('error' in parsed, `expected an error for ${text}`)
      assert.match(parsed.error, message)
    })
  }
  test('normalizes case and default ports as the URL standard serializes them', () => {
    assert.equal(allowed('HTTPS://App.Example:443', 'https://app.example'), true)
    assert.equal(allowed('http://app.example:80', 'http://app.example'), true)
  })
})

describe('matching', () => {
  test('exact origins match byte for byte', () => {
    assert.ok(allowed('https://app.example', 'https://app.example'))
    assert.equal(allowed('https://app.example', 'http://app.example'), false)
    assert.equal(allowed('https://app.example', 'https://app.example:8443'), false)
    assert.equal(allowed('https://app.example', 'https://app.example.'), false)
    assert.equal(allowed('https://app.example', 'https://app.example.evil.test'), false)
    assert.equal(allowed('https://app.example', 'https://evil-app.example'), false)
    assert.equal(allowed('https://app.example', 'https://APP.example'), false)
  })
  test('patterns match one or more whole labels, scheme and port pinned', () => {
    const p = 'https://*.example.com'
    assert.ok(allowed(p, 'https://app.example.com'))
    assert.ok(allowed(p, 'https://a.b.example.com'))
    for (const no of [
      'https://example.com',
      'https://evil-example.com',
      'https://app.example.com.',
      'https://app.example.com.evil.test',
      'http://app.example.com',
      'https://app.example.com:8443',
      'https://appexample.com',
      'null',
    ]) {
      assert.equal(allowed(p, no), false, no)
    }
    assert.ok(allowed('https://*.example.com:8443', 'https://app.example.com:8443'))
    assert.equal(allowed('https://*.example.com:8443', 'https://app.example.com'), false)
  })
  test('* matches every origin but null; null only matches null', () => {
    assert.ok(allowed('*', 'https://anything.test:1234'))
    assert.equal(allowed('*', 'null'), false)
    assert.ok(allowed('null', 'null'))
    assert.equal(allowed('null', 'https://app.example'), false)
  })

  test('property: a pattern matches exactly the hosts ending in .suffix with a label before', () => {
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 0, maxLength: 3 }),
        fc.array(label, { minLength: 2, maxLength: 3 }),
        fc.constantFrom('', '-', 'x'),
        (prefix, suffix, glue) => {
          const suffixHost = suffix.join('.')
          fc.pre(/[a-z]/.test(suffixHost)) // an all-digit suffix is an IP address: refused
          const host =
            prefix.length === 0
              ? suffixHost
              : `${prefix.join('.')}${glue === '' ? '.' : glue}${suffixHost}`
          const origin = `https://${host}`
          const expected = prefix.length > 0 && glue === ''
          return allowed(`https://*.${suffixHost}`, origin) === expected
        },
      ),
      fuzz(),
    )
  })

  test('property: an exact rule matches only its own serialization', () => {
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 3 }),
        fc.array(label, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('http', 'https'),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        (a, b, scheme, port) => {
          const origin = `${scheme}://${a.join('.')}${port === undefined || port === (scheme === 'https' ? 443 : 80) ? '' : `:${port}`}`
          const other = `https://${b.join('.')}`
          return allowed(origin, origin) && allowed(origin, other) === (origin === other)
        },
      ),
      fuzz(),
    )
  })
})

describe('explainOriginMismatch names the closest allowed origin', () => {
  const rules = [rule('https://app.example'), rule('https://*.example.com')]
  const cases: [string, RegExp][] = [
    ['http://app.example', /closest allowed origin https:\/\/app\.example differs in scheme/],
    ['https://app.example:8443', /closest allowed origin https:\/\/app\.example differs in port/],
    [
      'https://APP.example',
      /not a serialized origin.*closest allowed origin https:\/\/app\.example differs in letter case/,
    ],
    [
      'https://app.example.',
      /closest allowed origin https:\/\/app\.example differs in a trailing dot/,
    ],
    [
      'https://app.example.evil.test',
      /look-alike host: app\.example\.evil\.test only begins with the allowed host app\.example/,
    ],
    [
      'https://evil-app.example',
      /look-alike host: evil-app\.example ends with app\.example but not at a label boundary/,
    ],
    ['http://a.example.com', /https:\/\/\*\.example\.com differs in scheme/],
    ['https://example.com', /matches subdomains only, never example\.com itself/],
    ['null', /list 'null' explicitly/],
    ['app.example', /not a serialized origin \(it has no scheme\)/],
    ['https://app.example/', /not a serialized origin \(it has a path\)/],
  ]
  for (const [origin, message] of cases) {
    test(origin, () => assert.match(explainOriginMismatch(origin, rules), message))
  }
  test('an unrelated origin gets no closest origin', () => {
    assert.equal(
      explainOriginMismatch('https://other.test', rules),
      'origin https://other.test is not allowed',
    )
  })
})

describe('parseOrigin on hostile input (fast-check)', () => {
  const nearOrigin = mutated(
    fc.constantFrom('https://app.example', 'http://127.0.0.1:8080', 'http://[::1]:3000'),
    'htps:/.[]0189az-_AZ@#?%\\ \t\x00\x80\x9b\xff\u0100',
  )

  test('whatever it accepts is its own serialization, in the characters a browser uses', () => {
    fc.assert(
      fc.property(fc.oneof(nearOrigin, fc.string(), fc.webUrl()), (value) => {
        const parsed = parseOrigin(value)
        if (parsed === undefined) return
        assert.equal(parsed.serialized, value)
        assert.match(value, /^[a-z][a-z0-9+.-]*:\/\/(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:[0-9]{1,5})?$/)
      }),
      fuzz(3000),
    )
  })
})
