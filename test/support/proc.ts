/**
 * What a process holds, read from Linux's /proc: the tests that prove a file or a connection
 * is let go count descriptors here rather than trusting the server's own accounting.
 */

import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/**
 * Descriptors process `pid` (or this process) has open now; with `target`, only those whose
 * target contains it (a file name, or `socket:` for connections).
 */
export function openDescriptors(pid: number | 'self', target?: string): number {
  const fds = readdirSync(`/proc/${pid}/fd`)
  if (target === undefined) return fds.length
  let count = 0
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).includes(target)) count++
    } catch {
      // closed meanwhile
    }
  }
  return count
}

/** The pids of the processes whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (statFields(Number(entry))[1] === String(pid)) children.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return children
}

/** The files mapped into process `pid`'s (or this process's) memory: its code, native addons. */
export function mappedFiles(pid: number | 'self'): Set<string> {
  const files = new Set<string>()
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    // address perms offset dev inode [path]
    const path = line.split(/\s+/, 6)[5]
    if (path?.startsWith('/')) files.add(path)
  }
  return files
}

/** CPU time (user + system) process `pid` has used, in milliseconds. */
export function cpuMs(pid: number): number {
  const fields = statFields(pid)
  const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime
  return (ticks * 1000) / 100 // USER_HZ is 100 on Linux
}

/** The fields of /proc/PID/stat after the command name: state, ppid, ... */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** The resident memory of process `pid`, in bytes (VmRSS; Linux). */
export function residentBytes(pid: number | 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1')
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status)
  if (match === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) * 1024
}
