/**
 * The Fetch API: a `(Request) => Promise<Response>` handler for Hono and any runtime built on
 * web-standard Request and Response; `withCorsFetch` wraps any such handler with sluice's CORS;
 * `representationResponse` and `writePreconditionsResponse` are the conditional helpers.
 */

import { Readable } from 'node:stream'
import { bodyStream } from '../http/body-stream.js'
import type { EngineRequest } from '../http/engine.js'
import { discardReply, type Reply } from '../http/reply.js'
import { type DynamicRepresentation, replyWithRepresentation } from '../http/representation.js'
import { type CurrentVersion, replyToWriteGate, type WriteGateOptions } from '../http/write-gate.js'
import {
  type AppCorsSettings,
  type CorsOptions,
  resolveOptions,
  type SluiceOptions,
} from '../options.js'
import { addCorsFields, createAppCors } from './app-cors.js'

export type FetchHandler = (request: Request) => Promise<Response>

export type FetchHandlerOptions = SluiceOptions & {
  /**
   * The path the files are mounted under, e.g. `/static` when a router sends `/static/*` here:
   * it is stripped before the file is looked up and kept in redirects. Default: none.
   */
  readonly prefix?: string
}

/**
 * A Fetch API handler serving `options.root` (options: docs/API.md "Options", plus `prefix`).
 * @example
 * import { Hono } from 'hono'
 * import { createFetchHandler } from 'sluice'
 * const files = createFetchHandler({ root: './public', prefix: '/files' })
 * const app = new Hono()
 * app.all('/files/*', (c) => files(c.req.raw))
 */
export function createFetchHandler(options: FetchHandlerOptions): FetchHandler {
  const { prefix = '', ...rest } = options ?? {}
  if (typeof prefix !== 'string' || (prefix !== '' && !/^\/[^?#]*[^/?#]$/.test(prefix))) {
    throw new TypeError(
      `sluice: option 'prefix': expected a path like '/static' (leading slash, no trailing slash), got ${JSON.stringify(prefix)}`,
    )
  }
  const { engine } = resolveOptions(rest)
  return async (request) => {
    const engineRequest = toEngineRequest(request, prefix)
    if (engineRequest === undefined) return new Response('Not Found\n', { status: 404 })
    return toResponse(await engine(engineRequest), request.method)
  }
}

/**
 * Wraps a Fetch API handler (a Hono app's `fetch`, for one) with CORS: the policy, validation
 * and answers of `sluice serve`'s `--cors-*` options (docs/API.md "CORS"). Preflights and
 * refusals (403 for an unsafe method from an origin the policy does not allow) are answered
 * without calling `handler`; every other response gets the Access-Control-* fields and
 * `Vary: Origin`, merged with its own Vary.
 * @example
 * import { Hono } from 'hono'
 * import { serve } from '@hono/node-server'
 * import { withCorsFetch } from 'sluice'
 * const app = new Hono().get('/api/me', (c) => c.json({ name: 'ada' }))
 * serve({ fetch: withCorsFetch(app.fetch, { origin: ['https://app.example'] }), port: 8080 })
 */
export function withCorsFetch<A extends unknown[]>(
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  policy: CorsOptions,
  settings?: AppCorsSettings,
): (request: Request, ...rest: A) => Promise<Response> {
  if (typeof handler !== 'function') {
    throw new TypeError('sluice: withCorsFetch expects a handler (request) => Response first')
  }
  const cors = createAppCors(policy, settings)
  return async (request, ...rest) => {
    const decided = await cors(toEngineRequest(request)!)
    if (!decided.fallthrough) return toResponse(decided, request.method)
    const response = await handler(request, ...rest)
    if (Object.keys(decided.headers).length === 0) return response
    // A Response from fetch() has immutable headers; a copy shares its body stream.
    const out = new Response(response.body, response)
    addCorsFields(
      decided,
      (name) => out.headers.get(name),
      (name, value) => out.headers.set(name, value),
    )
    return out
  }
}

/**
 * A web Request as the engine reads it: path and query below `prefix`, lower-case header
 * names. Undefined when the path is not below `prefix`.
 * @example toEngineRequest(new Request('http://localhost/files/a.txt?v=2'), '/files')?.url // '/a.txt?v=2'
 */
export function toEngineRequest(request: Request, prefix = ''): EngineRequest | undefined {
  const url = new URL(request.url)
  let path = url.pathname
  if (prefix !== '') {
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return undefined
    path = path.slice(prefix.length)
  }
  const headers: Record<string, string> = {}
  request.headers.forEach((value, name) => {
    headers[name] = value
  })
  const method = request.method
  const body = method === 'GET' || method === 'HEAD' ? undefined : contentOf(request)
  return { method, url: path + url.search, headers, base: prefix, body }
}

/**
 * The request content. It must be taken now, while the request is in progress: Hono's
 * node-server builds the web Request on first access to its body, and one built after the
 * client went away has an empty body that ends normally, which would store an empty file.
 * That access can also throw (Hono refuses a URL with userinfo): the throw is kept for whoever
 * reads the content, where it means what a client that went away means.
 */
function contentOf(request: Request): AsyncIterable<Uint8Array> | undefined {
  try {
    // A web ReadableStream is async-iterable in Node.js 20.
    return (request.body ?? undefined) as AsyncIterable<Uint8Array> | undefined
  } catch (error) {
    return {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
    }
  }
}

/**
 * Answers a web Request with an application's representation, honouring its conditional and
 * range fields exactly as for files.
 * @example
 * app.get('/report', (c) => representationResponse(c.req.raw, { body: csv, etag: `"${version}"` }))
 */
export function representationResponse(
  request: Request,
  representation: DynamicRepresentation,
): Response {
  const { method, headers } = toEngineRequest(request)!
  return toResponse(replyWithRepresentation({ method, headers }, representation), method)
}

/**
 * The precondition gate for an application's own write, for the Fetch API: undefined when the
 * write may go ahead, otherwise the 412 or 428 Response to return without changing anything.
 * `current` is the resource's version now (`{ etag, lastModified }`, or undefined when it does
 * not exist). Apply the change right after an undefined, without an `await` in between.
 * @example
 * app.put('/pages/:name', async (c) => {
 *   const text = await c.req.text()
 *   const page = pages.get(c.req.param('name'))
 *   const refused = writePreconditionsResponse(c.req.raw, page && { etag: etagFor(page) })
 *   if (refused) return refused
 *   pages.set(c.req.param('name'), text)
 *   return c.body(null, page ? 204 : 201, { ETag: etagFor(text) })
 * })
 */
export function writePreconditionsResponse(
  request: Request,
  current: CurrentVersion | undefined,
  options?: WriteGateOptions,
): Response | undefined {
  const { method, headers } = toEngineRequest(request)!
  const refusal = replyToWriteGate({ method, headers }, current, options)
  return refusal === undefined ? undefined : toResponse(refusal, method)
}

/**
 * A reply as a web Response; a file body streams, and the file closes when the stream does.
 * @example toResponse(replyWithRepresentation({ method: 'GET', headers: {} }, { body: 'hi' }), 'GET').status // 200
 */
export function toResponse(reply: Reply, method: string): Response {
  const headers = new Headers()
  try {
    for (const [name, value] of Object.entries(reply.headers)) {
      if (Array.isArray(value)) for (const item of value) headers.append(name, item)
      else headers.set(name, String(value))
    }
  } catch (error) {
    // A field value Headers refuses (a control character from a custom store): the caller's
    // error, after the file is released.
    discardReply(reply)
    throw error
  }
  const body = reply.body
  if (body.kind === 'none' || method === 'HEAD') {
    discardReply(reply)
    return new Response(null, { status: reply.status, headers })
  }
  if (body.kind === 'bytes') return new Response(body.bytes, { status: reply.status, headers })
  let stream: Readable
  try {
    stream = bodyStream(body)
  } catch (error) {
    discardReply(reply)
    throw error
  }
  stream.once('close', () => discardReply(reply))
  const web = Readable.toWeb(stream) as ReadableStream<Uint8Array>
  return new Response(web, { status: reply.status, headers })
}
