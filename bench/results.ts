/** The shape of one benchmark run, as written to bench/results/*.json. */

import type { LoadResult } from './load.js'
import type { ScenarioId } from './scenarios.js'
import type { ServerName } from './servers.js'
import type { SlowClientsResult } from './slow-clients.js'

export interface RunInfo {
  readonly startedAt: string
  readonly node: string
  readonly cpus: number
  readonly cpuModel: string
  readonly pinning: string
  readonly loadGenerator: string
  readonly durationSeconds: number
  readonly warmupSeconds: number
  readonly rounds: number
  readonly servers: Partial<Record<ServerName, string>>
  readonly notes: string[]
}

/** One measurement, with the CPU time the server process (all its threads) used meanwhile. */
export interface MeasuredRun extends LoadResult {
  readonly serverCpuSeconds: number
  readonly requestsPerCpuSecond: number
}

export type ServerOutcome =
  | {
      readonly status: 'measured'
      readonly runs: MeasuredRun[]
      readonly medianRequestsPerSecond: number
      readonly medianBytesPerSecond: number
      readonly medianP99Ms: number
      /** CPU seconds per second of load: near 1 when the server core was the bound. */
      readonly medianServerCpuShare: number
      readonly medianRequestsPerCpuSecond: number
      /** Bytes of one response in the check, and the average during load. */
      readonly checkResponseBytes: number
      readonly loadResponseBytes: number
      readonly warnings: string[]
    }
  | { readonly status: 'excluded'; readonly reason: string }

export interface ThroughputResult {
  readonly id: ScenarioId
  readonly title: string
  readonly connections: number
  readonly targetVsNginx?: number
  readonly servers: Partial<Record<ServerName, ServerOutcome>>
  /** sluice's throughput over each peer's: one value per round, and their median. */
  readonly ratios: Partial<Record<ServerName, { perRound: number[]; median: number }>>
  /** The same for work per CPU-second of the server process (robust to a shared machine). */
  readonly cpuRatios: Partial<Record<ServerName, { perRound: number[]; median: number }>>
}

export type SlowOutcome =
  | {
      readonly status: 'measured'
      readonly rounds: (SlowClientsResult & { peakRssKiB: number; idleRssKiB: number })[]
      readonly medianPeakRssMiB: number
      readonly medianAllHeadersMs: number | null
      readonly medianFastP50Ms: number
      readonly medianFastP99Ms: number
      readonly medianFastMaxMs: number
    }
  | { readonly status: 'excluded'; readonly reason: string }

export interface SlowResult {
  readonly id: 'S6'
  readonly title: string
  readonly count: number
  readonly holdMs: number
  readonly servers: Partial<Record<ServerName, SlowOutcome>>
}

export interface BenchRun {
  readonly info: RunInfo
  readonly throughput: ThroughputResult[]
  readonly slow?: SlowResult
}
