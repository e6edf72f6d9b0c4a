/**
 * `sluice serve --writable [--require-preconditions] [--max-body <bytes>]`: the flags, their
 * help, and their usage errors (one line on stderr, exit 2).
 */

import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { runCli, tempRoot } from '../support/server.js'
import { send } from '../support/writes.js'

test('serve --help documents the write flags and the default body limit', async () => {
  const cli = runCli(['serve', '--help'])
  assert.equal(await cli.exited, 0)
  const help = cli.stdout()
  assert.match(help, /--writable/)
  assert.match(help, /--require-preconditions/)
  assert.match(help, /--max-body <bytes>.*\n.*\(default 104857600, 100 MiB\)/)
})

for (const [args, message] of [
  [['--writable', '--max-body', 'lots'], /--max-body expects an integer, got 'lots'/],
  [['--writable', '--max-body', '-1'], /--max-body/],
  [['--require-preconditions'], /--require-preconditions only applies with --writable/],
  [['--max-body', '10'], /--max-body only applies with --writable/],
] as const) {
  test(`serve ${args.join(' ')}: one line on stderr, exit 2`, async () => {
    const { dir, cleanup } = await tempRoot()
    try {
      const cli = runCli(['serve', dir, '--port', '0', ...args])
      assert.equal(await cli.exited, 2)
      assert.match(cli.stderr(), message)
      assert.equal(cli.stderr().trim().split('\n').length, 1)
    } finally {
      await cleanup()
    }
  })
}

test('serve --writable --require-preconditions --max-body: the limits apply over HTTP', async () => {
  const { dir, cleanup } = await tempRoot()
  const cli = runCli([
    'serve',
    dir,
    '--port',
    '0',
    '--quiet',
    '--writable',
    '--require-preconditions',
    '--max-body',
    '10',
  ])
  try {
    const url = await cli.url
    const created = await send('PUT', `${url}/n.txt`, 'tiny')
    assert.equal(created.status, 201)
    assert.equal((await send('PUT', `${url}/n.txt`, 'again')).status, 428)
    const etag = created.headers.get('etag')!
    assert.equal(
      (await send('PUT', `${url}/n.txt`, 'eleven byte', { 'If-Match': etag })).status,
      413,
    )
    assert.equal(
      (await send('PUT', `${url}/n.txt`, 'ten bytes!', { 'If-Match': etag })).status,
      204,
    )
    assert.equal(await readFile(join(dir, 'n.txt'), 'utf8'), 'ten bytes!')
  } finally {
    cli.child.kill('SIGTERM')
    await cli.exited
    await cleanup()
  }
})
