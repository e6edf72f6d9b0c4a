import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { rawRequest, requestHead, startServer, tempRoot } from '../support/server.js'

test('a directory path ending in / serves its index.html; a file path ending in / is 404', async () => {
  const { dir, cleanup } = await tempRoot()
  await mkdir(join(dir, 'docs'))
  await writeFile(join(dir, 'index.html'), '<p>root</p>')
  await writeFile(join(dir, 'docs', 'index.html'), '<p>docs</p>')
  const server = await startServer(dir)
  try {
    const root = await rawRequest(server.port, requestHead('GET', '/?x=1'))
    assert.equal(root.status, 200)
    assert.equal(root.body.toString(), '<p>root</p>')
    const docs = await rawRequest(server.port, requestHead('GET', '/docs/'))
    assert.equal(docs.body.toString(), '<p>docs</p>')
    const asDirectory = await rawRequest(server.port, requestHead('GET', '/index.html/'))
    assert.equal(asDirectory.status, 404)
  } finally {
    await server.close()
    await cleanup()
  }
})
