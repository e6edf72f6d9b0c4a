/**
 * `sluice compress <dir>` (src/cli/compress.ts) as a person runs it: without a terminal (plain
 * lines) and on one (a pseudo-terminal from util-linux's `script`: a progress bar), siblings
 * that decode to their sources exactly and that `sluice serve` then sends, idempotence, stale
 * siblings rewritten or, with --prune, removed, and SIGINT mid-run leaving no partial sibling.
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ZSTD, decode, scriptText } from '../support/compressed-site.js'
import { OLD_MTIME, settle } from '../support/fixtures.js'
import { CLI, rawRequest, requestHead, runCli, startServer, tempRoot } from '../support/server.js'
import { stagedFiles } from '../support/writes.js'

const SUFFIXES = ZSTD ? ['.br', '.gz', '.zst'] : ['.br', '.gz']
const CODING = { '.br': 'br', '.gz': 'gzip', '.zst': 'zstd' } as const

/** Every sibling under `root` decodes to exactly its source. */
async function assertSiblingsWhole(root: string, sources: readonly string[]): Promise<number> {
  let count = 0
  for (const source of sources) {
    const bytes = await readFile(join(root, source))
    for (const suffix of SUFFIXES) {
      const path = join(root, source + suffix)
      if (!existsSync(path)) continue
      const decoded = decode(CODING[suffix as keyof typeof CODING], await readFile(path))
      assert.deepEqual(decoded, bytes, `${source}${suffix} decodes to ${source}`)
      count++
    }
  }
  return count
}

async function run(args: string[]) {
  const cli = runCli(['compress', ...args])
  const code = await cli.exited
  return { code, stdout: cli.stdout(), stderr: cli.stderr() }
}

describe('sluice compress without a terminal', () => {
  let root: string
  let cleanup: () => Promise<void>
  const sources = ['app.js', 'sub/style.css', 'sub/data.json', 'index.html']

  before(async () => {
    ;({ dir: root, cleanup } = await tempRoot())
    await mkdir(join(root, 'sub'))
    await mkdir(join(root, '.git'))
    await writeFile(join(root, 'app.js'), scriptText(300, 41))
    await writeFile(join(root, 'sub', 'style.css'), scriptText(200, 42))
    await writeFile(
      join(root, 'sub', 'data.json'),
      JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ i }))),
    )
    await writeFile(join(root, 'index.html'), `<!doctype html>${'<p>hello</p>'.repeat(200)}`)
    await writeFile(join(root, 'tiny.js'), 'export const x = 1\n')
    await writeFile(join(root, 'photo.png'), Buffer.alloc(5000, 1))
    await writeFile(
      join(root, 'photo.png.gz'),
      await import('node:zlib').then((z) => z.gzipSync('other bytes')),
    )
    await writeFile(join(root, '.git', 'objects.js'), scriptText(100, 43))
  })
  after(() => cleanup())

  test('writes a sibling per coding for each compressible file, decoding to it exactly', async () => {
    const { code, stdout, stderr } = await run([root])
    assert.equal(code, 0, stderr)
    assert.equal(stderr, '')
    const lines = stdout.trimEnd().split('\n')
    for (const source of sources) {
      for (const suffix of SUFFIXES) {
        assert.ok(
          lines.some((l) =>
            new RegExp(
              `^wrote ${source.replace('.', '\\.')}${suffix.replace('.', '\\.')} \\(\\d+ -> \\d+ bytes, \\d+\\.\\d%\\)$`,
            ).test(l),
          ),
          `a line for ${source}${suffix}:\n${stdout}`,
        )
      }
    }
    assert.match(
      lines.at(-1)!,
      new RegExp(
        `^4 compressible files \\(6 in all\\): ${4 * SUFFIXES.length} siblings written, 0 fresh`,
      ),
    )
    assert.equal(await assertSiblingsWhole(root, sources), 4 * SUFFIXES.length)
    // Not compressed: too small, not a compressible type, hidden.
    for (const name of ['tiny.js.gz', 'photo.png.br', '.git/objects.js.gz']) {
      assert.ok(!existsSync(join(root, name)), name)
    }
    assert.deepEqual(await stagedFiles(root), [])
  })

  test('a second run finds every sibling fresh and touches none', async () => {
    const before = await stat(join(root, 'app.js.br'), { bigint: true })
    const { code, stdout } = await run([root])
    assert.equal(code, 0)
    assert.equal(
      stdout.trim().split('\n').at(-1),
      `4 compressible files (6 in all): 0 siblings written, ${4 * SUFFIXES.length} fresh, 0 removed, 1 stale kept; 0 B -> 0 B`,
    )
    const after = await stat(join(root, 'app.js.br'), { bigint: true })
    assert.equal(after.ino, before.ino)
    assert.equal(after.mtimeNs, before.mtimeNs)
  })

  test('a changed source, or a sibling older than it, is rewritten; the rest stays', async () => {
    await writeFile(join(root, 'app.js'), scriptText(300, 44))
    const old = new Date(Date.now() - 86_400_000)
    await utimes(join(root, 'index.html.gz'), old, old)
    const { code, stdout } = await run([root])
    assert.equal(code, 0)
    const written = stdout
      .split('\n')
      .filter((l) => l.startsWith('wrote '))
      .map((l) => l.split(' ')[1])
    assert.deepEqual(written.sort(), [...SUFFIXES.map((s) => `app.js${s}`), 'index.html.gz'].sort())
    await assertSiblingsWhole(root, sources)
  })

  test('a stale sibling nothing rewrites is kept and named, and removed with --prune', async () => {
    const kept = await run([root])
    assert.match(
      kept.stdout,
      /^stale photo\.png\.gz \(kept: sluice serve does not send it; --prune removes it\)$/m,
    )
    assert.ok(existsSync(join(root, 'photo.png.gz')))
    const pruned = await run([root, '--prune'])
    assert.equal(pruned.code, 0)
    assert.match(pruned.stdout, /^removed photo\.png\.gz \(stale\)$/m)
    assert.ok(!existsSync(join(root, 'photo.png.gz')))
    assert.equal(await assertSiblingsWhole(root, sources), 4 * SUFFIXES.length, 'fresh ones stay')
  })

  test('sluice serve sends what it wrote', async () => {
    const later = new Date(OLD_MTIME.getTime() + 1000)
    await utimes(join(root, 'app.js'), OLD_MTIME, OLD_MTIME)
    await utimes(join(root, 'app.js.br'), later, later)
    await settle()
    const server = await startServer(root)
    try {
      const res = await rawRequest(
        server.port,
        requestHead('GET', '/app.js', { 'Accept-Encoding': 'br' }),
      )
      assert.equal(res.headers['content-encoding'], 'br')
      assert.deepEqual(res.body, await readFile(join(root, 'app.js.br')))
    } finally {
      await server.close()
    }
  })

  test('usage errors are one line and exit 2', async () => {
    for (const [args, pattern] of [
      [[], /compress takes one <dir>, got 0 arguments/],
      [[join(root, 'missing')], /does not exist/],
      [[join(root, 'app.js')], /is not a directory/],
      [[root, '--level', 'br=12'], /--level: br expects a level from 0 to 11/],
      [[root, '--codings', 'deflate'], /--codings expects some of/],
      [[root, '--types', 'text'], /--types: expected type\/subtype/],
      [[root, '--min-size', '-1'], /--min-size/],
    ] as const) {
      const { code, stderr } = await run([...args])
      assert.equal(code, 2, stderr)
      assert.equal(stderr.trimEnd().split('\n').length, 1, stderr)
      assert.match(stderr, pattern)
    }
  })
})

describe('sluice compress on a terminal and interrupted', () => {
  let root: string
  let cleanup: () => Promise<void>

  before(async () => {
    ;({ dir: root, cleanup } = await tempRoot())
  })
  after(() => cleanup())

  test('on a terminal it shows a progress bar with files, bytes and ratio', async () => {
    await writeFile(join(root, 'one.js'), scriptText(300, 51))
    await writeFile(join(root, 'two.css'), scriptText(300, 52))
    // util-linux's script gives the command a pseudo-terminal.
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        'script',
        ['-qec', `"${process.execPath}" "${CLI}" compress "${root}"`, '/dev/null'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let out = ''
      child.stdout.on('data', (chunk) => {
        out += chunk
      })
      child.on('error', reject)
      child.on('exit', (code) =>
        code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`)),
      )
    })
    assert.ok(output.includes('\u001b['), 'terminal control sequences')
    assert.match(output, /100% \| 2\/2 files \| [\d.]+ KiB -> [\d.]+ KiB \(\d+\.\d%\)/)
    assert.doesNotMatch(output, /^wrote /m, 'no plain lines on a terminal')
    assert.match(output, /2 compressible files \(2 in all\): \d+ siblings written/)
    await assertSiblingsWhole(root, ['one.js', 'two.css'])
  })

  test('SIGINT mid-run: exit 130, no staged file, every sibling whole; the next run finishes', async () => {
    const names: string[] = []
    for (let i = 0; i < 12; i++) {
      const name = `big${String(i).padStart(2, '0')}.js`
      names.push(name)
      await writeFile(join(root, name), scriptText(12_000, 60 + i))
    }
    const cli = runCli(['compress', root, '--codings', 'br,gzip'])
    // Interrupted once the first sibling is in place, while brotli 11 works on the next ones.
    const deadline = Date.now() + 60_000
    while (!/^wrote /m.test(cli.stdout()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.match(cli.stdout(), /^wrote /m)
    cli.child.kill('SIGINT')
    assert.equal(await cli.exited, 130)
    assert.match(cli.stdout(), /^interrupted \(SIGINT\): \d+ compressible files/m)
    assert.deepEqual(await stagedFiles(root), [])
    const written = await assertSiblingsWhole(root, names)
    assert.ok(
      written >= 1 && written < names.length * 2,
      `${written} siblings before the interrupt`,
    )
    const rest = await run([root, '--codings', 'br,gzip'])
    assert.equal(rest.code, 0)
    assert.equal(await assertSiblingsWhole(root, names), names.length * 2)
    const entries = await readdir(root)
    assert.ok(!entries.some((e) => e.startsWith('.sluice-tmp-')))
  })
})
