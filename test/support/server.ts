/**
 * Test support: a real sluice on a loopback port (in-process or as the CLI in a child process),
 * temporary roots, and raw HTTP/1.1 exchanges for byte-exact assertions.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import type { Server } from 'node:http'
import { connect } from 'node:net'
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
import { createHandler } from '../../src/adapters/node.js'
import { listen, shutdown } from '../../src/http/connections.js'
import type { NodeHandler } from '../../src/http/node-handler.js'
import { createHttpServer, type ServerLimits } from '../../src/http/server.js'
import { createLogger, type Logger } from '../../src/log.js'
import type { SluiceOptions } from '../../src/options.js'

/** The project root (tests run from dist/test/..., sources live beside dist/). */
export const PROJECT_ROOT = new URL('../../../', import.meta.url).pathname
export const CLI = join(PROJECT_ROOT, 'bin', 'sluice.js')

export interface RunningServer {
  readonly url: string
  readonly port: number
  /** The access log entries so far (one parsed JSON object per request). */
  readonly log: Record<string, unknown>[]
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
export async function serve(target: Server | NodeHandler): Promise<Listening> {
  const server = typeof target === 'function' ? createHttpServer(target) : target
  const url = await listen(server, '127.0.0.1', 0)
  return { url, port: Number(new URL(url).port), close: () => shutdown(server, 1000) }
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
  adapter: Adapter = 'node',
  limits: ServerLimits = {},
): Promise<RunningServer> {
  const { logger, log } = captureLogger()
  const sluiceOptions = { logger, ...options, root }
  let server: Server
  switch (adapter) {
    case 'node': {
      server = createHttpServer(createHandler(sluiceOptions), limits, logger)
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
  return { ...(await serve(server)), log }
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
      const match = /(http:\/\/\S+)/.exec(out)
      if (match) resolve(match[1]!)
    }
    child.stdout!.on('data', check)
    exited.then((code) => reject(new Error(`sluice exited (${code}) before listening: ${err}`)))
  })
  url.catch(() => {})
  return { child, url, stdout: () => out, stderr: () => err, exited }
}

export interface RawResponse {
  readonly status: number
  readonly statusLine: string
  /** Header names in lower case; repeated fields joined with ', '. */
  readonly headers: Record<string, string>
  /** The header block as received, one `Name: value` string per line. */
  readonly rawHeaders: string[]
  readonly body: Buffer
}

/**
 * Sends `head` (request line and fields, without the final blank line) over a new connection
 * with `Connection: close`, and parses the response exactly as received. `bodyExpected: false`
 * is for HEAD, whose response has a Content-Length but no body.
 */
export function rawRequest(
  port: number,
  head: string,
  options: { body?: Buffer | string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('raw request timed out'))
    }, options.timeoutMs ?? 10_000)
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      try {
        resolve(parseRawResponse(Buffer.concat(chunks)))
      } catch (error) {
        reject(error)
      }
    })
    const text = head.endsWith('\r\n') ? head : `${head}\r\n`
    const withClose = /\r\nconnection:/i.test(text) ? text : `${text}Connection: close\r\n`
    socket.write(`${withClose}\r\n`)
    if (options.body !== undefined) socket.write(options.body)
  })
}

/** Parses one HTTP/1.1 response whose body runs to the end of the connection. */
export function parseRawResponse(data: Buffer): RawResponse {
  const end = data.indexOf('\r\n\r\n')
  if (end === -1) throw new Error(`incomplete response: ${JSON.stringify(data.toString('latin1'))}`)
  const lines = data.subarray(0, end).toString('latin1').split('\r\n')
  const statusLine = lines.shift()!
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  return {
    status: Number(statusLine.split(' ')[1]),
    statusLine,
    headers,
    rawHeaders: lines,
    body: data.subarray(end + 4),
  }
}

/** Builds a GET request head for `path` with extra `Name: value` lines. */
export function requestHead(method: string, path: string, fields: Record<string, string> = {}) {
  let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
  for (const [name, value] of Object.entries(fields)) head += `${name}: ${value}\r\n`
  return head
}
