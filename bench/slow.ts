/**
 * S6: many concurrent slow downloads of the large file. Each measurement starts a fresh server
 * process (so its peak RSS, VmHWM, belongs to this scenario alone), checks and warms it, runs
 * the slow clients from their own process on the load core, and polls the server's memory.
 */

import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { exchange } from './exchange.js'
import { LARGE, SMALL } from './fixtures.js'
import type { SlowOutcome, SlowResult } from './results.js'
import { PROJECT_ROOT, type ServerName, type ServerSpec } from './servers.js'
import type { SlowClientsOptions, SlowClientsResult } from './slow-clients.js'
import { median, memoryOf, rotate } from './stats.js'

export interface SlowContext {
  readonly specs: readonly ServerSpec[]
  readonly root: string
  readonly workDir: string
  readonly count: number
  readonly holdMs: number
  readonly rounds: number
  readonly log: (line: string) => void
  /** Registers a server so that an interrupted run still stops it. */
  readonly track: (stop: () => Promise<void>) => () => void
}

const CLIENT = join(PROJECT_ROOT, 'dist', 'bench', 'slow-clients.js')

export async function runSlow(context: SlowContext): Promise<SlowResult> {
  const rounds = new Map<
    ServerName,
    (SlowClientsResult & { peakRssKiB: number; idleRssKiB: number })[]
  >()
  const excluded = new Map<ServerName, string>()
  for (let round = 0; round < context.rounds; round++) {
    for (const spec of rotate(context.specs, round)) {
      if (excluded.has(spec.name)) continue
      const outcome = await measureOnce(spec, context).catch((error: Error) => error.message)
      if (typeof outcome === 'string') {
        excluded.set(spec.name, spec.name === 'sluice' ? `not supported yet (${outcome})` : outcome)
        context.log(`S6 ${spec.name}: excluded, ${outcome}`)
        continue
      }
      const list = rounds.get(spec.name) ?? []
      list.push(outcome)
      rounds.set(spec.name, list)
      context.log(
        `S6 ${spec.name.padEnd(7)} peak RSS ${(outcome.peakRssKiB / 1024).toFixed(0)} MiB, ` +
          `${outcome.withHeaders}/${outcome.count} headers ${outcome.allHeadersMs === null ? 'not all' : `in ${(outcome.allHeadersMs / 1000).toFixed(2)} s`}, ` +
          `fast client p50 ${outcome.fast.p50Ms.toFixed(1)} ms max ${outcome.fast.maxMs.toFixed(1)} ms`,
      )
    }
  }
  const servers: Partial<Record<ServerName, SlowOutcome>> = {}
  for (const [name, reason] of excluded) servers[name] = { status: 'excluded', reason }
  for (const [name, list] of rounds) {
    if (excluded.has(name)) continue
    const allHeaders = list.map((r) => r.allHeadersMs)
    servers[name] = {
      status: 'measured',
      rounds: list,
      medianPeakRssMiB: median(list.map((r) => r.peakRssKiB / 1024)),
      medianAllHeadersMs: allHeaders.some((v) => v === null)
        ? null
        : median(allHeaders as number[]),
      medianFastP50Ms: median(list.map((r) => r.fast.p50Ms)),
      medianFastP99Ms: median(list.map((r) => r.fast.p99Ms)),
      medianFastMaxMs: median(list.map((r) => r.fast.maxMs)),
    }
  }
  return {
    id: 'S6',
    title: `${context.count} concurrent slow downloads of 64 MiB`,
    count: context.count,
    holdMs: context.holdMs,
    servers,
  }
}

async function measureOnce(
  spec: ServerSpec,
  context: SlowContext,
): Promise<SlowClientsResult & { peakRssKiB: number; idleRssKiB: number }> {
  const server = await spec.start(context.root, context.workDir)
  const untrack = context.track(server.stop)
  try {
    const small = await exchange(server.host, server.port, { method: 'GET', path: SMALL.path })
    if (small.status !== 200) throw new Error(`GET ${SMALL.path} answers ${small.status}`)
    const large = await exchange(server.host, server.port, { method: 'HEAD', path: LARGE.path })
    if (large.status !== 200 || large.headers.get('content-length') !== String(LARGE.size)) {
      throw new Error(`HEAD ${LARGE.path} answers ${large.status}`)
    }
    const idle = memoryOf(server.pid)
    if (idle === undefined) throw new Error(`cannot read /proc/${server.pid}/status`)
    let peak = idle.peakKiB
    const poll = setInterval(() => {
      const now = memoryOf(server.pid)
      if (now !== undefined) peak = Math.max(peak, now.rssKiB, now.peakKiB)
    }, 50)
    const options: SlowClientsOptions = {
      host: server.host,
      port: server.port,
      slowPath: LARGE.path,
      fastPath: SMALL.path,
      count: context.count,
      holdMs: context.holdMs,
      timeoutMs: 30_000,
      readIntervalMs: 1000,
      fastIntervalMs: 20,
    }
    let result: SlowClientsResult
    try {
      result = await runClients(options)
    } finally {
      clearInterval(poll)
    }
    const last = memoryOf(server.pid)
    if (last !== undefined) peak = Math.max(peak, last.peakKiB)
    const wrong = Object.entries(result.statuses).filter(([status]) => status !== '200')
    if (wrong.length > 0) {
      throw new Error(`slow downloads answered ${wrong.map(([s, n]) => `${n}× ${s}`).join(', ')}`)
    }
    return { ...result, peakRssKiB: peak, idleRssKiB: idle.rssKiB }
  } finally {
    await server.stop()
    untrack()
  }
}

function runClients(options: SlowClientsOptions): Promise<SlowClientsResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLIENT, JSON.stringify(options)],
      { maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`slow clients failed: ${error.message} ${stderr.slice(-300)}`))
        else resolve(JSON.parse(stdout) as SlowClientsResult)
      },
    )
  })
}
