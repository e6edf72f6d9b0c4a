/**
 * Test support: a real sluice on a loopback port (in-process or as the CLI in a child process),
 * temporary roots, and raw HTTP/1.1 exchanges for byte-exact assertions.
 *
 * The behaviour suites run over a matrix, `VARIANTS`: a list of named variants, each an
 * adapter reached over a protocol (protocols.ts: plaintext HTTP/1.1, HTTP/1.1 over TLS,
 * HTTP/2 over TLS). A suite loops over it, starts each with `startServer(root, options,
 * variant)`, and sends its raw HTTP/1.1 heads with `server.request(head, { body })`, which
 * speaks the variant's protocol and answers with the same RawResponse. Another axis (a
 * store, say) is one more field on Variant, one more line in VARIANTS, and a case in
 * startServer. `startServer(root, options, 'express')` (an adapter alone) still means that
 * adapter over plaintext HTTP/1.1, and `rawRequest(port, head)` still speaks plaintext
 * HTTP/1.1. `send()` (writes.ts) speaks the protocol of the server its URL names.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { createSecureServer } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { getRequestListener } from '@hono/node-server'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { Hono } from 'hono'
import { expressMiddleware } from '../../src/adapters/express.js'
import { fastifyPlugin } from '../../src/adapters/fastify.js'
import { createFetchHandler } from '../../src/adapters/fetch.js'
import { createHandler, createServer } from '../../src/adapters/node.js'
import { type AnyServer, listen, shutdown, trackConnections } from '../../src/http/connections.js'
import type { NodeHandler } from '../../src/http/node-handler.js'
import { createHttpServer, type ServerLimits } from '../../src/http/server.js'
import { createLogger, type Logger } from '../../src/log.js'
import type { SluiceOptions } from '../../src/options.js'
import {
  closeSessions,
  type Protocol,
  type RawRequestOptions,
  type RawResponse,
  registerProtocol,
  requestOver,
  testCredentials,
} from './protocols.js'

export { parseRawResponse, type Protocol, type RawResponse } from './protocols.js'

/** The project root (tests run from dist/test/..., sources live beside dist/). */
export const PROJECT_ROOT = new URL('../../../', import.meta.url).pathname
export const CLI = join(PROJECT_ROOT, 'bin', 'sluice.js')

export interface RunningServer {
  readonly url: string
  readonly port: number
  /** What the server is reached over (plaintext HTTP/1.1 unless a variant said otherwise). */
  readonly protocol: Protocol
  /** The access log entries so far (one parsed JSON object per request). */
  readonly log: Record<string, unknown>[]
  /** Sends a raw HTTP/1.1 request head (and body) over the server's protocol. */
  request(head: string, options?: RawRequestOptions): Promise<RawResponse>
  close(): Promise<void>
}

/** A fresh empty directory under the OS temp dir, removed by `cleanup`. */
export async function tempRoot(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-test-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** A pino logger whose entries are collected, parsed, in `log`. */
export function captureLogger(): { logger: Logger; log: Record<string, unknown>[] } {
  const log: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) log.push(JSON.parse(line))
      callback()
    },
  })
  return { logger: createLogger({ format: 'json', destination }), log }
}

/** A server listening on 127.0.0.1 and a free port. */
export interface Listening {
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

/** Listens on a free loopback port; a bare handler is put in sluice's node:http server first. */
export async function serve(target: AnyServer | NodeHandler): Promise<Listening> {
  const server = typeof target === 'function' ? createHttpServer(target) : target
  // A server the test made itself (node:http2's own, say) is tracked too, so that close()
  // ends whatever is left at its deadline as for sluice's servers.
  trackConnections(server)
  const url = await listen(server, '127.0.0.1', 0)
  const port = Number(new URL(url).port)
  return {
    url,
    port,
    close: () => {
      closeSessions(port)
      return shutdown(server, 1000)
    },
  }
}

/** A Fastify app on sluice's node:http server (same limits as the others); `server()` once ready. */
export function fastifyApp(limits: ServerLimits = {}): {
  app: FastifyInstance
  server: () => Server
} {
  let server: Server | undefined
  const app = Fastify({
    serverFactory: (handler) => {
      server = createHttpServer(handler, limits)
      return server
    },
  })
  return { app, server: () => server! }
}

/** The adapters every behaviour suite runs against (docs/API.md). */
export const ADAPTERS = ['node', 'express', 'fastify', 'fetch'] as const
export type Adapter = (typeof ADAPTERS)[number]

/** One server of the matrix: an adapter, reached over a protocol. */
export interface Variant {
  /** For test names: `the node adapter over HTTP/2`. */
  readonly name: string
  readonly adapter: Adapter
  readonly protocol: Protocol
  /**
   * The node adapter's `createHandler` on a server the application brings
   * (`http2.createSecureServer({ allowHTTP1: true })`, node:http2's compatibility API) rather
   * than sluice's own.
   */
  readonly compat?: boolean
}

const PROTOCOL_NAMES: Record<Protocol, string> = {
  h1: 'HTTP/1.1',
  'h1-tls': 'HTTP/1.1 over TLS',
  h2: 'HTTP/2',
}

function variant(adapter: Adapter, protocol: Protocol): Variant {
  return { name: `the ${adapter} adapter over ${PROTOCOL_NAMES[protocol]}`, adapter, protocol }
}

/**
 * The matrix of the behaviour suites: every adapter over plaintext HTTP/1.1; sluice's own
 * server (the node adapter, as `sluice serve` and `createServer({ tls })` run it) over HTTP/1.1
 * with TLS and over HTTP/2; and node:http2's compatibility API (`createHandler` on
 * `http2.createSecureServer`, the bring-your-own server of docs/API.md) over HTTP/2. Express
 * and Hono's adapters need node:http's own request objects and are not offered over HTTP/2.
 */
export const VARIANTS: readonly Variant[] = [
  ...ADAPTERS.map((adapter) => variant(adapter, 'h1')),
  variant('node', 'h1-tls'),
  variant('node', 'h2'),
  {
    name: 'createHandler on http2.createSecureServer over HTTP/2',
    adapter: 'node',
    protocol: 'h2',
    compat: true,
  },
]

/**
 * Starts sluice over a filesystem root on 127.0.0.1 and a free port, in this process, through
 * one adapter: node:http, Express middleware, the Fastify plugin, or the Fetch API handler
 * inside a Hono app, each given the same library options (CORS and writes included). The
 * middleware adapters answer unmatched requests themselves (`fallthrough: false`) so that every
 * adapter must behave identically. `log` collects what the options' logger writes: CORS
 * denials and errors from every adapter, and the access log of the node:http handler.
 */
export async function startServer(
  root: string,
  options: Omit<SluiceOptions, 'root'> = {},
  which: Adapter | Variant = 'node',
  limits: ServerLimits = {},
): Promise<RunningServer> {
  const { logger, log } = captureLogger()
  const sluiceOptions = { logger, ...options, root }
  const { adapter, protocol } = typeof which === 'string' ? variant(which, 'h1') : which
  let server: AnyServer
  switch (adapter) {
    case 'node': {
      if (protocol === 'h1') {
        server = createHttpServer(createHandler(sluiceOptions), limits, logger)
      } else if (typeof which === 'object' && which.compat === true) {
        const { cert, key } = await testCredentials()
        server = createSecureServer({ allowHTTP1: true, cert, key }, createHandler(sluiceOptions))
      } else {
        server = createServer({ ...sluiceOptions, tls: await testCredentials(), limits })
      }
      break
    }
    case 'express': {
      const app = express()
      app.disable('x-powered-by')
      // As deployed: Express's own error handler shows stack traces unless NODE_ENV (or its
      // env setting) is production, which the tests of hostile input and faults rely on.
      app.set('env', 'production')
      app.use(expressMiddleware({ ...sluiceOptions, fallthrough: false }))
      server = createHttpServer(app, limits)
      break
    }
    case 'fastify': {
      const fastify = fastifyApp(limits)
      await fastify.app.register(fastifyPlugin, { ...sluiceOptions, fallthrough: false })
      await fastify.app.ready()
      server = fastify.server()
      break
    }
    case 'fetch': {
      const handler = createFetchHandler(sluiceOptions)
      const app = new Hono()
      app.all('*', (c) => handler(c.req.raw))
      server = createHttpServer(getRequestListener(app.fetch) as unknown as NodeHandler, limits)
      // As with @hono/node-server's serve(): node:http answers Expect: 100-continue itself
      // (a Fetch API handler has no way to send 100 Continue).
      server.removeAllListeners('checkContinue')
      break
    }
  }
  const listening = await serve(server)
  registerProtocol(listening.url, protocol)
  return {
    ...listening,
    protocol,
    log,
    request: (head, requestOptions) => requestOver(protocol, listening.port, head, requestOptions),
  }
}

export interface CliProcess {
  readonly child: ChildProcess
  /** Resolves with the URL from the "serving ... at http://..." line. */
  readonly url: Promise<string>
  stdout(): string
  stderr(): string
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>
}

/**
 * Runs `node bin/sluice.js ...args` (or another script) and collects its output. `fdLimit`
 * runs it under `ulimit -n` (soft and hard), through sh, which then execs node.
 */
export function runCli(
  args: string[],
  options: {
    cwd?: string
    fdLimit?: number
    script?: string
    env?: Record<string, string>
    /** Flags for node itself, before the script. */
    nodeArgs?: string[]
  } = {},
): CliProcess {
  const argv = [...(options.nodeArgs ?? []), options.script ?? CLI, ...args]
  const [command, commandArgs] =
    options.fdLimit === undefined
      ? [process.execPath, argv]
      : ['sh', ['-c', `ulimit -n ${options.fdLimit} && exec "$0" "$@"`, process.execPath, ...argv]]
  const child = spawn(command, commandArgs, {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
  })
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1))
  })
  const url = new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /(https?:\/\/\S+)/.exec(out)
      if (match) resolve(match[1]!)
    }
    child.stdout!.on('data', check)
    exited.then((code) => reject(new Error(`sluice exited (${code}) before listening: ${err}`)))
  })
  url.catch(() => {})
  return { child, url, stdout: () => out, stderr: () => err, exited }
}

/**
 * Sends `head` (request line and fields, without the final blank line) over a new plaintext
 * connection with `Connection: close`, and parses the response exactly as received.
 */
export function rawRequest(
  port: number,
  head: string,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  return requestOver('h1', port, head, options)
}

/** Builds a GET request head for `path` with extra `Name: value` lines. */
export function requestHead(method: string, path: string, fields: Record<string, string> = {}) {
  let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
  for (const [name, value] of Object.entries(fields)) head += `${name}: ${value}\r\n`
  return head
}
