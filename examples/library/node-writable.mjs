// A writable node:http server: PUT creates or replaces a file and DELETE removes one, each
// applied atomically and only if its If-Match / If-None-Match / If-Unmodified-Since hold.
import { createServer } from 'node:http'
import { createHandler, sweepStagedFiles } from 'sluice'

await sweepStagedFiles('./public') // what writers that crashed left behind
const handler = createHandler({
  root: './public',
  writable: true,
  requirePreconditions: true, // a write to an existing file needs If-Match (else 428)
  maxBody: 10 * 1024 * 1024,
  cors: {
    origin: 'https://app.example',
    methods: ['PUT', 'DELETE'],
    headers: ['If-Match', 'If-None-Match', 'Content-Type'],
    expose: ['ETag'],
  },
})

const server = createServer(handler).listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
