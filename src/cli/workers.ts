/**
 * `sluice serve --workers N`: N processes serving the same port through node:cluster. The
 * primary forks the workers, announces the URL once every worker listens, replaces a worker
 * that dies, relays write notices between workers, and on SIGINT or SIGTERM has every worker
 * finish its in-flight responses (each runs the single-process shutdown) before it exits 0.
 *
 * Writes stay linearizable across workers: the check-and-rename of a PUT or DELETE runs under
 * a lock every process shares (resource-locks.ts), and before a write is answered every other
 * worker has dropped what its cache held for the path (a notice through the primary,
 * acknowledged), so no request that starts after the answer sees the old version anywhere.
 */

import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'
import type { Logger } from '../log.js'
import type { FsStore } from '../store/fs-store.js'

/** The default: one process per core. */
export function defaultWorkers(): number {
  return availableParallelism()
}

/** Whether this process is a worker forked by `runPrimary`. */
export function isWorker(): boolean {
  return cluster.isWorker
}

type Message =
  /**
   * A worker takes drop notices (its handler is installed), sent before it listens: so before
   * the primary can hand it a connection (cluster's listen goes through the same channel).
   */
  | { readonly sluice: 'ready' }
  | { readonly sluice: 'listening'; readonly url: string }
  /** A worker could not start; the primary prints `message` once and exits 1. */
  | { readonly sluice: 'failed'; readonly message: string }
  /** A worker changed `path`; the primary answers `changed-done` once the others dropped it. */
  | { readonly sluice: 'changed'; readonly id: number; readonly path: string }
  | { readonly sluice: 'changed-done'; readonly id: number }
  /** The primary asks a worker to drop `path`; the worker answers `dropped`. */
  | { readonly sluice: 'drop'; readonly id: number; readonly path: string }
  | { readonly sluice: 'dropped'; readonly id: number }

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && 'sluice' in value
}

/** Restarts allowed within RESTART_WINDOW_MS before the primary gives up (a crash loop). */
const MAX_RESTARTS = 5
const RESTART_WINDOW_MS = 10_000

export interface PrimaryOptions {
  readonly workers: number
  readonly root: string
  readonly logger: Logger
  /** Prints the line that announces the URL. */
  readonly announce: (url: string) => void
  /** SIGHUP is passed on to every worker (each reloads its TLS certificate). */
  readonly relayHangup?: boolean
}

/**
 * Runs the primary until SIGINT or SIGTERM (exit code 0 once every worker has drained), or
 * until the workers cannot start (1: a worker failed before listening, and said why).
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger } = options
  const workers = new Set<Worker>()
  const listening = new Map<Worker, string>()
  /** Workers that take drop notices: every worker that may have served a request. */
  const ready = new Set<Worker>()
  /** Relays in flight: the worker waiting, and the workers that have not dropped the path yet. */
  const relays = new Map<number, { origin: Worker; originId: number; waiting: Set<Worker> }>()
  let relayIds = 0
  let announced = false
  let stopping = false
  let exitCode = 0
  let failure: string | undefined
  const restarts: number[] = []

  return new Promise((resolve) => {
    const finishRelay = (id: number) => {
      const relay = relays.get(id)
      if (relay === undefined || relay.waiting.size > 0) return
      relays.delete(id)
      send(relay.origin, { sluice: 'changed-done', id: relay.originId })
    }

    const onMessage = (worker: Worker, message: unknown) => {
      if (!isMessage(message)) return
      switch (message.sluice) {
        case 'ready':
          ready.add(worker)
          return
        case 'listening':
          listening.set(worker, message.url)
          if (!announced && listening.size === options.workers) {
            announced = true
            options.announce(message.url)
          }
          return
        case 'changed': {
          const id = ++relayIds
          const waiting = new Set([...ready].filter((w) => w !== worker && alive(w)))
          relays.set(id, { origin: worker, originId: message.id, waiting })
          for (const other of waiting) {
            if (!send(other, { sluice: 'drop', id, path: message.path })) waiting.delete(other)
          }
          finishRelay(id)
          return
        }
        case 'failed':
          failure ??= message.message
          return
        case 'dropped': {
          relays.get(message.id)?.waiting.delete(worker)
          finishRelay(message.id)
          return
        }
        default:
          return
      }
    }

    const fork = () => {
      const worker = cluster.fork()
      workers.add(worker)
      worker.on('message', (message: unknown) => onMessage(worker, message))
      worker.on('exit', (code, signal) => onExit(worker, code, signal))
    }

    const onExit = (worker: Worker, code: number | null, signal: string | null) => {
      workers.delete(worker)
      ready.delete(worker)
      const wasListening = listening.delete(worker)
      // A worker that is gone will not drop anything: its cache went with it.
      for (const [id, relay] of relays) {
        relay.waiting.delete(worker)
        if (relay.origin === worker) relays.delete(id)
        else finishRelay(id)
      }
      if (stopping) {
        if (workers.size > 0) return
        if (failure !== undefined) process.stderr.write(`sluice: ${failure}\n`)
        resolve(exitCode)
        return
      }
      if (!announced || !wasListening) {
        // It failed on its way up (the port is taken, the root is gone): it said why on stderr.
        exitCode = 1
        stop()
        return
      }
      const now = Date.now()
      while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift()
      if (restarts.length >= MAX_RESTARTS) {
        logger.error({ code, signal }, 'workers keep dying: stopping')
        exitCode = 1
        stop()
        return
      }
      restarts.push(now)
      logger.error({ pid: worker.process.pid, code, signal }, 'a worker died: starting another')
      fork()
    }

    const stop = () => {
      if (stopping) return
      stopping = true
      if (workers.size === 0) {
        if (failure !== undefined) process.stderr.write(`sluice: ${failure}\n`)
        resolve(exitCode)
      }
      // Each worker runs its own graceful shutdown on SIGTERM.
      for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGTERM')
    }

    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return
      logger.info({ signal }, 'shutting down: the workers finish their in-flight responses')
      stop()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    if (options.relayHangup) {
      process.on('SIGHUP', () => {
        for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGHUP')
      })
    }
    for (let i = 0; i < options.workers; i++) fork()
  })
}

function alive(worker: Worker): boolean {
  return !worker.isDead() && worker.isConnected()
}

function send(worker: Worker, message: Message): boolean {
  if (!alive(worker)) return false
  try {
    worker.send(message)
    return true
  } catch {
    return false
  }
}

/**
 * In a worker, before it listens: drops what the store caches for a path when another worker
 * wrote it, makes the store's own writes wait, before they are answered, until every other
 * worker has done the same, and tells the primary it takes these notices. Sent before listen,
 * so the primary counts it in every relay before it can have served anything (a replacement
 * worker included): cluster's listen request travels the same channel, after this message.
 */
export function joinPrimary(store: FsStore): void {
  const pending = new Map<number, () => void>()
  let ids = 0
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return
    if (message.sluice === 'drop') {
      store.cache?.invalidatePath(message.path)
      sendToPrimary({ sluice: 'dropped', id: message.id })
    } else if (message.sluice === 'changed-done') {
      pending.get(message.id)?.()
      pending.delete(message.id)
    }
  })
  // The primary going away must not leave writes waiting for it.
  process.on('disconnect', () => {
    for (const done of pending.values()) done()
    pending.clear()
  })
  store.peers = (path) =>
    new Promise<void>((resolve) => {
      const id = ++ids
      pending.set(id, resolve)
      if (!sendToPrimary({ sluice: 'changed', id, path })) {
        pending.delete(id)
        resolve()
      }
    })
  sendToPrimary({ sluice: 'ready' })
}

/** In a worker, once it listens: tells the primary the URL (announced once all listen). */
export function announceToPrimary(url: string): void {
  sendToPrimary({ sluice: 'listening', url })
}

function sendToPrimary(message: Message): boolean {
  if (process.send === undefined || !process.connected) return false
  try {
    process.send(message)
    return true
  } catch {
    return false
  }
}

/** In a worker that cannot start: tells the primary why (it prints it once); exit code 1. */
export function failToPrimary(message: string): number {
  sendToPrimary({ sluice: 'failed', message })
  return 1
}

/** In a worker, once it has shut down: leave the cluster, so the process can exit. */
export function leavePrimary(): void {
  if (cluster.isWorker && process.connected) cluster.worker?.disconnect()
}
