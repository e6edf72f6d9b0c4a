/** `npm run bench -- [options]`: the benchmark's command line. */

import { parseArgs } from 'node:util'
import { SERVER_ORDER } from './report.js'
import type { ServerName } from './servers.js'

export const BENCH_HELP = `Usage: npm run bench -- [options]

Measures sluice against Node peers, a bare node:http floor and nginx (when installed), in
interleaved rounds, and prints medians and sluice's ratios against each.

Options:
  --quick              short runs for development (1 s of load, 2 rounds, one S6 round)
  --only <ids>         scenarios to run, e.g. S1,S2 or S4 (default: S1,S2,S3,S4,S5,S6,S7)
  --servers <names>    servers to run besides sluice, e.g. nginx,sirv,caddy (default: all)
  --duration <s>       seconds of load per measurement (default 3)
  --rounds <n>         interleaved rounds per scenario (default 3)
  --slow-count <n>     S6's concurrent slow downloads (default 1000)
  --write-docs         also write the run into docs/PERFORMANCE.md and docs/performance.svg
  -h, --help           show this help
`

export interface BenchOptions {
  readonly only: ReadonlySet<string>
  readonly servers: ReadonlySet<ServerName> | undefined
  readonly durationSeconds: number
  readonly warmupSeconds: number
  readonly rounds: number
  readonly slowCount: number
  readonly slowHoldMs: number
  readonly slowRounds: number
  readonly writeDocs: boolean
  readonly quick: boolean
}

const ALL = ['S1', 'S2', 'S3', 'S4-whole', 'S4-range', 'S5', 'S6', 'S7', 'S7-fly']
const SERVER_NAMES: readonly ServerName[] = SERVER_ORDER.filter((n) => n !== 'sluice')

export function parseBenchArgs(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      servers: { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      'slow-count': { type: 'string' },
      'write-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return 'help'
  const quick = values.quick
  const only = new Set<string>()
  for (const id of (values.only ?? ALL.join(',')).split(',').map((s) => s.trim().toUpperCase())) {
    const matching = ALL.filter((known) => known.toUpperCase() === id || known.startsWith(`${id}-`))
    if (matching.length === 0)
      throw new Error(`--only: unknown scenario '${id}' (${ALL.join(', ')})`)
    for (const m of matching) only.add(m)
  }
  let servers: Set<ServerName> | undefined
  if (values.servers !== undefined) {
    servers = new Set()
    for (const name of values.servers.split(',').map((s) => s.trim())) {
      if (name === 'sluice') continue
      if (!SERVER_NAMES.includes(name as ServerName)) {
        throw new Error(`--servers: unknown server '${name}' (${SERVER_NAMES.join(', ')})`)
      }
      servers.add(name as ServerName)
    }
  }
  const durationSeconds = positive('--duration', values.duration, quick ? 1 : 3)
  const rounds = Math.round(positive('--rounds', values.rounds, quick ? 2 : 3))
  return {
    only,
    servers,
    durationSeconds,
    warmupSeconds: Math.min(1, durationSeconds),
    rounds,
    slowCount: Math.round(positive('--slow-count', values['slow-count'], 1000)),
    slowHoldMs: quick ? 1500 : 5000,
    slowRounds: quick ? 1 : Math.min(rounds, 3),
    writeDocs: values['write-docs'],
    quick,
  }
}

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${flag} expects a positive number, got '${value}'`)
  return n
}
