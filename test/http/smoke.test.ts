import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import {
  type RunningServer,
  rawRequest,
  requestHead,
  startServer,
  tempRoot,
} from '../support/server.js'

let server: RunningServer
let cleanup: () => Promise<void>

before(async () => {
  const root = await tempRoot()
  cleanup = root.cleanup
  await writeFile(join(root.dir, 'hello.txt'), 'hello, world\n')
  server = await startServer(root.dir)
})

after(async () => {
  await server.close()
  await cleanup()
})

test('GET serves a file with validators (RFC 9110 section 8.8)', async () => {
  const res = await rawRequest(server.port, requestHead('GET', '/hello.txt'))
  assert.equal(res.status, 200)
  assert.equal(res.body.toString(), 'hello, world\n')
  assert.match(res.headers.etag!, /^"[A-Za-z0-9_-]{22}"$/)
  assert.ok(res.headers['last-modified'])
  assert.equal(res.headers['content-length'], '13')
})
