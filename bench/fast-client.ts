/**
 * S6's fast client, run as its own process beside the slow downloads' (bench/slow-clients.ts):
 * its own event loop, so that its latencies are the server's responsiveness, not the time the
 * load generator spends on a thousand sockets of its own. Connects (keep-alive) and GETs
 * `path` once, prints `ready`, then GETs it every `intervalMs` until its stdin ends, and prints
 * its latencies as one JSON line (FastClientResult).
 */

import { Agent, request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

export interface FastClientOptions {
  readonly host: string
  readonly port: number
  readonly path: string
  readonly intervalMs: number
  readonly timeoutMs: number
}

export interface FastClientResult {
  readonly requests: number
  readonly failures: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

async function main(options: FastClientOptions): Promise<FastClientResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const get = (): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const req = httpRequest(
        { host: options.host, port: options.port, path: options.path, agent },
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
  // Connected (keep-alive) before the slow downloads start, so its latency is the server's
  // responsiveness meanwhile, not its accept queue.
  if (!(await get())) throw new Error('the fast client could not GET before the downloads')
  let done = false
  process.stdin.on('end', () => {
    done = true
  })
  process.stdin.resume()
  process.stdout.write('ready\n')
  const latencies: number[] = []
  let failures = 0
  while (!done) {
    const sent = performance.now()
    if (await get()) latencies.push(performance.now() - sent)
    else failures++
    await sleep(options.intervalMs)
  }
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const pick = (q: number) =>
    latencies.length === 0
      ? Number.NaN
      : latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!
  return {
    requests: latencies.length,
    failures,
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    maxMs: latencies.length === 0 ? Number.NaN : latencies[latencies.length - 1]!,
  }
}

const result = await main(JSON.parse(process.argv[2]!) as FastClientOptions)
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
