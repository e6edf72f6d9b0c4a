/**
 * Content codings in a real browser: Debian's chromium loads a page whose script and style
 * sheet sluice sends compressed (the script from a precompressed sibling, the style sheet
 * compressed on the fly), runs the script, applies the style, and its Resource Timing shows
 * fewer bytes on the wire than it decoded.
 *
 * The browser is required: when /usr/bin/chromium is missing this file fails (`.ci/run`
 * installs it), it never skips.
 */

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { CHROMIUM, launchChromium } from '../support/browser.js'
import { scriptText, siblingBytes } from '../support/compressed-site.js'
import { OLD_MTIME, settle } from '../support/fixtures.js'
import { type RunningServer, startServer, tempRoot } from '../support/server.js'

let browser: Browser
let server: RunningServer
let cleanup: () => Promise<void>

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="/style.css"></head>
<body><div id="probe">probe</div><script src="/app.js"></script></body></html>
`

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `the browser tests need ${CHROMIUM}: apt-get install chromium (.ci/run installs it)`,
  )
  const made = await tempRoot()
  cleanup = made.cleanup
  const root = made.dir
  // A script that proves it ran whole: the sum of every function it defines.
  const functions = scriptText(600, 31).toString().replaceAll('export function', 'function')
  const calls = Array.from({ length: 600 }, (_, i) => `f${i}(1, 2)`).join(' + ')
  const app = Buffer.from(`${functions}\nwindow.__sum = ${calls}\n`)
  const style = Buffer.from(
    `${Array.from({ length: 400 }, (_, i) => `.unused-${i} { padding: ${i % 7}px }`).join('\n')}\n#probe { width: 123px }\n`,
  )
  const files: [string, Buffer, Date][] = [
    ['index.html', Buffer.from(PAGE), OLD_MTIME],
    ['app.js', app, OLD_MTIME],
    ['style.css', style, OLD_MTIME],
  ]
  for (const coding of ['br', 'gzip'] as const) {
    const suffix = coding === 'br' ? '.br' : '.gz'
    files.push([
      `app.js${suffix}`,
      await siblingBytes(coding, app),
      new Date(OLD_MTIME.getTime() + 1000),
    ])
  }
  for (const [name, bytes, time] of files) {
    await writeFile(join(root, name), bytes)
    await utimes(join(root, name), time, time)
  }
  await settle()
  server = await startServer(root)
  browser = await launchChromium()
})

after(async () => {
  await browser?.close()
  await server?.close()
  await cleanup?.()
})

test('chromium runs a compressed script and applies a compressed style sheet', async (t) => {
  const page = await browser.newPage()
  const encodings = new Map<string, string | undefined>()
  page.on('response', (response) => {
    encodings.set(new URL(response.url()).pathname, response.headers()['content-encoding'])
  })
  await page.goto(`${server.url}/index.html`, { waitUntil: 'load' })
  // Evaluated in the page (this project's TypeScript has no DOM types).
  const seen = (await page.evaluate(`(() => {
    const timing = (name) => {
      const entry = performance
        .getEntriesByType('resource')
        .find((e) => new URL(e.name).pathname === name)
      return entry && { encoded: entry.encodedBodySize, decoded: entry.decodedBodySize }
    }
    return {
      sum: window.__sum,
      width: getComputedStyle(document.getElementById('probe')).width,
      app: timing('/app.js'),
      style: timing('/style.css'),
    }
  })()`)) as {
    sum: number | undefined
    width: string
    app: { encoded: number; decoded: number } | undefined
    style: { encoded: number; decoded: number } | undefined
  }
  let expected = 0
  const noise = scriptText(600, 31)
    .toString()
    .matchAll(/return a \* (\d+) \+ b - (\d+)/g)
  for (const [, k, m] of noise) expected += Number(k) * 1 + 2 - Number(m)
  assert.equal(seen.sum, expected, 'the script ran whole')
  assert.equal(seen.width, '123px', 'the style sheet applied')
  for (const name of ['/app.js', '/style.css'] as const) {
    const encoding = encodings.get(name)
    t.diagnostic(`${name}: Content-Encoding ${encoding}`)
    assert.match(encoding ?? '', /^(br|gzip|zstd)$/, `${name} came compressed`)
    const timing = name === '/app.js' ? seen.app : seen.style
    assert.ok(timing !== undefined, `${name} has a resource timing entry`)
    assert.ok(
      timing.encoded > 0 && timing.encoded * 2 < timing.decoded,
      `${name}: ${timing.encoded} bytes on the wire for ${timing.decoded} decoded`,
    )
  }
  await page.close()
})
