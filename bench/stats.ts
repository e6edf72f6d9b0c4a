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

/** Ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux). */
const USER_HZ = 100

/** CPU seconds (user + system, all threads) a process has used so far; undefined if unreadable. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ
  } catch {
    return undefined
  }
}
