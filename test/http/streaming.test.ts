/**
 * Bodies stream with backpressure; a client that goes away releases the file at once; a file
 * changed in place while it streams cuts the response off instead of finishing it with bytes
 * that disagree with its headers.
 */

import assert from 'node:assert/strict'
import { open, rename, truncate, unlink, writeFile } from 'node:fs/promises'
import { connect as connectHttp2, constants } from 'node:http2'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { deterministicBytes, expectedEtag } from '../support/fixtures.js'
import { openDescriptors } from '../support/proc.js'
import { connectHttp1 } from '../support/protocols.js'
import { type RunningServer, startServer, tempRoot, VARIANTS } from '../support/server.js'

const SIZE = 32 * 1024 * 1024
let dir: string
let cleanup: () => Promise<void>
let server: RunningServer
let original: Buffer

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  original = deterministicBytes(SIZE, 7)
})

after(async () => {
  await cleanup()
})

interface SlowDownload {
  /** Goes away: closes the connection. */
  abort(): void
  /** Resolves with the response head once it has arrived (reading is then paused). */
  head: Promise<{ headers: string; contentLength: number }>
  /**
   * Resume reading; resolves with the body bytes received before the connection (HTTP/2: the
   * stream) closed, and over HTTP/2 the RST_STREAM code if the stream was reset.
   */
  finish(): Promise<{ bodyBytes: number; body: Buffer; resetCode?: number }>
}

function slowDownload(path: string): SlowDownload {
  if (server.protocol === 'h2') return slowHttp2Download(path)
  const socket = connectHttp1(server.protocol, server.port)
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
  const chunks: Buffer[] = []
  let closed = false
  const closedPromise = new Promise<void>((resolve) => {
    socket.on('close', () => {
      closed = true
      resolve()
    })
  })
  socket.on('error', () => {})
  const head = new Promise<{ headers: string; contentLength: number }>((resolve) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      const all = Buffer.concat(chunks)
      const end = all.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.pause()
      socket.off('data', onData)
      const headers = all.subarray(0, end).toString('latin1')
      const contentLength = Number(/content-length: (\d+)/i.exec(headers)![1])
      chunks.length = 0
      chunks.push(all.subarray(end + 4))
      resolve({ headers, contentLength })
    }
    socket.on('data', onData)
  })
  return {
    abort: () => socket.destroy(),
    head,
    async finish() {
      socket.on('data', (chunk) => chunks.push(chunk))
      socket.resume()
      if (!closed) await closedPromise
      const body = Buffer.concat(chunks)
      return { bodyBytes: body.length, body }
    },
  }
}

/** The same over HTTP/2, on a connection of its own (so that it holds a socket, as above). */
function slowHttp2Download(path: string): SlowDownload {
  const session = connectHttp2(`https://127.0.0.1:${server.port}`, { rejectUnauthorized: false })
  session.on('error', () => {})
  const stream = session.request({ ':path': path })
  stream.on('error', () => {})
  const chunks: Buffer[] = []
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
  const head = new Promise<{ headers: string; contentLength: number }>((resolve) => {
    stream.once('response', (fields) => {
      stream.pause()
      const lines = Object.entries(fields).map(([name, value]) => `${name}: ${String(value)}`)
      resolve({ headers: lines.join('\r\n'), contentLength: Number(fields['content-length']) })
    })
  })
  stream.on('data', (chunk: Buffer) => chunks.push(chunk))
  return {
    abort: () => session.destroy(),
    head,
    async finish() {
      stream.resume()
      await closed
      session.close()
      const body = Buffer.concat(chunks)
      const reset = stream.rstCode !== constants.NGHTTP2_NO_ERROR
      return { bodyBytes: body.length, body, ...(reset && { resetCode: stream.rstCode }) }
    },
  }
}

/**
 * Over HTTP/2 a response cut off is a stream reset (RST_STREAM INTERNAL_ERROR). node:http2 ends
 * the stream's DATA as it resets it, so the client may also see the length fall short of
 * Content-Length, a malformed response it resets itself with PROTOCOL_ERROR (RFC 9113 section
 * 8.1.1): an error either way, never a complete response.
 */
function assertReset(result: { resetCode?: number }): void {
  if (server.protocol !== 'h2') return
  assert.ok(
    result.resetCode === constants.NGHTTP2_INTERNAL_ERROR ||
      result.resetCode === constants.NGHTTP2_PROTOCOL_ERROR,
    `the stream was reset with an error (code ${result.resetCode})`,
  )
}

for (const variant of VARIANTS) {
  describe(`through ${variant.name}`, () => {
    before(async () => {
      server = await startServer(dir, {}, variant)
    })
    after(() => server.close())

    describe('a file changed while it streams', () => {
      test('modified in place (same size): the response is cut off before its last byte', async () => {
        const path = join(dir, 'modified.bin')
        await writeFile(path, original)
        const download = slowDownload('/modified.bin')
        const { contentLength } = await download.head
        assert.equal(contentLength, SIZE)
        const handle = await open(path, 'r+')
        const patch = Buffer.from('changed!')
        await handle.write(patch, 0, patch.length, SIZE - 100)
        await handle.close()
        const result = await download.finish()
        assert.ok(
          result.bodyBytes < SIZE,
          `received ${result.bodyBytes} of ${SIZE}: the response must be cut off`,
        )
        assertReset(result)
      })

      test('truncated: the response is cut off', async () => {
        const path = join(dir, 'truncated.bin')
        await writeFile(path, original)
        const download = slowDownload('/truncated.bin')
        await download.head
        await truncate(path, SIZE / 2)
        const result = await download.finish()
        assert.ok(result.bodyBytes < SIZE, `received ${result.bodyBytes} of ${SIZE}`)
        assertReset(result)
      })

      test('deleted: the response completes with the bytes its ETag names, never other bytes', async () => {
        // The open descriptor keeps the deleted inode's bytes, unchanged (only its link count
        // and ctime move), so the body still agrees with its headers; a new file at the same
        // name is another inode and never mixes in.
        const path = join(dir, 'deleted.bin')
        await writeFile(path, original)
        const download = slowDownload('/deleted.bin')
        const { headers, contentLength } = await download.head
        await unlink(path)
        await writeFile(path, deterministicBytes(SIZE, 9))
        const { body } = await download.finish()
        assert.equal(contentLength, SIZE)
        assert.equal(body.length, SIZE, 'complete')
        assert.ok(body.equals(original), 'the bytes the headers describe')
        assert.ok(headers.toLowerCase().includes(`etag: ${expectedEtag(original)}`.toLowerCase()))
      })

      test('truncated and then deleted: the response is cut off', async () => {
        const path = join(dir, 'truncated-deleted.bin')
        await writeFile(path, original)
        const download = slowDownload('/truncated-deleted.bin')
        await download.head
        await truncate(path, SIZE / 4)
        await unlink(path)
        const { bodyBytes } = await download.finish()
        assert.ok(bodyBytes < SIZE, `received ${bodyBytes} of ${SIZE}`)
      })

      test('replaced by rename: the response completes with the old bytes its ETag names', async () => {
        const path = join(dir, 'renamed.bin')
        await writeFile(path, original)
        const download = slowDownload('/renamed.bin')
        const { headers } = await download.head
        await writeFile(join(dir, 'next.tmp'), deterministicBytes(SIZE, 8))
        await rename(join(dir, 'next.tmp'), path)
        const { body } = await download.finish()
        assert.equal(body.length, SIZE)
        assert.ok(body.equals(original))
        assert.ok(headers.toLowerCase().includes(`etag: ${expectedEtag(original)}`.toLowerCase()))
      })
    })

    describe('a client that goes away', () => {
      test('releases the file handle at once', async () => {
        await writeFile(join(dir, 'big.bin'), original)
        await sleep(50)
        const baseline = openDescriptors('self')
        const downloads = Array.from({ length: 20 }, () => slowDownload('/big.bin'))
        await Promise.all(downloads.map((d) => d.head))
        assert.ok(
          openDescriptors('self') >= baseline + 20,
          'each download holds a socket and a file',
        )
        for (const d of downloads) d.abort()
        const deadline = Date.now() + 2000
        while (openDescriptors('self') > baseline && Date.now() < deadline) await sleep(10)
        assert.ok(
          openDescriptors('self') <= baseline,
          `${openDescriptors('self')} fds open, baseline ${baseline}`,
        )
      })
    })
  })
}
