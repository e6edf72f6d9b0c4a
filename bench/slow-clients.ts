/**
 * S6's client, run as its own process: `count` connections each ask for the large file at
 * once and then read it slowly (paused sockets, resumed for one chunk every `readIntervalMs`),
 * while one fast client asks for the small file over a keep-alive connection every
 * `fastIntervalMs`. Prints one JSON line: when each slow download had its response headers,
 * and the fast client's latencies.
 */

import { Agent, request as httpRequest } from 'node:http'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

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
  readonly fast: {
    readonly requests: number
    readonly failures: number
    readonly p50Ms: number
    readonly p99Ms: number
    readonly maxMs: number
  }
}

async function main(options: SlowClientsOptions): Promise<SlowClientsResult> {
  const fastLatencies: number[] = []
  let fastFailures = 0
  let fastDone = false
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const fastGet = (): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const req = httpRequest(
        { host: options.host, port: options.port, path: options.fastPath, agent },
        (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode === 200))
          res.on('error', () => resolve(false))
        },
      )
      req.setTimeout(options.timeoutMs, () => req.destroy())
      req.on('error', () => resolve(false))
      req.end()
    })
  // The fast client is already connected (keep-alive) when the slow downloads start, so its
  // latency is the server's responsiveness meanwhile, not its accept queue.
  if (!(await fastGet())) throw new Error('the fast client could not GET before the downloads')
  let startFast: () => void = () => {}
  const fastStarted = new Promise<void>((resolve) => {
    startFast = resolve
  })
  const fastLoop = (async () => {
    await fastStarted
    while (!fastDone) {
      const sent = performance.now()
      const ok = await fastGet()
      if (ok) fastLatencies.push(performance.now() - sent)
      else fastFailures++
      await sleep(options.fastIntervalMs)
    }
  })()

  const started = performance.now()
  startFast()
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
  fastDone = true
  await fastLoop
  agent.destroy()
  for (const socket of sockets) socket.destroy()

  fastLatencies.sort((a, b) => a - b)
  const pick = (q: number) =>
    fastLatencies.length === 0
      ? Number.NaN
      : fastLatencies[Math.min(fastLatencies.length - 1, Math.floor(q * fastLatencies.length))]!
  return {
    count: options.count,
    withHeaders,
    allHeadersMs: allHeadersAt === undefined ? null : allHeadersAt - started,
    statuses,
    errors,
    slowBytes,
    fast: {
      requests: fastLatencies.length,
      failures: fastFailures,
      p50Ms: pick(0.5),
      p99Ms: pick(0.99),
      maxMs: fastLatencies.length === 0 ? Number.NaN : fastLatencies[fastLatencies.length - 1]!,
    },
  }
}

const result = await main(JSON.parse(process.argv[2]!) as SlowClientsOptions)
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
