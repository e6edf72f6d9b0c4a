/**
 * Starting and stopping the servers under test, each in its own process pinned to the server
 * core: sluice through its CLI (as scripts outside the project start it), the Node peers and
 * the floor from dist/bench/peers, and nginx with a generated configuration.
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { connect, createServer as createNetServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CORS_POLICY } from './peers/common.js'

/** The project root (this file runs as dist/bench/servers.js). */
export const PROJECT_ROOT = new URL('../../', import.meta.url).pathname
const PEERS_DIR = join(PROJECT_ROOT, 'dist', 'bench', 'peers')
const SLUICE_CLI = join(PROJECT_ROOT, 'bin', 'sluice.js')

export const NGINX_INSTALL = 'apt-get install -y nginx'

export type ServerName = 'sluice' | 'floor' | 'express' | 'fastify' | 'sirv' | 'nginx' | 'caddy'

export const CADDY_INSTALL = 'apt-get install -y caddy'

export interface RunningServer {
  readonly name: ServerName
  readonly url: string
  readonly host: string
  readonly port: number
  readonly pid: number
  stop(): Promise<void>
}

export interface Placement {
  /** Prefix that pins a command to the server core (empty when pinning is unavailable). */
  readonly serverPrefix: readonly string[]
}

export interface ServerSpec {
  readonly name: ServerName
  /** What is running, for the report (versions, flags). */
  readonly describe: string
  start(root: string, workDir: string): Promise<RunningServer>
}

/** sluice, with the CORS flags when this build of the CLI knows them. */
export function sluiceSpec(placement: Placement): ServerSpec {
  const help = execFileSync(process.execPath, [SLUICE_CLI, 'serve', '--help'], {
    encoding: 'utf8',
  })
  const corsFlags: string[] = []
  if (help.includes('--cors-origin')) {
    corsFlags.push('--cors-origin', CORS_POLICY.origin)
    if (help.includes('--cors-methods'))
      corsFlags.push('--cors-methods', CORS_POLICY.methods.join(','))
    if (help.includes('--cors-headers'))
      corsFlags.push('--cors-headers', CORS_POLICY.headers.join(','))
    if (help.includes('--cors-max-age')) {
      corsFlags.push('--cors-max-age', String(CORS_POLICY.maxAgeSeconds))
    }
  }
  const flags = ['--host', '127.0.0.1', '--port', '0', '--log-format', 'json', '--quiet']
  // The targets of issue 6 are for one process (the default is one worker per core).
  if (help.includes('--workers')) flags.push('--workers', '1')
  return {
    name: 'sluice',
    describe: `sluice ${readVersion(PROJECT_ROOT)} (bin/sluice.js serve ${[...flags, ...corsFlags].join(' ')})`,
    start: (root) =>
      startAnnouncing('sluice', placement, [SLUICE_CLI, 'serve', root, ...flags, ...corsFlags]),
  }
}

/** A Node peer (or the floor) from dist/bench/peers/NAME.js. */
export function peerSpec(
  name: 'floor' | 'express' | 'fastify' | 'sirv',
  placement: Placement,
): ServerSpec {
  const packages: Record<typeof name, string[]> = {
    floor: [],
    express: ['express', 'serve-static', 'cors'],
    fastify: ['fastify', '@fastify/static', '@fastify/cors'],
    sirv: ['sirv'],
  }
  const versions = packages[name].map(
    (pkg) => `${pkg} ${readVersion(join(PROJECT_ROOT, 'node_modules', pkg))}`,
  )
  return {
    name,
    describe:
      name === 'floor'
        ? `bare node:http answering canned bytes from memory (node ${process.version})`
        : versions.join(', '),
    start: (root) =>
      startAnnouncing(name, placement, [join(PEERS_DIR, `${name}.js`), '--root', root]),
  }
}

let nginxStarts = 0

/** nginx when installed; undefined (and the caller prints how to install it) otherwise. */
export function nginxSpec(placement: Placement): ServerSpec | undefined {
  const binary = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx'].find((p) =>
    existsSync(p),
  )
  if (binary === undefined) return undefined
  const printed = spawnSync(binary, ['-v'], { encoding: 'utf8' })
  const version = `${printed.stderr}${printed.stdout}`.trim().replace(/^nginx version: /, '')
  return {
    name: 'nginx',
    describe: `${version}, one process, sendfile on, tcp_nopush off, gzip_static on, gzip on (level 6) for scripts`,
    start: async (root, workDir) => {
      const dir = join(workDir, `nginx-${++nginxStarts}`)
      await mkdir(dir, { recursive: true })
      const port = await freePort()
      const conf = join(dir, 'nginx.conf')
      await writeFile(conf, nginxConfig(root, dir, port))
      const child = spawn(
        ...command(placement, binary, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')]),
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      const output = collect(child)
      await waitForPort('127.0.0.1', port, child, output, dir)
      return running('nginx', `http://127.0.0.1:${port}`, child)
    },
  }
}

/**
 * nginx as a single process (no master, no daemon) on loopback: sendfile and its own ETag and
 * range support (both on by default), no access log, keep-alive connections kept as long as
 * Node keeps them, `tcp_nopush off` (with it nginx holds each multipart response ~40 ms), and
 * the benchmark's CORS policy for preflights.
 */
export function nginxConfig(root: string, dir: string, port: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nopush off;
  tcp_nodelay on;
  etag on;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  gzip_static on;
  gzip on;
  gzip_types text/javascript;
  gzip_comp_level 6;
  gzip_min_length 1024;
  gzip_vary on;
  types { application/octet-stream bin; text/javascript js; }
  default_type application/octet-stream;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_origin $cors_origin {
    "${CORS_POLICY.origin}" $http_origin;
    default "";
  }
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / {
      if ($request_method = OPTIONS) {
        add_header Access-Control-Allow-Origin $cors_origin always;
        add_header Access-Control-Allow-Methods "${CORS_POLICY.methods.join(', ')}" always;
        add_header Access-Control-Allow-Headers "${CORS_POLICY.headers.join(', ')}" always;
        add_header Access-Control-Max-Age ${CORS_POLICY.maxAgeSeconds} always;
        add_header Vary "Origin, Access-Control-Request-Method, Access-Control-Request-Headers" always;
        return 204;
      }
    }
  }
}
`
}

let caddyStarts = 0

/**
 * Caddy when installed: its file server with `precompressed br gzip` (the siblings S7 asks
 * for) and `encode zstd gzip` for compression on the fly, one process, no admin endpoint, no
 * access log. It has no CORS of its own, so it takes no part in S3.
 */
export function caddySpec(placement: Placement): ServerSpec | undefined {
  const binary = ['/usr/bin/caddy', '/usr/local/bin/caddy'].find((p) => existsSync(p))
  if (binary === undefined) return undefined
  const version = spawnSync(binary, ['version'], { encoding: 'utf8' }).stdout.trim().split(' ')[0]
  return {
    name: 'caddy',
    describe: `caddy ${version}, file_server precompressed br gzip, encode zstd gzip`,
    start: async (root, workDir) => {
      const dir = join(workDir, `caddy-${++caddyStarts}`)
      await mkdir(dir, { recursive: true })
      const port = await freePort()
      const conf = join(dir, 'Caddyfile')
      await writeFile(conf, caddyConfig(root, port))
      const child = spawn(
        ...command(placement, binary, ['run', '--config', conf, '--adapter', 'caddyfile']),
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir },
        },
      )
      const output = collect(child)
      await waitForPort('127.0.0.1', port, child, output, dir, 'caddy')
      return running('caddy', `http://127.0.0.1:${port}`, child)
    },
  }
}

export function caddyConfig(root: string, port: number): string {
  return `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  root * ${root}
  encode zstd gzip
  file_server {
    precompressed br gzip
  }
}
`
}

function command(placement: Placement, file: string, args: readonly string[]): [string, string[]] {
  const full = [...placement.serverPrefix, file, ...args]
  return [full[0]!, full.slice(1)]
}

/** Starts a Node server script and waits for the `http://HOST:PORT` line it prints. */
async function startAnnouncing(
  name: ServerName,
  placement: Placement,
  args: string[],
): Promise<RunningServer> {
  const child = spawn(...command(placement, process.execPath, args), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  })
  const output = collect(child)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail('did not announce a URL within 20 s'), 20_000)
    const fail = (why: string) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${name} ${why}: ${output.text().trim().slice(-500)}`))
    }
    child.stdout!.on('data', () => {
      const match = /http:\/\/[^\s/]+/.exec(output.text())
      if (match) {
        clearTimeout(timer)
        resolve(match[0])
      }
    })
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before listening`))
  })
  child.removeAllListeners('exit')
  return running(name, url, child)
}

function running(name: ServerName, url: string, child: ChildProcess): RunningServer {
  const parsed = new URL(url)
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  return {
    name,
    url,
    host: parsed.hostname,
    port: Number(parsed.port),
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

function collect(child: ChildProcess): { text(): string } {
  let text = ''
  const add = (chunk: Buffer) => {
    text += chunk.toString('utf8')
    if (text.length > 20_000) text = text.slice(-10_000)
  }
  child.stdout?.on('data', add)
  child.stderr?.on('data', add)
  return { text: () => text }
}

async function waitForPort(
  host: string,
  port: number,
  child: ChildProcess,
  output: { text(): string },
  dir: string,
  name = 'nginx',
): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')
      throw new Error(
        `${name} exited before listening: ${(output.text() + log).trim().slice(-500)}`,
      )
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host)
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    await sleep(50)
  }
  child.kill('SIGKILL')
  throw new Error(`${name} did not listen within 20 s`)
}

/** A port that was free a moment ago (nginx needs one in its configuration). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function readVersion(dir: string): string {
  try {
    const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }
    return json.version ?? '?'
  } catch {
    return '?'
  }
}
