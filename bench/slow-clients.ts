/**
 * S6's client, run as its own process: `count` connections each ask for the large file at
 * once and then read it slowly (paused sockets, resumed for one chunk every `readIntervalMs`),
 * while one fast client (bench/fast-client.ts, a process of its own, so that this one's busy
 * event loop does not show in its latencies) asks for the small file over a keep-alive
 * connection every `fastIntervalMs`. Prints one JSON line: when each slow download had its
 * response headers, and the fast client's latencies.
 */

import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { FastClientOptions, FastClientResult } from './fast-client.js'

export interface SlowClientsOptions {
  readonly host: string
  readonly port: number
  readonly slowPath: string
  readonly fastPath: string
  readonly count: number
  /** How long the downloads are held after the last one got its headers. */
  readonly holdMs: number
  /** Give up waiting for headers after this long. */
  readonly timeoutMs: number
  readonly readIntervalMs: number
  readonly fastIntervalMs: number
}

export interface SlowClientsResult {
  readonly count: number
  readonly withHeaders: number
  /** Time from the first connect until the last slow download had its headers (null: not all). */
  readonly allHeadersMs: number | null
  readonly statuses: Record<string, number>
  readonly errors: number
  readonly slowBytes: number
  readonly fast: FastClientResult
}

/** The fast client's process, started and connected; `stop` ends it and gives its latencies. */
async function startFastClient(
  options: FastClientOptions,
): Promise<{ stop: () => Promise<FastClientResult> }> {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('fast-client.js', import.meta.url)), JSON.stringify(options)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.startsWith('ready\n')) resolve()
    }
    child.stdout.on('data', check)
    void exited.then((code) => reject(new Error(`the fast client exited (${code})`)))
  })
  return {
    stop: async () => {
      child.stdin.end()
      const code = await exited
      if (code !== 0) throw new Error(`the fast client exited (${code})`)
      return JSON.parse(out.slice('ready\n'.length)) as FastClientResult
    },
  }
}

async function main(options: SlowClientsOptions): Promise<SlowClientsResult> {
  const fast = await startFastClient({
    host: options.host,
    port: options.port,
    path: options.fastPath,
    intervalMs: options.fastIntervalMs,
    timeoutMs: options.timeoutMs,
  })

  const started = performance.now()
  const sockets: Socket[] = []
  const statuses: Record<string, number> = {}
  let withHeaders = 0
  let errors = 0
  let slowBytes = 0
  let allHeadersAt: number | undefined
  let finish: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    finish = resolve
  })
  const request = `GET ${options.slowPath} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\n\r\n`

  for (let i = 0; i < options.count; i++) {
    const socket = connect(options.port, options.host)
    sockets.push(socket)
    let head: Buffer | undefined = Buffer.alloc(0)
    socket.on('connect', () => socket.write(request))
    socket.on('data', (chunk: Buffer) => {
      socket.pause()
      if (head === undefined) {
        slowBytes += chunk.length
        return
      }
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) {
        socket.resume()
        return
      }
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1]
      statuses[status ?? 'invalid'] = (statuses[status ?? 'invalid'] ?? 0) + 1
      slowBytes += head.length - end - 4
      head = undefined
      withHeaders++
      if (withHeaders === options.count) {
        allHeadersAt = performance.now()
        setTimeout(finish, options.holdMs)
      }
    })
    socket.on('error', () => {
      errors++
    })
  }

  // Slow reading: every interval, each paused download takes one more chunk.
  const reader = setInterval(() => {
    for (const socket of sockets) if (socket.isPaused() && !socket.destroyed) socket.resume()
  }, options.readIntervalMs)

  const timeout = setTimeout(finish, options.timeoutMs)
  await finished
  clearTimeout(timeout)
  clearInterval(reader)
  const fastResult = await fast.stop()
  for (const socket of sockets) socket.destroy()

  return {
    count: options.count,
    withHeaders,
    allHeadersMs: allHeadersAt === undefined ? null : allHeadersAt - started,
    statuses,
    errors,
    slowBytes,
    fast: fastResult,
  }
}

const result = await main(JSON.parse(process.argv[2]!) as SlowClientsOptions)
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
