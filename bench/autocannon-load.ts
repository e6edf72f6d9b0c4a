/**
 * The fallback load generator, run as its own process: autocannon with the request given as
 * JSON in argv[2]; prints a LoadResult as JSON.
 */

import autocannon from 'autocannon'
import type { LoadRequest, LoadResult } from './load.js'

const { url, request, connections, seconds } = JSON.parse(process.argv[2]!) as {
  url: string
  request: LoadRequest
  connections: number
  seconds: number
}
const range = request.randomRange
const result = await autocannon({
  url: `${url}${request.path}`,
  connections,
  duration: seconds,
  requests: [
    {
      method: request.method,
      path: request.path,
      headers: { ...request.headers },
      ...(range === undefined
        ? {}
        : {
            setupRequest: (spec) => {
              const start = Math.floor(Math.random() * (range.size - range.length + 1))
              return {
                ...spec,
                headers: { ...spec.headers, Range: `bytes=${start}-${start + range.length - 1}` },
              }
            },
          }),
    },
  ],
})
const requests = result['2xx'] + result['3xx'] + result['4xx'] + result['5xx']
const output: LoadResult = {
  requests,
  bytes: result.throughput.total,
  seconds: result.duration,
  requestsPerSecond: requests / result.duration,
  bytesPerSecond: result.throughput.total / result.duration,
  errors: result.errors + result.timeouts + result['4xx'] + result['5xx'],
  latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
}
process.stdout.write(`${JSON.stringify(output)}\n`)
