// The Fetch API, in Hono: files under /files, a JSON document with conditional reads and
// guarded writes, and sluice's CORS around the whole app.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import {
  createFetchHandler,
  etagFor,
  representationResponse,
  withCorsFetch,
  writePreconditionsResponse,
} from 'sluice'

const files = createFetchHandler({ root: './public', prefix: '/files' })
let settings = JSON.stringify({ theme: 'light' })

const app = new Hono()
app.on(['GET', 'HEAD'], ['/files', '/files/*'], (c) => files(c.req.raw))
app.get('/settings', (c) =>
  representationResponse(c.req.raw, { body: settings, contentType: 'application/json' }),
)
app.put('/settings', async (c) => {
  const text = await c.req.text()
  const refused = writePreconditionsResponse(c.req.raw, { etag: etagFor(settings) })
  if (refused) return refused
  settings = text // right after the gate, with no await in between
  return c.body(null, 204, { ETag: etagFor(settings) })
})

const cors = { origin: 'https://app.example', methods: ['PUT'], headers: ['If-Match'] }
const port = Number(process.env.PORT ?? 8080)
serve({ fetch: withCorsFetch(app.fetch, cors), port, hostname: '127.0.0.1' }, (info) =>
  console.log(`listening on http://127.0.0.1:${info.port}`),
)
