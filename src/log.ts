/**
 * The logger: pino, writing JSON lines, or human-readable lines through pino-pretty.
 *
 * pino-pretty (CommonJS) is required only when the pretty format is asked for, so a server
 * logging JSON never loads it or its dependencies, and holds no memory for them.
 */

import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import { type Logger, pino } from 'pino'
import type pinoPretty from 'pino-pretty'

export type { Logger }
export type LogFormat = 'json' | 'pretty'

export interface LoggerOptions {
  readonly format: LogFormat
  /** Only warnings and errors: no access log. */
  readonly quiet?: boolean
  readonly destination?: NodeJS.WritableStream
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.quiet ? 'warn' : 'info'
  const base = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }
  if (options.format === 'pretty') {
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof pinoPretty
    return pino(
      base,
      pretty({
        destination: escapingControls(options.destination ?? process.stdout),
        colorize: false,
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss.l',
        sync: true,
      }),
    )
  }
  return pino(base, options.destination ?? pino.destination({ sync: false }))
}

/** A logger that drops everything (the library default). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}

/**
 * Control characters other than the line feed, C1 controls included, as `\uXXXX`. pino-pretty
 * quotes and escapes values as JSON does, which leaves C1 controls (U+0080 to U+009F, which
 * obs-text in a request field can carry) raw; a terminal may act on them.
 */
export function escapeControls(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- control characters are what it looks for
    /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** The pretty output passes through `escapeControls` before it reaches the terminal. */
function escapingControls(destination: NodeJS.WritableStream): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      destination.write(escapeControls(String(chunk)))
      callback()
    },
  })
}
