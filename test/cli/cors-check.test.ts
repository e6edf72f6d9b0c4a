/**
 * cors-check against sluice and against a server of this test's own that answers deliberately
 * wrong headers: each verdict and reason as a browser would give it.
 */

import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { corsCheckCommand, parseCorsCheckArgs } from '../../src/cli/cors-check.js'
import { type CorsTestServer, startCorsServer } from '../support/cors-server.js'
import { runCli, tempRoot } from '../support/server.js'

const APP = 'https://app.example'

async function check(...args: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = []
  const config = parseCorsCheckArgs(args)
  assert.notEqual(config, 'help')
  const code = await corsCheckCommand(config as Exclude<typeof config, 'help'>, (l) =>
    lines.push(l),
  )
  return { code, output: lines.join('\n') }
}

describe('cors-check against sluice', () => {
  let server: CorsTestServer
  let cleanup: () => Promise<void>
  before(async () => {
    const root = await tempRoot()
    cleanup = root.cleanup
    await writeFile(join(root.dir, 'doc'), 'hello')
    server = await startCorsServer(root.dir, {
      policy: {
        origins: [APP],
        credentials: true,
        methods: ['PUT'],
        headers: ['X-PINGOTHER', 'Content-Type'],
        expose: ['ETag'],
        maxAge: 86400,
      },
    })
  })
  after(async () => {
    await server.close()
    await cleanup()
  })
  /** cors-check of /doc from the allowed origin, with more arguments. */
  const checkDoc = (...args: string[]) => check(`${server.url}/doc`, '--origin', APP, ...args)

  test('a simple GET: no preflight, readable, with the exposed header listed', async () => {
    const { code, output } = await checkDoc()
    assert.equal(code, 0, output)
    assert.match(output, /1\. Preflight: not needed/)
    assert.match(output, /> Origin: https:\/\/app\.example/)
    assert.match(output, /< Access-Control-Allow-Origin: https:\/\/app\.example/)
    assert.match(output, /readable headers: .*etag/)
    assert.match(output, /verdict: allowed: a browser lets the script read the 200 response/)
  })

  test("the seeds' preflighted POST with X-PINGOTHER and an XML Content-Type, with credentials", async () => {
    const { code, output } = await checkDoc(
      '--method',
      'POST',
      '--credentials',
      '--header',
      'X-PINGOTHER: pingpong',
      '--header',
      'Content-Type: text/xml; charset=UTF-8',
    )
    assert.equal(code, 0, output)
    assert.match(
      output,
      /Preflight: needed, because content-type "text\/xml; charset=UTF-8" is not .*; x-pingother is not a CORS-safelisted request-header/,
    )
    assert.match(output, /> Access-Control-Request-Headers: content-type,x-pingother/)
    assert.match(output, /< HTTP\/1\.1 204 No Content/)
    assert.match(output, /preflight passed; a browser caches it for 86400 s/)
    // The actual POST reached the file engine, which answers 405 with CORS fields: readable.
    assert.match(output, /verdict: allowed: a browser lets the script read the 405 response/)
  })

  test('another scheme: the preflight is refused and the PUT is never sent', async () => {
    const before = server.reached.length
    const { code, output } = await check(
      `${server.url}/doc`,
      '--origin',
      'http://app.example',
      '--method',
      'PUT',
    )
    assert.equal(code, 1, output)
    assert.match(output, /< HTTP\/1\.1 403 Forbidden/)
    assert.match(
      output,
      /server says: Forbidden: CORS preflight refused: the origin is not allowed/,
    )
    assert.match(
      output,
      /verdict: blocked: Response to preflight request doesn't pass access control check: No 'Access-Control-Allow-Origin' header is present on the requested resource\. The PUT request is not sent\./,
    )
    assert.equal(server.reached.length, before)
  })

  test('a header the policy does not list', async () => {
    const { code, output } = await checkDoc('--header', 'X-Other: 1')
    assert.equal(code, 1)
    assert.match(
      output,
      /server says: Forbidden: CORS preflight refused: a request header is not allowed/,
    )
  })

  test('forbidden request-headers are dropped as a browser drops them', async () => {
    const { code, output } = await checkDoc('--header', 'Cookie: a=b')
    assert.equal(code, 0)
    assert.match(output, /note: a browser ignores Cookie set by a script/)
    assert.doesNotMatch(output, /> Cookie/)
  })
})

describe('cors-check against a server that gets CORS wrong', () => {
  let server: Server
  let base: string
  const seen: string[] = []
  before(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      const origin = req.headers.origin ?? ''
      switch (req.url) {
        case '/wildcard-credentials':
          res.writeHead(200, {
            'Access-Control-Allow-Origin': '*',
            'Access-Control-Allow-Credentials': 'true',
          })
          break
        case '/missing-vary':
          res.writeHead(200, { 'Access-Control-Allow-Origin': origin })
          break
        case '/missing-allow-headers':
          res.writeHead(req.method === 'OPTIONS' ? 204 : 200, {
            'Access-Control-Allow-Origin': origin,
            'Access-Control-Allow-Methods': 'PUT',
            Vary: 'Origin',
          })
          break
        case '/no-cors':
          res.writeHead(200)
          break
        case '/trailing-slash':
          res.writeHead(200, { 'Access-Control-Allow-Origin': `${origin}/` })
          break
        case '/credentials-true-case':
          res.writeHead(200, {
            'Access-Control-Allow-Origin': origin,
            'Access-Control-Allow-Credentials': 'True',
            Vary: 'Origin',
          })
          break
        default:
          res.writeHead(404)
      }
      res.end('body')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  /** cors-check of a path of the wrong server from APP, with more arguments. */
  const checkWrong = (path: string, ...args: string[]) =>
    check(`${base}${path}`, '--origin', APP, ...args)

  test('wildcard with credentials: blocked', async () => {
    const { code, output } = await checkWrong('/wildcard-credentials', '--credentials')
    assert.equal(code, 1)
    assert.match(
      output,
      /verdict: blocked: The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '\*' when the request's credentials mode is 'include'\. The request reached the server/,
    )
  })
  test('the same without credentials: allowed', async () => {
    const { code } = await checkWrong('/wildcard-credentials')
    assert.equal(code, 0)
  })
  test('missing Vary: allowed by the browser, with a caching warning', async () => {
    const { code, output } = await checkWrong('/missing-vary')
    assert.equal(code, 0)
    assert.match(
      output,
      /warning: Access-Control-Allow-Origin names an origin but Vary lacks Origin/,
    )
  })
  test('missing Access-Control-Allow-Headers: blocked at the preflight, the PUT never sent', async () => {
    seen.length = 0
    const { code, output } = await checkWrong(
      '/missing-allow-headers',
      '--method',
      'put',
      '--header',
      'X-Custom: 1',
    )
    assert.equal(code, 1)
    assert.match(
      output,
      /verdict: blocked: Request header field x-custom is not allowed by Access-Control-Allow-Headers in preflight response\. The PUT request is not sent\./,
    )
    assert.deepEqual(seen, ['OPTIONS /missing-allow-headers'])
  })
  test('no CORS at all: a simple request is sent but not readable', async () => {
    const { code, output } = await checkWrong(
      '/no-cors',
      '--method',
      'POST',
      '--header',
      'Content-Type: text/plain',
    )
    assert.equal(code, 1)
    assert.match(
      output,
      /No 'Access-Control-Allow-Origin' header is present on the requested resource\. The request reached the server; the script cannot read the response\./,
    )
  })
  test('an origin with a trailing slash is not the origin', async () => {
    const { code, output } = await checkWrong('/trailing-slash')
    assert.equal(code, 1)
    assert.match(
      output,
      /has a value 'https:\/\/app\.example\/' that is not equal to the supplied origin/,
    )
  })
  test('Access-Control-Allow-Credentials: True is not true', async () => {
    const { code, output } = await checkWrong('/credentials-true-case', '--credentials')
    assert.equal(code, 1)
    assert.match(
      output,
      /'Access-Control-Allow-Credentials' header in the response is 'True' which must be 'true'/,
    )
  })
  test('as a command: exit 1 when blocked, 0 when allowed, 2 on a usage error', async () => {
    const blocked = runCli(['cors-check', `${base}/no-cors`, '--origin', APP])
    const allowed = runCli(['cors-check', `${base}/missing-vary`, '--origin', APP])
    const noOrigin = runCli(['cors-check', `${base}/no-cors`])
    const badOrigin = runCli(['cors-check', `${base}/no-cors`, '--origin', 'example.com'])
    assert.deepEqual(
      await Promise.all([blocked.exited, allowed.exited, noOrigin.exited, badOrigin.exited]),
      [1, 0, 2, 2],
    )
    assert.match(noOrigin.stderr(), /^sluice: cors-check needs --origin <origin>/)
    assert.match(badOrigin.stderr(), /^sluice: --origin expects an origin as browsers send it/)
    assert.equal(badOrigin.stderr().trimEnd().split('\n').length, 1)
  })
})
