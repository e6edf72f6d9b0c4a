/**
 * Abuse of connections and time, against the CLI in a child process (loopback only): 500
 * stalled (slowloris) connections do not stop a normal client from being served within a
 * second; the header, request, idle and keep-alive timeouts and the connection and per-socket
 * request caps do what `sluice serve --help` says; SIGTERM does not wait for connections on
 * which no response is in flight. Every socket a test opens is closed by the test.
 */

import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { deterministicBytes } from '../support/fixtures.js'
import { assertClean } from '../support/hostile.js'
import {
  type CliProcess,
  parseRawResponse,
  rawRequest,
  requestHead,
  runCli,
  tempRoot,
} from '../support/server.js'
import { openDescriptors } from '../support/proc.js'
import { noStagedFiles } from '../support/writes.js'

let dir: string
let cleanup: () => Promise<void>

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  await writeFile(join(dir, 'hello.txt'), 'hello\n')
  await writeFile(join(dir, 'big.bin'), deterministicBytes(16 * 1024 * 1024))
})
after(() => cleanup())

interface Sluice {
  readonly cli: CliProcess
  readonly port: number
  /** Descriptors the server process has open now (those whose target contains `kind`). */
  fds(kind?: string): number
  stop(): Promise<number | string>
}

async function sluice(...flags: string[]): Promise<Sluice> {
  // One process (not a cluster): the descriptors counted and the limits tested are its own.
  const cli = runCli([
    'serve',
    dir,
    '--port',
    '0',
    '--workers',
    '1',
    '--log-format',
    'json',
    ...flags,
  ])
  const port = Number(new URL(await cli.url).port)
  return {
    cli,
    port,
    fds: (kind?: string) => openDescriptors(cli.child.pid!, kind),
    async stop() {
      cli.child.kill('SIGTERM')
      return cli.exited
    },
  }
}

/** Opens `count` connections that each send part of a request head and then stall. */
async function stalled(
  port: number,
  count: number,
  partial = 'GET /hello.txt HTTP/1.1\r\nHost: x\r\n',
): Promise<Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.write(partial)
            resolve(socket)
          })
          socket.on('error', reject)
        }),
    ),
  )
  for (const socket of sockets) {
    socket.removeAllListeners('error')
    socket.on('error', () => {})
  }
  return sockets
}

/** Everything a socket receives until it closes, and when it closed (at most `ms` from now). */
function untilClosed(socket: Socket, ms = 10_000): Promise<{ data: Buffer; at: number }> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk) => chunks.push(chunk))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the connection was still open after ${ms} ms`))
    }, ms)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({ data: Buffer.concat(chunks), at: Date.now() })
    })
  })
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (check()) return true
    await sleep(20)
  }
  return check()
}

describe('slowloris', () => {
  test('500 stalled connections do not stop a normal client from being served within a second', async () => {
    const server = await sluice('--quiet')
    // The listening socket (and anything else the server holds at rest) is the baseline.
    const baseline = server.fds('socket:')
    const sockets = await stalled(server.port, 500)
    try {
      // Trickle a byte on each now and then, as slowloris does to look alive.
      const trickle = setInterval(() => {
        for (const socket of sockets) if (!socket.destroyed) socket.write('X')
      }, 200)
      try {
        assert.ok(
          await waitFor(() => server.fds('socket:') >= baseline + 500, 5000),
          `the server holds all 500 stalled connections (${server.fds('socket:')} sockets, ${baseline} before)`,
        )
        await sleep(300)
        for (let i = 0; i < 5; i++) {
          const started = Date.now()
          const res = await rawRequest(server.port, requestHead('GET', '/hello.txt'))
          const elapsed = Date.now() - started
          assert.equal(res.status, 200)
          assert.equal(res.body.toString(), 'hello\n')
          assert.ok(elapsed < 1000, `served in ${elapsed} ms`)
        }
        assert.equal(sockets.filter((s) => s.destroyed).length, 0, 'still stalled meanwhile')
      } finally {
        clearInterval(trickle)
      }
    } finally {
      for (const socket of sockets) socket.destroy()
      assert.equal(await server.stop(), 0)
    }
  })

  test('--headers-timeout: a head still arriving after it gets 408 and is closed, trickle or not', async () => {
    const server = await sluice('--quiet', '--headers-timeout', '1', '--request-timeout', '2')
    try {
      const started = Date.now()
      const [quiet, trickling] = await stalled(server.port, 2)
      const trickle = setInterval(() => trickling!.write('X'), 100)
      const results = await Promise.all([untilClosed(quiet!), untilClosed(trickling!)])
      clearInterval(trickle)
      for (const { data, at } of results) {
        const elapsed = at - started
        assert.ok(elapsed >= 900 && elapsed < 3000, `closed after ${elapsed} ms`)
        const res = parseRawResponse(data)
        assertClean(res, 'headers timeout')
        assert.equal(res.status, 408)
        assert.equal(res.body.toString(), 'Request Timeout\n')
      }
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })

  test('--request-timeout: an upload stalled after its head is cut with 408, nothing written', async () => {
    const server = await sluice(
      '--quiet',
      '--writable',
      '--headers-timeout',
      '1',
      '--request-timeout',
      '2',
    )
    try {
      const started = Date.now()
      const [socket] = await stalled(
        server.port,
        1,
        `${requestHead('PUT', '/stalled.txt')}Content-Length: 100\r\n\r\nten bytes.`,
      )
      const { data, at } = await untilClosed(socket!)
      assert.ok(at - started >= 1900 && at - started < 4500, `closed after ${at - started} ms`)
      const res = parseRawResponse(data)
      assertClean(res, 'request timeout')
      assert.equal(res.status, 408)
      assert.equal(
        await rawRequest(server.port, requestHead('GET', '/stalled.txt')).then((r) => r.status),
        404,
      )
      assert.deepEqual(await noStagedFiles(dir), [])
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })

  test('--idle-timeout: a client that stops reading is cut off and its file released', async () => {
    const server = await sluice('--idle-timeout', '1')
    let socket: Socket | undefined
    try {
      // What the server keeps for the file between requests (its representation cache may keep
      // it open) is in the baseline: the file asked for once, that connection closed.
      const sockets = server.fds('socket:')
      await rawRequest(server.port, requestHead('HEAD', '/big.bin'))
      assert.ok(await waitFor(() => server.fds('socket:') === sockets, 2000), 'HEAD closed')
      const baseline = server.fds()
      socket = connect(server.port, '127.0.0.1')
      socket.on('error', () => {})
      socket.write(`${requestHead('GET', '/big.bin')}\r\n`)
      // Read the first chunk, then stop: the response stalls once the socket buffers are full.
      const opened = socket
      await new Promise((resolve, reject) => {
        opened.once('data', resolve)
        opened.once('close', () => reject(new Error('closed before the first byte')))
      })
      socket.pause()
      const stopped = Date.now()
      assert.ok(server.fds('socket:') === sockets + 1, 'a socket')
      assert.ok(server.fds('big.bin') >= 1, 'the file')
      // The client is paused, so it will not see the close: watch the server let go instead.
      assert.ok(await waitFor(() => server.fds() <= baseline, 6000), 'socket and file released')
      const elapsed = Date.now() - stopped
      assert.ok(elapsed >= 900, `cut after ${elapsed} ms, not before the timeout`)
      assert.ok(
        await waitFor(() => /"msg":"response cut off"/.test(server.cli.stdout()), 2000),
        'logged as cut off',
      )
    } finally {
      socket?.destroy()
      assert.equal(await server.stop(), 0)
    }
  })

  test('--keep-alive-timeout: an idle keep-alive connection is closed after it', async () => {
    const server = await sluice('--quiet', '--keep-alive-timeout', '1')
    try {
      const socket = connect(server.port, '127.0.0.1')
      const done = untilClosed(socket)
      socket.write(requestHead('GET', '/hello.txt') + '\r\n')
      const started = Date.now()
      const { data, at } = await done
      assert.match(data.toString('latin1'), /^HTTP\/1\.1 200 /)
      assert.match(data.toString('latin1'), /Keep-Alive: timeout=1/)
      assert.ok(at - started >= 900 && at - started < 4500, `closed after ${at - started} ms`)
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })
})

describe('caps', () => {
  test('--max-connections: one more is closed unanswered; a freed place is taken again', async () => {
    const server = await sluice('--max-connections', '5')
    const baseline = server.fds('socket:')
    const sockets = await stalled(server.port, 5)
    try {
      assert.ok(
        await waitFor(() => server.fds('socket:') >= baseline + 5, 3000),
        `the server holds all 5 connections (${server.fds('socket:')} sockets, ${baseline} before)`,
      )
      const extra = connect(server.port, '127.0.0.1')
      extra.on('error', () => {})
      extra.write(requestHead('GET', '/hello.txt') + '\r\n')
      const { data } = await untilClosed(extra)
      assert.equal(data.length, 0, 'closed without an answer')
      sockets.pop()!.destroy()
      await sleep(200)
      const res = await rawRequest(server.port, requestHead('GET', '/hello.txt'))
      assert.equal(res.status, 200)
      assert.ok(
        await waitFor(() => /connection limit reached/.test(server.cli.stdout()), 2000),
        'the refusal is logged',
      )
    } finally {
      for (const socket of sockets) socket.destroy()
      assert.equal(await server.stop(), 0)
    }
  })

  test('--max-requests-per-socket: the last allowed response closes the connection', async () => {
    const server = await sluice('--quiet', '--max-requests-per-socket', '3')
    try {
      const socket = connect(server.port, '127.0.0.1')
      const received: Buffer[] = []
      socket.on('data', (chunk) => received.push(chunk))
      let closedAt = 0
      const closed = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('still open after 3 s')), 3000)
        socket.once('close', () => {
          clearTimeout(timer)
          closedAt = Date.now()
          resolve()
        })
      })
      for (let i = 0; i < 3; i++) {
        const before = Buffer.concat(received).toString('latin1').split('HTTP/1.1 ').length
        socket.write(requestHead('GET', '/hello.txt') + '\r\n')
        assert.ok(
          await waitFor(
            () => Buffer.concat(received).toString('latin1').split('HTTP/1.1 ').length > before,
            2000,
          ),
        )
        await sleep(20)
      }
      const lastAnswered = Date.now()
      await closed
      // Closed by the cap itself, not by the 5 s keep-alive timeout.
      assert.ok(closedAt - lastAnswered < 1000, `closed ${closedAt - lastAnswered} ms later`)
      const text = Buffer.concat(received).toString('latin1')
      const heads = text.split('HTTP/1.1 ').slice(1)
      assert.equal(heads.length, 3)
      assert.match(heads[0]!, /Connection: keep-alive/)
      assert.match(heads[1]!, /Connection: keep-alive/)
      assert.match(heads[2]!, /Connection: close/)
    } finally {
      assert.equal(await server.stop(), 0)
    }
  })

  test('SIGTERM does not wait for connections with no response in flight (stalled heads, idle keep-alive)', async () => {
    const server = await sluice('--quiet')
    const sockets = await stalled(server.port, 50)
    const idle = connect(server.port, '127.0.0.1')
    idle.on('error', () => {})
    idle.write(requestHead('GET', '/hello.txt') + '\r\n')
    await new Promise((resolve) => idle.once('data', resolve))
    try {
      const started = Date.now()
      assert.equal(await server.stop(), 0)
      const elapsed = Date.now() - started
      assert.ok(elapsed < 2000, `exited after ${elapsed} ms, not the 10 s shutdown deadline`)
    } finally {
      for (const socket of sockets) socket.destroy()
      idle.destroy()
    }
  })
})
