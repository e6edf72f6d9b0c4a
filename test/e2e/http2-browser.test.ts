/**
 * HTTP/2 in a real browser: Debian's chromium (playwright-core) loads a page from sluice over
 * TLS, and `performance` reports `nextHopProtocol` "h2" for the page and what it loads; a
 * script on that https origin makes a preflighted CORS request to another sluice origin over
 * HTTP/2 and reads what the policy exposes. The certificate is the tests' own self-signed one
 * (`--ignore-certificate-errors`). The browser is required: without /usr/bin/chromium this
 * file fails, it never skips.
 */

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { createServer } from '../../src/adapters/node.js'
import { listen, shutdown } from '../../src/http/connections.js'
import { CHROMIUM, launchChromium } from '../support/browser.js'
import { testCredentials } from '../support/protocols.js'
import { captureLogger, tempRoot } from '../support/server.js'

let browser: Browser
let cleanup: () => Promise<void>
const stops: (() => Promise<void>)[] = []
let pageUrl: string
let apiUrl: string
let apiLog: Record<string, unknown>[]

before(async () => {
  assert.ok(existsSync(CHROMIUM), `the browser tests need ${CHROMIUM}: apt-get install chromium`)
  const root = await tempRoot()
  cleanup = root.cleanup
  await writeFile(join(root.dir, 'style.css'), 'body { color: #333 }\n')
  await writeFile(join(root.dir, 'data.txt'), 'from the API\n')
  const tls = await testCredentials()
  const start = async (options: Parameters<typeof createServer>[0]) => {
    const server = createServer(options)
    const url = await listen(server, '127.0.0.1', 0)
    stops.push(() => shutdown(server, 1000))
    return Number(new URL(url).port)
  }
  const api = captureLogger()
  apiLog = api.log
  // The page's port is needed in the API's policy: the page server starts first.
  const pagePort = await start({ root: root.dir, tls })
  pageUrl = `https://app.test:${pagePort}`
  await writeFile(
    join(root.dir, 'index.html'),
    '<!doctype html><title>h2</title><link rel="stylesheet" href="/style.css"><p>page</p>\n',
  )
  const apiPort = await start({
    root: root.dir,
    tls,
    logger: api.logger,
    cors: { origin: [pageUrl], headers: ['X-Custom'], expose: ['ETag'] },
  })
  apiUrl = `https://api.test:${apiPort}`
  browser = await launchChromium([
    '--host-resolver-rules=MAP *.test 127.0.0.1',
    '--ignore-certificate-errors',
  ])
})

after(async () => {
  await browser?.close()
  for (const stop of stops) await stop()
  await cleanup?.()
})

test('Chromium loads a page and its stylesheet over HTTP/2 (nextHopProtocol "h2")', async () => {
  const page = await browser.newPage()
  try {
    const response = await page.goto(`${pageUrl}/index.html`)
    assert.equal(response?.status(), 200)
    await page.waitForLoadState('load')
    const protocols = await page.evaluate(() =>
      performance
        .getEntries()
        .filter((e) => 'nextHopProtocol' in e)
        .map((e) => [e.name, (e as unknown as { nextHopProtocol: string }).nextHopProtocol]),
    )
    const byName = new Map(protocols as [string, string][])
    assert.equal(byName.get(`${pageUrl}/index.html`), 'h2', JSON.stringify(protocols))
    assert.equal(byName.get(`${pageUrl}/style.css`), 'h2', JSON.stringify(protocols))
  } finally {
    await page.close()
  }
})

test('a preflighted CORS request from an https page to another origin, over HTTP/2', async () => {
  const page = await browser.newPage()
  try {
    await page.goto(`${pageUrl}/index.html`)
    const outcome = await page.evaluate(async (url) => {
      const res = await fetch(url, { headers: { 'X-Custom': '1' } })
      return {
        status: res.status,
        body: await res.text(),
        etag: res.headers.get('etag'),
        // Neither safelisted nor exposed by the policy: the browser hides it.
        acceptRanges: res.headers.get('accept-ranges'),
      }
    }, `${apiUrl}/data.txt`)
    assert.equal(outcome.status, 200)
    assert.equal(outcome.body, 'from the API\n')
    assert.match(outcome.etag ?? '', /^"[\w-]+"$/)
    assert.equal(outcome.acceptRanges, null)
    // A cross-origin timing entry hides nextHopProtocol without Timing-Allow-Origin: the
    // server's access log says which protocol each request came over.
    const requests = apiLog.filter((e) => e.msg === 'request' && e.path === '/data.txt')
    assert.deepEqual(
      requests.map((e) => [e.method, e.protocol, e.cors]),
      [
        ['OPTIONS', 'HTTP/2', 'preflight allowed'],
        ['GET', 'HTTP/2', 'allowed'],
      ],
    )
  } finally {
    await page.close()
  }
})
