/**
 * Load generation from a separate process: wrk when installed (one thread, on the load core
 * the harness runs on), else autocannon in a child Node process. Both report the same shape.
 */

import { execFile, spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PROJECT_ROOT } from './servers.js'

export const WRK_INSTALL = 'apt-get install -y wrk'

export interface LoadRequest {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  /** Ask for a random `length`-byte range of a `size`-byte file on every request. */
  readonly randomRange?: { readonly size: number; readonly length: number }
}

export interface LoadResult {
  readonly requests: number
  readonly bytes: number
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly bytesPerSecond: number
  /** Socket errors, timeouts and statuses other than 2xx/3xx. */
  readonly errors: number
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number }
}

export interface LoadGenerator {
  readonly name: string
  run(
    url: string,
    request: LoadRequest,
    connections: number,
    seconds: number,
    workDir: string,
  ): Promise<LoadResult>
}

export function findWrk(): string | undefined {
  const found = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
  if (found.error !== undefined) return undefined
  const line = `${found.stdout}${found.stderr}`.split('\n')[0]?.trim() ?? 'wrk'
  return line.replace(/ Copyright.*$/, '')
}

export function wrkGenerator(version: string): LoadGenerator {
  let scripts = 0
  return {
    name: version,
    async run(url, request, connections, seconds, workDir) {
      const script = join(workDir, `load-${++scripts}.lua`)
      await writeFile(script, wrkScript(request))
      const stdout = await run('wrk', [
        '-t1',
        `-c${connections}`,
        `-d${seconds}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        url,
      ])
      const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '))
      if (line === undefined) throw new Error(`wrk printed no summary: ${stdout.slice(-500)}`)
      const raw = JSON.parse(line.slice('WRKJSON '.length)) as {
        requests: number
        bytes: number
        durationUs: number
        errors: number
        p50: number
        p99: number
        max: number
      }
      const secondsRun = raw.durationUs / 1e6
      return {
        requests: raw.requests,
        bytes: raw.bytes,
        seconds: secondsRun,
        requestsPerSecond: raw.requests / secondsRun,
        bytesPerSecond: raw.bytes / secondsRun,
        errors: raw.errors,
        latencyMs: { p50: raw.p50 / 1000, p99: raw.p99 / 1000, max: raw.max / 1000 },
      }
    },
  }
}

/** A wrk script: the request (random range or fixed), and a JSON summary at the end. */
export function wrkScript(request: LoadRequest): string {
  const headerLines = Object.entries(request.headers)
    .map(([name, value]) => `wrk.headers[${lua(name)}] = ${lua(value)}`)
    .join('\n')
  const ranged =
    request.randomRange === undefined
      ? ''
      : `
local size, length = ${request.randomRange.size}, ${request.randomRange.length}
math.randomseed(os.time())
request = function()
  local start = math.random(0, size - length)
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Range"] = "bytes=" .. start .. "-" .. (start + length - 1)
  return wrk.format(nil, nil, headers)
end
`
  return `wrk.method = ${lua(request.method)}
wrk.path = ${lua(request.path)}
${headerLines}
${ranged}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"bytes":%d,"durationUs":%d,"errors":%d,"p50":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.bytes, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`
}

function lua(text: string): string {
  return JSON.stringify(text)
}

/** autocannon in a child process (so the load never shares the harness's event loop). */
export function autocannonGenerator(): LoadGenerator {
  return nodeScriptGenerator('autocannon (wrk not installed)', 'autocannon-load.js')
}

/** The custom client for large bodies (see bulk-client.ts), in a child process. */
export function bulkGenerator(): LoadGenerator {
  return nodeScriptGenerator('bulk-client (Node, 64 KiB reads)', 'bulk-client.js')
}

/** A load generator script of dist/bench/ taking its job as JSON and printing a LoadResult. */
function nodeScriptGenerator(name: string, script: string): LoadGenerator {
  const child = join(PROJECT_ROOT, 'dist', 'bench', script)
  return {
    name,
    async run(url, request, connections, seconds) {
      const job = JSON.stringify({ url, request, connections, seconds })
      const stdout = await run(process.execPath, [child, job])
      return withNaN(JSON.parse(stdout) as LoadResult)
    },
  }
}

/** JSON turns NaN (no request completed) into null; turn it back. */
function withNaN(result: LoadResult): LoadResult {
  const n = (v: number | null) => (v === null ? Number.NaN : v)
  return {
    ...result,
    latencyMs: {
      p50: n(result.latencyMs.p50),
      p99: n(result.latencyMs.p99),
      max: n(result.latencyMs.max),
    },
  }
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${error.message} ${stderr.slice(-500)}`))
      else resolve(stdout)
    })
  })
}
