/**
 * Usage errors (exit 2) and the small validators that turn flag strings into values. Every
 * message names the flag and what was expected, in one line.
 */

import { type ParseArgsConfig, parseArgs } from 'node:util'

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

type Options = NonNullable<ParseArgsConfig['options']>
type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>
>

/** node:util parseArgs in strict mode, with its errors turned into one-line usage errors. */
export function parseFlags<T extends Options>(args: string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true })
  } catch (error) {
    throw new UsageError(rephrase((error as Error).message))
  }
}

/** parseArgs's messages carry hints over several lines; keep the first sentence. */
function rephrase(message: string): string {
  const first = (message.split('\n')[0] ?? message).split('. ')[0] ?? message
  return first
    .replace(/^Unknown option '([^']+)'.*/, "unknown option '$1'")
    .replace(
      /^Option '([^']+)' argument is ambiguous.*/,
      "$1 expects a value (one starting with '-' is written $1=VALUE)",
    )
    .replace(/\.$/, '')
}

export function parseInteger(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} expects an integer, got '${value}'`)
  const n = Number(value)
  if (n < min || n > max) {
    throw new UsageError(`${flag} expects an integer from ${min} to ${max}, got '${value}'`)
  }
  return n
}

/** A value that will be sent in a header field: visible ASCII and spaces only. */
export function parseFieldValue(flag: string, value: string): string {
  if (value.trim() === '' || !/^[\x20-\x7e]+$/.test(value)) {
    throw new UsageError(`${flag} expects printable ASCII text, got ${JSON.stringify(value)}`)
  }
  return value.trim()
}

export function parseChoice<T extends string>(
  flag: string,
  value: string,
  choices: readonly T[],
): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} expects one of ${choices.join(', ')}, got '${value}'`)
  }
  return value as T
}
