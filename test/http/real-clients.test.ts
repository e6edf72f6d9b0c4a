/**
 * Real download clients against a real sluice: curl resumes an interrupted download with
 * `-C -`, and aria2c fetches a file in 8 parallel segments. Both copies must be byte-identical
 * to the source. The same over TLS: curl with `--http2` (and it must have spoken HTTP/2), and
 * aria2c over HTTPS (HTTP/1.1, all it speaks). (CI installs curl and aria2 through .ci/run; a
 * missing tool fails the test.)
 */

import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { deterministicBytes } from '../support/fixtures.js'
import { type RunningServer, startServer, tempRoot, VARIANTS } from '../support/server.js'

const run = promisify(execFile)
const SIZE = 64 * 1024 * 1024

let dir: string
let cleanup: () => Promise<void>
let server: RunningServer
/** The same root over TLS: HTTP/2 and HTTP/1.1 on one port. */
let secure: RunningServer
let sourceHash: string

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  const source = deterministicBytes(SIZE, 42)
  sourceHash = createHash('sha256').update(source).digest('hex')
  await writeFile(join(dir, 'movie.bin'), source)
  server = await startServer(dir)
  secure = await startServer(
    dir,
    {},
    VARIANTS.find((v) => v.protocol === 'h2' && !v.compat)!,
  )
})

after(async () => {
  await server.close()
  await secure.close()
  await cleanup()
})

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex')
}

test('curl -C - resumes an interrupted 64 MiB download, byte-identical', async () => {
  const out = join(dir, 'curl-copy.bin')
  const url = `${server.url}/movie.bin`
  // First attempt: rate-limited and killed partway.
  const first = spawn('curl', ['-s', '--limit-rate', '20M', '-o', out, url])
  await new Promise((resolve) => setTimeout(resolve, 700))
  first.kill('SIGKILL')
  await new Promise((resolve) => first.on('exit', resolve))
  const partial = (await stat(out)).size
  assert.ok(partial > 0 && partial < SIZE, `partial download of ${partial} bytes`)
  // Resume: curl sends Range: bytes=<partial>- and appends the 206 body.
  const { stderr } = await run('curl', ['-sS', '-C', '-', '-o', out, '-w', '%{http_code}', url])
  assert.equal(stderr, '')
  assert.equal((await stat(out)).size, SIZE)
  assert.equal(await sha256Of(out), sourceHash)
})

test('curl -C - reports the 206 it resumed with', async () => {
  const out = join(dir, 'curl-half.bin')
  await writeFile(out, deterministicBytes(SIZE, 42).subarray(0, SIZE / 2))
  const { stdout } = await run('curl', [
    '-s',
    '-C',
    '-',
    '-o',
    out,
    '-w',
    '%{http_code}',
    `${server.url}/movie.bin`,
  ])
  assert.equal(stdout, '206')
  assert.equal(await sha256Of(out), sourceHash)
})

test('aria2c -x 8 -s 8 fetches it in segments, byte-identical', async () => {
  await run(
    'aria2c',
    [
      '-x',
      '8',
      '-s',
      '8',
      '-k',
      '1M',
      '--file-allocation=none',
      '--allow-overwrite=true',
      '--auto-file-renaming=false',
      '-q',
      '-d',
      dir,
      '-o',
      'aria-copy.bin',
      `${server.url}/movie.bin`,
    ],
    { timeout: 60_000 },
  )
  assert.equal(await sha256Of(join(dir, 'aria-copy.bin')), sourceHash)
  const segments = server.log.filter((e) => e.status === 206 && e.path === '/movie.bin')
  assert.ok(segments.length >= 8, `aria2c made ${segments.length} range requests`)
})

test('curl --http2 -C - resumes an interrupted 64 MiB download over TLS, byte-identical', async () => {
  const out = join(dir, 'curl-h2-copy.bin')
  const url = `${secure.url}/movie.bin`
  const tls = ['--http2', '-k']
  const first = spawn('curl', [...tls, '-s', '--limit-rate', '20M', '-o', out, url])
  await new Promise((resolve) => setTimeout(resolve, 700))
  first.kill('SIGKILL')
  await new Promise((resolve) => first.on('exit', resolve))
  const partial = (await stat(out)).size
  assert.ok(partial > 0 && partial < SIZE, `partial download of ${partial} bytes`)
  const { stdout, stderr } = await run('curl', [
    ...tls,
    '-sS',
    '-C',
    '-',
    '-o',
    out,
    '-w',
    '%{http_code} %{http_version}',
    url,
  ])
  assert.equal(stderr, '')
  assert.equal(stdout, '206 2', 'a 206 over HTTP/2')
  assert.equal((await stat(out)).size, SIZE)
  assert.equal(await sha256Of(out), sourceHash)
  const resumed = secure.log.filter((e) => e.status === 206 && e.protocol === 'HTTP/2')
  assert.ok(resumed.length >= 1, 'the access log shows the HTTP/2 range request')
})

test('aria2c -x 8 -s 8 over HTTPS fetches it in segments, byte-identical', async () => {
  await run(
    'aria2c',
    [
      '-x',
      '8',
      '-s',
      '8',
      '-k',
      '1M',
      '--check-certificate=false',
      '--file-allocation=none',
      '--allow-overwrite=true',
      '--auto-file-renaming=false',
      '-q',
      '-d',
      dir,
      '-o',
      'aria-tls-copy.bin',
      `${secure.url}/movie.bin`,
    ],
    { timeout: 60_000 },
  )
  assert.equal(await sha256Of(join(dir, 'aria-tls-copy.bin')), sourceHash)
  const segments = secure.log.filter(
    (e) => e.status === 206 && e.path === '/movie.bin' && e.protocol === 'HTTP/1.1',
  )
  assert.ok(segments.length >= 8, `aria2c made ${segments.length} range requests over TLS`)
})
