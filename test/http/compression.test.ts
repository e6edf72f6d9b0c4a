/**
 * Content codings over real sockets, through every adapter (RFC 9110 sections 8.4, 12.5.3,
 * 8.8.3, 13, 14): precompressed siblings and on-the-fly variants decode to exactly the
 * identity bytes, each variant has its own strong ETag from its own bytes, 304 and If-Range
 * hold per variant, ranges apply to a variant's bytes, and `Vary: Accept-Encoding` is on
 * every response of a negotiable resource. Stale siblings are never served.
 *
 * Every request is made twice: the second is the one the fast lane (node:http) answers from
 * what the first left in the cache, and both must be the same response.
 */

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import type { ContentCoding } from '../../src/core/accept-encoding.js'
import { OLD_MTIME, expectedEtag } from '../support/fixtures.js'
import {
  CODINGS,
  type CompressedSite,
  createCompressedSite,
  decode,
  onTheFlyBytes,
  ZSTD,
} from '../support/compressed-site.js'
import {
  ADAPTERS,
  type RawResponse,
  type RunningServer,
  rawRequest,
  requestHead,
  startServer,
} from '../support/server.js'

const execFileAsync = promisify(execFile)

let site: CompressedSite
let server: RunningServer

before(async () => {
  site = await createCompressedSite()
})
after(() => site.cleanup())

/** The fields that differ between two answers to the same request. */
const VOLATILE = new Set(['date', 'connection', 'keep-alive'])

/** GETs (or HEADs) twice and checks the two answers agree; returns the second. */
async function get(
  path: string,
  fields: Record<string, string> = {},
  method = 'GET',
): Promise<RawResponse> {
  const first = await rawRequest(server.port, requestHead(method, path, fields))
  const second = await rawRequest(server.port, requestHead(method, path, fields))
  const stable = (r: RawResponse) =>
    Object.entries(r.headers).filter(([name]) => !VOLATILE.has(name))
  const what = `${method} ${path} ${JSON.stringify(fields)}`
  assert.equal(second.status, first.status, what)
  // Multipart boundaries are fresh per response.
  if (!first.headers['content-type']?.startsWith('multipart/')) {
    assert.deepEqual(stable(second), stable(first), what)
    assert.deepEqual(second.body, first.body, what)
  }
  return second
}

const accept = (coding: ContentCoding | 'identity'): Record<string, string> =>
  coding === 'identity' ? {} : { 'Accept-Encoding': coding }

/** What each coding should bring for a resource: its bytes, and where they came from. */
interface Expected {
  readonly name: string
  readonly path: string
  readonly identity: () => Buffer
  readonly variant: (coding: ContentCoding) => Promise<Buffer>
}

const RESOURCES: readonly Expected[] = [
  {
    name: 'precompressed siblings',
    path: '/app.js',
    identity: () => site.app,
    variant: async (coding) => site.appSiblings[coding]!,
  },
  {
    name: 'on the fly',
    path: '/style.css',
    identity: () => site.style,
    variant: (coding) => onTheFlyBytes(coding, site.style),
  },
]

for (const adapter of ADAPTERS) {
  describe(`content codings through the ${adapter} adapter`, () => {
    before(async () => {
      server = await startServer(site.root, {}, adapter)
    })
    after(() => server.close())

    for (const resource of RESOURCES) {
      describe(resource.name, () => {
        const bodies = new Map<string, Buffer>()

        for (const coding of ['identity', ...CODINGS] as const) {
          test(`${coding}: the variant's own bytes, decoding to the identity bytes exactly`, async () => {
            const res = await get(resource.path, accept(coding))
            assert.equal(res.status, 200)
            assert.equal(
              res.headers['content-encoding'],
              coding === 'identity' ? undefined : coding,
            )
            assert.equal(res.headers.vary, 'Accept-Encoding')
            assert.equal(res.headers['content-length'], String(res.body.length))
            assert.equal(res.headers.etag, expectedEtag(res.body))
            assert.equal(res.headers['accept-ranges'], 'bytes')
            assert.ok(Date.parse(res.headers['last-modified'] ?? '') >= OLD_MTIME.getTime())
            assert.match(
              res.headers['content-type'] ?? '',
              /^text\/(javascript|css); charset=utf-8$/,
            )
            if (coding === 'identity') assert.deepEqual(res.body, resource.identity())
            else {
              assert.deepEqual(res.body, await resource.variant(coding))
              assert.deepEqual(decode(coding, res.body), resource.identity())
              assert.ok(res.body.length < resource.identity().length)
            }
            bodies.set(coding, res.body)
            const head = await get(resource.path, accept(coding), 'HEAD')
            assert.equal(head.status, 200)
            assert.equal(head.body.length, 0)
            assert.deepEqual(
              Object.entries(head.headers).filter(([n]) => !VOLATILE.has(n)),
              Object.entries(res.headers).filter(([n]) => !VOLATILE.has(n)),
            )
          })
        }

        test('each variant has an ETag of its own', () => {
          const tags = [...bodies.values()].map(expectedEtag)
          assert.equal(tags.length, 1 + CODINGS.length)
          assert.equal(new Set(tags).size, tags.length)
        })

        for (const coding of CODINGS) {
          test(`${coding}: 304 for its own ETag, 200 with its bytes for another's`, async () => {
            const own = expectedEtag(bodies.get(coding)!)
            const identity = expectedEtag(bodies.get('identity')!)
            const hit = await get(resource.path, { ...accept(coding), 'If-None-Match': own })
            assert.equal(hit.status, 304)
            assert.equal(hit.headers.etag, own)
            assert.equal(hit.headers.vary, 'Accept-Encoding')
            assert.equal(hit.body.length, 0)
            const miss = await get(resource.path, { ...accept(coding), 'If-None-Match': identity })
            assert.equal(miss.status, 200)
            assert.equal(miss.headers['content-encoding'], coding)
            assert.deepEqual(miss.body, bodies.get(coding))
            // And the other way round: the variant's tag never validates identity.
            const back = await get(resource.path, { 'If-None-Match': own })
            assert.equal(back.status, 200)
            assert.deepEqual(back.body, bodies.get('identity'))
            // A cache holding several variants lists them all: the selected one matches.
            const both = await get(resource.path, {
              ...accept(coding),
              'If-None-Match': `${identity}, ${own}`,
            })
            assert.equal(both.status, 304)
            assert.equal(both.headers.etag, own)
          })

          test(`${coding}: Range gives the variant's bytes with its Content-Range`, async () => {
            const body = bodies.get(coding)!
            const res = await get(resource.path, { ...accept(coding), Range: 'bytes=10-99' })
            assert.equal(res.status, 206)
            assert.equal(res.headers['content-encoding'], coding)
            assert.equal(res.headers['content-range'], `bytes 10-99/${body.length}`)
            assert.equal(res.headers['content-length'], '90')
            assert.equal(res.headers.etag, expectedEtag(body))
            assert.equal(res.headers.vary, 'Accept-Encoding')
            assert.deepEqual(res.body, body.subarray(10, 100))
            const tail = await get(resource.path, { ...accept(coding), Range: 'bytes=-5' })
            assert.equal(
              tail.headers['content-range'],
              `bytes ${body.length - 5}-${body.length - 1}/${body.length}`,
            )
            assert.deepEqual(tail.body, body.subarray(body.length - 5))
          })

          test(`${coding}: If-Range with its ETag gives 206, with another variant's 200`, async () => {
            const body = bodies.get(coding)!
            const ranged = { ...accept(coding), Range: 'bytes=0-9' }
            const own = await get(resource.path, { ...ranged, 'If-Range': expectedEtag(body) })
            assert.equal(own.status, 206)
            assert.deepEqual(own.body, body.subarray(0, 10))
            for (const [other, otherBody] of bodies) {
              if (other === coding) continue
              const res = await get(resource.path, {
                ...ranged,
                'If-Range': expectedEtag(otherBody),
              })
              assert.equal(res.status, 200, `If-Range with ${other}'s ETag`)
              assert.equal(res.headers['content-encoding'], coding)
              assert.deepEqual(res.body, body)
            }
            // Variants may share a Last-Modified: a date cannot tell whose bytes are held.
            const dated = await get(resource.path, {
              ...ranged,
              'If-Range': own.headers['last-modified']!,
            })
            assert.equal(dated.status, 200)
            assert.deepEqual(dated.body, body)
          })

          test(`${coding}: several ranges give the whole variant (no encoded multipart)`, async () => {
            const res = await get(resource.path, { ...accept(coding), Range: 'bytes=0-9,20-29' })
            assert.equal(res.status, 200)
            assert.equal(res.headers['content-encoding'], coding)
            assert.deepEqual(res.body, bodies.get(coding))
          })

          test(`${coding}: 412 and 416 carry Vary`, async () => {
            const failed = await get(resource.path, { ...accept(coding), 'If-Match': '"other"' })
            assert.equal(failed.status, 412)
            assert.equal(failed.headers.vary, 'Accept-Encoding')
            const matched = await get(resource.path, {
              ...accept(coding),
              'If-Match': expectedEtag(bodies.get(coding)!),
            })
            assert.equal(matched.status, 200)
            const size = bodies.get(coding)!.length
            const unsatisfiable = await get(resource.path, {
              ...accept(coding),
              Range: `bytes=${size}-`,
            })
            assert.equal(unsatisfiable.status, 416)
            assert.equal(unsatisfiable.headers['content-range'], `bytes */${size}`)
            assert.equal(unsatisfiable.headers.vary, 'Accept-Encoding')
          })
        }

        test('identity: Range and 304 on the identity bytes, with Vary', async () => {
          const identity = resource.identity()
          const res = await get(resource.path, { Range: 'bytes=0-99' })
          assert.equal(res.status, 206)
          assert.equal(res.headers['content-encoding'], undefined)
          assert.equal(res.headers['content-range'], `bytes 0-99/${identity.length}`)
          assert.equal(res.headers.vary, 'Accept-Encoding')
          assert.deepEqual(res.body, identity.subarray(0, 100))
          const hit = await get(resource.path, { 'If-None-Match': expectedEtag(identity) })
          assert.equal(hit.status, 304)
          assert.equal(hit.headers.vary, 'Accept-Encoding')
        })

        test('the choice follows Accept-Encoding (12.5.3)', async () => {
          const cases: [string, string | undefined][] = [
            ['gzip, deflate, br', 'br'],
            ['gzip, deflate, br, zstd', 'br'],
            ['br;q=0.5, gzip', 'gzip'],
            ['deflate', undefined],
            ['gzip;q=0, br;q=0', undefined],
            ['identity;q=1, *;q=0', undefined],
            ['*', 'br'],
            ['x-gzip', 'gzip'],
            ['gzip;q=2', undefined], // malformed: no preference
            ['zstd, gzip;q=0.5', ZSTD ? 'zstd' : 'gzip'],
          ]
          for (const [field, coding] of cases) {
            const res = await get(resource.path, { 'Accept-Encoding': field })
            assert.equal(res.status, 200, field)
            assert.equal(res.headers['content-encoding'], coding, field)
            assert.equal(res.headers.vary, 'Accept-Encoding', field)
            assert.deepEqual(decode(coding, res.body), resource.identity(), field)
          }
        })

        test('identity refused and nothing acceptable: 406 with Vary', async () => {
          for (const field of ['identity;q=0', '*;q=0', 'identity;q=0, deflate']) {
            const res = await get(resource.path, { 'Accept-Encoding': field })
            assert.equal(res.status, 406, field)
            assert.equal(res.headers.vary, 'Accept-Encoding', field)
            assert.match(res.body.toString(), /^Not Acceptable/)
            const head = await get(resource.path, { 'Accept-Encoding': field }, 'HEAD')
            assert.equal(head.status, 406)
          }
          const res = await get(resource.path, { 'Accept-Encoding': 'identity;q=0, gzip' })
          assert.equal(res.status, 200)
          assert.equal(res.headers['content-encoding'], 'gzip')
        })
      })
    }

    test('a .zst sibling this runtime cannot check is never served', async () => {
      const res = await get('/app.js', { 'Accept-Encoding': 'zstd' })
      if (ZSTD) {
        assert.equal(res.headers['content-encoding'], 'zstd')
        assert.deepEqual(decode('zstd', res.body), site.app)
      } else {
        assert.equal(res.headers['content-encoding'], undefined)
        assert.deepEqual(res.body, site.app)
      }
    })

    test('a sibling older than its source is never served: compressed on the fly instead', async () => {
      for (const coding of CODINGS) {
        const res = await get('/old.js', accept(coding))
        assert.equal(res.headers['content-encoding'], coding)
        assert.deepEqual(res.body, await onTheFlyBytes(coding, site.old))
        assert.deepEqual(decode(coding, res.body), site.old)
      }
    })

    test('a sibling made from other bytes is never served', async () => {
      for (const coding of CODINGS) {
        const res = await get('/other.js', accept(coding))
        assert.deepEqual(res.body, await onTheFlyBytes(coding, site.other))
        assert.deepEqual(decode(coding, res.body), site.other)
      }
      // Where nothing else applies (an image), identity.
      const photo = await get('/photo.png', { 'Accept-Encoding': 'gzip' })
      assert.equal(photo.headers['content-encoding'], undefined)
      assert.deepEqual(photo.body, site.photo)
    })

    test('stale siblings are logged once each', () => {
      const stale = server.log.filter((e) => e.msg === 'precompressed sibling not served')
      const paths = stale.map((e) => e.path).sort()
      assert.deepEqual(paths, [...new Set(paths)], 'once each')
      for (const coding of CODINGS) {
        const suffix = { br: '.br', gzip: '.gz', zstd: '.zst' }[coding]
        assert.ok(paths.includes(`/old.js${suffix}`), `old.js${suffix} logged`)
        assert.ok(paths.includes(`/other.js${suffix}`), `other.js${suffix} logged`)
      }
      const reasons = new Map(stale.map((e) => [e.path, e.reason]))
      assert.match(String(reasons.get('/old.js.gz')), /older than its source/)
      assert.match(String(reasons.get('/other.js.gz')), /does not decode/)
    })

    test('a sibling of a type not compressed on the fly is served; the file itself has its own type', async () => {
      const res = await get('/image.png', { 'Accept-Encoding': 'gzip, br' })
      assert.equal(res.headers['content-encoding'], 'gzip')
      assert.equal(res.headers['content-type'], 'image/png')
      assert.equal(res.headers.vary, 'Accept-Encoding')
      assert.deepEqual(res.body, site.imageGz)
      assert.deepEqual(decode('gzip', res.body), site.image)
      const br = await get('/image.png', { 'Accept-Encoding': 'br' })
      assert.equal(br.headers['content-encoding'], undefined)
      assert.deepEqual(br.body, site.image)
      for (const path of ['/image.png.gz', '/archive.gz', '/app.js.gz']) {
        const own = await get(path, { 'Accept-Encoding': 'gzip, br' })
        assert.equal(own.status, 200, path)
        assert.equal(own.headers['content-type'], 'application/gzip', path)
        assert.equal(own.headers['content-encoding'], undefined, path)
        assert.equal(own.headers.vary, undefined, path)
        assert.deepEqual(own.body, await readFile(join(site.root, path.slice(1))), path)
      }
    })

    test('a resource with one representation ignores Accept-Encoding: no Vary, never 406', async () => {
      for (const [path, bytes] of [
        ['/tiny.js', site.tiny],
        ['/data.bin', site.data],
      ] as const) {
        for (const field of ['gzip, br', 'identity;q=0', undefined]) {
          const res = await get(path, field === undefined ? {} : { 'Accept-Encoding': field })
          assert.equal(res.status, 200, `${path} ${field}`)
          assert.equal(res.headers['content-encoding'], undefined)
          assert.equal(res.headers.vary, undefined)
          assert.deepEqual(res.body, bytes)
        }
      }
    })

    test('curl --compressed gets a compressed variant and decodes it to the identity bytes', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'sluice-curl-'))
      try {
        for (const [path, bytes] of [
          ['/app.js', site.app],
          ['/style.css', site.style],
        ] as const) {
          const out = join(dir, 'body')
          const { stdout } = await execFileAsync('curl', [
            '--silent',
            '--compressed',
            '--dump-header',
            '-',
            '--output',
            out,
            `http://127.0.0.1:${server.port}${path}`,
          ])
          assert.match(stdout, /^content-encoding: (br|gzip|zstd)\r$/im, path)
          assert.match(stdout, /^vary: Accept-Encoding\r$/im, path)
          assert.deepEqual(await readFile(out), bytes, path)
        }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  })
}

describe('Vary: Accept-Encoding merged with Vary: Origin (the CORS layer)', () => {
  for (const adapter of ADAPTERS) {
    test(`through the ${adapter} adapter`, async () => {
      server = await startServer(site.root, { cors: { origin: 'https://app.example' } }, adapter)
      try {
        for (const fields of [
          {} as Record<string, string>,
          { 'Accept-Encoding': 'br' },
          { 'Accept-Encoding': 'gzip', Origin: 'https://app.example' },
          { 'Accept-Encoding': 'gzip', Origin: 'https://evil.example' },
          { 'Accept-Encoding': 'identity;q=0' },
        ]) {
          for (const path of ['/app.js', '/style.css']) {
            const res = await get(path, fields)
            assert.equal(
              res.headers.vary,
              'Accept-Encoding, Origin',
              `${path} ${JSON.stringify(fields)}`,
            )
          }
          const single = await get('/data.bin', fields)
          assert.equal(single.headers.vary, 'Origin')
        }
      } finally {
        await server.close()
      }
    })
  }
})

describe('the compress and precompressed options', () => {
  test('compress: false serves siblings only; precompressed: false compresses only', async () => {
    server = await startServer(site.root, { compress: false })
    try {
      const sibling = await get('/app.js', { 'Accept-Encoding': 'gzip' })
      assert.deepEqual(sibling.body, site.appSiblings.gzip)
      const css = await get('/style.css', { 'Accept-Encoding': 'gzip' })
      assert.equal(css.headers['content-encoding'], undefined)
      assert.equal(css.headers.vary, undefined)
    } finally {
      await server.close()
    }
    server = await startServer(site.root, { precompressed: false })
    try {
      const app = await get('/app.js', { 'Accept-Encoding': 'gzip' })
      assert.deepEqual(app.body, await onTheFlyBytes('gzip', site.app))
      const image = await get('/image.png', { 'Accept-Encoding': 'gzip' })
      assert.equal(image.headers['content-encoding'], undefined)
    } finally {
      await server.close()
    }
  })

  test('types, sizes and levels', async () => {
    server = await startServer(site.root, {
      precompressed: false,
      compress: { types: ['text/css'], minSize: 100, maxSize: 20_000, level: { gzip: 9 } },
    })
    try {
      const app = await get('/app.js', { 'Accept-Encoding': 'gzip' })
      assert.equal(app.headers['content-encoding'], undefined, 'not a type listed')
      const css = await get('/style.css', { 'Accept-Encoding': 'gzip' })
      const { compress } = await import('../../src/store/codecs.js')
      assert.deepEqual(css.body, await compress('gzip', site.style, 9))
    } finally {
      await server.close()
    }
    server = await startServer(site.root, { precompressed: false, compress: { maxSize: 1000 } })
    try {
      const css = await get('/style.css', { 'Accept-Encoding': 'gzip' })
      assert.equal(css.headers['content-encoding'], undefined, 'above the largest size')
    } finally {
      await server.close()
    }
  })
})
