/**
 * docs/API.md quotes the runnable examples (examples/library) verbatim, so what the page shows
 * is what test/package/pack.test.ts installs and runs; and every server on the page is one of
 * them.
 */

import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { PROJECT_ROOT } from '../support/server.js'

const EXAMPLES = join(PROJECT_ROOT, 'examples', 'library')

test('docs/API.md quotes every example file verbatim, and shows no other server', async () => {
  const doc = await readFile(join(PROJECT_ROOT, 'docs', 'API.md'), 'utf8')
  const blocks = [...doc.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!)
  const files = (await readdir(EXAMPLES)).sort()
  assert.ok(files.length >= 5, 'examples/library has the examples')
  const examples = await Promise.all(files.map((f) => readFile(join(EXAMPLES, f), 'utf8')))
  files.forEach((file, i) => {
    assert.ok(blocks.includes(examples[i]!), `docs/API.md does not quote ${file} as it is`)
  })
  for (const block of blocks) {
    if (/\.listen\(|serve\(/.test(block)) {
      assert.ok(
        examples.includes(block),
        `a server in docs/API.md is not an example file:\n${block}`,
      )
    }
  }
})
