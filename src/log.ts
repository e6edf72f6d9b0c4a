/**
 * The logger: pino, writing JSON lines, or human-readable lines through pino-pretty.
 */

import { type Logger, pino } from 'pino'
import pretty from 'pino-pretty'

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
    return pino(
      base,
      pretty({
        destination: options.destination ?? process.stdout,
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
