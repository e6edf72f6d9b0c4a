/**
 * Files, directories and paths over a real socket: media types, index files, redirects,
 * dotfiles, symbolic links, traversal, methods.
 */

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createSite, SECRET, type SiteFixture } from '../support/fixtures.js'
import { VARIANTS, type RunningServer, requestHead, startServer } from '../support/server.js'

let site: SiteFixture
let server: RunningServer

before(async () => {
  site = await createSite()
})

after(async () => {
  await site.cleanup()
})

function request(method: string, path: string, fields: Record<string, string> = {}) {
  return server.request(requestHead(method, path, fields))
}

for (const variant of VARIANTS) {
  const adapter = variant.adapter
  describe(`through ${variant.name}`, () => {
    before(async () => {
      server = await startServer(site.root, {}, variant)
    })
    after(() => server.close())

    describe('Content-Type from the MIME database', () => {
      const cases = [
        ['/hello.txt', 'text/plain; charset=utf-8'],
        ['/page.html', 'text/html; charset=utf-8'],
        ['/data.json', 'application/json; charset=utf-8'],
        ['/sample.bin', 'application/octet-stream'],
        ['/docs/', 'text/html; charset=utf-8'],
      ] as const
      for (const [path, type] of cases) {
        test(`${path} is ${type}`, async () => {
          const res = await request('GET', path)
          assert.equal(res.status, 200)
          assert.equal(res.headers['content-type'], type)
        })
      }
    })

    describe('validators and caching fields on every file response', () => {
      test('strong ETag, Last-Modified, Cache-Control: no-cache by default, Accept-Ranges', async () => {
        const res = await request('GET', '/hello.txt')
        assert.match(res.headers.etag!, /^"[^"]+"$/)
        assert.doesNotMatch(res.headers.etag!, /^W\//)
        assert.equal(res.headers['last-modified'], 'Fri, 01 Mar 2024 12:00:00 GMT')
        assert.equal(res.headers['cache-control'], 'no-cache')
        assert.equal(res.headers['accept-ranges'], 'bytes')
      })
    })

    describe('directories', () => {
      test('a directory with a trailing slash serves its index.html', async () => {
        const res = await request('GET', '/docs/')
        assert.equal(res.status, 200)
        assert.equal(res.body.toString(), '<!doctype html><p>docs index</p>\n')
      })

      test('the root serves its index.html when there is one, else 404', async () => {
        const res = await request('GET', '/')
        assert.equal(res.status, 404)
      })

      test('a directory without a trailing slash redirects to add it, keeping the query', async () => {
        const res = await request('GET', '/docs?x=1')
        assert.equal(res.status, 301)
        assert.equal(res.headers.location, '/docs/?x=1')
      })

      test('a directory without index.html is 404 (no listing)', async () => {
        const res = await request('GET', '/nodir/')
        assert.equal(res.status, 404)
      })

      test('a file asked for with a trailing slash is 404', async () => {
        const res = await request('GET', '/hello.txt/')
        assert.equal(res.status, 404)
      })

      for (const path of [
        '//evil.example',
        '///evil.example',
        '//evil.example/..%2f',
        '/\\evil.example',
      ]) {
        test(`${path} never redirects off this host`, async () => {
          const res = await request('GET', path)
          const location = res.headers.location
          if (location !== undefined) {
            assert.ok(location.startsWith('/') && !location.startsWith('//'), location)
            assert.ok(!location.includes('\\'), location)
          }
        })
      }

      test('the redirect for //docs stays on this host', async () => {
        const res = await request('GET', '//docs')
        assert.equal(res.status, 301)
        assert.equal(res.headers.location, '/docs/')
      })
    })

    describe('dotfiles', () => {
      test('are hidden by default (404)', async () => {
        for (const path of ['/.secret', '/%2esecret', '/docs/../.secret']) {
          const res = await request('GET', path)
          assert.ok(res.status === 404 || res.status === 400, `${path}: ${res.status}`)
          assert.ok(!res.body.toString().includes('dotfile'))
        }
      })

      test('/.well-known/ is served (RFC 8615)', async () => {
        const res = await request('GET', '/.well-known/security.txt')
        assert.equal(res.status, 200)
      })

      test('are served with dotfiles enabled', async () => {
        const open = await startServer(site.root, { dotfiles: true }, variant)
        try {
          const res = await open.request(requestHead('GET', '/.secret'))
          assert.equal(res.status, 200)
          assert.equal(res.body.toString(), 'dotfile\n')
        } finally {
          await open.close()
        }
      })
    })

    describe('symbolic links', () => {
      test('a link to a file inside the root is served', async () => {
        const res = await request('GET', '/inside-link')
        assert.equal(res.status, 200)
        assert.equal(res.body.toString(), 'hello, world\n')
      })

      test('a link out and back into the root is judged by where it resolves: inside', async () => {
        const res = await request('GET', '/outside-dir/root/hello.txt')
        assert.equal(res.status, 200)
      })

      for (const path of ['/outside-link', '/outside-dir/secret.txt']) {
        test(`${path} resolves outside the root and is refused`, async () => {
          const res = await request('GET', path)
          assert.equal(res.status, 404)
          assert.ok(!res.body.toString().includes(SECRET))
        })
      }
    })

    describe('traversal never reaches outside the root (400 or 404, no stack trace)', () => {
      const attempts = [
        '/../secret.txt',
        '/docs/../../secret.txt',
        '/%2e%2e/secret.txt',
        '/%2E%2E/secret.txt',
        '/.%2e/secret.txt',
        '/%2e%2e%2fsecret.txt',
        '/docs/..%2f..%2fsecret.txt',
        '/..%5csecret.txt',
        '/..\\secret.txt',
        '/%252e%252e/secret.txt',
        '/secret.txt%00.txt',
        '/%00',
        '/%c0%ae%c0%ae/secret.txt',
        '/%e0%80%ae%e0%80%ae/secret.txt',
        '/%',
        '/%zz',
        'secret.txt',
        'http://127.0.0.1/../secret.txt',
      ]
      for (const path of attempts) {
        test(`GET ${path}`, async () => {
          if (variant.protocol === 'h2' && !path.startsWith('/')) {
            // RFC 9113 section 8.3.1: :path is origin-form (or *); node:http2 resets any other
            // stream as malformed before a handler sees it.
            await assert.rejects(request('GET', path), /closed without a response \(code 1\)/)
            return
          }
          const res = await request('GET', path)
          assert.ok([400, 404].includes(res.status), `status ${res.status}`)
          const text = res.body.toString()
          assert.ok(!text.includes(SECRET))
          assert.doesNotMatch(text, /\bat \S+ \(|Error:/)
        })
      }

      test('the absolute form of a request-target is served like its path', async () => {
        if (variant.protocol === 'h2') {
          // No absolute form in HTTP/2 (:scheme and :authority carry it): the stream is reset.
          await assert.rejects(request('GET', 'http://127.0.0.1/hello.txt'), /code 1/)
          return
        }
        const res = await request('GET', 'http://127.0.0.1/hello.txt')
        assert.equal(res.status, 200)
      })
    })

    describe('methods', () => {
      // Fastify routes only the methods it knows; PROPFIND never reaches a plugin there.
      const methods = [
        'POST',
        'PUT',
        'DELETE',
        'PATCH',
        ...(adapter === 'fastify' ? [] : ['PROPFIND']),
      ]
      for (const method of methods) {
        test(`${method} gives 405 with Allow`, async () => {
          const res = await request(method, '/hello.txt', { 'Content-Length': '0' })
          assert.equal(res.status, 405)
          assert.equal(res.headers.allow, 'GET, HEAD, OPTIONS')
        })
      }

      test('OPTIONS gives 204 with Allow', async () => {
        const res = await request('OPTIONS', '/hello.txt')
        assert.equal(res.status, 204)
        assert.equal(res.headers.allow, 'GET, HEAD, OPTIONS')
      })

      // The Fetch API cannot carry the asterisk-form: a Request always has a parsed URL.
      test('OPTIONS * gives 204 with Allow', { skip: adapter === 'fetch' }, async () => {
        const res = await request('OPTIONS', '*')
        assert.equal(res.status, 204)
      })

      test('404 for a missing file, with a short plain-text reason', async () => {
        const res = await request('GET', '/missing.txt')
        assert.equal(res.status, 404)
        assert.equal(res.body.toString(), 'Not Found\n')
      })
    })

    describe('Cache-Control can be configured', () => {
      test('the configured value is sent on file responses', async () => {
        const custom = await startServer(
          site.root,
          { cacheControl: 'public, max-age=3600' },
          variant,
        )
        try {
          const res = await custom.request(requestHead('GET', '/hello.txt'))
          assert.equal(res.headers['cache-control'], 'public, max-age=3600')
        } finally {
          await custom.close()
        }
      })
    })
  })
}
