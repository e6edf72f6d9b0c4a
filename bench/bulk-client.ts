/**
 * The load generator for large bodies (S4), run as its own process. wrk reads responses 8 KiB
 * at a time and so tops out below what the servers can send; this client reads with Node's
 * 64 KiB socket reads and only counts the body bytes. Keep-alive connections, each sending its
 * next request when the previous response is complete. Prints a LoadResult as JSON.
 */

import { connect, type Socket } from 'node:net'
import type { LoadRequest, LoadResult } from './load.js'

interface BulkOptions {
  readonly url: string
  readonly request: LoadRequest
  readonly connections: number
  readonly seconds: number
}

const HEAD_END = Buffer.from('\r\n\r\n')

function run(options: BulkOptions): Promise<LoadResult> {
  const { hostname, port } = new URL(options.url)
  const { request } = options
  const latencies: number[] = []
  let bytes = 0
  let errors = 0
  const started = performance.now()
  const deadline = started + options.seconds * 1000

  const requestBytes = (): Buffer => {
    let head = `${request.method} ${request.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n`
    for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`
    const range = request.randomRange
    if (range !== undefined) {
      const start = Math.floor(Math.random() * (range.size - range.length + 1))
      head += `Range: bytes=${start}-${start + range.length - 1}\r\n`
    }
    return Buffer.from(`${head}\r\n`, 'latin1')
  }

  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const socket: Socket = connect(Number(port), hostname)
      let head: Buffer | undefined = Buffer.alloc(0)
      let remaining = 0
      let sentAt = 0
      const send = () => {
        if (performance.now() >= deadline) {
          socket.destroy()
          resolve()
          return
        }
        head = Buffer.alloc(0)
        sentAt = performance.now()
        socket.write(requestBytes())
      }
      const complete = () => {
        latencies.push(performance.now() - sentAt)
        send()
      }
      socket.on('connect', send)
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (head !== undefined) {
          head = Buffer.concat([head, chunk])
          const end = head.indexOf(HEAD_END)
          if (end < 0) return
          const text = head.subarray(0, end).toString('latin1')
          const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1])
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1]
          if (!(status >= 200 && status < 400) || length === undefined) {
            errors++
            socket.destroy()
            resolve()
            return
          }
          remaining = Number(length) - (head.length - end - 4)
          head = undefined
        } else {
          remaining -= chunk.length
        }
        if (remaining === 0) complete()
        else if (remaining < 0) {
          errors++
          socket.destroy()
          resolve()
        }
      })
      socket.on('error', () => {
        errors++
        resolve()
      })
      socket.on('close', () => resolve())
    })

  return Promise.all(Array.from({ length: options.connections }, one)).then(() => {
    const seconds = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN
    return {
      requests: latencies.length,
      bytes,
      seconds,
      requestsPerSecond: latencies.length / seconds,
      bytesPerSecond: bytes / seconds,
      errors,
      latencyMs: {
        p50: at(0.5),
        p99: at(0.99),
        max: latencies[latencies.length - 1] ?? Number.NaN,
      },
    }
  })
}

const result = await run(JSON.parse(process.argv[2]!) as BulkOptions)
process.stdout.write(`${JSON.stringify(result)}\n`)
