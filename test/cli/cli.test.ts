/**
 * The command line as scripts outside the project use it: `sluice serve <root> [--host]
 * [--port]`, help and version, usage errors (exit 2), runtime errors (exit 1), and a graceful
 * stop on SIGINT/SIGTERM (exit 0).
 */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { deterministicBytes } from '../support/fixtures.js'
import { PROJECT_ROOT, rawRequest, requestHead, runCli, tempRoot } from '../support/server.js'

let dir: string
let cleanup: () => Promise<void>

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  await writeFile(join(dir, 'hello.txt'), 'hello\n')
  await writeFile(join(dir, 'big.bin'), deterministicBytes(8 * 1024 * 1024))
})

after(() => cleanup())

/** One line on stderr, no stack trace. */
function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `expected one line, got: ${stderr}`)
  assert.match(lines[0]!, /^sluice: /)
  assert.match(lines[0]!, pattern)
  assert.doesNotMatch(stderr, /\n\s+at /)
}

describe('help and version', () => {
  test('--version prints the package version', async () => {
    const cli = runCli(['--version'])
    assert.equal(await cli.exited, 0)
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'))
    assert.equal(cli.stdout().trim(), pkg.version)
  })

  for (const args of [['--help'], ['serve', '--help']]) {
    test(`${args.join(' ')} prints usage and exits 0`, async () => {
      const cli = runCli(args)
      assert.equal(await cli.exited, 0)
      assert.match(cli.stdout(), /Usage: sluice/)
      assert.match(cli.stdout(), args[0] === 'serve' ? /--port/ : /serve <root>/)
    })
  }
})

describe('usage errors exit 2 with one line on stderr', () => {
  const cases: { args: string[]; pattern: RegExp }[] = [
    { args: ['serve'], pattern: /<root>/ },
    { args: ['serve', '/no/such/dir'], pattern: /does not exist/ },
    { args: ['serve', 'package.json'], pattern: /not a directory/ },
    { args: ['serve', '.', '--bogus'], pattern: /unknown option '--bogus'/ },
    { args: ['serve', '.', '--port', 'eighty'], pattern: /--port expects an integer/ },
    {
      args: ['serve', '.', '--port', '70000'],
      pattern: /--port expects an integer from 0 to 65535/,
    },
    { args: ['serve', '.', '--port'], pattern: /--port/ },
    { args: ['serve', '.', '--max-ranges', '0'], pattern: /--max-ranges/ },
    {
      args: ['serve', '.', '--log-format', 'xml'],
      pattern: /--log-format expects one of json, pretty/,
    },
    { args: ['serve', '.', '--cache-control', 'a\r\nb'], pattern: /--cache-control/ },
    { args: ['frobnicate'], pattern: /unknown command 'frobnicate'/ },
    {
      args: ['serve', '.', '--max-connections', '0'],
      pattern: /--max-connections expects an integer from 1/,
    },
    {
      args: ['serve', '.', '--max-requests-per-socket', '-1'],
      pattern: /--max-requests-per-socket/,
    },
    {
      args: ['serve', '.', '--headers-timeout', '0'],
      pattern: /--headers-timeout expects an integer from 1/,
    },
    { args: ['serve', '.', '--idle-timeout', '1.5'], pattern: /--idle-timeout expects an integer/ },
    {
      args: ['serve', '.', '--keep-alive-timeout', 'x'],
      pattern: /--keep-alive-timeout expects an integer/,
    },
    {
      args: ['serve', '.', '--max-header-size', '100'],
      pattern: /--max-header-size expects an integer from 1024/,
    },
    {
      args: ['serve', '.', '--headers-timeout', '30', '--request-timeout', '10'],
      pattern: /--headers-timeout \(30\) must not exceed --request-timeout \(10\)/,
    },
    {
      args: ['serve', '.', '--max-url-length', '20000'],
      pattern: /--max-url-length \(20000\) must be smaller than --max-header-size \(16384\)/,
    },
  ]
  for (const { args, pattern } of cases) {
    test(`sluice ${args.join(' ')}`, async () => {
      const cli = runCli(args)
      assert.equal(await cli.exited, 2)
      assertOneLineError(cli.stderr(), pattern)
    })
  }
})

describe('serving', () => {
  test('--port 0 takes a free port and prints http://HOST:PORT', async () => {
    const cli = runCli(['serve', dir, '--port', '0', '--quiet'])
    const url = await cli.url
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await rawRequest(Number(new URL(url).port), requestHead('GET', '/hello.txt'))
    assert.equal(res.status, 200)
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited, 0)
  })

  test('a port in use is a runtime error: exit 1, one line', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const cli = runCli(['serve', dir, '--port', String(port)])
      assert.equal(await cli.exited, 1)
      assertOneLineError(cli.stderr(), new RegExp(`127\\.0\\.0\\.1:${port}.*already in use`))
    } finally {
      blocker.close()
    }
  })

  test('an address that is not local is a runtime error: exit 1, one line', async () => {
    const cli = runCli(['serve', dir, '--host', '192.0.2.1', '--port', '0'])
    assert.equal(await cli.exited, 1)
    assertOneLineError(cli.stderr(), /cannot listen on 192\.0\.2\.1/)
  })

  test('the access log has one JSON line per request with method, path, status and bytes', async () => {
    const cli = runCli(['serve', dir, '--port', '0', '--log-format', 'json'])
    const port = Number(new URL(await cli.url).port)
    await rawRequest(port, requestHead('GET', '/hello.txt', { Range: 'bytes=0-1' }))
    cli.child.kill('SIGTERM')
    await cli.exited
    const entries = cli
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
    const entry = entries.find((e) => e.path === '/hello.txt')
    assert.ok(entry, cli.stdout())
    assert.equal(entry.method, 'GET')
    assert.equal(entry.status, 206)
    assert.equal(entry.bytes, 2)
    assert.equal(entry.range, 'bytes 0-1/6')
    assert.equal(typeof entry.ms, 'number')
  })
})

describe('SIGINT and SIGTERM stop gracefully', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal}: stops accepting, lets an in-flight response finish, exits 0`, async () => {
      const cli = runCli(['serve', dir, '--port', '0', '--quiet'])
      const port = Number(new URL(await cli.url).port)
      const { connect } = await import('node:net')
      const socket = connect(port, '127.0.0.1')
      const received: Buffer[] = []
      socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
      const gotSome = new Promise<void>((resolve) => socket.once('data', () => resolve()))
      socket.on('data', (chunk) => received.push(chunk))
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
      await gotSome
      socket.pause() // the response is now in flight and held back by backpressure
      cli.child.kill(signal)
      // New connections are refused once the signal is handled.
      await new Promise((resolve) => setTimeout(resolve, 200))
      await assert.rejects(rawRequest(port, requestHead('GET', '/hello.txt')))
      socket.resume()
      await closed
      const all = Buffer.concat(received)
      const bodyStart = all.indexOf('\r\n\r\n') + 4
      assert.equal(all.length - bodyStart, 8 * 1024 * 1024, 'the in-flight body finished')
      assert.equal(await cli.exited, 0)
    })
  }

  test('a response still running at the deadline is cut and the process exits 0', async () => {
    const cli = runCli(['serve', dir, '--port', '0', '--quiet', '--shutdown-timeout', '1'])
    const port = Number(new URL(await cli.url).port)
    const { connect } = await import('node:net')
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.pause() // a client that stops reading
    const started = Date.now()
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited, 0)
    assert.ok(Date.now() - started < 5000)
    socket.destroy()
  })
})
