/**
 * What every peer server of the benchmark shares: its command line (`--root DIR --port N`),
 * the CORS policy each one is configured with (the same for all, so S3 compares like with
 * like), and the line announcing where it listens, which the harness waits for.
 */

import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'

/** The one CORS policy of the benchmark: an exact origin, PUT allowed, one custom header. */
export const CORS_POLICY = {
  origin: 'http://app.example',
  methods: ['GET', 'HEAD', 'PUT'],
  headers: ['X-Custom'],
  maxAgeSeconds: 600,
} as const

export interface PeerArgs {
  readonly root: string
  readonly host: string
  readonly port: number
}

export function peerArgs(argv = process.argv.slice(2)): PeerArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      root: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
    },
    strict: true,
  })
  if (values.root === undefined) throw new Error('--root is required')
  return { root: values.root, host: values.host, port: Number(values.port) }
}

/** Prints the URL the harness waits for, once `server` accepts connections. */
export function announce(name: string, server: Server): void {
  const address = server.address() as AddressInfo
  process.stdout.write(`${name} listening at http://${address.address}:${address.port}\n`)
}

/** Ends the process on SIGTERM/SIGINT without waiting for keep-alive connections. */
export function exitOnSignal(server: Server): void {
  const stop = () => {
    server.closeAllConnections()
    server.close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
