/**
 * Path traversal in every encoding, over real sockets and through every adapter: dot-dot and
 * separators percent-encoded once and twice, as overlong UTF-8, with backslashes, NUL and
 * semicolons, at several depths and below several starting points (a directory, a file, a
 * symbolic link out of the root); absolute and Windows-style paths; Windows device names. The
 * served root sits next to `secret.txt` (test/support/fixtures.ts).
 *
 * Never a byte from outside the root: every 200 carries exactly the bytes of a file inside it
 * (an adapter whose URL parser normalizes `/docs/%2e%2e/hello.txt` to `/hello.txt` may serve
 * that file), and everything else is 301, 400 or 404, clean.
 */

import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createFsStore } from '../../src/store/fs-store.js'
import { windowsNameProblem } from '../../src/store/windows-names.js'
import { createSite, type SiteFixture } from '../support/fixtures.js'
import { assertClean, filesBelow } from '../support/hostile.js'
import {
  ADAPTERS,
  type RunningServer,
  rawRequest,
  requestHead,
  startServer,
  tempRoot,
} from '../support/server.js'

const DOT_DOTS = [
  '..',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e.',
  '%252e%252e',
  '%25252e%25252e',
  '%c0%ae%c0%ae',
  '%e0%80%ae%e0%80%ae',
  '%f0%80%80%ae%f0%80%80%ae',
  '%c0%2e%c0%2e',
  '%%32%65%%32%65',
  '%u002e%u002e',
  '..%00',
  '%2e%2e%00',
  '..%01',
  '...',
  '....',
  '..;',
  '.. ',
  '..%20',
  '%e2%80%a4%e2%80%a4',
]

const SEPARATORS = [
  '/',
  '//',
  '/./',
  '%2f',
  '%2F',
  '%252f',
  '%5c',
  '%5C',
  '%255c',
  '\\',
  '\\\\',
  '%c0%af',
  '%e0%80%af',
  '%c1%9c',
  '%ef%bc%8f',
  ';/',
  '%00/',
]

const STARTS = ['/', '/docs/', '/nodir/', '/hello.txt/', '/outside-dir/', '/inside-link/']

/** Whole targets: absolute and Windows paths, other forms of the request-target, oddities. */
function specialTargets(base: string): string[] {
  return [
    '/../secret.txt',
    `/${'../'.repeat(40)}secret.txt`,
    `/${'%2e%2e/'.repeat(1000)}etc/passwd`,
    `/${'..%2f'.repeat(1000)}etc/passwd`,
    '/etc/passwd',
    '//etc/passwd',
    '/%2fetc%2fpasswd',
    `/${base}/secret.txt`,
    `/${encodeURIComponent(`${base}/secret.txt`)}`,
    `${base}/secret.txt`,
    '/C:/secret.txt',
    '/C:\\secret.txt',
    '/c%3a%5csecret.txt',
    'C:\\secret.txt',
    '/\\\\127.0.0.1\\share\\secret.txt',
    '/..;/secret.txt',
    '/.;/secret.txt',
    '/docs;/../../secret.txt',
    '/secret.txt::$DATA',
    '/hello.txt?/../../secret.txt',
    '/hello.txt?%2e%2e%2fsecret.txt',
    '/secret.txt%00',
    '/hello.txt%00.html',
    '/%00/../secret.txt',
    '/outside-link',
    '/outside-dir',
    '/outside-dir/',
    '/outside-dir/secret.txt',
    '/outside-dir/%2e%2e/secret.txt',
    '/outside-dir/root/../secret.txt',
    'file:///etc/passwd',
    'http://127.0.0.1/../secret.txt',
    'http://127.0.0.1/%2e%2e/secret.txt',
    'http://user:pass@127.0.0.1/../secret.txt',
    'https://127.0.0.1:1/..%2fsecret.txt',
    'http:/../secret.txt',
    'http:\\\\127.0.0.1\\..\\secret.txt',
    '//127.0.0.1/../secret.txt',
    '*',
    '../secret.txt',
    'secret.txt',
    '.',
    '..',
  ]
}

const WINDOWS_NAMES = [
  'CON',
  'con',
  'NUL',
  'nul.txt',
  'aux.txt',
  'AUX',
  'COM1',
  'com1.txt',
  'LPT1',
  'lpt9.log',
  'PRN',
  'CONIN$',
  'CONOUT$',
  'con:',
  'NUL.tar.gz',
  'COM%C2%B9',
  'con%20.txt',
  'docs/CON/x',
  'hello.txt.',
  'hello.txt%20',
  'hello.txt::$DATA',
  'SECRET~1',
  'HELLO~1.TXT',
]

let site: SiteFixture
let allowedBodies: Buffer[]
let server: RunningServer

before(async () => {
  site = await createSite()
  allowedBodies = await filesBelow(site.root)
})
after(() => site.cleanup())

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!)
  }
  await Promise.all(Array.from({ length: width }, worker))
}

async function attempt(target: string): Promise<number> {
  const res = await rawRequest(server.port, requestHead('GET', target))
  const what = `GET ${target.length > 100 ? `${target.slice(0, 100)}...` : target}`
  assertClean(res, what, { paths: [site.base], markerAllowedIn: ['location'] })
  assert.ok([200, 301, 400, 404].includes(res.status), `${what}: ${res.status}`)
  if (res.status === 200) {
    assert.ok(
      allowedBodies.some((file) => file.equals(res.body)),
      `${what}: a 200 whose body is no file inside the root`,
    )
  }
  if (res.status === 301) {
    const location = res.headers.location ?? ''
    assert.ok(location.startsWith('/') && !location.startsWith('//'), `${what}: ${location}`)
    assert.doesNotMatch(location, /\\|%2e%2e|\/\.\.?(\/|$)/i, `${what}: ${location}`)
  }
  return res.status
}

function combinations(): string[] {
  const out = new Set<string>()
  for (const dotDot of DOT_DOTS) {
    for (const sep of SEPARATORS) {
      out.add(`/${dotDot}${sep}secret.txt`)
      out.add(`/docs/${dotDot}${sep}${dotDot}${sep}secret.txt`)
    }
    for (const start of STARTS) {
      for (const sep of ['/', '%2f', '%5c']) {
        out.add(`${start}${dotDot}${sep}secret.txt`)
        out.add(`${start}${dotDot}${sep}${dotDot}${sep}${dotDot}${sep}secret.txt`)
      }
    }
  }
  return [...out]
}

for (const adapter of ADAPTERS) {
  describe(`traversal through the ${adapter} adapter`, () => {
    before(async () => {
      server = await startServer(site.root, {}, adapter)
    })
    after(() => server.close())

    test(`${combinations().length} dot-dot x separator x depth x starting point combinations`, async () => {
      await inParallel(combinations(), 8, async (target) => {
        await attempt(target)
      })
    })

    test('absolute, Windows-style and other forms of the request-target', async () => {
      await inParallel(specialTargets(site.base), 8, async (target) => {
        await attempt(target)
      })
    })

    test('Windows device names and Windows aliases are names like any other here: 404', async () => {
      for (const name of WINDOWS_NAMES) {
        const status = await attempt(`/${name}`)
        assert.equal(status, 404, name)
      }
    })
  })
}

describe('a store that refuses Windows names (the default on Windows)', () => {
  let dir: string
  let cleanup: () => Promise<void>

  before(async () => {
    ;({ dir, cleanup } = await tempRoot())
    for (const name of ['CON', 'aux.txt', 'nul.tar.gz', 'com1', 'a~1', 'plain.txt']) {
      await writeFile(join(dir, name), `${name}\n`)
    }
  })
  after(() => cleanup())

  test('windowsNameProblem: devices with any extension, trailing dot or space, :, ~digit', () => {
    for (const name of WINDOWS_NAMES) {
      if (name.includes('/') || name.includes('%')) continue
      assert.ok(windowsNameProblem(name) !== undefined, name)
    }
    for (const name of [
      'COM\xb9',
      'con .txt',
      'Lpt0',
      'clock$',
      'a<b',
      'a|b',
      'a*b',
      'a?b',
      'a"b',
    ]) {
      assert.ok(windowsNameProblem(name) !== undefined, name)
    }
    for (const name of [
      'console',
      'nullable.txt',
      'auxiliary',
      'com10',
      'lpt',
      'a~b',
      'plain.txt',
      'CON-x',
      'xCON',
    ]) {
      assert.equal(windowsNameProblem(name), undefined, name)
    }
  })

  for (const windowsNames of [true, false]) {
    test(`over a socket, windowsNames ${windowsNames}`, async () => {
      const store = createFsStore(dir, { windowsNames })
      const running = await startServer(dir, { store })
      try {
        for (const name of ['CON', 'aux.txt', 'nul.tar.gz', 'com1', 'a~1']) {
          const res = await rawRequest(running.port, requestHead('GET', `/${name}`))
          assertClean(res, name)
          assert.equal(res.status, windowsNames ? 404 : 200, name)
        }
        const plain = await rawRequest(running.port, requestHead('GET', '/plain.txt'))
        assert.equal(plain.status, 200)
      } finally {
        await running.close()
      }
    })
  }
})
