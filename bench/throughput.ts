/**
 * Runs one throughput scenario: checks every server, warms each up, then measures in
 * interleaved rounds — sluice, peer, sluice, peer, ..., sluice — so each peer's measurement
 * has a sluice measurement just before and just after it, and machine noise that drifts over
 * the run cancels in the ratios. Peers rotate order from round to round.
 */

import type { Fixtures } from './fixtures.js'
import type { LoadGenerator, LoadResult } from './load.js'
import type { MeasuredRun, ServerOutcome, ThroughputResult } from './results.js'
import type { Prepared, Scenario } from './scenarios.js'
import type { RunningServer, ServerName } from './servers.js'
import { cpuSecondsOf, median, rotate } from './stats.js'

export interface ThroughputContext {
  readonly servers: readonly RunningServer[]
  readonly fixtures: Fixtures
  readonly generator: LoadGenerator
  /** For scenarios with large bodies. */
  readonly bulkGenerator: LoadGenerator
  readonly durationSeconds: number
  readonly warmupSeconds: number
  readonly rounds: number
  readonly workDir: string
  readonly log: (line: string) => void
}

export async function runThroughput(
  scenario: Scenario,
  context: ThroughputContext,
): Promise<ThroughputResult> {
  const { log } = context
  const generator = scenario.bulk ? context.bulkGenerator : context.generator
  const rate = (r: LoadResult) => (scenario.bulk ? r.bytesPerSecond : r.requestsPerSecond)
  const prepared = new Map<ServerName, { server: RunningServer; prepared: Prepared }>()
  const outcomes: Partial<Record<ServerName, ServerOutcome>> = {}
  for (const server of context.servers) {
    let answer: Prepared | string
    try {
      answer = await scenario.prepare(server, context.fixtures)
    } catch (error) {
      answer = `check failed: ${(error as Error).message}`
    }
    if (typeof answer === 'string') {
      const reason = server.name === 'sluice' ? `not supported yet (${answer})` : answer
      outcomes[server.name] = { status: 'excluded', reason }
      log(`${scenario.id} ${server.name}: excluded, ${reason}`)
    } else {
      prepared.set(server.name, { server, prepared: answer })
    }
  }

  const measure = async (name: ServerName, seconds: number): Promise<LoadResult> => {
    const entry = prepared.get(name)!
    return generator.run(
      entry.server.url,
      entry.prepared.request,
      scenario.connections,
      seconds,
      context.workDir,
    )
  }
  for (const name of prepared.keys()) await measure(name, context.warmupSeconds)

  const runs = new Map<ServerName, MeasuredRun[]>([...prepared.keys()].map((n) => [n, []]))
  const record = async (name: ServerName): Promise<MeasuredRun> => {
    const pid = prepared.get(name)!.server.pid
    const cpuBefore = cpuSecondsOf(pid)
    const load = await measure(name, context.durationSeconds)
    const cpuAfter = cpuSecondsOf(pid)
    const serverCpuSeconds =
      cpuBefore === undefined || cpuAfter === undefined ? Number.NaN : cpuAfter - cpuBefore
    const result: MeasuredRun = {
      ...load,
      serverCpuSeconds,
      requestsPerCpuSecond: load.requests / serverCpuSeconds,
    }
    runs.get(name)!.push(result)
    log(
      `${scenario.id} ${name.padEnd(7)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s` +
        (scenario.bulk
          ? ` ${(result.bytesPerSecond / 1048576).toFixed(0).padStart(5)} MiB/s`
          : '') +
        `  p99 ${Number.isFinite(result.latencyMs.p99) ? result.latencyMs.p99.toFixed(1) : '—'} ms${result.errors > 0 ? `  ${result.errors} errors` : ''}`,
    )
    return result
  }
  const withSluice = prepared.has('sluice')
  const peers = [...prepared.keys()].filter((n) => n !== 'sluice')
  const perRound = new Map<ServerName, number[]>(peers.map((n) => [n, []]))
  const perRoundCpu = new Map<ServerName, number[]>(peers.map((n) => [n, []]))
  // Work done per CPU-second of the server process: divides out the share of the core it got.
  const perCpu = (r: MeasuredRun) => (rate(r) * r.seconds) / r.serverCpuSeconds
  for (let round = 0; round < context.rounds; round++) {
    log(`${scenario.id} round ${round + 1}/${context.rounds}`)
    let before = withSluice ? await record('sluice') : undefined
    for (const peer of rotate(peers, round)) {
      const result = await record(peer)
      if (before === undefined) continue
      const after = await record('sluice')
      perRound.get(peer)!.push((rate(before) + rate(after)) / 2 / rate(result))
      perRoundCpu.get(peer)!.push((perCpu(before) + perCpu(after)) / 2 / perCpu(result))
      before = after
    }
  }

  for (const [name, entry] of prepared) {
    const list = runs.get(name)!
    const requests = list.reduce((sum, r) => sum + r.requests, 0)
    const bytes = list.reduce((sum, r) => sum + r.bytes, 0)
    const loadResponseBytes = requests === 0 ? 0 : bytes / requests
    const checkResponseBytes = entry.prepared.responseBytes
    const warnings = [...(entry.prepared.warnings ?? [])]
    const errors = list.reduce((sum, r) => sum + r.errors, 0)
    if (errors > 0) warnings.push(`${errors} errors (socket errors, timeouts or non-2xx/3xx)`)
    // Responses still in flight when a run ends add bytes but no request.
    const slack = 0.05 * requests * checkResponseBytes + 64 * requests
    const inFlight = list.length * scenario.connections * checkResponseBytes
    if (
      bytes < requests * checkResponseBytes - slack ||
      bytes > requests * checkResponseBytes + slack + inFlight
    ) {
      warnings.push(
        `responses averaged ${loadResponseBytes.toFixed(0)} bytes under load, ${checkResponseBytes} in the check`,
      )
    }
    outcomes[name] = {
      status: 'measured',
      runs: list,
      medianRequestsPerSecond: median(list.map((r) => r.requestsPerSecond)),
      medianBytesPerSecond: median(list.map((r) => r.bytesPerSecond)),
      medianP99Ms: median(list.map((r) => r.latencyMs.p99)),
      medianServerCpuShare: median(list.map((r) => r.serverCpuSeconds / r.seconds)),
      medianRequestsPerCpuSecond: median(list.map((r) => r.requestsPerCpuSecond)),
      checkResponseBytes,
      loadResponseBytes,
      warnings,
    }
  }
  const ratios: ThroughputResult['ratios'] = {}
  for (const [peer, values] of perRound) {
    if (values.length > 0) ratios[peer] = { perRound: values, median: median(values) }
  }
  const cpuRatios: ThroughputResult['cpuRatios'] = {}
  for (const [peer, values] of perRoundCpu) {
    if (values.length > 0) cpuRatios[peer] = { perRound: values, median: median(values) }
  }
  return {
    id: scenario.id,
    title: scenario.title,
    connections: scenario.connections,
    ...(scenario.targetVsNginx === undefined ? {} : { targetVsNginx: scenario.targetVsNginx }),
    servers: outcomes,
    ratios,
    cpuRatios,
  }
}
