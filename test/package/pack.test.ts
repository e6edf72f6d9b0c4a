/**
 * The package as users get it: `npm pack` holds only what they need (bin, the compiled library
 * with its .d.ts, the config schema, the README), the tarball installs into an empty project
 * beside the frameworks, its types check there under `strict`, and every example docs/API.md
 * quotes (examples/library) runs there and answers as the docs say.
 *
 * Bounded: one pack, one `npm install --prefer-offline` (the versions this repository pins, so
 * npm's cache has them), one tsc run, one process per example.
 */

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { runExample } from '../support/examples.js'
import { PROJECT_ROOT, tempRoot } from '../support/server.js'
import { send } from '../support/writes.js'

const run = promisify(execFile)
const EXAMPLES = join(PROJECT_ROOT, 'examples', 'library')
const APP = 'https://app.example'
const EVIL = 'https://evil.example'

/** What each example must answer, as docs/API.md describes it. */
const PROBES: Record<string, (url: string) => Promise<void>> = {
  async 'node.mjs'(url) {
    const res = await send('GET', `${url}/hello.txt`, undefined, {
      Origin: APP,
      Range: 'bytes=0-4',
    })
    assert.equal(res.status, 206)
    assert.equal(res.text, 'hello')
    assert.equal(res.headers.get('cache-control'), 'public, max-age=60')
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
    assert.equal(res.headers.get('access-control-expose-headers'), 'ETag, Content-Range')
  },
  async 'node-writable.mjs'(url) {
    const created = await send('PUT', `${url}/todo.txt`, 'milk\n', { 'If-None-Match': '*' })
    assert.equal(created.status, 201)
    const blind = await send('PUT', `${url}/todo.txt`, 'eggs\n')
    assert.equal(blind.status, 428)
    const replaced = await send('PUT', `${url}/todo.txt`, 'eggs\n', {
      'If-Match': created.headers.get('etag')!,
    })
    assert.equal(replaced.status, 204)
    const preflight = await send('OPTIONS', `${url}/todo.txt`, undefined, {
      Origin: APP,
      'Access-Control-Request-Method': 'DELETE',
      'Access-Control-Request-Headers': 'if-match',
    })
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'PUT, DELETE')
  },
  async 'express.mjs'(url) {
    assert.equal((await send('GET', `${url}/static/hello.txt`)).text, 'hello, world\n')
    assert.equal((await send('GET', `${url}/static/generated.txt`)).text, 'from a route\n')
    const json = '{"kept":true}'
    const put = await send('PUT', `${url}/files/data.json`, json, {
      'Content-Type': 'application/json',
    })
    assert.equal(put.status, 201)
    assert.equal((await send('GET', `${url}/static/data.json`)).text, json)
    const api = await send('GET', `${url}/api/time`, undefined, { Origin: APP })
    assert.equal(api.headers.get('access-control-allow-origin'), APP)
    assert.equal(api.headers.get('access-control-allow-credentials'), 'true')
    const refused = await send('PUT', `${url}/api/time`, 'x', { Origin: EVIL })
    assert.equal(refused.status, 403)
  },
  async 'express-gate.mjs'(url) {
    const read = await send('GET', `${url}/profiles/ada`)
    assert.equal(read.status, 200)
    const etag = read.headers.get('etag')!
    assert.equal(
      (await send('GET', `${url}/profiles/ada`, undefined, { 'If-None-Match': etag })).status,
      304,
    )
    const body = '{"name":"Ada","theme":"light"}'
    assert.equal((await send('PUT', `${url}/profiles/ada`, body)).status, 428)
    const first = await send('PUT', `${url}/profiles/ada`, body, { 'If-Match': etag })
    assert.equal(first.status, 204)
    const second = await send('PUT', `${url}/profiles/ada`, '{}', { 'If-Match': etag })
    assert.equal(second.status, 412)
    assert.equal((await send('GET', `${url}/profiles/ada`)).text, body)
  },
  async 'fastify.mjs'(url) {
    const file = await send('GET', `${url}/files/hello.txt`, undefined, { Origin: APP })
    assert.equal(file.text, 'hello, world\n')
    assert.equal(file.headers.get('access-control-allow-origin'), APP)
    const created = await send('PUT', `${url}/files/new.txt`, 'new\n', {
      Origin: APP,
      'If-None-Match': '*',
    })
    assert.equal(created.status, 201)
    assert.equal(created.headers.get('access-control-expose-headers'), 'ETag')
    const refused = await send('PUT', `${url}/files/new.txt`, 'x', { Origin: EVIL })
    assert.equal(refused.status, 403)
    const health = await send('GET', `${url}/api/health`, undefined, { Origin: APP })
    assert.equal(health.headers.get('access-control-allow-origin'), APP)
  },
  async 'hono.mjs'(url) {
    assert.equal((await send('GET', `${url}/files/hello.txt`)).text, 'hello, world\n')
    const read = await send('GET', `${url}/settings`, undefined, { Origin: APP })
    assert.equal(read.text, '{"theme":"light"}')
    assert.equal(read.headers.get('access-control-allow-origin'), APP)
    const etag = read.headers.get('etag')!
    const written = await send('PUT', `${url}/settings`, '{"theme":"dark"}', { 'If-Match': etag })
    assert.equal(written.status, 204)
    const stale = await send('PUT', `${url}/settings`, '{}', { 'If-Match': etag })
    assert.equal(stale.status, 412)
    const preflight = await send('OPTIONS', `${url}/settings`, undefined, {
      Origin: APP,
      'Access-Control-Request-Method': 'PUT',
    })
    assert.equal(preflight.status, 204)
  },
  async 'ranges.mjs'(url) {
    const report = await send('GET', `${url}/report.csv`, undefined, {
      'If-Modified-Since': 'Wed, 01 May 2024 12:00:00 GMT',
    })
    assert.equal(report.status, 304)
    const res = await fetch(`${url}/big.bin`, { headers: { Range: 'bytes=1000-1003' } })
    assert.equal(res.status, 206)
    assert.equal(res.headers.get('content-range'), `bytes 1000-1003/${1024 ** 3}`)
    assert.deepEqual([...new Uint8Array(await res.arrayBuffer())], [232, 233, 234, 235])
  },
}

/** The frameworks and types installed beside sluice, at the versions this repository pins. */
async function companions(): Promise<string[]> {
  const { devDependencies } = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8'))
  return ['express', 'fastify', 'hono', '@hono/node-server', '@types/node', '@types/express'].map(
    (name) => `${name}@${devDependencies[name]}`,
  )
}

describe('the npm package', { timeout: 180_000 }, () => {
  let work: { dir: string; cleanup: () => Promise<void> }
  let project: string
  let packed: string[]

  before(async () => {
    work = await tempRoot()
    // --ignore-scripts: `prepare` would rebuild dist/ under the tests that are running from it.
    const { stdout } = await run(
      'npm',
      ['pack', '--json', '--ignore-scripts', '--pack-destination', work.dir],
      { cwd: PROJECT_ROOT },
    )
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[]
    packed = info!.files.map((file) => file.path)
    project = join(work.dir, 'project')
    await mkdir(join(project, 'public'), { recursive: true })
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'try-sluice', private: true, type: 'module' }),
    )
    await writeFile(join(project, 'public', 'hello.txt'), 'hello, world\n')
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(work.dir, info!.filename),
        ...(await companions()),
      ],
      { cwd: project },
    )
    for (const file of await readdir(EXAMPLES)) {
      await copyFile(join(EXAMPLES, file), join(project, file))
    }
  })
  after(() => work?.cleanup())

  test('holds bin, the compiled library with its types, the schema, the docs, README and LICENSE; nothing else', () => {
    const outside = packed.filter(
      (path) =>
        !/^(bin\/sluice\.js|dist\/src\/.+\.(js|d\.ts)|schema\/[^/]+\.json|docs\/[A-Z]+\.md|README\.md|LICENSE|package\.json)$/.test(
          path,
        ),
    )
    assert.deepEqual(outside, [])
    for (const needed of ['bin/sluice.js', 'dist/src/index.js', 'dist/src/index.d.ts']) {
      assert.ok(packed.includes(needed), needed)
    }
    assert.ok(packed.includes('schema/sluice.config.schema.json'))
    for (const linked of ['LICENSE', 'docs/API.md', 'docs/ARCHITECTURE.md']) {
      assert.ok(packed.includes(linked), `${linked}, which the README links to`)
    }
  })

  test('the CLI runs from the installed package', async () => {
    const { stdout } = await run(join(project, 'node_modules', '.bin', 'sluice'), ['--help'])
    assert.match(stdout, /sluice serve/)
  })

  test('its types check in a strict TypeScript project, with every adapter', async () => {
    await copyFile(
      join(PROJECT_ROOT, 'test', 'fixtures', 'package-types.ts'),
      join(project, 'check.ts'),
    )
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false, // sluice's own .d.ts files are checked too
          types: ['node'],
        },
        files: ['check.ts'],
      }),
    )
    const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    await run(process.execPath, [tsc, '-p', project]).catch((error) => {
      assert.fail(`tsc failed:\n${error.stdout}${error.stderr}`)
    })
  })

  test('every example has a probe', async () => {
    assert.deepEqual((await readdir(EXAMPLES)).sort(), Object.keys(PROBES).sort())
  })

  for (const [file, probe] of Object.entries(PROBES)) {
    test(`examples/library/${file} runs in the installed project and answers as documented`, async () => {
      const example = await runExample(file, { cwd: project })
      try {
        await probe(example.url)
      } finally {
        await example.stop()
      }
    })
  }
})
