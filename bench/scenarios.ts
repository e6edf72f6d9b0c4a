/**
 * The throughput scenarios S1 to S5. Each first checks that a server answers what the scenario
 * expects (status, the fields that make the answer right, the exact bytes) and only then
 * yields the request the load generator repeats; a server that answers anything else is
 * excluded with the reason, so a fast 404 never wins.
 */

import { type Exchange, exchange, parseMultipart } from './exchange.js'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import {
  BROWSER_ACCEPT_ENCODING,
  type Fixtures,
  LARGE,
  MEDIUM,
  MULTIPART_FIELD,
  MULTIPART_RANGES,
  RANGE_LENGTH,
  SCRIPT,
  SCRIPT_ON_THE_FLY,
  SMALL,
} from './fixtures.js'
import type { LoadRequest } from './load.js'
import { CORS_POLICY } from './peers/common.js'
import type { RunningServer } from './servers.js'

export type ScenarioId = 'S1' | 'S2' | 'S3' | 'S4-whole' | 'S4-range' | 'S5' | 'S7' | 'S7-fly'

export interface Scenario {
  readonly id: ScenarioId
  readonly title: string
  readonly connections: number
  /**
   * Large bodies: loaded by the bulk client (wrk's 8 KiB reads would be the bottleneck) and
   * compared by bytes per second, which counts responses still in flight at the end.
   */
  readonly bulk?: boolean
  /** The target for the median of sluice/nginx ratios (issue 6), if any. */
  readonly targetVsNginx?: number
  /**
   * Checks the server and returns the request to load it with, plus the bytes one response
   * took in the check; or a string saying why the server is excluded.
   */
  prepare(server: RunningServer, fixtures: Fixtures): Promise<Prepared | string>
}

export interface Prepared {
  readonly request: LoadRequest
  readonly responseBytes: number
  /** What is wrong but does not change the work measured (reported with the results). */
  readonly warnings?: readonly string[]
}

const get = (path: string, headers: Record<string, string> = {}): LoadRequest => ({
  method: 'GET',
  path,
  headers,
})

async function send(server: RunningServer, request: LoadRequest): Promise<Exchange> {
  return exchange(server.host, server.port, request)
}

function sameBytes(response: Exchange, expected: Buffer): string | undefined {
  if (response.body.length !== expected.length) {
    return `body of ${response.body.length} bytes, expected ${expected.length}`
  }
  return response.body.equals(expected) ? undefined : 'body bytes differ from the file'
}

function prepared(request: LoadRequest, response: Exchange): Prepared {
  return { request, responseBytes: response.headBytes + response.body.length }
}

const s1: Scenario = {
  id: 'S1',
  title: 'GET 1 KiB file',
  connections: 64,
  targetVsNginx: 0.5,
  async prepare(server, fixtures) {
    const request = get(SMALL.path)
    const response = await send(server, request)
    if (response.status !== 200) return `answers ${response.status}, expected 200`
    return sameBytes(response, fixtures.bytes.get(SMALL.path)!) ?? prepared(request, response)
  },
}

const s2: Scenario = {
  id: 'S2',
  title: 'GET 1 KiB, If-None-Match → 304',
  connections: 64,
  targetVsNginx: 0.55,
  async prepare(server) {
    const first = await send(server, get(SMALL.path))
    const etag = first.headers.get('etag')
    if (first.status !== 200 || etag === undefined) {
      return `GET answers ${first.status} ${etag === undefined ? 'without an ETag' : ''}`
    }
    const request = get(SMALL.path, { 'If-None-Match': etag })
    const response = await send(server, request)
    if (response.status !== 304) return `If-None-Match ${etag} answers ${response.status}, not 304`
    if (response.body.length > 0) return `304 with a body of ${response.body.length} bytes`
    const warnings =
      response.headers.get('etag') === etag
        ? []
        : ['its 304 carries no ETag (RFC 9110 section 15.4.5 requires the one a 200 would have)']
    return { ...prepared(request, response), warnings }
  },
}

const s3: Scenario = {
  id: 'S3',
  title: 'CORS preflight (OPTIONS, PUT, X-Custom)',
  connections: 64,
  targetVsNginx: 0.5,
  async prepare(server) {
    const request: LoadRequest = {
      method: 'OPTIONS',
      path: SMALL.path,
      headers: {
        Origin: CORS_POLICY.origin,
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'x-custom',
      },
    }
    const response = await send(server, request)
    if (response.status !== 204 && response.status !== 200) {
      return `preflight answers ${response.status}, expected 204 or 200`
    }
    const origin = response.headers.get('access-control-allow-origin')
    if (origin !== CORS_POLICY.origin && origin !== '*') {
      return `preflight without Access-Control-Allow-Origin (got ${origin ?? 'none'})`
    }
    const methods = (response.headers.get('access-control-allow-methods') ?? '')
      .split(',')
      .map((m) => m.trim())
    if (!methods.includes('PUT') && !methods.includes('*')) {
      return 'preflight does not allow PUT'
    }
    const allowed = (response.headers.get('access-control-allow-headers') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
    if (!allowed.includes('x-custom') && !allowed.includes('*')) {
      return 'preflight does not allow the X-Custom header'
    }
    return prepared(request, response)
  },
}

const s4Whole: Scenario = {
  id: 'S4-whole',
  title: 'GET 64 MiB file whole',
  connections: 4,
  bulk: true,
  targetVsNginx: 0.9,
  async prepare(server, fixtures) {
    const request = get(LARGE.path)
    const response = await send(server, request)
    if (response.status !== 200) return `answers ${response.status}, expected 200`
    return sameBytes(response, fixtures.bytes.get(LARGE.path)!) ?? prepared(request, response)
  },
}

const s4Range: Scenario = {
  id: 'S4-range',
  title: '1 MiB range at a random offset of 64 MiB',
  connections: 16,
  bulk: true,
  targetVsNginx: 0.8,
  async prepare(server, fixtures) {
    const start = 12_345_678
    const end = start + RANGE_LENGTH - 1
    const response = await send(server, get(LARGE.path, { Range: `bytes=${start}-${end}` }))
    if (response.status !== 206) return `a single range answers ${response.status}, expected 206`
    const contentRange = response.headers.get('content-range')
    if (contentRange !== `bytes ${start}-${end}/${LARGE.size}`) {
      return `Content-Range '${contentRange}', expected 'bytes ${start}-${end}/${LARGE.size}'`
    }
    const wrong = sameBytes(response, fixtures.bytes.get(LARGE.path)!.subarray(start, end + 1))
    if (wrong !== undefined) return wrong
    return {
      request: { ...get(LARGE.path), randomRange: { size: LARGE.size, length: RANGE_LENGTH } },
      responseBytes: response.headBytes + response.body.length,
    }
  },
}

const s5: Scenario = {
  id: 'S5',
  title: '10-part multipart range of 1 MiB',
  connections: 64,
  async prepare(server, fixtures) {
    const request = get(MEDIUM.path, { Range: MULTIPART_FIELD })
    const response = await send(server, request)
    const type = response.headers.get('content-type') ?? ''
    if (response.status !== 206 || !/^multipart\/byteranges/i.test(type)) {
      return `10 ranges answer ${response.status} ${type || '(no Content-Type)'}, expected 206 multipart/byteranges`
    }
    const parts = parseMultipart(response.body, type)
    if (parts.length !== MULTIPART_RANGES.length) {
      return `${parts.length} parts, expected ${MULTIPART_RANGES.length}`
    }
    const file = fixtures.bytes.get(MEDIUM.path)!
    for (const [i, { start, end }] of MULTIPART_RANGES.entries()) {
      const part = parts[i]!
      if (part.contentRange !== `bytes ${start}-${end}/${MEDIUM.size}`) {
        return `part ${i + 1} has Content-Range '${part.contentRange}'`
      }
      if (!part.bytes.equals(file.subarray(start, end + 1))) return `part ${i + 1} has wrong bytes`
    }
    return prepared(request, response)
  },
}

/**
 * S7: what a browser asks for a script. Only a compressed answer counts (br or gzip, decoding
 * to exactly the file), with `sibling`: the very bytes of the precompressed sibling, so every
 * server sends the same ones. Vary and a strong ETag of its own are checked and warned about.
 */
function compressedScript(
  id: 'S7' | 'S7-fly',
  title: string,
  path: string,
  sibling: boolean,
): Scenario {
  return {
    id,
    title,
    connections: 64,
    targetVsNginx: 0.5,
    async prepare(server, fixtures) {
      const request = get(path, { 'Accept-Encoding': BROWSER_ACCEPT_ENCODING })
      const response = await send(server, request)
      if (response.status !== 200) return `answers ${response.status}, expected 200`
      const coding = response.headers.get('content-encoding')
      if (coding !== 'br' && coding !== 'gzip') {
        return coding === undefined ? 'sends it uncompressed' : `sends Content-Encoding ${coding}`
      }
      const identity = fixtures.bytes.get(path)!
      let decoded: Buffer
      try {
        decoded = coding === 'br' ? brotliDecompressSync(response.body) : gunzipSync(response.body)
      } catch {
        return `its ${coding} body does not decode`
      }
      if (!decoded.equals(identity)) return `its ${coding} body does not decode to the file`
      if (sibling) {
        const expected = fixtures.bytes.get(`${path}${coding === 'br' ? '.br' : '.gz'}`)!
        if (!response.body.equals(expected)) return `its ${coding} body is not the sibling's bytes`
      }
      const warnings: string[] = []
      if (!/accept-encoding/i.test(response.headers.get('vary') ?? '')) {
        warnings.push('no Vary: Accept-Encoding (RFC 9110 section 12.5.5)')
      }
      const etag = response.headers.get('etag')
      if (etag === undefined) warnings.push('no ETag')
      else if (etag.startsWith('W/')) warnings.push(`a weak ETag (${etag}): If-Range never matches`)
      return { ...prepared(request, response), warnings }
    },
  }
}

const s7 = compressedScript(
  'S7',
  `GET 100 KB script, Accept-Encoding: ${BROWSER_ACCEPT_ENCODING}, precompressed siblings`,
  SCRIPT.path,
  true,
)

const s7Fly = compressedScript(
  'S7-fly',
  'the same without siblings: compressed on the fly (sluice: once, then cached)',
  SCRIPT_ON_THE_FLY.path,
  false,
)

export const SCENARIOS: readonly Scenario[] = [s1, s2, s3, s4Whole, s4Range, s5, s7, s7Fly]

/** S5's reference: Go's net/http FileServer on this machine, as stated in issue 6. */
export const GO_MULTIPART_RPS = 8000
