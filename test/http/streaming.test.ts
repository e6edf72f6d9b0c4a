/**
 * Bodies stream with backpressure; a client that goes away releases the file at once; a file
 * changed in place while it streams cuts the response off instead of finishing it with bytes
 * that disagree with its headers.
 */

import assert from 'node:assert/strict'
import { open, rename, truncate, unlink, writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { deterministicBytes, expectedEtag } from '../support/fixtures.js'
import { openDescriptors } from '../support/proc.js'
import { ADAPTERS, type RunningServer, startServer, tempRoot } from '../support/server.js'

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
  socket: Socket
  /** Resolves with the response head once it has arrived (the socket is then paused). */
  head: Promise<{ headers: string; contentLength: number }>
  /** Resume reading; resolves with the number of body bytes received before the socket closed. */
  finish(): Promise<{ bodyBytes: number; body: Buffer }>
}

function slowDownload(path: string): SlowDownload {
  const socket = connect(server.port, '127.0.0.1')
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
    socket,
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

for (const adapter of ADAPTERS) {
  describe(`through the ${adapter} adapter`, () => {
    before(async () => {
      server = await startServer(dir, {}, adapter)
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
        const { bodyBytes } = await download.finish()
        assert.ok(
          bodyBytes < SIZE,
          `received ${bodyBytes} of ${SIZE}: the response must be cut off`,
        )
      })

      test('truncated: the response is cut off', async () => {
        const path = join(dir, 'truncated.bin')
        await writeFile(path, original)
        const download = slowDownload('/truncated.bin')
        await download.head
        await truncate(path, SIZE / 2)
        const { bodyBytes } = await download.finish()
        assert.ok(bodyBytes < SIZE, `received ${bodyBytes} of ${SIZE}`)
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
        for (const d of downloads) d.socket.destroy()
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
