/**
 * `sluice cors-check <url> --origin <origin>`: does what a browser does for a script on `origin`
 * calling `fetch(url)` against any server (Fetch standard sections "HTTP fetch", "CORS-preflight
 * fetch" and "CORS check"), and prints each exchange and the exact reason a browser would block.
 * Exit 0 when a browser would let the script read the response, 1 when it would block it.
 */

import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import {
  type BrowserRequest,
  type Check,
  cachingWarnings,
  checkPreflightResponse,
  corsCheck,
  preflightReasons,
  preflightRequestFields,
  type ResponseFields,
  readableResponseHeaders,
} from '../core/cors/check.js'
import { parseOrigin } from '../core/cors/origin.js'
import {
  type HeaderEntry,
  isForbiddenMethod,
  isForbiddenRequestHeader,
  normalizeMethod,
} from '../core/cors/safelist.js'
import { isToken } from '../core/field-syntax.js'
import { escapeControls } from '../log.js'
import { parseFlags, UsageError } from './usage.js'

export const CORS_CHECK_HELP = `Usage: sluice cors-check <url> --origin <origin> [options]

Does what a browser does when a script on <origin> calls fetch(<url>): decides whether a
CORS preflight is needed, sends it, applies the Fetch standard's CORS check, then sends the
actual request if a browser would, printing each step and the exact reason a browser would
block. Works against any server. Exit 0 when allowed, 1 when a browser would block.

Options:
  --origin <origin>        the page's origin, e.g. https://app.example (required)
  --method <method>        request method (default GET); an unsafe method is really sent
                           when the preflight allows it
  --header 'Name: value'   a request header set by the script; repeatable
  --data <text>            request body (default none)
  --credentials            credentials mode "include" (fetch(url, { credentials: 'include' }))
  -h, --help               show this help
`

const FLAGS = {
  origin: { type: 'string' },
  method: { type: 'string' },
  header: { type: 'string', multiple: true },
  data: { type: 'string' },
  credentials: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export interface CorsCheckConfig {
  readonly url: URL
  readonly request: BrowserRequest
  readonly data: string | undefined
  /** Headers a browser would drop (forbidden request-headers), for the report. */
  readonly dropped: readonly string[]
}

export function parseCorsCheckArgs(args: string[]): CorsCheckConfig | 'help' {
  const { values, positionals } = parseFlags(args, FLAGS)
  if (values.help) return 'help'
  if (positionals.length !== 1) throw new UsageError('cors-check takes one <url>')
  let url: URL
  try {
    url = new URL(positionals[0]!)
  } catch {
    throw new UsageError(`cors-check expects an http:// or https:// URL, got '${positionals[0]}'`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`cors-check expects an http:// or https:// URL, got '${positionals[0]}'`)
  }
  const origin = values.origin
  if (origin === undefined) throw new UsageError('cors-check needs --origin <origin>')
  if (origin !== 'null' && parseOrigin(origin) === undefined) {
    throw new UsageError(
      `--origin expects an origin as browsers send it (lower case, no path, no default port), like https://app.example, got '${origin}'`,
    )
  }
  const method = normalizeMethod(values.method ?? 'GET')
  if (!isToken(method)) throw new UsageError(`--method expects a method name, got '${method}'`)
  const headers: HeaderEntry[] = []
  const dropped: string[] = []
  for (const line of values.header ?? []) {
    const colon = line.indexOf(':')
    const name = colon === -1 ? '' : line.slice(0, colon).trim()
    const value = colon === -1 ? '' : line.slice(colon + 1).trim()
    if (!isToken(name) || /[\0\r\n]/.test(value)) {
      throw new UsageError(`--header expects 'Name: value', got '${line}'`)
    }
    if (isForbiddenRequestHeader(name, value)) dropped.push(name)
    else headers.push([name, value])
  }
  return {
    url,
    request: { origin, method, headers, credentials: values.credentials },
    data: values.data,
    dropped,
  }
}

interface Exchange {
  readonly status: number
  readonly statusMessage: string
  readonly rawHeaders: readonly string[]
  readonly fields: ResponseFields
  readonly body: string
}

/** Sends one request and reads the whole response (the body only for a short server message). */
function send(url: URL, method: string, headers: Record<string, string>, data?: string) {
  return new Promise<Exchange>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(url, { method, headers, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        if (size < 4096) chunks.push(chunk)
        size += chunk.length
      })
      res.on('end', () => resolve(toExchange(res, Buffer.concat(chunks).toString('utf8'))))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('no response within 15 seconds')))
    req.on('error', reject)
    req.end(data)
  })
}

function toExchange(res: IncomingMessage, body: string): Exchange {
  const fields: Record<string, string> = {}
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i]!.toLowerCase()
    const value = res.rawHeaders[i + 1]!
    // Fetch "get": repeated fields are combined with ", ".
    fields[name] = fields[name] === undefined ? value : `${fields[name]}, ${value}`
  }
  return {
    status: res.statusCode ?? 0,
    statusMessage: res.statusMessage ?? '',
    rawHeaders: res.rawHeaders,
    fields,
    body,
  }
}

/** Runs the check, writing the report to `out`; resolves with the exit code. */
export async function corsCheckCommand(
  config: CorsCheckConfig,
  print: (line: string) => void,
): Promise<number> {
  // The report quotes the server's answer, which may be hostile: obs-text in a status line or
  // field can carry C1 controls (U+0080 to U+009F) that a terminal would act on.
  const out = (line: string) => print(escapeControls(line))
  const { url, request } = config
  const mode = request.credentials ? 'include' : 'same-origin (no credentials cross-origin)'
  out(`cors-check: ${request.method} ${url.href}`)
  out(`  from origin ${request.origin}, credentials mode ${mode}`)
  for (const name of config.dropped) {
    out(`  note: a browser ignores ${name} set by a script (a forbidden request-header); not sent`)
  }
  if (isForbiddenMethod(request.method)) {
    return blocked(out, `fetch() refuses the forbidden method ${request.method}; nothing is sent`)
  }
  if (url.origin === request.origin) {
    out('  note: the URL has the same origin as the page: CORS does not apply')
  }

  const target = url.pathname + url.search
  const step = (n: number, title: string) => out(`\n${n}. ${title}`)
  try {
    const reasons = preflightReasons(request)
    let n = 1
    if (reasons.length === 0) {
      step(n++, 'Preflight: not needed (CORS-safelisted method and headers)')
    } else {
      step(n++, `Preflight: needed, because ${reasons.join('; ')}`)
      const fields = { Host: url.host, ...preflightRequestFields(request) }
      printRequest(out, 'OPTIONS', target, fields)
      const answer = await send(url, 'OPTIONS', fields)
      printResponse(out, answer)
      const verdict = checkPreflightResponse(request, answer.status, answer.fields)
      for (const warning of cachingWarnings(answer.fields)) out(`   warning: ${warning}`)
      if (!verdict.check.ok) {
        return blocked(out, `${verdict.check.reason}. The ${request.method} request is not sent.`)
      }
      out(`   preflight passed; a browser caches it for ${verdict.maxAge} s (before its own cap)`)
    }

    step(n, `Actual request${reasons.length === 0 ? '' : ' (sent because the preflight passed)'}`)
    const fields: Record<string, string> = { Host: url.host, Origin: request.origin }
    for (const [name, value] of request.headers) fields[name] = value
    if (config.data !== undefined) fields['Content-Length'] = String(Buffer.byteLength(config.data))
    printRequest(out, request.method, target, fields)
    const answer = await send(url, request.method, fields, config.data)
    printResponse(out, answer)
    const check: Check = corsCheck(request.origin, request.credentials, answer.fields)
    for (const warning of cachingWarnings(answer.fields)) out(`   warning: ${warning}`)
    if (answer.status >= 300 && answer.status < 400 && answer.fields.location !== undefined) {
      out(`   note: a browser would follow the redirect and check the next response too`)
    }
    if (!check.ok) {
      return blocked(
        out,
        `${check.reason}. The request reached the server; the script cannot read the response.`,
      )
    }
    const readable = readableResponseHeaders(answer.fields, request.credentials)
    const hidden = Object.keys(answer.fields).filter((name) => !readable.includes(name))
    out(`   CORS check passed`)
    out(`   readable headers: ${readable.join(', ') || '(none)'}`)
    out(`   hidden from scripts: ${hidden.join(', ') || '(none)'}`)
    out(`\nverdict: allowed: a browser lets the script read the ${answer.status} response`)
    return 0
  } catch (error) {
    return blocked(out, `network error: ${(error as Error).message}`)
  }
}

function blocked(out: (line: string) => void, reason: string): number {
  out(`\nverdict: blocked: ${reason}`)
  return 1
}

function printRequest(
  out: (line: string) => void,
  method: string,
  target: string,
  fields: Record<string, string>,
) {
  out(`   > ${method} ${target} HTTP/1.1`)
  for (const [name, value] of Object.entries(fields)) out(`   > ${name}: ${value}`)
}

function printResponse(out: (line: string) => void, answer: Exchange) {
  out(`   < HTTP/1.1 ${answer.status} ${answer.statusMessage}`)
  for (let i = 0; i < answer.rawHeaders.length; i += 2) {
    out(`   < ${answer.rawHeaders[i]}: ${printable(answer.rawHeaders[i + 1]!)}`)
  }
  if (answer.status >= 400 && answer.body !== '') {
    out(`   server says: ${printable(answer.body.split('\n')[0]!.slice(0, 200))}`)
  }
}

/** Server text is shown, never interpreted by the terminal. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?')
}
