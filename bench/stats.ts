/** Small statistics for the report: medians and the /proc readings of a process. */

import { readFileSync } from 'node:fs'

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** `values` rotated left by `by`, so each round starts with a different server. */
export function rotate<T>(values: readonly T[], by: number): T[] {
  if (values.length === 0) return []
  const k = by % values.length
  return [...values.slice(k), ...values.slice(0, k)]
}

/** VmRSS and VmHWM (peak) of a process in KiB, from /proc; undefined when unreadable. */
export function memoryOf(pid: number): { rssKiB: number; peakKiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rss = /^VmRSS:\s+(\d+)/m.exec(status)?.[1]
    const peak = /^VmHWM:\s+(\d+)/m.exec(status)?.[1]
    if (rss === undefined || peak === undefined) return undefined
    return { rssKiB: Number(rss), peakKiB: Number(peak) }
  } catch {
    return undefined
  }
}
