// `npm run fuzz [-- --scale N] [--seed N]`: the property tests of `npm test` (every test file
// that uses test/support/fuzz.ts), each run N times as often (default 100), on the compiled
// tests in dist/ (npm run fuzz builds first). A failure prints fast-check's seed and path;
// pass the seed back with --seed to replay it.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { scale: { type: 'string', default: '100' }, seed: { type: 'string' } },
})
for (const [flag, value] of Object.entries(values)) {
  if (value !== undefined && !/^\d+(\.\d+)?$/.test(value)) {
    process.stderr.write(`fuzz: --${flag} expects a number, got '${value}'\n`)
    process.exit(2)
  }
}

const root = new URL('../dist/test/', import.meta.url).pathname
const files = readdirSync(root, { recursive: true })
  .filter((name) => name.endsWith('.test.js'))
  .map((name) => join(root, name))
  .filter((file) => readFileSync(file, 'utf8').includes('support/fuzz.js'))
  .sort()

process.stdout.write(`fuzz: ${files.length} test files, runs scaled by ${values.scale}\n`)
const child = spawn(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-reporter=spec', ...files],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      SLUICE_FUZZ_SCALE: values.scale,
      ...(values.seed === undefined ? {} : { SLUICE_FUZZ_SEED: values.seed }),
    },
  },
)
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
