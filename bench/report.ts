/**
 * The report of one run: markdown tables (printed, and kept in docs/PERFORMANCE.md), and an
 * SVG chart of sluice's ratios against each peer, drawn by hand.
 */

import type { BenchRun, ThroughputResult } from './results.js'
import { GO_MULTIPART_RPS } from './scenarios.js'
import type { ServerName } from './servers.js'

export const SERVER_ORDER: readonly ServerName[] = [
  'sluice',
  'floor',
  'express',
  'fastify',
  'sirv',
  'nginx',
  'caddy',
]
const PEERS = SERVER_ORDER.filter((n) => n !== 'sluice')
const COLORS: Record<ServerName, string> = {
  sluice: '#1b6ac9',
  floor: '#7f7f7f',
  express: '#2ca02c',
  fastify: '#d62728',
  sirv: '#9467bd',
  nginx: '#ff7f0e',
  caddy: '#17becf',
}

export function markdownReport(run: BenchRun): string {
  const lines: string[] = []
  const info = run.info
  lines.push(
    `Run of ${info.startedAt}: Node ${info.node}, ${info.cpus} × ${info.cpuModel}; ${info.pinning}; ` +
      `load by ${info.loadGenerator}; ${info.rounds} interleaved rounds of ${info.durationSeconds} s ` +
      `per server and scenario after a ${info.warmupSeconds} s warm-up.`,
    '',
  )
  const notes: string[] = [...info.notes]
  if (run.throughput.length > 0) {
    const shown = SERVER_ORDER.filter((n) => run.throughput.some((t) => t.servers[n]))
    lines.push(
      '**Throughput** (median of rounds; requests/s, or MiB/s of body for S4; in parentheses the server process’s CPU use, 100% = the whole server core)',
      '',
    )
    lines.push(`| Scenario | conns | ${shown.join(' | ')} |`)
    lines.push(`|---|--:|${shown.map(() => '--:').join('|')}|`)
    for (const t of run.throughput) {
      const cells = shown.map((name) => {
        const outcome = t.servers[name]
        if (outcome === undefined) return ''
        if (outcome.status === 'excluded') {
          notes.push(`${t.id} ${name}: ${outcome.reason}`)
          return name === 'sluice' ? 'not supported yet' : 'excluded'
        }
        for (const warning of outcome.warnings) notes.push(`${t.id} ${name}: ${warning}`)
        const rate = t.id.startsWith('S4')
          ? `${(outcome.medianBytesPerSecond / 1048576).toFixed(0)} MiB/s`
          : formatRate(outcome.medianRequestsPerSecond)
        return `${rate} (${(100 * outcome.medianServerCpuShare).toFixed(0)}%)`
      })
      lines.push(`| ${t.id} ${t.title} | ${t.connections} | ${cells.join(' | ')} |`)
    }
    lines.push('')
    const peers = PEERS.filter((n) => run.throughput.some((t) => t.ratios[n]))
    lines.push(
      '**sluice ÷ peer** (median over rounds of sluice’s throughput, averaged over the runs just before and after the peer’s, divided by the peer’s; above 1: sluice is faster)',
      '',
    )
    lines.push(`| Scenario | ${peers.map((p) => `vs ${p}`).join(' | ')} | target (vs nginx) |`)
    lines.push(`|---|${peers.map(() => '--:').join('|')}|---|`)
    for (const t of run.throughput) {
      const cells = peers.map((p) => {
        const ratio = t.ratios[p]
        return ratio === undefined ? '—' : `${ratio.median.toFixed(2)}×`
      })
      lines.push(`| ${t.id} | ${cells.join(' | ')} | ${targetCell(t)} |`)
    }
    lines.push('')
    lines.push(
      '**sluice ÷ peer per CPU-second** (the same ratio of work done per CPU-second of the server process, all threads: it divides out the share of the core each server got on a busy machine, and counts work the server does off its event loop)',
      '',
    )
    lines.push(`| Scenario | ${peers.map((p) => `vs ${p}`).join(' | ')} |`)
    lines.push(`|---|${peers.map(() => '--:').join('|')}|`)
    for (const t of run.throughput) {
      const cells = peers.map((p) => {
        const ratio = t.cpuRatios[p]
        return ratio === undefined ? '—' : `${ratio.median.toFixed(2)}×`
      })
      lines.push(`| ${t.id} | ${cells.join(' | ')} |`)
    }
    lines.push('')
  }
  const slow = run.slow
  if (slow !== undefined) {
    lines.push(
      `**S6** ${slow.title}, each read at about 64 KiB/s, held ${slow.holdMs / 1000} s after the last one had its headers; a fast client GETs the 1 KiB file every 20 ms meanwhile (median of rounds)`,
      '',
    )
    lines.push(
      `| Server | peak RSS | all ${slow.count} with headers | fast client p50 | p99 | max |`,
    )
    lines.push('|---|--:|--:|--:|--:|--:|')
    lines.push('| *target (sluice)* | *≤ 100 MiB* | *≤ 1 s* | | | *< 50 ms* |')
    for (const name of SERVER_ORDER) {
      const outcome = slow.servers[name]
      if (outcome === undefined) continue
      if (outcome.status === 'excluded') {
        notes.push(`S6 ${name}: ${outcome.reason}`)
        lines.push(`| ${name} | excluded | | | | |`)
        continue
      }
      const headers =
        outcome.medianAllHeadersMs === null
          ? `not all within 30 s (${Math.min(...outcome.rounds.map((r) => r.withHeaders))})`
          : `${(outcome.medianAllHeadersMs / 1000).toFixed(2)} s`
      lines.push(
        `| ${name} | ${outcome.medianPeakRssMiB.toFixed(0)} MiB | ${headers} | ${outcome.medianFastP50Ms.toFixed(1)} ms | ${outcome.medianFastP99Ms.toFixed(1)} ms | ${outcome.medianFastMaxMs.toFixed(1)} ms |`,
      )
    }
    lines.push('')
  }
  if (notes.length > 0) {
    lines.push('Notes:', '')
    for (const note of notes) lines.push(`- ${note}`)
    lines.push('')
  }
  return lines.join('\n')
}

function targetCell(t: ThroughputResult): string {
  if (t.id === 'S5') {
    const sluice = t.servers.sluice
    if (sluice?.status !== 'measured')
      return `Go FileServer ~${GO_MULTIPART_RPS / 1000}k req/s (stated)`
    const ratio = sluice.medianRequestsPerSecond / GO_MULTIPART_RPS
    return `${ratio.toFixed(2)}× the stated ~${GO_MULTIPART_RPS / 1000}k req/s of Go: ${ratio >= 1 ? 'met' : 'not met'}`
  }
  if (t.targetVsNginx === undefined) return ''
  if (t.servers.sluice?.status !== 'measured') return `≥ ${t.targetVsNginx}: sluice not measured`
  const ratio = t.ratios.nginx
  if (ratio === undefined) return `≥ ${t.targetVsNginx}: not measured`
  return `≥ ${t.targetVsNginx}: ${ratio.median >= t.targetVsNginx ? 'met' : 'not met'}`
}

function formatRate(rate: number): string {
  return rate >= 10_000 ? `${(rate / 1000).toFixed(1)}k` : rate.toFixed(0)
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * Horizontal bars of sluice ÷ peer on a log scale centred on 1 (one group per scenario, one bar
 * per peer), the targets against nginx as marks, and S6's peak RSS below on a linear scale.
 */
export function svgChart(run: BenchRun): string {
  const width = 900
  const left = 270
  const right = width - 70
  const barHeight = 12
  const parts: string[] = []
  let y = 58

  const ratios = run.throughput.flatMap((t) => Object.values(t.ratios).map((r) => r.median))
  const finite = ratios.filter((r) => Number.isFinite(r) && r > 0)
  const lowExp = Math.floor(Math.log2(Math.min(0.5, ...finite)))
  const highExp = Math.ceil(Math.log2(Math.max(2, ...finite)))
  const x = (ratio: number) =>
    left + ((Math.log2(ratio) - lowExp) / (highExp - lowExp)) * (right - left)

  const groups = run.throughput.filter((t) => Object.keys(t.ratios).length > 0)
  const groupHeights = groups.map((t) => Object.keys(t.ratios).length * (barHeight + 2) + 14)
  const plotBottom = y + groupHeights.reduce((a, b) => a + b, 0)

  parts.push(
    `<text x="${left}" y="22" font-size="15" font-weight="bold">sluice throughput ÷ peer throughput</text>`,
    `<text x="${left}" y="40" font-size="11" fill="#555">median over interleaved rounds, log scale; right of 1×: sluice faster; ▲ target against nginx</text>`,
  )
  for (let e = lowExp; e <= highExp; e++) {
    const ratio = 2 ** e
    const gx = x(ratio).toFixed(1)
    parts.push(
      `<line x1="${gx}" y1="${y - 6}" x2="${gx}" y2="${plotBottom}" stroke="${e === 0 ? '#333' : '#ddd'}" stroke-width="${e === 0 ? 1.5 : 1}"/>`,
      `<text x="${gx}" y="${plotBottom + 14}" font-size="10" text-anchor="middle" fill="#555">${ratio >= 1 ? ratio : `1/${1 / ratio}`}×</text>`,
    )
  }
  for (const [i, t] of groups.entries()) {
    parts.push(
      `<text x="${left - 8}" y="${y + 10}" font-size="11" text-anchor="end" font-weight="bold">${escapeXml(t.id)}</text>`,
      `<text x="${left - 8}" y="${y + 23}" font-size="9" text-anchor="end" fill="#555">${escapeXml(t.title)}</text>`,
    )
    let by = y
    for (const peer of PEERS) {
      const ratio = t.ratios[peer]
      if (ratio === undefined) continue
      const value = Math.min(Math.max(ratio.median, 2 ** lowExp), 2 ** highExp)
      const x0 = x(1)
      const x1 = x(value)
      parts.push(
        `<rect x="${Math.min(x0, x1).toFixed(1)}" y="${by}" width="${Math.max(1, Math.abs(x1 - x0)).toFixed(1)}" height="${barHeight}" fill="${COLORS[peer]}"><title>${peer}: ${ratio.median.toFixed(2)}×</title></rect>`,
        // Labels sit right of the bar's end, or right of 1× for bars going left.
        `<text x="${(Math.max(x0, x1) + 4).toFixed(1)}" y="${by + 10}" font-size="9">${ratio.median.toFixed(2)}× ${peer}</text>`,
      )
      if (peer === 'nginx' && t.targetVsNginx !== undefined) {
        const tx = x(t.targetVsNginx)
        parts.push(
          `<path d="M${tx.toFixed(1)} ${by + barHeight - 4} l-4 6 h8 z" fill="#000"><title>target ${t.targetVsNginx}×</title></path>`,
        )
      }
      by += barHeight + 2
    }
    y += groupHeights[i]!
  }
  y = plotBottom + 30

  const slow = run.slow
  if (slow !== undefined) {
    const measured = SERVER_ORDER.flatMap((name) => {
      const o = slow.servers[name]
      return o?.status === 'measured' ? [{ name, rss: o.medianPeakRssMiB }] : []
    })
    if (measured.length > 0) {
      y += 10
      parts.push(
        `<text x="${left}" y="${y}" font-size="12" font-weight="bold">S6 peak RSS, ${slow.count} slow downloads (MiB, lower is better; dashed: 100 MiB target)</text>`,
      )
      y += 14
      const maxRss = Math.max(120, ...measured.map((m) => m.rss))
      const rx = (mib: number) => left + (mib / maxRss) * (right - left)
      for (const m of measured) {
        parts.push(
          `<text x="${left - 8}" y="${y + 10}" font-size="11" text-anchor="end">${m.name}</text>`,
          `<rect x="${left}" y="${y}" width="${Math.max(1, rx(m.rss) - left).toFixed(1)}" height="${barHeight}" fill="${COLORS[m.name]}"/>`,
          `<text x="${(rx(m.rss) + 4).toFixed(1)}" y="${y + 10}" font-size="9">${m.rss.toFixed(0)} MiB</text>`,
        )
        y += barHeight + 4
      }
      const tx = rx(100).toFixed(1)
      parts.push(
        `<line x1="${tx}" y1="${y - measured.length * (barHeight + 4) - 4}" x2="${tx}" y2="${y}" stroke="#000" stroke-dasharray="4 3"/>`,
      )
      y += 10
    }
  }
  parts.push(
    `<text x="${left}" y="${y + 12}" font-size="9" fill="#777">${escapeXml(`${run.info.startedAt} · ${run.info.loadGenerator} · ${run.info.pinning}`)}</text>`,
  )
  const height = y + 24
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`
}
