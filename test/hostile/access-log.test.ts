/**
 * The access log (pino, src/log.ts and src/http/server.ts): one entry per request with request
 * id, method, path, status, bytes, duration and how ranges, preconditions and CORS were
 * decided; the bytes actually sent when a response is cut off; an entry for requests node:http
 * could not parse; and, in JSON and pretty form, nothing a request contains can end an entry,
 * start a forged one or reach a terminal as a control character.
 */

import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startCorsServer } from '../support/cors-server.js'
import {
  createSite,
  deterministicBytes,
  expectedEtag,
  type SiteFixture,
} from '../support/fixtures.js'
import { hasControl } from '../support/hostile.js'
import {
  type RunningServer,
  rawRequest,
  requestHead,
  runCli,
  startServer,
} from '../support/server.js'

const BIG = 16 * 1024 * 1024

let site: SiteFixture

before(async () => {
  site = await createSite()
  await writeFile(join(site.root, 'big.bin'), deterministicBytes(BIG, 3))
})
after(() => site.cleanup())

/** Lets pino's asynchronous writes land. */
const settle = () => sleep(50)

describe('entries (JSON)', () => {
  let server: RunningServer
  before(async () => {
    server = await startServer(site.root)
  })
  after(() => server.close())

  const last = () => server.log[server.log.length - 1]!

  test('id, method, path, status, bytes, ms and the range outcome', async () => {
    await rawRequest(server.port, requestHead('GET', '/sample.bin?x=1', { Range: 'bytes=0-9' }))
    await settle()
    const entry = last()
    assert.equal(entry.msg, 'request')
    assert.equal(entry.level, 30)
    assert.equal(typeof entry.id, 'string')
    assert.equal(entry.method, 'GET')
    assert.equal(entry.path, '/sample.bin?x=1')
    assert.equal(entry.status, 206)
    assert.equal(entry.bytes, 10)
    assert.equal(typeof entry.ms, 'number')
    assert.equal(entry.range, 'bytes 0-9/10000')
  })

  test('the precondition outcome, and 0 bytes for 304 and HEAD', async () => {
    const etag = expectedEtag(site.sample)
    await rawRequest(server.port, requestHead('GET', '/sample.bin', { 'If-None-Match': etag }))
    await settle()
    assert.equal(last().status, 304)
    assert.equal(last().bytes, 0)
    assert.equal(last().precondition, 'If-None-Match: 304')
    await rawRequest(server.port, requestHead('HEAD', '/sample.bin', { 'If-Match': etag }))
    await settle()
    assert.equal(last().method, 'HEAD')
    assert.equal(last().bytes, 0)
    assert.equal(last().precondition, 'If-Match: held')
    await rawRequest(server.port, requestHead('GET', '/sample.bin', { 'If-Match': '"other"' }))
    await settle()
    assert.equal(last().status, 412)
    assert.equal(last().precondition, 'If-Match: 412')
  })

  test('ids are unique', async () => {
    for (let i = 0; i < 20; i++) await rawRequest(server.port, requestHead('GET', '/hello.txt'))
    await settle()
    const ids = server.log.map((entry) => entry.id)
    assert.equal(new Set(ids).size, ids.length)
  })

  test('a response cut off: a warning with the bytes actually sent', async () => {
    const socket = connect(server.port, '127.0.0.1')
    socket.on('error', () => {})
    socket.write(`${requestHead('GET', '/big.bin')}\r\n`)
    let received = 0
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received > 1024 * 1024) {
          socket.destroy()
          resolve()
        }
      })
    })
    let entry: Record<string, unknown> | undefined
    for (let i = 0; i < 50 && entry === undefined; i++) {
      await sleep(20)
      entry = server.log.find((e) => e.msg === 'response cut off')
    }
    assert.ok(entry, 'logged')
    assert.equal(entry.level, 40)
    assert.equal(entry.status, 200)
    const bytes = entry.bytes as number
    assert.ok(bytes > 1024 * 1024 - 1024 && bytes < BIG, `${bytes} bytes of ${BIG}`)
  })

  test('requests node:http cannot parse, and over-long targets, get entries too', async () => {
    await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n')
    await rawRequest(server.port, requestHead('GET', `/${'a'.repeat(9000)}`))
    await settle()
    const [malformed, long] = server.log.slice(-2)
    assert.equal(malformed!.status, 400)
    assert.equal(malformed!.code, 'HPE_INVALID_HEADER_TOKEN')
    assert.equal(malformed!.reason, 'Bad Request: invalid header field')
    assert.equal(long!.status, 414)
    assert.match(long!.path as string, /^\/a{63}\.\.\. \(9001 bytes\)$/)
  })

  test('a target made to look like JSON stays a string in one entry', async () => {
    const forged = '/x"},{"level":30,"msg":"request","status":200,"path":"/admin'
    const before = server.log.length
    await rawRequest(server.port, requestHead('GET', forged))
    await settle()
    assert.equal(server.log.length, before + 1)
    assert.equal(server.log[before]!.path, forged)
    assert.equal(server.log[before]!.status, 404)
  })
})

test('the CORS outcome is in the entry', async () => {
  const server = await startCorsServer(site.root, { policy: { origins: ['https://app.example'] } })
  try {
    const get = (origin: string) =>
      rawRequest(server.port, requestHead('GET', '/hello.txt', { Origin: origin }))
    await get('https://app.example')
    await get('https://evil.example')
    await rawRequest(
      server.port,
      requestHead('OPTIONS', '/hello.txt', {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'GET',
      }),
    )
    await settle()
    const notes = server.log.filter((e) => e.msg === 'request').map((e) => e.cors)
    assert.deepEqual(notes, ['allowed', 'denied: origin', 'preflight allowed'])
  } finally {
    await server.close()
  }
})

describe('the CLI log formats', () => {
  /** Requests whose content would forge or garble a log line if it were written raw. */
  async function hostileRequests(port: number): Promise<void> {
    // obs-text gets through node:http (a C0 control such as ESC would be refused with 400);
    // \x9b is the one-byte CSI, \x85 NEL.
    const origin = 'https://evil.example\x9b2J\x85\xa0\xff'
    await rawRequest(port, requestHead('GET', '/hello.txt', { Origin: origin }))
    await rawRequest(port, requestHead('PUT', '/hello.txt', { Origin: `${origin}x` }))
    await rawRequest(port, requestHead('GET', '/x"\\n[00:00:00.000] INFO: forged'))
    await rawRequest(port, requestHead('GET', '/hello.txt', { Range: 'bytes=0-1' }))
    await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nX: \x9b\x1b\r\n')
  }

  /** Runs the CLI with `flags`, sends `requests`, stops it: what it printed after its URL. */
  async function logOf(flags: string[], requests: (port: number) => Promise<void>) {
    const cli = runCli(['serve', site.root, '--port', '0', ...flags])
    await requests(Number(new URL(await cli.url).port))
    await sleep(100)
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited, 0)
    return { text: cli.stdout(), lines: cli.stdout().trimEnd().split('\n').slice(1) }
  }
  const CORS = ['--cors-origin', 'https://app.example']

  test('pretty: every line is an entry head or one of its fields, with no control character', async () => {
    const { text, lines } = await logOf(['--log-format', 'pretty', ...CORS], hostileRequests)
    const heads = lines.filter((line) =>
      /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR): /.test(line),
    )
    for (const line of lines) {
      assert.ok(
        /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR): [\w :,-]+$/.test(line) ||
          /^ {4}[\w-]+: \S/.test(line),
        `not an entry head or field: ${JSON.stringify(line)}`,
      )
      assert.ok(!hasControl(line), JSON.stringify(line))
    }
    // Five requests, two CORS denials and the shutdown: nothing forged, nothing lost.
    assert.equal(heads.filter((h) => h.includes('INFO: request')).length, 5)
    assert.equal(heads.filter((h) => h.includes('WARN: CORS denied')).length, 2)
    assert.ok(!text.includes('INFO: forged'))
    // (rawRequest writes strings as UTF-8: \x9b arrives as the bytes C2 9B, read as Latin-1.)
    assert.match(text, /origin: "https:\/\/evil\.example.?\\u009b2J.?\\u0085/)
  })

  test('json: one entry per line, every line parses, C1 controls escaped in origins', async () => {
    const { lines } = await logOf(['--log-format', 'json', ...CORS], hostileRequests)
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    assert.equal(entries.filter((e) => e.msg === 'request').length, 5)
    const denial = entries.find((e) => e.msg === 'CORS denied')!
    assert.ok(!hasControl(denial.origin as string))
    assert.match(denial.origin as string, /\\u009b/)
  })

  test('--quiet: no access entries, warnings still', async () => {
    const { lines } = await logOf(['--log-format', 'json', '--quiet'], async (port) => {
      await rawRequest(port, requestHead('GET', '/hello.txt'))
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      socket.write(`${requestHead('GET', '/big.bin')}\r\n`)
      await new Promise((resolve) => socket.once('data', resolve))
      socket.destroy()
    })
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    assert.equal(entries.filter((e) => e.msg === 'request').length, 0)
    assert.equal(entries.filter((e) => e.msg === 'response cut off').length, 1)
  })
})
