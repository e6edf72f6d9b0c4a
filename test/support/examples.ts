/**
 * Test support for the examples: each runs as its own process, as a user would run it, listens
 * on PORT (0: any free port) and prints a line with its URL.
 */

import { type ChildProcess, spawn } from 'node:child_process'

export interface RunningExample {
  readonly url: string
  /** What it printed so far, stdout and stderr. */
  output(): string
  stop(): Promise<void>
}

/** Runs `node <file>` in `cwd` and resolves once it printed an http:// URL. */
export async function runExample(
  file: string,
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunningExample> {
  const child: ChildProcess = spawn(process.execPath, [file], {
    cwd: options.cwd,
    env: { ...process.env, PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout!.on('data', collect)
  child.stderr!.on('data', collect)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${file} printed no URL in time:\n${output}`)),
        options.timeoutMs ?? 10_000,
      )
      const check = () => {
        const match = /(http:\/\/[^\s]+)/.exec(output)
        if (match) {
          clearTimeout(timer)
          resolve(match[1]!.replace(/\/$/, ''))
        }
      }
      child.stdout!.on('data', check)
      child.stderr!.on('data', check)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${file} exited (${code}) before listening:\n${output}`))
      })
    })
    return { url, output: () => output, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
