/**
 * CORS in a real browser: Debian's chromium, driven by playwright-core, with two real origins on
 * loopback. The page is http://app.test:PAGE (or http://evil.test:PAGE for a denied origin) and
 * sluice is http://api.app.test:API: different origins of the same site, so SameSite=Lax cookies
 * flow on credentialed requests. Only a browser decides what a script may read; these tests ask it.
 *
 * The browser is required: when /usr/bin/chromium is missing this file fails (`.ci/run` installs
 * it; locally `apt-get install chromium`), it never skips.
 */

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createEngine, type Engine } from '../../src/http/engine.js'
import { openFsStore } from '../../src/store/fs-store.js'
import { CHROMIUM, launchChromium } from '../support/browser.js'
import { type CorsTestServer, startCorsServer } from '../support/cors-server.js'
import { tempRoot } from '../support/server.js'

let browser: Browser
let context: BrowserContext
let pageServer: Server
let pagePort: number
let api: CorsTestServer
let apiBase: string
let cleanup: () => Promise<void>
let dir: string

/** What the script in the page got back: the body and the headers it asked for, or the error. */
type Outcome =
  | { ok: true; status: number; body: string; headers: Record<string, string | null> }
  | { ok: false; error: string }

async function openPage(origin: 'app' | 'evil'): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`http://${origin}.test:${pagePort}/`)
  return page
}

function scriptFetch(
  page: Page,
  path: string,
  init: {
    method?: string
    headers?: Record<string, string>
    credentials?: 'include' | 'omit' | 'same-origin'
    body?: string
  } = {},
  read: string[] = [],
): Promise<Outcome> {
  return page.evaluate(
    async ({ url, init, read }) => {
      try {
        const res = await fetch(url, init)
        const headers: Record<string, string | null> = {}
        for (const name of read) headers[name] = res.headers.get(name)
        return { ok: true as const, status: res.status, body: await res.text(), headers }
      } catch (error) {
        return { ok: false as const, error: String(error) }
      }
    },
    { url: `${apiBase}${path}`, init, read },
  )
}

function optionsSeen(path: string): number {
  return api.log.filter((l) => l.msg === 'request' && l.method === 'OPTIONS' && l.path === path)
    .length
}

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `the browser tests need ${CHROMIUM}: apt-get install chromium (.ci/run installs it)`,
  )
  // The page server: any host, one blank page, so a script runs in that origin.
  pageServer = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>page</title>')
  })
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve))
  pagePort = (pageServer.address() as AddressInfo).port

  const root = await tempRoot()
  cleanup = root.cleanup
  for (const name of ['data.txt', 'custom.txt', 'cached.txt']) {
    await writeFile(join(root.dir, name), `contents of ${name}`)
  }
  dir = root.dir
  const files = createEngine({
    store: await openFsStore({ root: root.dir, writable: true }),
    writes: { requirePreconditions: false, maxBodyBytes: 1 << 20 },
  })
  // /session sets a cookie and says which cookie it received; everything else is a file.
  const inner: Engine = async (request) => {
    if (!request.url.startsWith('/session')) return files(request)
    const received = String(request.headers.cookie ?? '')
    const bytes = Buffer.from(JSON.stringify({ received }))
    return {
      status: 200,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': bytes.length,
        'Set-Cookie': 'session=s3cret; Path=/; SameSite=Lax; HttpOnly',
      },
      body: { kind: 'bytes', bytes },
      notes: {},
    }
  }
  api = await startCorsServer(root.dir, {
    inner,
    policy: {
      origins: [`http://app.test:${pagePort}`],
      credentials: true,
      methods: ['PUT', 'DELETE'],
      headers: ['X-Custom'],
      expose: ['ETag'],
      maxAge: 600,
    },
  })
  apiBase = `http://api.app.test:${api.port}`
  browser = await launchChromium(['--host-resolver-rules=MAP *.test 127.0.0.1'])
  context = await browser.newContext()
})

after(async () => {
  await context?.close()
  await browser?.close()
  await api?.close()
  await new Promise<void>((resolve) => (pageServer ? pageServer.close(() => resolve()) : resolve()))
  await cleanup?.()
})

describe('from the allowed origin http://app.test', () => {
  test('a simple GET is readable', async () => {
    const page = await openPage('app')
    const outcome = await scriptFetch(page, '/data.txt')
    assert.deepEqual(outcome, { ok: true, status: 200, body: 'contents of data.txt', headers: {} })
  })

  test('an exposed header (ETag) is readable, an unexposed one (Accept-Ranges) is not', async () => {
    const page = await openPage('app')
    const outcome = await scriptFetch(page, '/data.txt', {}, [
      'etag',
      'accept-ranges',
      'content-type',
    ])
    assert.ok(outcome.ok, JSON.stringify(outcome))
    assert.match(outcome.headers.etag ?? '', /^"[A-Za-z0-9_-]+"$/)
    assert.equal(outcome.headers['accept-ranges'], null)
    assert.equal(outcome.headers['content-type'], 'text/plain; charset=utf-8')
    // The server did send Accept-Ranges: it is the browser that hides it.
    const direct = await fetch(`http://127.0.0.1:${api.port}/data.txt`)
    assert.equal(direct.headers.get('accept-ranges'), 'bytes')
  })

  test('a preflighted request with a custom header succeeds', async () => {
    const page = await openPage('app')
    const before = optionsSeen('/custom.txt')
    const outcome = await scriptFetch(page, '/custom.txt', { headers: { 'X-Custom': 'yes' } })
    assert.deepEqual(outcome, {
      ok: true,
      status: 200,
      body: 'contents of custom.txt',
      headers: {},
    })
    assert.equal(optionsSeen('/custom.txt'), before + 1, 'the browser sent a preflight')
  })

  test('a credentialed fetch carries and sets cookies', async () => {
    const page = await openPage('app')
    const first = await scriptFetch(page, '/session', { credentials: 'include' })
    assert.deepEqual(first, { ok: true, status: 200, body: '{"received":""}', headers: {} })
    const cookies = await context.cookies(apiBase)
    assert.deepEqual(
      cookies.map((c) => [c.name, c.value]),
      [['session', 's3cret']],
    )
    const second = await scriptFetch(page, '/session', { credentials: 'include' })
    assert.deepEqual(second, {
      ok: true,
      status: 200,
      body: '{"received":"session=s3cret"}',
      headers: {},
    })
  })

  test('a second identical preflighted request within max-age sends no second OPTIONS', async () => {
    const page = await openPage('app')
    const init = { method: 'PUT', headers: { 'X-Custom': '1' }, body: 'x' }
    const first = await scriptFetch(page, '/cached.txt', init)
    const second = await scriptFetch(page, '/cached.txt', init)
    // Both writes happen (204: replaced) and their answers are readable.
    assert.deepEqual([first.ok && first.status, second.ok && second.status], [204, 204])
    assert.equal(await readFile(join(dir, 'cached.txt'), 'utf8'), 'x')
    assert.equal(optionsSeen('/cached.txt'), 1)
    assert.equal(api.reached.filter((r) => r === 'PUT /cached.txt').length, 2)
  })
})

describe('from the denied origin http://evil.test', () => {
  test('nothing is readable', async () => {
    const page = await openPage('evil')
    for (const init of [{}, { credentials: 'include' as const }]) {
      const outcome = await scriptFetch(page, '/data.txt', init, ['etag'])
      assert.equal(outcome.ok, false, JSON.stringify(outcome))
    }
    const opaque = await page.evaluate(async (url) => {
      const res = await fetch(url, { mode: 'no-cors' })
      return { type: res.type, status: res.status, body: await res.text() }
    }, `${apiBase}/data.txt`)
    assert.deepEqual(opaque, { type: 'opaque', status: 0, body: '' })
  })

  test('a preflighted unsafe request is never sent, and changes nothing', async () => {
    const page = await openPage('evil')
    const before = api.reached.length
    const outcome = await scriptFetch(page, '/data.txt', {
      method: 'DELETE',
      headers: { 'X-Custom': '1' },
    })
    assert.equal(outcome.ok, false)
    const put = await scriptFetch(page, '/data.txt', { method: 'PUT', body: 'overwritten' })
    assert.equal(put.ok, false)
    assert.equal(api.reached.length, before, 'no unsafe request reached the engine')
    assert.ok(optionsSeen('/data.txt') >= 2, 'the browser asked first')
    assert.equal(await readFile(join(dir, 'data.txt'), 'utf8'), 'contents of data.txt')
  })

  test('a simple unsafe request is refused with 403 before it has any effect', async () => {
    const page = await openPage('evil')
    const before = api.reached.length
    // POST with text/plain is "simple": the browser sends it without asking.
    const outcome = await scriptFetch(page, '/data.txt', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: 'overwritten',
      credentials: 'include',
    })
    assert.equal(outcome.ok, false)
    assert.equal(api.reached.length, before)
    assert.equal(await readFile(join(dir, 'data.txt'), 'utf8'), 'contents of data.txt')
    const refused = api.log.filter((l) => l.msg === 'request' && l.method === 'POST')
    assert.deepEqual(
      refused.map((l) => [l.status, l.cors]),
      [[403, 'refused: origin']],
    )
  })
})
