/**
 * Faults: an error in one request stays in that request (a store that throws, rejects or
 * answers nonsense, files whose read() or close() throws, field values no response can carry,
 * an application's range source that throws), through every adapter and in a child process
 * that would exit if anything escaped; and running out of file descriptors answers 503 with
 * Retry-After, never crashes or spins, and recovers by itself.
 */

import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createFsStore } from '../../src/store/fs-store.js'
import { FAULTS, type Fault, faultyStore } from '../support/faulty-store.js'
import { createSite, type SiteFixture } from '../support/fixtures.js'
import { assertClean } from '../support/hostile.js'
import {
  ADAPTERS,
  type CliProcess,
  PROJECT_ROOT,
  parseRawResponse,
  type RawResponse,
  rawRequest,
  requestHead,
  runCli,
  startServer,
} from '../support/server.js'
import { cpuMs, openDescriptors } from '../support/proc.js'

let site: SiteFixture

before(async () => {
  site = await createSite()
})
after(() => site.cleanup())

/** What each fault must come to: a clean status, or a response cut short of its length. */
const EXPECTED: Record<Fault, number | 'cut'> = {
  'open-throws': 500,
  'open-rejects': 500,
  'open-garbage': 500,
  'read-throws': 500,
  'read-errors': 'cut',
  'multipart-throws': 'cut',
  'bad-type': 500,
  'bad-etag-field': 500,
  'close-throws': 200,
  unavailable: 503,
}

const MULTIPART = 'bytes=0-99,5000-5099'

/**
 * Sends a request and returns what came back, whether or not the response was complete:
 * 'nothing' when the connection closed before a whole head arrived.
 */
async function attempt(
  port: number,
  path: string,
  fields: Record<string, string> = {},
): Promise<RawResponse | 'nothing'> {
  return rawRequest(port, requestHead('GET', path, fields)).catch((error: Error) => {
    if (/^incomplete response/.test(error.message)) return 'nothing' as const
    throw error
  })
}

function assertOutcome(res: RawResponse | 'nothing', expected: number | 'cut', what: string): void {
  if (res === 'nothing') {
    // A body that fails before its first byte takes the head with it: still cut, never wrong.
    assert.equal(expected, 'cut', `${what}: closed without an answer`)
    return
  }
  if (expected === 'cut') {
    const length = Number(res.headers['content-length'])
    assert.ok([200, 206].includes(res.status), `${what}: ${res.statusLine}`)
    assert.ok(res.body.length < length, `${what}: ${res.body.length} of ${length}: cut off`)
    return
  }
  assertClean(res, what, { paths: [site.base], allow5xx: true })
  assert.equal(res.status, expected, `${what}: ${res.statusLine} ${res.body.toString()}`)
  assert.equal(res.headers['set-cookie'], undefined, `${what}: an injected field`)
  assert.equal(res.headers['x-injected'], undefined, `${what}: an injected field`)
  if (expected === 503) assert.equal(res.headers['retry-after'], '1')
}

describe('an error in one request never takes the process down', () => {
  for (const adapter of ADAPTERS) {
    test(`through the ${adapter} adapter: each fault is answered or cut, and the next request is served`, async () => {
      const store = faultyStore(createFsStore(site.root))
      const server = await startServer(site.root, { store }, adapter)
      try {
        for (const fault of FAULTS) {
          const fields: Record<string, string> =
            fault === 'multipart-throws' ? { Range: MULTIPART } : {}
          const res = await attempt(server.port, `/${fault}`, fields)
          assertOutcome(res, EXPECTED[fault], `${adapter} /${fault}`)
          if (res !== 'nothing' && EXPECTED[fault] === 500 && ['node', 'fetch'].includes(adapter)) {
            // sluice's own answer (Express and Fastify answer with their error handlers).
            assert.match(res.body.toString(), /^Internal Server Error\n?$/)
          }
          const next = await rawRequest(server.port, requestHead('GET', '/hello.txt'))
          assert.equal(next.status, 200, `${adapter}: served after /${fault}`)
        }
      } finally {
        await server.close()
      }
    })
  }

  test('in a child process: every fault, twice over, and application callbacks that throw', async () => {
    const child = runCli([site.root], {
      script: join(PROJECT_ROOT, 'dist', 'test', 'support', 'faulty-server.js'),
    })
    const port = Number(new URL(await child.url).port)
    try {
      for (let round = 0; round < 2; round++) {
        for (const fault of FAULTS) {
          const fields: Record<string, string> =
            fault === 'multipart-throws' ? { Range: MULTIPART } : {}
          assertOutcome(await attempt(port, `/${fault}`, fields), EXPECTED[fault], `/${fault}`)
        }
        // The range source throws before a byte is read: 500; rejects later: cut off.
        assertOutcome(await attempt(port, '/dynamic'), 500, '/dynamic')
        assertOutcome(await attempt(port, '/dynamic', { Range: 'bytes=0-9' }), 500, '/dynamic 206')
        assertOutcome(await attempt(port, '/dynamic-rejects'), 'cut', '/dynamic-rejects')
      }
      assert.equal(child.child.exitCode, null, `still running; stderr: ${child.stderr()}`)
      assert.equal((await rawRequest(port, requestHead('GET', '/hello.txt'))).status, 200)
      // The details are in the server's log, with the stack, and nowhere else.
      const failures = child
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"level":50'))
      assert.ok(failures.length >= 8, `${failures.length} errors logged`)
      assert.ok(failures.some((line) => line.includes('open-throws: a store bug')))
      assert.ok(failures.some((line) => /"stack":"[^"]*\\n\s+at /.test(line)))
    } finally {
      child.child.kill('SIGTERM')
      assert.equal(await child.exited, 0)
    }
  })
})

/** Opens `count` connections that send nothing; those the server cannot take are closed. */
async function hold(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = []
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    sockets.push(socket)
  }
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise((resolve) => {
          socket.once('connect', resolve)
          socket.once('close', resolve)
        }),
    ),
  )
  return sockets
}

/** A keep-alive connection that sends one request at a time and parses each answer. */
function keepAlive(port: number) {
  const socket = connect(port, '127.0.0.1')
  let buffer = Buffer.alloc(0)
  let waiting: ((res: RawResponse) => void) | undefined
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk])
    const end = buffer.indexOf('\r\n\r\n')
    if (end === -1 || waiting === undefined) return
    const length = Number(/content-length: (\d+)/i.exec(buffer.subarray(0, end).toString())?.[1])
    if (buffer.length < end + 4 + length) return
    const res = parseRawResponse(buffer.subarray(0, end + 4 + length))
    buffer = buffer.subarray(end + 4 + length)
    const resolve = waiting
    waiting = undefined
    resolve(res)
  })
  return {
    socket,
    get(path: string): Promise<RawResponse> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to ${path}`)), 5000)
        waiting = (res) => {
          clearTimeout(timer)
          resolve(res)
        }
        socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
      })
    },
  }
}

describe('out of file descriptors (a child started under ulimit -n 160)', () => {
  // node's module loader alone needs about a hundred while sluice starts.
  const LIMIT = 160

  /**
   * Runs the CLI under the limit with `flags`, with one keep-alive client that has been served
   * and LIMIT + 40 more connections held open; cleans everything up after `body`.
   */
  async function starved(
    flags: string[],
    body: (server: {
      port: number
      pid: number
      cli: CliProcess
      client: ReturnType<typeof keepAlive>
      held: Socket[]
    }) => Promise<void>,
  ): Promise<void> {
    // One process (not a cluster), so that the descriptors counted are the server's.
    const serve = ['serve', site.root, '--port', '0', '--workers', '1', '--log-format', 'json']
    const cli = runCli([...serve, ...flags], {
      fdLimit: LIMIT,
    })
    const port = Number(new URL(await cli.url).port)
    const client = keepAlive(port)
    const held: Socket[] = []
    try {
      assert.equal((await client.get('/hello.txt')).status, 200)
      held.push(...(await hold(port, LIMIT + 40)))
      await sleep(300)
      await body({ port, pid: cli.child.pid!, cli, client, held })
    } finally {
      for (const socket of held) socket.destroy()
      client.socket.destroy()
      cli.child.kill('SIGTERM')
      assert.equal(await cli.exited, 0)
    }
  }

  test('503 with Retry-After while they are gone, no crash and no spin, and recovery by itself', async () => {
    // A connection cap above the descriptor limit, so the descriptors run out first.
    const flags = ['--max-connections', '1000', '--keep-alive-timeout', '60']
    await starved(flags, async ({ port, pid, cli, client, held }) => {
      assert.ok(openDescriptors(pid) >= LIMIT - 2, `${openDescriptors(pid)} descriptors in use`)
      // A file not asked for yet: one already served may be answered from memory, no descriptor.
      const res = await client.get('/data.json')
      assertClean(res, 'out of descriptors', { allow5xx: true })
      assert.equal(res.status, 503)
      assert.equal(res.headers['retry-after'], '1')
      assert.match(res.body.toString(), /^Service Unavailable: out of file descriptors\n$/)

      // More connections keep arriving and cannot be accepted: no crash and no busy loop.
      const cpuBefore = cpuMs(pid)
      const startedAt = Date.now()
      const more = await hold(port, 200)
      await sleep(1000)
      const cpu = cpuMs(pid) - cpuBefore
      const wall = Date.now() - startedAt
      for (const socket of more) socket.destroy()
      assert.ok(cpu < wall / 2, `${cpu} ms of CPU in ${wall} ms: accept() must not spin`)
      assert.equal(cli.child.exitCode, null, 'still running')

      for (const socket of held.splice(0)) socket.destroy()
      let recovered: RawResponse | undefined
      for (let i = 0; i < 50 && recovered?.status !== 200; i++) {
        await sleep(50)
        recovered = await client.get('/data.json')
      }
      assert.equal(recovered?.status, 200, 'serves again once descriptors are free')
      assert.equal((await rawRequest(port, requestHead('GET', '/hello.txt'))).status, 200)
    })
  })

  test('with the default connection cap (half the limit) connections alone never exhaust them', async () => {
    await starved([], async ({ cli, client, held }) => {
      const open = held.filter((socket) => !socket.destroyed).length
      assert.ok(open <= LIMIT / 2, `${open} connections kept`)
      for (let i = 0; i < 5; i++) assert.equal((await client.get('/sample.bin')).status, 200)
      assert.match(cli.stdout(), /connection limit reached/)
    })
  })
})
