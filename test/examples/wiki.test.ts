/**
 * The wiki example (examples/wiki), run as a user runs it and driven over a socket: reads carry
 * the ETag etagFor gives, a write based on an old version is refused with 412 and the newer one
 * is kept, a blind write gets 428, and 24 concurrent read-modify-write clients lose no update.
 */

import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type RunningExample, runExample } from '../support/examples.js'
import { PROJECT_ROOT, tempRoot } from '../support/server.js'
import { expectedTag, send } from '../support/writes.js'

describe('the wiki example', () => {
  let wiki: RunningExample
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({ dir, cleanup } = await tempRoot())
    wiki = await runExample(join(PROJECT_ROOT, 'examples', 'wiki', 'server.js'), {
      env: { WIKI_FILE: join(dir, 'pages.json') },
    })
  })
  after(async () => {
    await wiki?.stop()
    await cleanup()
  })
  const page = (name: string) => `${wiki.url}/pages/${name}`

  test('a page is read with the strong ETag of its text; If-None-Match gives 304', async () => {
    const res = await send('GET', page('home'))
    assert.equal(res.status, 200)
    assert.equal(res.text, 'Welcome to the wiki.\n')
    assert.equal(res.headers.get('etag'), expectedTag('Welcome to the wiki.\n'))
    const again = await send('GET', page('home'), undefined, {
      'If-None-Match': res.headers.get('etag')!,
    })
    assert.equal(again.status, 304)
  })

  test('two editors of one version: the first save wins, the second gets 412 and changes nothing', async () => {
    const { headers } = await send('GET', page('home'))
    const read = headers.get('etag')!
    const alice = await send('PUT', page('home'), 'Alice was here.\n', { 'If-Match': read })
    assert.equal(alice.status, 204)
    assert.equal(alice.headers.get('etag'), expectedTag('Alice was here.\n'))
    const bob = await send('PUT', page('home'), 'Bob was here.\n', { 'If-Match': read })
    assert.equal(bob.status, 412)
    assert.match(bob.text, /If-Match does not hold/)
    assert.equal((await send('GET', page('home'))).text, 'Alice was here.\n')
    // Bob saves again against the version he now sees, deliberately.
    const retry = await send('PUT', page('home'), 'Bob was here too.\n', {
      'If-Match': alice.headers.get('etag')!,
    })
    assert.equal(retry.status, 204)
  })

  test('a write without If-Match to an existing page: 428', async () => {
    const res = await send('PUT', page('home'), 'blind')
    assert.equal(res.status, 428)
    assert.equal((await send('GET', page('home'))).text, 'Bob was here too.\n')
  })

  test('If-None-Match: * creates a page once; the page list and the JSON file follow', async () => {
    const created = await send('PUT', page('faq'), 'Questions?\n', { 'If-None-Match': '*' })
    assert.equal(created.status, 201)
    const again = await send('PUT', page('faq'), 'Mine!\n', { 'If-None-Match': '*' })
    assert.equal(again.status, 412)
    assert.equal((await send('GET', `${wiki.url}/pages`)).text, '["faq","home"]')
    const saved = JSON.parse(await readFile(join(dir, 'pages.json'), 'utf8'))
    assert.equal(saved.faq.text, 'Questions?\n')
  })

  test('24 clients incrementing one page with If-Match: no update is lost', async () => {
    await send('PUT', page('counter'), '0', { 'If-None-Match': '*' })
    let successes = 0
    let conflicts = 0
    const client = async () => {
      for (let round = 0; round < 6; round++) {
        const read = await send('GET', page('counter'))
        const write = await send('PUT', page('counter'), String(Number(read.text) + 1), {
          'If-Match': read.headers.get('etag')!,
        })
        if (write.status === 204) successes++
        else if (write.status === 412) conflicts++
        else assert.fail(`unexpected ${write.status}`)
      }
    }
    await Promise.all(Array.from({ length: 24 }, client))
    assert.equal(Number((await send('GET', page('counter'))).text), successes)
    assert.ok(conflicts > 0, 'the clients raced')
  })

  test('the editor page is served', async () => {
    const res = await send('GET', `${wiki.url}/`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(res.text, /If-Match/)
  })
})
