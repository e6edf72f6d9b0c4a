// node:http: createHandler serves ./public exactly as `sluice serve ./public` does, with the
// same options as the command line and sluice.config.json (in camelCase).
import { createServer } from 'node:http'
import { createHandler } from 'sluice'

const handler = createHandler({
  root: './public',
  cacheControl: 'public, max-age=60',
  cors: { origin: ['https://app.example'], expose: ['ETag', 'Content-Range'] },
})

const server = createServer(handler).listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
