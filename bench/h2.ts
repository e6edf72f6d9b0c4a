/**
 * `npm run bench:h2`: HTTP/2 over TLS, loaded by h2load (Debian nghttp2-client): H2-small, a
 * 1 KiB file over 8 connections × 32 concurrent streams, and H2-range, 1 MiB ranges of a 64
 * MiB file (8 connections × 4 streams); sluice against nginx (`listen ... ssl http2`), Caddy
 * and Fastify (`http2: true` with @fastify/static), on the same files with the same
 * certificate, in interleaved rounds: medians and sluice's ratios, measured in the same run.
 * Servers run on core 0 and h2load on core 1 (taskset), as in `npm run bench`. Each server is
 * first checked to answer right (the exact bytes, a 206 with its Content-Range), else left out.
 */

import { execFile, spawn, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { parseArgs } from 'node:util'
import { selfSignedCredentials } from '../src/cli/tls.js'

const run = promisify(execFile)
const PROJECT_ROOT = new URL('../../', import.meta.url).pathname
const SMALL = 1024
const LARGE = 64 * 1024 * 1024
const RANGE = 1024 * 1024

interface Server {
  readonly name: string
  readonly url: string
  stop(): Promise<void>
}

interface Scenario {
  readonly id: 'H2-small' | 'H2-range'
  readonly title: string
  readonly path: string
  readonly headers: readonly string[]
  readonly streams: number
  readonly expect: { status: number; length: number }
  /** nginx's ratio target (issue 14). */
  readonly target: number
}

const SCENARIOS: readonly Scenario[] = [
  {
    id: 'H2-small',
    title: 'GET 1 KiB file, 8 connections × 32 streams',
    path: '/small.bin',
    headers: [],
    streams: 32,
    expect: { status: 200, length: SMALL },
    target: 0.5,
  },
  {
    id: 'H2-range',
    title: 'GET 1 MiB range of a 64 MiB file, 8 connections × 4 streams',
    path: '/large.bin',
    headers: [`range: bytes=0-${RANGE - 1}`],
    streams: 4,
    expect: { status: 206, length: RANGE },
    target: 0.8,
  },
]

const pin = (core: string): string[] =>
  spawnSync('taskset', ['-V']).error === undefined ? ['taskset', '-c', core] : []

function startProcess(
  name: string,
  argv: string[],
  urlPattern: RegExp,
  cwd?: string,
): Promise<Server> {
  const [command, ...args] = [...pin('0'), ...argv]
  const child = spawn(command!, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd,
    env: { ...process.env, NODE_ENV: 'production' },
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start: ${output.slice(-400)}`)),
      20_000,
    )
    const check = () => {
      const match = urlPattern.exec(output)
      if (match === null) return
      clearTimeout(timer)
      resolve({
        name,
        url: match[1]!.replace(/\/$/, ''),
        stop: async () => {
          child.kill('SIGTERM')
          const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
          await exited
          clearTimeout(kill)
        },
      })
    }
    child.stdout!.on('data', check)
    child.stderr!.on('data', check)
    void exited.then(() => reject(new Error(`${name} exited: ${output.slice(-400)}`)))
  })
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}

async function startNginx(root: string, work: string, cert: string, key: string): Promise<Server> {
  const port = await freePort()
  const dir = join(work, 'nginx')
  await mkdir(dir, { recursive: true })
  const conf = join(dir, 'nginx.conf')
  await writeFile(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  etag on;
  keepalive_requests 1000000;
  http2_max_requests 1000000;
  types { application/octet-stream bin; }
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    root ${root};
  }
}
`,
  )
  // nginx prints nothing once it listens: ready once its port accepts connections.
  const started = await startProcess(
    'nginx',
    ['/usr/sbin/nginx', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')],
    /()/,
  )
  await untilListening(port)
  return { ...started, url: `https://127.0.0.1:${port}` }
}

async function untilListening(port: number): Promise<void> {
  const { connect: connectTcp } = await import('node:net')
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    await sleep(50)
  }
  throw new Error(`nothing listens on ${port}`)
}

async function startCaddy(root: string, work: string, cert: string, key: string): Promise<Server> {
  const port = await freePort()
  const file = join(work, 'Caddyfile')
  await writeFile(
    file,
    `{
  admin off
  auto_https off
  log {
    output discard
  }
}
https://127.0.0.1:${port} {
  tls ${cert} ${key}
  root * ${root}
  file_server
}
`,
  )
  // Caddy's log is discarded (as nginx's access log is off): ready once its port accepts.
  const started = await startProcess(
    'caddy',
    ['caddy', 'run', '--config', file, '--adapter', 'caddyfile'],
    /()/,
  )
  await untilListening(port)
  return { ...started, url: `https://127.0.0.1:${port}` }
}

/** One GET over HTTP/2: status and body length, to check a server before loading it. */
async function check(url: string, scenario: Scenario): Promise<string | undefined> {
  const session = connect(url, { rejectUnauthorized: false })
  try {
    const headers: Record<string, string> = { ':path': scenario.path }
    for (const line of scenario.headers) {
      const [name, value] = line.split(': ') as [string, string]
      headers[name] = value
    }
    const { status, length } = await new Promise<{ status: number; length: number }>(
      (resolve, reject) => {
        const stream = session.request(headers)
        let status = 0
        let length = 0
        stream.on('response', (h) => (status = Number(h[':status'])))
        stream.on('data', (chunk: Buffer) => (length += chunk.length))
        stream.on('end', () => resolve({ status, length }))
        stream.on('error', reject)
      },
    )
    if (status !== scenario.expect.status || length !== scenario.expect.length) {
      return `answered ${status} with ${length} bytes, not ${scenario.expect.status} with ${scenario.expect.length}`
    }
    return undefined
  } catch (error) {
    return (error as Error).message
  } finally {
    session.close()
  }
}

/** h2load for `seconds`: requests per second and MB/s of the run, or why it failed. */
async function h2load(
  url: string,
  scenario: Scenario,
  seconds: number,
): Promise<{ rps: number; mbps: number }> {
  const args = [
    ...pin('1'),
    'h2load',
    '-c',
    '8',
    '-m',
    String(scenario.streams),
    '-t',
    '1',
    '-D',
    String(seconds),
    '--warm-up-time',
    '1',
    ...scenario.headers.flatMap((h) => ['-H', h]),
    `${url}${scenario.path}`,
  ]
  const { stdout } = await run(args[0]!, args.slice(1), { maxBuffer: 16 * 1024 * 1024 })
  const finished = /finished in [\d.]+s, ([\d.]+) req\/s, ([\d.]+)([KMG]?)B\/s/.exec(stdout)
  const failed = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed/.exec(
    stdout,
  )
  if (finished === null || failed === null) throw new Error(`h2load said: ${stdout.slice(-400)}`)
  if (Number(failed[1]) > 0) throw new Error(`h2load: ${failed[1]} requests failed`)
  const unit = { '': 1 / 1e6, K: 1 / 1e3, M: 1, G: 1e3 }[finished[3] as '' | 'K' | 'M' | 'G']
  return { rps: Number(finished[1]), mbps: Number(finished[2]) * unit }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      rounds: { type: 'string' },
    },
  })
  const seconds = Number(values.duration ?? (values.quick ? 1 : 3))
  const rounds = Number(values.rounds ?? (values.quick ? 1 : 3))
  const work = await mkdtemp(join(tmpdir(), 'sluice-bench-h2-'))
  const stops: Server[] = []
  try {
    const root = join(work, 'root')
    await mkdir(root)
    const bytes = Buffer.alloc(LARGE)
    for (let i = 0; i < LARGE; i++) bytes[i] = (i * 2654435761) >>> 24
    await writeFile(join(root, 'small.bin'), bytes.subarray(0, SMALL))
    await writeFile(join(root, 'large.bin'), bytes)
    const tls = await selfSignedCredentials(join(work, 'cert'))
    const cert = join(work, 'cert.pem')
    const key = join(work, 'key.pem')
    await writeFile(cert, tls.cert)
    await writeFile(key, tls.key)
    const servers: Server[] = []
    const add = async (start: () => Promise<Server>, name: string) => {
      try {
        const server = await start()
        servers.push(server)
        stops.push(server)
      } catch (error) {
        process.stderr.write(`${name} left out: ${(error as Error).message}\n`)
      }
    }
    await add(
      () =>
        startProcess(
          'sluice',
          [
            process.execPath,
            join(PROJECT_ROOT, 'bin', 'sluice.js'),
            'serve',
            root,
            '--tls-cert',
            cert,
            '--tls-key',
            key,
            '--port',
            '0',
            '--workers',
            '1',
            '--quiet',
            '--log-format',
            'json',
          ],
          /(https:\/\/\S+)/,
        ),
      'sluice',
    )
    await add(() => startNginx(root, work, cert, key), 'nginx')
    await add(() => startCaddy(root, work, cert, key), 'caddy')
    await add(
      () =>
        startProcess(
          'fastify',
          [
            process.execPath,
            join(PROJECT_ROOT, 'dist', 'bench', 'peers', 'fastify-h2.js'),
            '--root',
            root,
            '--cert',
            cert,
            '--key',
            key,
          ],
          /(https:\/\/\S+)/,
        ),
      'fastify',
    )
    for (const scenario of SCENARIOS) {
      const results = new Map<string, number[]>()
      const measured: Server[] = []
      for (const server of servers) {
        const problem = await check(server.url, scenario)
        if (problem === undefined) measured.push(server)
        else process.stderr.write(`${scenario.id}: ${server.name} left out: ${problem}\n`)
      }
      for (let round = 0; round < rounds; round++) {
        for (const server of measured) {
          const { rps, mbps } = await h2load(server.url, scenario, seconds)
          const value = scenario.id === 'H2-small' ? rps : mbps
          results.set(server.name, [...(results.get(server.name) ?? []), value])
        }
      }
      const unit = scenario.id === 'H2-small' ? 'req/s' : 'MB/s'
      const sluice = median(results.get('sluice') ?? [0])
      process.stdout.write(
        `\n${scenario.id} ${scenario.title} (median of ${rounds} × ${seconds} s)\n`,
      )
      for (const [name, values] of results) {
        const ratio =
          name === 'sluice' ? '' : `  sluice ÷ ${name} ${(sluice / median(values)).toFixed(2)}×`
        const target = name === 'nginx' ? ` (target ≥ ${scenario.target})` : ''
        process.stdout.write(
          `  ${name.padEnd(8)} ${median(values).toFixed(0).padStart(8)} ${unit}${ratio}${target}\n`,
        )
      }
    }
  } finally {
    for (const server of stops) await server.stop().catch(() => {})
    await rm(work, { recursive: true, force: true })
  }
}

await main()
