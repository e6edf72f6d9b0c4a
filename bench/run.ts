/**
 * `npm run bench`: the benchmark of issue 6. Starts sluice, the Node peers, the floor and
 * nginx (when installed), each pinned to the server core, runs the scenarios from the load
 * core, and prints (and writes) the medians and sluice's ratios against each.
 */

import { spawn, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeFixtures } from './fixtures.js'
import {
  autocannonGenerator,
  bulkGenerator,
  findWrk,
  type LoadGenerator,
  WRK_INSTALL,
  wrkGenerator,
} from './load.js'
import { BENCH_HELP, type BenchOptions, parseBenchArgs } from './options.js'
import { markdownReport, svgChart } from './report.js'
import type { BenchRun, RunInfo, ThroughputResult } from './results.js'
import { SCENARIOS } from './scenarios.js'
import {
  CADDY_INSTALL,
  caddySpec,
  NGINX_INSTALL,
  nginxSpec,
  type Placement,
  PROJECT_ROOT,
  peerSpec,
  type RunningServer,
  type ServerSpec,
  sluiceSpec,
} from './servers.js'
import { runSlow } from './slow.js'
import { runThroughput } from './throughput.js'

const PINNED_ENV = 'SLUICE_BENCH_PINNED'
const SERVER_CORE = '0'
const LOAD_CORE = '1'
const DOCS_BEGIN = '<!-- bench:begin -->'
const DOCS_END = '<!-- bench:end -->'

const log = (line: string) => process.stderr.write(`${line}\n`)

/** Stops for whatever is running, so an interrupted run leaves no server behind. */
const stoppers = new Set<() => Promise<void>>()
function track(stop: () => Promise<void>): () => void {
  stoppers.add(stop)
  return () => stoppers.delete(stop)
}
async function stopAll(): Promise<void> {
  await Promise.all([...stoppers].map((stop) => stop().catch(() => {})))
  stoppers.clear()
}

function hasTaskset(): boolean {
  return spawnSync('taskset', ['-V']).error === undefined
}

/**
 * With two cores or more and taskset, the harness (and so the load generators it starts)
 * re-runs itself on the load core; servers are started on the server core.
 */
async function pinSelf(): Promise<{ placement: Placement; pinning: string } | number> {
  // The machine's cores, not this process's affinity (the pinned re-run sees one core).
  const cores = cpus().length
  if (cores < 2 || !hasTaskset()) {
    return {
      placement: { serverPrefix: [] },
      pinning:
        cores < 2
          ? 'one core: server and load share it (no pinning)'
          : 'taskset missing: no pinning',
    }
  }
  if (process.env[PINNED_ENV] === '1') {
    return {
      placement: { serverPrefix: ['taskset', '-c', SERVER_CORE] },
      pinning: `servers on core ${SERVER_CORE}, load on core ${LOAD_CORE} (taskset)`,
    }
  }
  const child = spawn(
    'taskset',
    ['-c', LOAD_CORE, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, [PINNED_ENV]: '1' } },
  )
  const forward = (signal: NodeJS.Signals) => child.kill(signal)
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)))
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions
  try {
    const parsed = parseBenchArgs(argv)
    if (parsed === 'help') {
      process.stdout.write(BENCH_HELP)
      return 0
    }
    options = parsed
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`)
    return 2
  }
  const pinned = await pinSelf()
  if (typeof pinned === 'number') return pinned
  const { placement, pinning } = pinned
  const onSignal = () => {
    log('interrupted: stopping servers')
    stopAll().finally(() => process.exit(130))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  const notes: string[] = []
  const wrk = findWrk()
  let generator: LoadGenerator
  if (wrk === undefined) {
    log(`wrk is not installed; using autocannon (for wrk: ${WRK_INSTALL})`)
    notes.push(`wrk not installed (${WRK_INSTALL}); load by autocannon`)
    generator = autocannonGenerator()
  } else {
    generator = wrkGenerator(wrk)
  }
  const bulk = bulkGenerator()
  const specs: ServerSpec[] = [sluiceSpec(placement)]
  for (const name of ['floor', 'express', 'fastify', 'sirv'] as const) {
    if (options.servers === undefined || options.servers.has(name)) {
      specs.push(peerSpec(name, placement))
    }
  }
  if (options.servers === undefined || options.servers.has('nginx')) {
    const nginx = nginxSpec(placement)
    if (nginx === undefined) {
      log(`nginx is not installed, so it is left out; to include it: ${NGINX_INSTALL}`)
      notes.push(`nginx not installed (${NGINX_INSTALL}): no ratios against nginx`)
    } else {
      specs.push(nginx)
    }
  }
  if (options.servers === undefined || options.servers.has('caddy')) {
    const caddy = caddySpec(placement)
    if (caddy === undefined) {
      log(`caddy is not installed, so it is left out; to include it: ${CADDY_INSTALL}`)
      notes.push(`caddy not installed (${CADDY_INSTALL})`)
    } else {
      specs.push(caddy)
    }
  }

  const workDir = await mkdtemp(join(tmpdir(), 'sluice-bench-work-'))
  const fixtures = await makeFixtures()
  const info: RunInfo = {
    startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    pinning,
    loadGenerator: `${generator.name}; S4 by ${bulk.name}`,
    durationSeconds: options.durationSeconds,
    warmupSeconds: options.warmupSeconds,
    rounds: options.rounds,
    servers: Object.fromEntries(specs.map((s) => [s.name, s.describe])),
    notes,
  }
  const run: { info: RunInfo; throughput: ThroughputResult[]; slow?: BenchRun['slow'] } = {
    info,
    throughput: [],
  }
  try {
    const scenarios = SCENARIOS.filter((s) => options.only.has(s.id))
    if (scenarios.length > 0) {
      const servers: RunningServer[] = []
      for (const spec of specs) {
        try {
          const server = await spec.start(fixtures.root, workDir)
          track(server.stop)
          servers.push(server)
          log(`${spec.name}: ${server.url} (pid ${server.pid}) — ${spec.describe}`)
        } catch (error) {
          log(`${spec.name}: failed to start, left out: ${(error as Error).message}`)
          notes.push(`${spec.name} failed to start: ${(error as Error).message}`)
        }
      }
      await fixtures.settle()
      for (const scenario of scenarios) {
        run.throughput.push(
          await runThroughput(scenario, {
            servers,
            fixtures,
            generator,
            bulkGenerator: bulk,
            durationSeconds: options.durationSeconds,
            warmupSeconds: options.warmupSeconds,
            rounds: options.rounds,
            workDir,
            log,
          }),
        )
      }
      await stopAll()
    }
    if (options.only.has('S6')) {
      await fixtures.settle()
      run.slow = await runSlow({
        specs,
        root: fixtures.root,
        workDir,
        count: options.slowCount,
        holdMs: options.slowHoldMs,
        rounds: options.slowRounds,
        log,
        track,
      })
    }
  } finally {
    await stopAll()
    await fixtures.remove()
    await rm(workDir, { recursive: true, force: true })
  }

  const report = markdownReport(run)
  process.stdout.write(`\n${report}\n`)
  const resultsDir = join(PROJECT_ROOT, 'bench', 'results')
  await mkdir(resultsDir, { recursive: true })
  const stamp = info.startedAt.replace(/[:]/g, '-')
  const json = `${JSON.stringify(run, null, 2)}\n`
  const svg = svgChart(run)
  await writeFile(join(resultsDir, `${stamp}.json`), json)
  await writeFile(join(resultsDir, `${stamp}.svg`), svg)
  await writeFile(join(resultsDir, `${stamp}.md`), report)
  log(`wrote bench/results/${stamp}.{json,svg,md}`)
  if (options.writeDocs) {
    await writeDocs(report, json, svg)
    log('wrote docs/PERFORMANCE.md (between the bench markers), docs/performance.{svg,json}')
  }
  return 0
}

async function writeDocs(report: string, json: string, svg: string): Promise<void> {
  const docs = join(PROJECT_ROOT, 'docs')
  const path = join(docs, 'PERFORMANCE.md')
  const current = await readFile(path, 'utf8')
  const begin = current.indexOf(DOCS_BEGIN)
  const end = current.indexOf(DOCS_END)
  if (begin < 0 || end < begin)
    throw new Error(`docs/PERFORMANCE.md lacks ${DOCS_BEGIN} ... ${DOCS_END}`)
  const section = `${DOCS_BEGIN}\n${report}\n![sluice ÷ peers, and S6 peak RSS](performance.svg)\n\n${DOCS_END}`
  await writeFile(path, current.slice(0, begin) + section + current.slice(end + DOCS_END.length))
  await writeFile(join(docs, 'performance.svg'), svg)
  await writeFile(join(docs, 'performance.json'), json)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  async (error: unknown) => {
    await stopAll()
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    process.exitCode = 1
  },
)
