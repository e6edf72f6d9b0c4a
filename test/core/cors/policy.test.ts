import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type ActualDecision,
  type CorsPolicyOptions,
  checkCorsOptions,
  createCorsPolicy,
  type PreflightDecision,
  type PreflightQuestion,
} from '../../../src/core/cors/policy.js'
import { fuzz } from '../../support/fuzz.js'

const APP = 'https://app.example'

function preflight(
  options: CorsPolicyOptions,
  question: Partial<PreflightQuestion>,
): PreflightDecision {
  const decision = createCorsPolicy(options).decidePreflight(
    { origin: APP, method: 'GET', headers: undefined, privateNetwork: false, ...question },
    {},
  )
  assert.ok(!(decision instanceof Promise))
  return decision
}

function actual(options: CorsPolicyOptions, origin: string, credentialed = false): ActualDecision {
  const decision = createCorsPolicy(options).decideActual({ origin, credentialed }, {})
  assert.ok(!(decision instanceof Promise))
  return decision
}

function denial(decision: PreflightDecision | ActualDecision): string {
  assert.equal(decision.allowed, false)
  if ('denial' in decision) return `${decision.denial.code}: ${decision.denial.message}`
  if ('malformed' in decision) return `malformed: ${decision.malformed}`
  throw new Error('unreachable')
}

describe('unsafe or malformed options fail at construction, naming the option', () => {
  const cases: [CorsPolicyOptions, RegExp][] = [
    [{ origins: ['*'], credentials: true }, /origins\[0\]: '\*' cannot be used with credentials/],
    [
      { origins: [APP], credentials: true, methods: ['*'] },
      /methods\[0\]: '\*' cannot be used with credentials: browsers then read it as the literal name/,
    ],
    [{ origins: [APP], credentials: true, headers: ['*'] }, /headers\[0\]: '\*' cannot/],
    [{ origins: [APP], credentials: true, expose: ['*'] }, /expose\[0\]: '\*' cannot/],
    [
      { origins: ['https://app.example/'] },
      /origins\[0\]: expected an origin without a trailing slash/,
    ],
    [{ origins: [APP, 'app.example'] }, /origins\[1\]: expected an origin with a scheme/],
    [{ origins: [APP], methods: ['PU T'] }, /methods\[0\]: expected method/],
    [{ origins: [APP], methods: ['TRACE'] }, /methods: TRACE is a forbidden method/],
    [{ origins: [APP], headers: ['X Custom'] }, /headers\[0\]: expected header name/],
    [{ origins: [APP], maxAge: -1 }, /maxAge: expected whole seconds/],
    [{ origins: [APP], maxAge: 1.5 }, /maxAge/],
    [{ origins: [APP], maxAge: 86_401 }, /maxAge/],
    [{ origins: 'https://app.example' as unknown as string[] }, /origins: expected a list/],
  ]
  for (const [options, message] of cases) {
    test(message.source, () => {
      assert.throws(
        () => createCorsPolicy(options),
        (error: unknown) => {
          assert.ok(error instanceof TypeError)
          assert.match(error.message, message)
          return true
        },
      )
    })
  }
  test('null is accepted only when listed, with a warning', () => {
    const checked = checkCorsOptions({ origins: ['null'] })
    assert.equal(checked.errors.length, 0)
    assert.match(checked.warnings[0]!, /sandboxed iframe/)
    assert.equal(checkCorsOptions({ origins: [APP] }).warnings.length, 0)
  })
  test('methods are normalized like Fetch does, other methods kept as written', () => {
    const policy = createCorsPolicy({ origins: [APP], methods: ['put', 'PATCH', 'delete'] })
    assert.deepEqual(policy.options.methods, ['PUT', 'PATCH', 'DELETE'])
  })
})

describe('actual requests', () => {
  test('an allowed origin is named; credentials and exposed headers are added', () => {
    assert.deepEqual(
      actual({ origins: [APP], credentials: true, expose: ['ETag', 'X-Total'] }, APP),
      {
        allowed: true,
        headers: {
          'Access-Control-Allow-Origin': APP,
          'Access-Control-Allow-Credentials': 'true',
          'Access-Control-Expose-Headers': 'ETag, X-Total',
        },
      },
    )
  })
  test('* answers * without credentials', () => {
    const decision = actual({ origins: ['*'] }, 'https://any.test')
    assert.ok(decision.allowed)
    assert.deepEqual(decision.headers, { 'Access-Control-Allow-Origin': '*' })
  })
  test('a denied origin gets the reason with the closest allowed origin', () => {
    assert.equal(
      denial(actual({ origins: [APP] }, 'http://app.example')),
      'origin: origin http://app.example is not allowed: closest allowed origin https://app.example differs in scheme',
    )
  })
  test('credentials sent to a policy without credentials: allowed, with a warning', () => {
    const decision = actual({ origins: [APP] }, APP, true)
    assert.ok(decision.allowed)
    assert.match(decision.warning!.message, /credentials were sent .* but are not enabled/)
    const any = actual({ origins: ['*'] }, APP, true)
    assert.ok(any.allowed)
    assert.match(any.warning!.message, /'\*' is unusable with credentials/)
  })
  test('the function form is called with the origin and request, and answers with the origin', async () => {
    const seen: unknown[] = []
    const policy = createCorsPolicy<{ path: string }>({
      origins: async (origin, request) => {
        seen.push([origin, request.path])
        return origin.endsWith('.trusted.test')
      },
      credentials: true,
    })
    const yes = await policy.decideActual(
      { origin: 'https://a.trusted.test', credentialed: true },
      { path: '/x' },
    )
    assert.deepEqual(yes, {
      allowed: true,
      headers: {
        'Access-Control-Allow-Origin': 'https://a.trusted.test',
        'Access-Control-Allow-Credentials': 'true',
      },
    })
    const no = await policy.decideActual(
      { origin: 'https://evil.test', credentialed: false },
      { path: '/y' },
    )
    assert.match(denial(no), /not allowed by the policy function/)
    // A malformed origin never reaches the function.
    await policy.decideActual({ origin: 'https://EVIL.test', credentialed: false }, { path: '/z' })
    assert.deepEqual(seen, [
      ['https://a.trusted.test', '/x'],
      ['https://evil.test', '/y'],
    ])
  })
})

describe('preflight requests', () => {
  const options: CorsPolicyOptions = {
    origins: [APP],
    credentials: true,
    methods: ['PUT', 'DELETE'],
    headers: ['X-Custom', 'Content-Type'],
    maxAge: 600,
  }
  test('allowed: every Access-Control-Allow-* field, precomputed', () => {
    assert.deepEqual(preflight(options, { method: 'PUT', headers: 'x-custom,content-type' }), {
      allowed: true,
      headers: {
        'Access-Control-Allow-Origin': APP,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': 'PUT, DELETE',
        'Access-Control-Allow-Headers': 'X-Custom, Content-Type',
        'Access-Control-Max-Age': '600',
      },
    })
  })
  test('header names compare case-insensitively; whitespace and empty elements are tolerated', () => {
    assert.ok(preflight(options, { method: 'PUT', headers: ' X-CUSTOM , ,content-TYPE,' }).allowed)
  })
  test('a safelisted method needs no listing (CORS-preflight fetch step 7.5)', () => {
    assert.ok(
      preflight({ origins: [APP], headers: ['X-Custom'] }, { method: 'POST', headers: 'x-custom' })
        .allowed,
    )
  })
  test('denials say what is missing', () => {
    assert.equal(
      denial(preflight(options, { method: 'PATCH' })),
      'method: method PATCH is not allowed (allowed: GET, HEAD, POST, PUT, DELETE)',
    )
    assert.match(
      denial(preflight({ origins: [APP], methods: ['PATCH'] }, { method: 'patch' })),
      /case-sensitive and PATCH is listed/,
    )
    assert.equal(
      denial(preflight(options, { method: 'PUT', headers: 'x-custom, x-other' })),
      'header: header x-other is not allowed (allowed: X-Custom, Content-Type)',
    )
    assert.match(
      denial(preflight(options, { origin: 'https://app.example:444', method: 'PUT' })),
      /^origin: .*differs in port/,
    )
    assert.match(
      denial(preflight(options, { method: 'PUT', privateNetwork: true })),
      /^private-network: /,
    )
  })
  test('* covers methods and headers without credentials, but never Authorization', () => {
    const open = { origins: ['*'], methods: ['*'], headers: ['*'] }
    const decision = preflight(open, { method: 'PATCH', headers: 'x-anything' })
    assert.ok(decision.allowed)
    assert.equal(decision.headers['Access-Control-Allow-Origin'], '*')
    assert.match(
      denial(preflight(open, { method: 'PUT', headers: 'authorization' })),
      /'\*' never covers Authorization/,
    )
    assert.ok(
      preflight(
        { ...open, headers: ['*', 'Authorization'] },
        { method: 'PUT', headers: 'authorization' },
      ).allowed,
    )
  })
  test('private network access is answered when enabled and asked for', () => {
    const decision = preflight({ origins: [APP], privateNetwork: true }, { privateNetwork: true })
    assert.ok(decision.allowed)
    assert.equal(decision.headers['Access-Control-Allow-Private-Network'], 'true')
    const unasked = preflight({ origins: [APP], privateNetwork: true }, {})
    assert.ok(unasked.allowed)
    assert.equal(unasked.headers['Access-Control-Allow-Private-Network'], undefined)
  })
  test('malformed request fields are told apart from denials', () => {
    assert.match(
      denial(preflight(options, { method: 'P UT' })),
      /^malformed: Access-Control-Request-Method/,
    )
    assert.match(
      denial(preflight(options, { method: 'PUT', headers: 'x-custom, a b' })),
      /^malformed: Access-Control-Request-Headers/,
    )
  })
  test('answers repeat: the same question gets the same (cached) answer object', () => {
    const policy = createCorsPolicy(options)
    const q = { origin: APP, method: 'PUT', headers: 'x-custom', privateNetwork: false }
    assert.equal(policy.decidePreflight(q, {}), policy.decidePreflight(q, {}))
  })
  test('property: allowed exactly when the method is safelisted or listed and every header listed', () => {
    const names = ['x-a', 'x-b', 'content-type', 'x-c']
    fc.assert(
      fc.property(
        fc.subarray(names),
        fc.subarray(names),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.subarray(['PUT', 'PATCH']),
        (listed, asked, method, methods) => {
          const decision = preflight(
            { origins: [APP], headers: listed.map((n) => n.toUpperCase()), methods },
            { method, headers: asked.length === 0 ? undefined : asked.join(',') },
          )
          const methodOk = ['GET', 'HEAD', 'POST'].includes(method) || methods.includes(method)
          return decision.allowed === (methodOk && asked.every((n) => listed.includes(n)))
        },
      ),
      fuzz(),
    )
  })
  test('property: a refusal never carries Access-Control-Allow-* fields', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        (origin, method, headers) => {
          const decision = preflight(options, { origin, method, headers })
          return decision.allowed
            ? decision.headers['Access-Control-Allow-Origin'] === origin
            : !('headers' in decision)
        },
      ),
      fuzz(),
    )
  })
})
