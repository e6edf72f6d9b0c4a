/**
 * Abuse over HTTP/2, against `sluice serve --self-signed` in a child process (loopback only),
 * with a raw frame client that ignores what a polite client would respect: a rapid-reset flood
 * (CVE-2023-44487: streams opened and cancelled at once), a stream-count flood (more streams
 * than SETTINGS_MAX_CONCURRENT_STREAMS, never read), an oversized header list, and SETTINGS
 * and PING floods. After each, the server answers a normal request within a second and its
 * resident memory stays bounded; each abusive connection is closed or its streams refused.
 */

import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { deterministicBytes } from '../support/fixtures.js'
import {
  FLAG,
  FRAME,
  frame,
  getFields,
  headerBlock,
  type RawHttp2Connection,
  rawHttp2,
} from '../support/h2-frames.js'
import { residentBytes } from '../support/proc.js'
import { closeSessions, requestOver } from '../support/protocols.js'
import { type CliProcess, requestHead, runCli, tempRoot } from '../support/server.js'

const NGHTTP2_ENHANCE_YOUR_CALM = 0xb
/** Resident memory a flood may add to the server (it starts at about 60 MiB). */
const MEMORY_BOUND = 64 * 1024 * 1024

let dir: string
let cleanup: () => Promise<void>
let cli: CliProcess
let port: number

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  await writeFile(join(dir, 'root-hello.txt'), 'hello\n')
  await writeFile(join(dir, 'big.bin'), deterministicBytes(4 * 1024 * 1024))
  cli = runCli(
    ['serve', dir, '--self-signed', '--port', '0', '--workers', '1', '--log-format', 'json'],
    { env: { XDG_CACHE_HOME: join(dir, '.cache') } },
  )
  port = Number(new URL(await cli.url).port)
})

after(async () => {
  cli.child.kill('SIGTERM')
  assert.equal(await cli.exited, 0)
  await cleanup()
})

/** A normal request on a fresh connection is answered, within a second. */
async function assertStillServing(): Promise<void> {
  closeSessions(port)
  const started = performance.now()
  const res = await requestOver('h2', port, requestHead('GET', '/root-hello.txt'), {
    timeoutMs: 1000,
  })
  const ms = performance.now() - started
  assert.equal(res.status, 200)
  assert.equal(res.body.toString(), 'hello\n')
  assert.ok(ms < 1000, `answered in ${ms.toFixed(0)} ms`)
  closeSessions(port)
}

/** Waits, a bounded while, for the server to close `connection`. */
async function closedByServer(connection: RawHttp2Connection, ms = 5000): Promise<boolean> {
  const timeout = sleep(ms).then(() => false)
  return Promise.race([connection.closed.then(() => true), timeout])
}

function streamIds(count: number, first = 1): number[] {
  return Array.from({ length: count }, (_, i) => first + 2 * i)
}

const rstCancel = (stream: number) => {
  const payload = Buffer.alloc(4)
  payload.writeUInt32BE(0x8) // CANCEL
  return frame(FRAME.RST_STREAM, 0, stream, payload)
}

describe('HTTP/2 abuse', () => {
  test('a rapid-reset flood (CVE-2023-44487) gets GOAWAY ENHANCE_YOUR_CALM; the server keeps serving', async () => {
    const before = residentBytes(cli.child.pid!)
    const connection = await rawHttp2(port)
    const block = headerBlock(getFields('/root-hello.txt', port))
    // 20,000 streams, each opened and cancelled in the same write.
    for (const batch of chunks(streamIds(20_000), 500)) {
      connection.send(
        ...batch.flatMap((id) => [
          frame(FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS, id, block),
          rstCancel(id),
        ]),
      )
      await sleep(1)
    }
    assert.ok(await closedByServer(connection), 'the server closed the connection')
    assert.equal(connection.goaway, NGHTTP2_ENHANCE_YOUR_CALM)
    await assertStillServing()
    assert.match(cli.stdout(), /client reset too many streams \(rapid reset\)/)
    const grown = residentBytes(cli.child.pid!) - before
    assert.ok(grown < MEMORY_BOUND, `resident memory grew by ${grown} bytes`)
  })

  test('more streams than SETTINGS_MAX_CONCURRENT_STREAMS (100) at once, never read: the connection is closed', async () => {
    const before = residentBytes(cli.child.pid!)
    const connection = await rawHttp2(port)
    const block = headerBlock(getFields('/big.bin', port))
    connection.send(
      ...streamIds(1000).map((id) =>
        frame(FRAME.HEADERS, FLAG.END_STREAM | FLAG.END_HEADERS, id, block),
      ),
    )
    // node:http2 refuses a stream over the limit; past 100 refused streams
    // (maxSessionRejectedStreams), or a burst it cannot refuse one by one, it ends the session.
    assert.ok(await closedByServer(connection), 'the server closed the connection')
    assert.ok(connection.answered.size <= 100, `${connection.answered.size} streams answered`)
    await assertStillServing()
    const grown = residentBytes(cli.child.pid!) - before
    assert.ok(grown < MEMORY_BOUND, `resident memory grew by ${grown} bytes`)
  })

  test('a header list over --max-header-size (16 KiB) is refused; the server keeps serving', async () => {
    const connection = await rawHttp2(port)
    const fields: [string, string][] = [
      ...getFields('/root-hello.txt', port),
      ['x-big', 'b'.repeat(20_000)],
    ]
    const block = headerBlock(fields)
    // Over the 16 KiB frame size: HEADERS, then CONTINUATION.
    connection.send(
      frame(FRAME.HEADERS, FLAG.END_STREAM, 1, block.subarray(0, 16_000)),
      frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, block.subarray(16_000)),
    )
    const deadline = Date.now() + 5000
    while (!connection.resets.has(1) && connection.goaway === undefined && Date.now() < deadline) {
      await sleep(10)
    }
    assert.ok(!connection.answered.has(1), 'no response to the oversized request')
    assert.ok(
      connection.resets.has(1) || connection.goaway !== undefined,
      'the stream was reset or the connection closed',
    )
    connection.socket.destroy()
    await assertStillServing()
  })

  for (const [name, make] of [
    ['SETTINGS', () => frame(FRAME.SETTINGS, 0, 0)],
    ['PING', () => frame(FRAME.PING, 0, 0, Buffer.alloc(8))],
  ] as const) {
    test(`a ${name} flood, its acknowledgements never read, closes the connection; the server keeps serving`, async () => {
      const before = residentBytes(cli.child.pid!)
      const connection = await rawHttp2(port)
      connection.socket.pause() // read nothing: the server's ACKs pile up
      const one = make()
      for (let i = 0; i < 100; i++) {
        connection.send(Buffer.concat(Array.from({ length: 1000 }, () => one)))
        await sleep(1)
      }
      connection.socket.resume()
      assert.ok(await closedByServer(connection), 'the server closed the connection')
      await assertStillServing()
      const grown = residentBytes(cli.child.pid!) - before
      assert.ok(grown < MEMORY_BOUND, `resident memory grew by ${grown} bytes`)
    })
  }
})

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
