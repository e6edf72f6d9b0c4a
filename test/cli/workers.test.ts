/**
 * `sluice serve --workers N` (src/cli/workers.ts): one URL for N processes, a write answered
 * by one worker is what every worker serves next, and SIGTERM to the primary lets every worker
 * finish its in-flight responses before the primary exits 0. The lost-update test runs against
 * --workers 2 too (test/http/lost-update.test.ts).
 */

import assert from 'node:assert/strict'
import { utimes, writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { decode, scriptText, siblingBytes } from '../support/compressed-site.js'
import { deterministicBytes, expectedEtag, OLD_MTIME, settle } from '../support/fixtures.js'
import { childrenOf, openDescriptors } from '../support/proc.js'
import { rawRequest, requestHead, runCli, tempRoot } from '../support/server.js'

/** A keep-alive connection that has had one GET answered, left open. */
function answeredConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('error', reject)
    socket.once('data', () => resolve(socket))
    socket.write(requestHead('GET', '/a.txt') + '\r\n')
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('--workers 2: one URL, two processes, each answering', async () => {
  const { dir, cleanup } = await tempRoot()
  await writeFile(join(dir, 'a.txt'), 'a\n')
  const cli = runCli(['serve', dir, '--port', '0', '--workers', '2'])
  try {
    const url = await cli.url
    assert.match(cli.stdout(), /\(2 processes\)/)
    assert.equal(childrenOf(cli.child.pid!).length, 2)
    const port = Number(new URL(url).port)
    // New connections are spread over the workers; every one answers the same.
    for (let i = 0; i < 6; i++) {
      const res = await rawRequest(port, requestHead('GET', '/a.txt'))
      assert.equal(res.status, 200)
      assert.equal(res.body.toString(), 'a\n')
    }
    // Each worker holds some of four answered keep-alive connections held open.
    const workers = childrenOf(cli.child.pid!)
    const before = workers.map((pid) => openDescriptors(pid, 'socket:'))
    const held = await Promise.all([1, 2, 3, 4].map(() => answeredConnection(port)))
    try {
      const after = workers.map((pid) => openDescriptors(pid, 'socket:'))
      assert.ok(
        after.every((count, i) => count > before[i]!),
        `sockets per worker: ${before.join(', ')} before, ${after.join(', ')} with 4 held`,
      )
    } finally {
      for (const socket of held) socket.destroy()
    }
  } finally {
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited, 0)
    await cleanup()
  }
})

test('--workers 2: a write answered by one worker is what every worker serves next', async () => {
  const { dir, cleanup } = await tempRoot()
  const names = ['one.txt', 'two.txt', 'three.txt']
  for (const name of names) await writeFile(join(dir, name), `old ${name}\n`)
  await settle() // settled files are what the workers' caches keep
  // Without change notices or periodic checks (a minute away), only the notice between
  // workers can make the next GET exact.
  const cli = runCli(['serve', dir, '--port', '0', '--workers', '2', '--writable', '--quiet'], {
    env: { SLUICE_CACHE_WATCH: '0' },
  })
  try {
    const port = Number(new URL(await cli.url).port)
    const get = (name: string) => rawRequest(port, requestHead('GET', `/${name}`))
    for (const name of names) {
      // Each worker caches the old version (connections alternate between them).
      for (let i = 0; i < 4; i++) assert.equal((await get(name)).body.toString(), `old ${name}\n`)
      const next = `new ${name}\n`
      const put = await rawRequest(
        port,
        requestHead('PUT', `/${name}`, { 'Content-Length': String(next.length) }),
        { body: next },
      )
      assert.equal(put.status, 204)
      for (let i = 0; i < 4; i++) {
        const res = await get(name)
        assert.equal(res.body.toString(), next, `GET ${i + 1} after the PUT`)
        assert.equal(res.headers.etag, expectedEtag(Buffer.from(next)))
      }
    }
  } finally {
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited, 0)
    await cleanup()
  }
})

test('--workers 2: a PUT makes the siblings stale on every worker at once', async () => {
  const { dir, cleanup } = await tempRoot()
  const page = scriptText(200, 21)
  const gz = await siblingBytes('gzip', page)
  await writeFile(join(dir, 'page.js'), page)
  await writeFile(join(dir, 'page.js.gz'), gz)
  await utimes(join(dir, 'page.js'), OLD_MTIME, OLD_MTIME)
  await settle()
  // As above: without watchers or periodic checks, only the notices between workers.
  const cli = runCli(['serve', dir, '--port', '0', '--workers', '2', '--writable', '--quiet'], {
    env: { SLUICE_CACHE_WATCH: '0' },
  })
  try {
    const port = Number(new URL(await cli.url).port)
    const get = () =>
      rawRequest(port, requestHead('GET', '/page.js', { 'Accept-Encoding': 'gzip' }))
    // Each worker caches the version and its verified sibling.
    for (let i = 0; i < 6; i++) assert.deepEqual((await get()).body, gz)
    const next = scriptText(200, 22)
    const put = await rawRequest(
      port,
      requestHead('PUT', '/page.js', { 'Content-Length': String(next.length) }),
      { body: next },
    )
    assert.equal(put.status, 204)
    const check = async (when: string) => {
      for (let i = 0; i < 6; i++) {
        const res = await get()
        assert.notDeepEqual(res.body, gz, `GET ${i + 1} ${when}`)
        assert.deepEqual(decode(res.headers['content-encoding'], res.body), next)
      }
    }
    await check('right after the PUT')
    await settle()
    await check('once the new version is settled (compressed on the fly)')
  } finally {
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited, 0)
    await cleanup()
  }
})

test('SIGTERM to the primary: the workers finish their in-flight responses, then it exits 0', async () => {
  const { dir, cleanup } = await tempRoot()
  const size = 8 * 1024 * 1024
  await writeFile(join(dir, 'big.bin'), deterministicBytes(size, 5))
  const cli = runCli(['serve', dir, '--port', '0', '--workers', '2', '--quiet'])
  try {
    const port = Number(new URL(await cli.url).port)
    const workers = childrenOf(cli.child.pid!)
    assert.equal(workers.length, 2)
    // A download in flight, read slowly, when the signal comes.
    const socket = connect(port, '127.0.0.1')
    socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
    let received = 0
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      socket.pause()
      setTimeout(() => socket.resume(), 5)
    })
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    while (received === 0) await sleep(5)
    cli.child.kill('SIGTERM')
    await closed
    assert.ok(received > size, `the download finished (${received} bytes with the head)`)
    assert.equal(await cli.exited, 0)
    for (const pid of workers) assert.ok(!isAlive(pid), `worker ${pid} is gone`)
  } finally {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL')
    await cleanup()
  }
})

test('--workers: usage errors', async () => {
  for (const value of ['0', 'many', '257']) {
    const cli = runCli(['serve', '.', '--workers', value])
    assert.equal(await cli.exited, 2)
    assert.match(cli.stderr(), /--workers/)
  }
})
