/**
 * Large bodies of pipelined requests whose connection is reset: a response queued behind
 * another on the same connection never emits 'close' in node:http (20), so the sink the HTTP/1
 * writer gives the sender (src/http/http1-response.ts) must close with the connection.
 * Otherwise the sender's share of the chunk budget and of the file's descriptor is never given
 * back. A store without a sender (its files only stream) has the same problem when the writer
 * pipes its stream, and the same writer watches the connection there too.
 */

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createEngine } from '../../src/http/engine.js'
import { createNodeHandler } from '../../src/http/node-handler.js'
import { createFsStore, type FsStore } from '../../src/store/fs-store.js'
import type { Lookup, OpenedFile, Store } from '../../src/store/store.js'
import { fileSender } from '../../src/store/file-sender.js'
import { deterministicBytes, settled } from '../support/fixtures.js'
import { openDescriptors } from '../support/proc.js'
import { type Listening, serve, tempRoot } from '../support/server.js'

const SIZE = 8 * 1024 * 1024
const NAME = 'big-pipelined.bin'
let dir: string
let cleanup: () => Promise<void>

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  writeFileSync(join(dir, NAME), deterministicBytes(SIZE, 9))
})
after(() => cleanup())

/** Waits (up to a generous deadline, not a timing assertion) until `check` holds. */
async function eventually(check: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) assert.fail(what())
    await sleep(20)
  }
}

/** Two pipelined GETs of the file on one connection; reset once some bytes arrived. */
function pipelineAndReset(port: number, count = 2): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const request = `GET /${NAME} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
    socket.write(request.repeat(count))
    let received = 0
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received >= 64 * 1024) {
        socket.pause()
        socket.resetAndDestroy()
      }
    })
    socket.on('error', reject)
    socket.on('close', () => resolve())
  })
}

/**
 * The filesystem store as a store without a sender or held bytes would be: its files only
 * stream. Counts the files it opened and those closed.
 */
function streamingOnly(inner: Store): Store & { opened: number; closed: number } {
  const counts = { opened: 0, closed: 0 }
  return Object.assign(counts, {
    async open(path: readonly string[]): Promise<Lookup> {
      const lookup = await inner.open(path)
      if (lookup.kind !== 'file') return lookup
      counts.opened++
      const file = lookup.file
      const streaming: OpenedFile = {
        size: file.size,
        etag: file.etag,
        etagField: file.etagField,
        lastModified: file.lastModified,
        contentType: file.contentType,
        read: (start, end) => file.read(start, end),
        close: () => {
          counts.closed++
          file.close()
        },
      }
      return { kind: 'file', file: streaming }
    },
  })
}

async function withServer(
  run: (server: Listening, store: FsStore) => Promise<void>,
  wrap: (store: FsStore) => Store = (store) => store,
) {
  const store = createFsStore(dir)
  const server = await serve(createNodeHandler(createEngine({ store: wrap(store) })))
  try {
    await run(server, store)
  } finally {
    await server.close()
    await store.close()
  }
}

const linux = process.platform === 'linux'

/** Every sender has finished and given its chunks back. */
const allSendersFinished = () =>
  eventually(
    () => fileSender.stats().sending === 0 && fileSender.stats().chunkBytes === 0,
    () => `senders still in flight: ${JSON.stringify(fileSender.stats())}`,
  )

describe('pipelined large bodies, connection reset', { skip: !linux && 'needs /proc' }, () => {
  test('every sender finishes: no chunk budget and no descriptor left behind', async () => {
    await withServer(async (server) => {
      for (let i = 0; i < 3; i++) await pipelineAndReset(server.port, 2 + i)
      await allSendersFinished()
      // The file is not settled yet (not cached): every request had its own descriptor.
      await eventually(
        () => openDescriptors('self', NAME) === 0,
        () => `${openDescriptors('self', NAME)} descriptors of the file still open`,
      )
    })
  })

  test('a store whose files only stream: every file it opened is closed', async () => {
    let streaming: ReturnType<typeof streamingOnly> | undefined
    await withServer(
      async (server) => {
        for (let i = 0; i < 3; i++) await pipelineAndReset(server.port, 2 + i)
        const counts = streaming!
        assert.ok(counts.opened >= 3, `${counts.opened} files opened`)
        await eventually(
          () => counts.closed === counts.opened,
          () => `${counts.opened - counts.closed} of ${counts.opened} files never closed`,
        )
        await eventually(
          () => openDescriptors('self', NAME) === 0,
          () => `${openDescriptors('self', NAME)} descriptors of the file still open`,
        )
      },
      (store) => (streaming = streamingOnly(store)),
    )
  })

  test('a store whose files only stream, answering after the connection is gone: the file is closed', async () => {
    // The second request's lookup is held until the client has reset the connection, so its
    // reply is written to a response queued on a connection that is already closed.
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    let streaming: ReturnType<typeof streamingOnly> | undefined
    await withServer(
      async (server) => {
        await pipelineAndReset(server.port, 2)
        release()
        const counts = streaming!
        await eventually(
          () => counts.opened === 2 && counts.closed === 2,
          () => `${counts.opened} files opened, ${counts.closed} closed`,
        )
      },
      (store) => {
        const inner = (streaming = streamingOnly(store))
        let lookups = 0
        return {
          async open(path) {
            if (++lookups === 2) await gate
            return inner.open(path)
          },
        }
      },
    )
  })

  test('the same for a file the cache keeps open (fast lane or engine)', async () => {
    // Settled (its ctime two seconds old): the cache keeps it, and its descriptor, open.
    await settled(join(dir, NAME))
    await withServer(async (server, store) => {
      const warm = await fetch(`${server.url}/${NAME}`)
      assert.equal((await warm.arrayBuffer()).byteLength, SIZE)
      assert.equal(openDescriptors('self', NAME), 1, 'the file is held open by the cache')
      for (let i = 0; i < 3; i++) await pipelineAndReset(server.port, 2 + i)
      await allSendersFinished()
      // Only the cache's own share is left.
      await eventually(
        () => openDescriptors('self', NAME) === 1,
        () =>
          `${openDescriptors('self', NAME)} descriptors of the file open, the cache's only expected`,
      )
      await store.close()
      await eventually(
        () => openDescriptors('self', NAME) === 0,
        () =>
          `${openDescriptors('self', NAME)} descriptors of the file open after the store closed`,
      )
    })
  })
})
