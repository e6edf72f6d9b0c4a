/**
 * The Fetch API: a `(Request) => Promise<Response>` handler for Hono and any runtime built on
 * web-standard Request and Response.
 *
 * @example
 * import { Hono } from 'hono'
 * import { createFetchHandler } from 'sluice'
 * const files = createFetchHandler({ root: './public' })
 * const app = new Hono()
 * app.get('/*', (c) => files(c.req.raw))
 */

import { Readable } from 'node:stream'
import { bodyStream } from '../http/body-stream.js'
import type { EngineRequest } from '../http/engine.js'
import { discardReply, type Reply } from '../http/reply.js'
import { type DynamicRepresentation, replyWithRepresentation } from '../http/representation.js'
import { buildEngine, type SluiceOptions } from '../options.js'

export type FetchHandler = (request: Request) => Promise<Response>

export type FetchHandlerOptions = SluiceOptions & {
  /**
   * The path the files are mounted under, e.g. `/static` when a router sends `/static/*` here:
   * it is stripped before the file is looked up and kept in redirects. Default: none.
   */
  readonly prefix?: string
}

export function createFetchHandler(options: FetchHandlerOptions): FetchHandler {
  const { prefix = '', ...rest } = options ?? {}
  if (typeof prefix !== 'string' || (prefix !== '' && !/^\/[^?#]*[^/?#]$/.test(prefix))) {
    throw new TypeError(
      `sluice: option 'prefix' must be a path like '/static' (leading slash, no trailing slash), got ${JSON.stringify(prefix)}`,
    )
  }
  const engine = buildEngine(rest)
  return async (request) => {
    const engineRequest = toEngineRequest(request, prefix)
    if (engineRequest === undefined) return new Response('Not Found\n', { status: 404 })
    return toResponse(await engine(engineRequest), request.method)
  }
}

/**
 * A web Request as the engine reads it: path and query below `prefix`, lower-case header
 * names. Undefined when the path is not below `prefix`.
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

/** A reply as a web Response; a file body streams, and the file closes when the stream does. */
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
