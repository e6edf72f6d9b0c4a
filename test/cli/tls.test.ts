/**
 * `sluice serve` over TLS: `--tls-cert`/`--tls-key` (and the file's `tls-cert`/`tls-key`),
 * one port answering HTTP/2 and HTTP/1.1 by ALPN with an `https://` ready line; bad files as
 * one line and exit 2 naming the file and what is wrong; `--self-signed` with its printed
 * fingerprint and per-user cache; SIGHUP reloading the certificate without dropping the
 * connections already open; graceful shutdown over HTTP/2 (GOAWAY, the stream in flight
 * finishes); TLS 1.2+ only; the access log naming the protocol.
 */

import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { connect as connectHttp2 } from 'node:http2'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { connect as connectTls, type TLSSocket } from 'node:tls'
import { selfSignedCredentials } from '../../src/cli/tls.js'
import { deterministicBytes } from '../support/fixtures.js'
import { connectHttp1, requestOver } from '../support/protocols.js'
import { requestHead, runCli, tempRoot } from '../support/server.js'

let dir: string
let cleanup: () => Promise<void>
/** Two unrelated certificate/key pairs, as files. */
const pair = { a: { cert: '', key: '' }, b: { cert: '', key: '' } }
let fingerprintA = ''
let fingerprintB = ''

before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  await mkdir(join(dir, 'root'))
  await writeFile(join(dir, 'root', 'hello.txt'), 'hello\n')
  await writeFile(join(dir, 'root', 'big.bin'), deterministicBytes(16 * 1024 * 1024, 3))
  for (const name of ['a', 'b'] as const) {
    const made = await selfSignedCredentials(join(dir, `cache-${name}`))
    pair[name].cert = join(dir, `${name}-cert.pem`)
    pair[name].key = join(dir, `${name}-key.pem`)
    await writeFile(pair[name].cert, made.cert)
    await writeFile(pair[name].key, made.key)
    if (name === 'a') fingerprintA = made.fingerprint
    else fingerprintB = made.fingerprint
  }
})
after(() => cleanup())

const root = () => join(dir, 'root')

/** The certificate a new TLS connection to `port` is shown, and the protocol ALPN chose. */
function handshake(
  port: number,
  alpn: string[] = ['h2', 'http/1.1'],
): Promise<{ fingerprint: string; protocol: string | false | null; version: string | null }> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connectTls(
      { port, host: '127.0.0.1', ALPNProtocols: alpn, rejectUnauthorized: false },
      () => {
        const cert = socket.getPeerX509Certificate()!
        resolve({
          fingerprint: cert.fingerprint256,
          protocol: socket.alpnProtocol,
          version: socket.getProtocol(),
        })
        socket.destroy()
      },
    )
    socket.on('error', reject)
  })
}

/** `sluice serve` in one process (unless `args` say otherwise), logging JSON. */
async function serveTls(args: string[], env: Record<string, string> = {}) {
  const workers = args.includes('--workers') ? [] : ['--workers', '1']
  const cli = runCli(
    ['serve', root(), '--port', '0', '--log-format', 'json', ...workers, ...args],
    { env },
  )
  const url = await cli.url
  return { cli, url, port: Number(new URL(url).port) }
}

describe('--tls-cert and --tls-key', () => {
  test('one port answers HTTP/2 and HTTP/1.1 by ALPN; the ready line says https://HOST:PORT', async () => {
    const { cli, url, port } = await serveTls([
      '--tls-cert',
      pair.a.cert,
      '--tls-key',
      pair.a.key,
      '--workers',
      '2',
    ])
    try {
      assert.match(
        cli.stdout(),
        /^sluice serving .* at https:\/\/127\.0\.0\.1:\d+ \(2 processes\)\n/,
      )
      assert.ok(url.startsWith('https://'))
      assert.equal((await handshake(port)).protocol, 'h2')
      assert.equal((await handshake(port, ['http/1.1'])).protocol, 'http/1.1')
      const h2 = await requestOver('h2', port, requestHead('GET', '/hello.txt'))
      assert.equal(h2.status, 200)
      assert.equal(h2.body.toString(), 'hello\n')
      const h1 = await requestOver('h1-tls', port, requestHead('GET', '/hello.txt'))
      assert.match(h1.statusLine, /^HTTP\/1\.1 200/)
      assert.equal(h1.body.toString(), 'hello\n')
      const logged = cli.stdout()
      assert.match(logged, /"protocol":"HTTP\/2"/)
      assert.match(logged, /"protocol":"HTTP\/1\.1"/)
    } finally {
      cli.child.kill('SIGTERM')
      assert.equal(await cli.exited, 0)
    }
  })

  test('HTTP/1.1 over TLS has the keep-alive and per-socket request limits of plaintext', async () => {
    const { cli, port } = await serveTls([
      '--tls-cert',
      pair.a.cert,
      '--tls-key',
      pair.a.key,
      '--keep-alive-timeout',
      '1',
      '--max-requests-per-socket',
      '2',
    ])
    try {
      // Three pipelined requests on one connection: two are answered, the second with
      // Connection: close, and the server closes the connection.
      const received = await new Promise<string>((resolve, reject) => {
        const socket = connectHttp1('h1-tls', port)
        let data = ''
        socket.setEncoding('latin1')
        socket.on('data', (chunk: string) => (data += chunk))
        socket.on('error', reject)
        socket.on('close', () => resolve(data))
        socket.write(`${requestHead('GET', '/hello.txt')}\r\n`.repeat(3))
      })
      const heads = received.split(/(?=HTTP\/1\.1 \d{3})/)
      assert.equal(heads.length, 2, received)
      assert.match(heads[0]!, /Keep-Alive: timeout=1, max=2/)
      assert.match(heads[1]!, /Connection: close/)
      // An idle keep-alive connection is closed after the keep-alive timeout.
      const started = Date.now()
      await new Promise<void>((resolve, reject) => {
        const socket = connectHttp1('h1-tls', port)
        socket.on('error', reject)
        socket.resume()
        socket.on('close', () => resolve())
        socket.write(`${requestHead('GET', '/hello.txt')}\r\n`)
      })
      const waited = Date.now() - started
      assert.ok(waited >= 900 && waited < 4000, `closed after ${waited} ms`)
    } finally {
      cli.child.kill('SIGTERM')
      assert.equal(await cli.exited, 0)
    }
  })

  test('the configuration file: tls-cert and tls-key, relative to the file', async () => {
    const configDir = join(dir, 'conf')
    await mkdir(configDir, { recursive: true })
    await copyFile(pair.a.cert, join(configDir, 'cert.pem'))
    await copyFile(pair.a.key, join(configDir, 'key.pem'))
    const config = join(configDir, 'sluice.config.json')
    await writeFile(config, JSON.stringify({ 'tls-cert': 'cert.pem', 'tls-key': 'key.pem' }))
    const { cli, port } = await serveTls(['--config', config])
    try {
      assert.equal((await handshake(port)).fingerprint, fingerprintA)
    } finally {
      cli.child.kill('SIGTERM')
      assert.equal(await cli.exited, 0)
    }
  })

  test('TLS 1.2 and 1.3 only: a client offering at most TLS 1.1 is refused', async () => {
    const { cli, port } = await serveTls(['--tls-cert', pair.a.cert, '--tls-key', pair.a.key])
    try {
      assert.match((await handshake(port)).version ?? '', /^TLSv1\.[23]$/)
      const old = await new Promise<Error | undefined>((resolve) => {
        const socket = connectTls(
          {
            port,
            host: '127.0.0.1',
            rejectUnauthorized: false,
            maxVersion: 'TLSv1.1',
            minVersion: 'TLSv1',
          },
          () => {
            socket.destroy()
            resolve(undefined)
          },
        )
        socket.on('error', (error) => resolve(error))
      })
      assert.ok(old instanceof Error, 'the TLS 1.1 handshake failed')
      // The failure is logged once (rate-limited), at warn.
      const deadline = Date.now() + 2000
      while (!/TLS handshake failed/.test(cli.stdout()) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      assert.match(cli.stdout(), /"level":40.*TLS handshake failed/)
    } finally {
      cli.child.kill('SIGTERM')
      assert.equal(await cli.exited, 0)
    }
  })
})

describe('time limits and renegotiation', () => {
  test('--tls-handshake-timeout closes a connection that never handshakes; --idle-timeout an idle HTTP/2 session', async () => {
    const { cli, port } = await serveTls([
      '--tls-cert',
      pair.a.cert,
      '--tls-key',
      pair.a.key,
      '--tls-handshake-timeout',
      '1',
      '--idle-timeout',
      '1',
    ])
    try {
      const { connect: connectTcp } = await import('node:net')
      let started = Date.now()
      await new Promise<void>((resolve) => {
        const socket = connectTcp(port, '127.0.0.1')
        socket.on('error', () => {})
        socket.on('close', () => resolve())
      })
      let waited = Date.now() - started
      assert.ok(waited >= 900 && waited < 5000, `a silent connection closed after ${waited} ms`)
      started = Date.now()
      const session = connectHttp2(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
      session.on('error', () => {})
      await new Promise((resolve) => session.once('close', resolve))
      waited = Date.now() - started
      assert.ok(waited >= 900 && waited < 5000, `an idle session closed after ${waited} ms`)
    } finally {
      cli.child.kill('SIGTERM')
      assert.equal(await cli.exited, 0)
    }
  })

  test('a TLS 1.2 client asking to renegotiate is refused', async () => {
    const { cli, port } = await serveTls(['--tls-cert', pair.a.cert, '--tls-key', pair.a.key])
    try {
      const outcome = await new Promise<string>((resolve) => {
        const socket = connectTls(
          {
            port,
            host: '127.0.0.1',
            rejectUnauthorized: false,
            maxVersion: 'TLSv1.2',
            ALPNProtocols: ['http/1.1'],
          },
          () => {
            socket.renegotiate({ rejectUnauthorized: false }, (error) => {
              resolve(error === null || error === undefined ? 'renegotiated' : 'refused')
            })
          },
        )
        socket.on('error', () => resolve('refused'))
        socket.on('close', () => resolve('refused'))
      })
      assert.equal(outcome, 'refused')
    } finally {
      cli.child.kill('SIGTERM')
      assert.equal(await cli.exited, 0)
    }
  })
})

describe('bad certificate or key files: one line, exit 2, naming the file and the problem', () => {
  const cases: { what: string; args: () => Promise<string[]>; pattern: RegExp }[] = [
    {
      what: 'a certificate file that does not exist',
      args: async () => ['--tls-cert', join(dir, 'missing.pem'), '--tls-key', pair.a.key],
      pattern: /--tls-cert '.*missing\.pem' cannot be read: no such file/,
    },
    {
      what: 'a key file that cannot be read (a directory)',
      args: async () => ['--tls-cert', pair.a.cert, '--tls-key', dir],
      pattern: /--tls-key '.*' cannot be read: it is a directory/,
    },
    {
      what: 'a certificate that is not PEM',
      args: async () => {
        const file = join(dir, 'not-pem.pem')
        await writeFile(file, 'hello\n')
        return ['--tls-cert', file, '--tls-key', pair.a.key]
      },
      pattern: /--tls-cert '.*not-pem\.pem' is not a PEM certificate/,
    },
    {
      what: 'a key that is not PEM (a certificate given as the key)',
      args: async () => ['--tls-cert', pair.a.cert, '--tls-key', pair.a.cert],
      pattern: /--tls-key '.*a-cert\.pem' is not a PEM private key/,
    },
    {
      what: 'a key that does not match the certificate',
      args: async () => ['--tls-cert', pair.a.cert, '--tls-key', pair.b.key],
      pattern:
        /--tls-key '.*b-key\.pem' does not match the certificate in --tls-cert '.*a-cert\.pem'/,
    },
    {
      what: '--tls-cert without --tls-key',
      args: async () => ['--tls-cert', pair.a.cert],
      pattern: /--tls-cert needs --tls-key/,
    },
    {
      what: '--self-signed with --tls-cert',
      args: async () => ['--self-signed', '--tls-cert', pair.a.cert, '--tls-key', pair.a.key],
      pattern: /--self-signed makes its own certificate/,
    },
  ]
  for (const { what, args, pattern } of cases) {
    test(what, async () => {
      const cli = runCli(['serve', root(), '--port', '0', ...(await args())])
      assert.equal(await cli.exited, 2)
      const lines = cli.stderr().trimEnd().split('\n')
      assert.equal(lines.length, 1, cli.stderr())
      assert.match(lines[0]!, /^sluice: /)
      assert.match(lines[0]!, pattern)
      assert.equal(cli.stdout(), '')
    })
  }
})

describe('--self-signed', () => {
  test('makes a certificate for localhost, 127.0.0.1 and ::1, prints its fingerprint, and reuses it from the cache', async () => {
    const cache = join(dir, 'xdg')
    const first = await serveTls(['--self-signed'], { XDG_CACHE_HOME: cache })
    let printed: string
    try {
      const match = /SHA-256 ([0-9A-F:]{95})/.exec(first.cli.stdout())
      assert.ok(match, first.cli.stdout())
      printed = match[1]!
      assert.equal((await handshake(first.port)).fingerprint, printed)
      const pem = await readFile(join(cache, 'sluice', 'localhost-cert.pem'))
      const cert = new X509Certificate(pem)
      assert.equal(cert.fingerprint256, printed)
      assert.equal(
        cert.subjectAltName,
        'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
      )
      assert.equal(
        (await requestOver('h2', first.port, requestHead('GET', '/hello.txt'))).status,
        200,
      )
    } finally {
      first.cli.child.kill('SIGTERM')
      assert.equal(await first.cli.exited, 0)
    }
    // A restart shows the same certificate: a browser's exception for it still holds.
    const second = await serveTls(['--self-signed'], { XDG_CACHE_HOME: cache })
    try {
      assert.equal((await handshake(second.port)).fingerprint, printed)
      assert.match(second.cli.stdout(), new RegExp(`SHA-256 ${printed}`))
    } finally {
      second.cli.child.kill('SIGTERM')
      assert.equal(await second.cli.exited, 0)
    }
  })
})

describe('SIGHUP', () => {
  test('reloads the certificate for new connections without dropping the open ones', async () => {
    const cert = join(dir, 'live-cert.pem')
    const key = join(dir, 'live-key.pem')
    await copyFile(pair.a.cert, cert)
    await copyFile(pair.a.key, key)
    const { cli, port } = await serveTls(['--tls-cert', cert, '--tls-key', key])
    try {
      assert.equal((await handshake(port)).fingerprint, fingerprintA)
      // An HTTP/2 connection opened before the reload, kept open across it.
      const session = connectHttp2(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
      session.on('error', () => {})
      const get = (path: string) =>
        new Promise<number>((resolve, reject) => {
          const stream = session.request({ ':path': path })
          stream.on('response', (headers) => resolve(Number(headers[':status'])))
          stream.on('error', reject)
          stream.resume()
        })
      assert.equal(await get('/hello.txt'), 200)
      // A bad pair is refused: logged, and the old certificate stays.
      await copyFile(pair.b.key, key)
      cli.child.kill('SIGHUP')
      const deadline = Date.now() + 3000
      while (!/certificate not reloaded/.test(cli.stdout()) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      assert.match(
        cli.stdout(),
        /certificate not reloaded, the old one stays: --tls-key .* does not match/,
      )
      assert.equal((await handshake(port)).fingerprint, fingerprintA)
      // A good one is taken.
      await copyFile(pair.b.cert, cert)
      cli.child.kill('SIGHUP')
      while (!/certificate reloaded/.test(cli.stdout()) && Date.now() < deadline + 3000) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      assert.equal((await handshake(port)).fingerprint, fingerprintB)
      assert.equal(await get('/hello.txt'), 200, 'the connection opened before still answers')
      session.close()
    } finally {
      cli.child.kill('SIGTERM')
      assert.equal(await cli.exited, 0)
    }
  })
})

describe('graceful shutdown over HTTP/2', () => {
  test('SIGTERM: GOAWAY, the stream in flight finishes within --shutdown-timeout, then exit 0', async () => {
    const { cli, port } = await serveTls([
      '--tls-cert',
      pair.a.cert,
      '--tls-key',
      pair.a.key,
      '--shutdown-timeout',
      '10',
    ])
    const session = connectHttp2(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
    session.on('error', () => {})
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)))
    const stream = session.request({ ':path': '/big.bin' })
    stream.on('error', () => {})
    const chunks: Buffer[] = []
    const response = new Promise<number>((resolve) =>
      stream.once('response', (headers) => {
        stream.pause()
        resolve(Number(headers[':status']))
      }),
    )
    assert.equal(await response, 200)
    cli.child.kill('SIGTERM')
    assert.equal(await goaway, 0, 'GOAWAY with NO_ERROR')
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.resume()
    await new Promise((resolve) => stream.once('close', resolve))
    assert.equal(Buffer.concat(chunks).length, 16 * 1024 * 1024, 'the body in flight is complete')
    assert.equal(await cli.exited, 0)
    session.destroy()
  })
})
