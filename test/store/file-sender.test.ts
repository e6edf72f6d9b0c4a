/**
 * The large-body sender (src/store/file-sender.ts): exact bytes for single and multipart
 * bodies whatever the chunking, chunks that shrink when many bodies are in flight, the cut-off
 * of a file changed in place before its last chunk, and a prompt stop when the client goes.
 */

import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { closeSync, fstatSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { identityOf } from '../../src/store/file-identity.js'
import {
  type BodyPiece,
  type ByteSink,
  chunkBudget,
  FileSender,
} from '../../src/store/file-sender.js'
import { FileChangedError } from '../../src/store/file-stream.js'
import { deterministicBytes } from '../support/fixtures.js'
import { tempRoot } from '../support/server.js'

const SIZE = 3 * 1024 * 1024 + 7
let dir: string
let cleanup: () => Promise<void>
let content: Buffer

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  content = deterministicBytes(SIZE, 3)
})
after(() => cleanup())

/** A sink that takes each write on the next turn of the event loop (or when released). */
class TestSink extends EventEmitter implements ByteSink {
  readonly chunks: Buffer[] = []
  destroyed = false
  largestWrite = 0
  /** While held, write callbacks wait for release(). */
  held = false
  #waiting: (() => void)[] = []

  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    // Copy: the sender reuses its buffers once a write has called back.
    this.chunks.push(Buffer.from(chunk))
    this.largestWrite = Math.max(this.largestWrite, chunk.length)
    if (callback !== undefined) {
      const call = () => setImmediate(() => callback(this.destroyed ? new Error('gone') : null))
      if (this.held) this.#waiting.push(call)
      else call()
    }
    return false
  }
  cork(): void {}
  uncork(): void {}
  release(): void {
    this.held = false
    for (const call of this.#waiting.splice(0)) call()
  }
  destroy(): void {
    this.destroyed = true
    this.emit('close')
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

function open(name: string, bytes: Buffer) {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  const fd = openSync(path, 'r')
  return { path, fd, identity: identityOf(fstatSync(fd, { bigint: true })) }
}

function send(
  fd: number,
  identity: ReturnType<typeof identityOf>,
  pieces: BodyPiece[],
  sink: TestSink,
): Promise<{ error: Error | undefined; bytes: number }> {
  return new Promise((resolve) =>
    sender.send(fd, identity, pieces, sink, (error, bytes) => resolve({ error, bytes })),
  )
}

/** A sender of this suite's own: its budget and read slots are not shared with other tests. */
const sender = new FileSender()

describe('FileSender.send', () => {
  test('a whole file, in chunks, byte for byte', async () => {
    const { fd, identity } = open('whole.bin', content)
    const sink = new TestSink()
    const { error, bytes } = await send(fd, identity, [{ start: 0, end: SIZE - 1 }], sink)
    closeSync(fd)
    assert.equal(error, undefined)
    assert.equal(bytes, SIZE)
    assert.ok(sink.bytes.equals(content))
    assert.ok(sink.chunks.length >= 4, 'sent in several chunks')
  })

  test('buffers and ranges in order: many small parts, and parts across chunk boundaries', async () => {
    const { fd, identity } = open('parts.bin', content)
    const pieces: BodyPiece[] = []
    const expected: Buffer[] = []
    const ranges: [number, number][] = []
    for (let i = 0; i < 100; i++) ranges.push([i * 1000 + 3, i * 1000 + 12])
    ranges.push([5, 1_600_000], [1_000_000, SIZE - 1], [SIZE - 1, SIZE - 1])
    ranges.forEach(([start, end], i) => {
      const head = Buffer.from(`--part ${i}\r\n`)
      pieces.push(head, { start, end })
      expected.push(head, content.subarray(start, end + 1))
    })
    pieces.push(Buffer.from('--end--'))
    expected.push(Buffer.from('--end--'))
    const sink = new TestSink()
    const { error, bytes } = await send(fd, identity, pieces, sink)
    closeSync(fd)
    assert.equal(error, undefined)
    const want = Buffer.concat(expected)
    assert.equal(bytes, want.length)
    assert.ok(sink.bytes.equals(want))
  })

  test('chunks are large for one body and small when many are in flight', async () => {
    const { fd, identity } = open('shared.bin', content)
    const alone = new TestSink()
    await send(fd, identity, [{ start: 0, end: SIZE - 1 }], alone)
    assert.equal(alone.largestWrite, 1024 * 1024)
    // 200 slow clients: each holds the chunk it was sent until released.
    const many = Array.from({ length: 200 }, () => {
      const sink = new TestSink()
      sink.held = true
      return sink
    })
    const sent = many.map((sink) => send(fd, identity, [{ start: 0, end: 256 * 1024 - 1 }], sink))
    while (many.some((sink) => sink.chunks.length === 0)) await new Promise(setImmediate)
    const held = many.reduce((sum, sink) => sum + sink.largestWrite, 0)
    // The budget while few bodies are in flight (16 MiB: the first ones, each fitting in one
    // chunk, took all of their 256 KiB at once), plus the 4 KiB minimum a body gets once it is
    // spent.
    assert.ok(held <= 16 * 1024 * 1024 + 200 * 4 * 1024, `${held} bytes held by 200 bodies`)
    const last = many.at(-1)!.largestWrite
    // At most its share of the budget for 200, 16 MiB × 64 / 200 / 200, as a power of two.
    assert.ok(last <= 16 * 1024, `the 200th body reads ${last} bytes at a time`)
    for (const sink of many) sink.release()
    const results = await Promise.all(sent)
    closeSync(fd)
    assert.ok(results.every((r) => r.error === undefined))
    assert.ok(many.every((sink) => sink.bytes.equals(content.subarray(0, 256 * 1024))))
  })

  test('a body longer than one chunk reads 64 KiB first; one that fits in a chunk is read at once', async () => {
    const { fd, identity } = open('first.bin', content)
    const long = new TestSink()
    await send(fd, identity, [{ start: 0, end: SIZE - 1 }], long)
    assert.equal(long.chunks[0]!.length, 64 * 1024)
    assert.equal(long.largestWrite, 1024 * 1024, 'then chunks of its share')
    assert.ok(long.bytes.equals(content))
    const short = new TestSink()
    await send(fd, identity, [{ start: 5, end: 5 + 1024 * 1024 - 1 }], short)
    closeSync(fd)
    assert.equal(short.chunks.length, 1)
    assert.ok(short.bytes.equals(content.subarray(5, 5 + 1024 * 1024)))
  })

  test('the chunk budget: 16 MiB for up to 64 bodies, falling in proportion to 4 MiB by 256', () => {
    const MiB = 1024 * 1024
    for (const bodies of [1, 16, 64]) assert.equal(chunkBudget(bodies), 16 * MiB)
    assert.equal(chunkBudget(128), 8 * MiB)
    for (const bodies of [256, 1000, 100_000]) assert.equal(chunkBudget(bodies), 4 * MiB)
    for (let bodies = 1; bodies < 2000; bodies++) {
      assert.ok(chunkBudget(bodies + 1) <= chunkBudget(bodies), `never grows (${bodies})`)
      // No cliff: one more body never takes more than the budget's per-body share away.
      const drop = chunkBudget(bodies) - chunkBudget(bodies + 1)
      assert.ok(drop <= chunkBudget(bodies) / bodies, `smooth at ${bodies}`)
    }
  })

  test('thousands of bodies waiting for a read slot: each read once, none lost', async () => {
    const { fd, identity } = open('queued.bin', content)
    const sinks = Array.from({ length: 3000 }, () => new TestSink())
    const sent = sinks.map((sink, i) =>
      send(fd, identity, [{ start: i * 1000, end: i * 1000 + 999 }], sink),
    )
    const results = await Promise.all(sent)
    closeSync(fd)
    assert.ok(results.every((r) => r.error === undefined && r.bytes === 1000))
    sinks.forEach((sink, i) => {
      assert.ok(sink.bytes.equals(content.subarray(i * 1000, i * 1000 + 1000)), `body ${i}`)
    })
    assert.deepEqual(sender.stats(), { sending: 0, chunkBytes: 0 })
  })

  test('a file modified in place is cut off before its last chunk', async () => {
    const { fd, identity, path } = open('modified.bin', content)
    const sink = new TestSink()
    sink.held = true
    const sent = send(fd, identity, [{ start: 0, end: SIZE - 1 }], sink)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const writer = openSync(path, 'r+')
    writeSync(writer, Buffer.from('changed'), 0, 7, SIZE - 100)
    closeSync(writer)
    sink.release()
    const { error, bytes } = await sent
    closeSync(fd)
    assert.ok(error instanceof FileChangedError, String(error))
    assert.ok(bytes < SIZE, `${bytes} of ${SIZE} bytes written`)
  })

  test('a truncated file fails the send', async () => {
    const { fd, identity, path } = open('truncated.bin', content)
    const sink = new TestSink()
    sink.held = true
    const sent = send(fd, identity, [{ start: 0, end: SIZE - 1 }], sink)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await truncate(path, 1000)
    sink.release()
    const { error, bytes } = await sent
    closeSync(fd)
    assert.ok(error instanceof Error)
    assert.ok(bytes < SIZE)
  })

  test('a client that goes away stops the send at once', async () => {
    const { fd, identity } = open('abandoned.bin', content)
    const sink = new TestSink()
    sink.held = true
    const sent = send(fd, identity, [{ start: 0, end: SIZE - 1 }], sink)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const written = sink.chunks.length
    sink.destroy() // the held write never calls back, as with a connection that is gone
    const { error } = await sent
    closeSync(fd)
    assert.ok(error instanceof Error)
    assert.equal(sink.chunks.length, written, 'nothing written after the client went away')
  })
})
