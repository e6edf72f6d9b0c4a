/**
 * What `sluice serve` loads: pino-pretty only for the pretty log format, and the native lock
 * addon (fs-native-extensions) only for a writable server, which loads it at start-up. A
 * read-only server logging JSON loads neither, and holds no memory for them. test/support/trace-loads.ts, put into the
 * server with `--import`, reports what it loaded.
 */

import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { mappedFiles } from '../support/proc.js'
import { PROJECT_ROOT, runCli, tempRoot } from '../support/server.js'
import { send } from '../support/writes.js'

const TRACER = pathToFileURL(join(PROJECT_ROOT, 'dist', 'test', 'support', 'trace-loads.js'))
const ADDON = 'fs-native-extensions.node'
/** How the tracer starts each line (not imported from it: importing it would trace this process). */
const LOADED = 'loaded '

let dir: string
let cleanup: () => Promise<void>
before(async () => {
  ;({ dir, cleanup } = await tempRoot())
  await writeFile(join(dir, 'hello.txt'), 'hello\n')
})
after(() => cleanup())

/**
 * Runs `sluice serve <dir> ...args` in one process, traced, calls `during` with its URL and pid,
 * stops it, and returns the packages (and native addons) it loaded.
 */
async function loadedBy(
  args: string[],
  during: (url: string, pid: number) => Promise<void> = async () => {},
): Promise<string[]> {
  const cli = runCli(['serve', dir, '--port', '0', '--workers', '1', '--quiet', ...args], {
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${TRACER.href}` },
  })
  try {
    await during(await cli.url, cli.child.pid!)
  } finally {
    cli.child.kill('SIGTERM')
  }
  assert.equal(await cli.exited, 0, cli.stderr())
  const packages = new Set<string>()
  for (const line of cli.stderr().split('\n')) {
    if (!line.startsWith(LOADED)) continue
    const file = line.slice(LOADED.length)
    if (file.endsWith('.node')) packages.add(file.slice(file.lastIndexOf('/') + 1))
    const name = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1]
    if (name !== undefined) packages.add(name)
  }
  return [...packages].sort()
}

test('a read-only server logging JSON loads neither pino-pretty nor the lock addon', async () => {
  const loaded = await loadedBy(['--log-format', 'json'], async (url) => {
    assert.equal((await send('GET', `${url}/hello.txt`)).text, 'hello\n')
  })
  assert.ok(loaded.includes('pino') && loaded.includes('mime-types'), loaded.join(' '))
  assert.ok(!loaded.includes('pino-pretty'), loaded.join(' '))
  assert.ok(!loaded.includes('fs-native-extensions'), loaded.join(' '))
  assert.ok(!loaded.includes(ADDON), loaded.join(' '))
})

test('the pretty log format loads pino-pretty', async () => {
  const loaded = await loadedBy(['--log-format', 'pretty'])
  assert.ok(loaded.includes('pino-pretty'), loaded.join(' '))
})

test('--writable: the lock addon is loaded at start-up (a platform without it fails there, not on the first PUT), and a write succeeds', async () => {
  const loaded = await loadedBy(['--log-format', 'json', '--writable'], async (url, pid) => {
    const isMapped = () => [...mappedFiles(pid)].some((file) => file.endsWith(ADDON))
    assert.equal(isMapped(), true)
    assert.equal((await send('PUT', `${url}/written.txt`, 'written')).status, 201)
    assert.equal(await readFile(join(dir, 'written.txt'), 'utf8'), 'written')
  })
  assert.ok(loaded.includes('fs-native-extensions') && loaded.includes(ADDON), loaded.join(' '))
})
