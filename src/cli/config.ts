/**
 * `sluice.config.json` (or `--config <file>`) merged with the flags, which win. Every problem is
 * a UsageError of one line naming the key (`cors.origin[0]`, `--cors-max-age`) and what was
 * expected, so start-up stops before anything listens.
 */

import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, join } from 'node:path'
import {
  type CorsPolicy,
  type CorsPolicyOptions,
  checkCorsOptions,
  createCorsPolicy,
} from '../core/cors/policy.js'
import { parsePathPattern } from '../core/path-patterns.js'
import type { CorsRoute } from '../http/cors.js'
import type { EngineRequest } from '../http/engine.js'
import type { CorsConfig, FileConfig } from './config-schema.js'
import { UsageError } from './usage.js'

export const DEFAULT_CONFIG_FILE = 'sluice.config.json'

/**
 * Reads and validates the configuration file: `explicit` (from --config) must exist; the default
 * `sluice.config.json` in `cwd` is used when present.
 */
export async function loadConfigFile(
  explicit: string | undefined,
  cwd: string,
): Promise<
  { readonly config: FileConfig; readonly name: string; readonly dir: string } | undefined
> {
  const name = explicit ?? DEFAULT_CONFIG_FILE
  const path = isAbsolute(name) ? name : join(cwd, name)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (explicit === undefined && code === 'ENOENT') return undefined
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code
    throw new UsageError(`--config: cannot read '${name}': ${why}`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${name}: not valid JSON: ${(error as Error).message}`)
  }
  // Loaded only when there is a file to check: the schema library is most of the CLI's memory.
  const { configSchema, describeIssue } = await import('./config-schema.js')
  const parsed = configSchema.safeParse(data)
  if (!parsed.success) throw new UsageError(`${name}: ${describeIssue(parsed.error)}`)
  return { config: parsed.data, name, dir: dirname(path) }
}

/** The CORS flags as given (each undefined when absent). */
export interface CorsFlags {
  readonly 'cors-origin'?: string[] | undefined
  readonly 'cors-credentials'?: boolean | undefined
  readonly 'cors-methods'?: string | undefined
  readonly 'cors-headers'?: string | undefined
  readonly 'cors-expose'?: string | undefined
  readonly 'cors-max-age'?: string | undefined
  readonly 'cors-private-network'?: boolean | undefined
}

export interface CorsSetup {
  readonly policy: CorsPolicy<EngineRequest> | null
  readonly routes: readonly CorsRoute[]
  /** Start-up warnings (an allowed `null` origin). */
  readonly warnings: readonly string[]
}

type OptionKey = keyof CorsPolicyOptions
/** Where each policy option lives in the file and on the command line. */
const KEYS: Readonly<
  Record<OptionKey, { readonly file: keyof CorsConfig; readonly flag: string }>
> = {
  origins: { file: 'origin', flag: '--cors-origin' },
  credentials: { file: 'credentials', flag: '--cors-credentials' },
  methods: { file: 'methods', flag: '--cors-methods' },
  headers: { file: 'headers', flag: '--cors-headers' },
  expose: { file: 'expose', flag: '--cors-expose' },
  maxAge: { file: 'max-age', flag: '--cors-max-age' },
  privateNetwork: { file: 'private-network', flag: '--cors-private-network' },
}

/** `GET, PUT` or `GET,PUT` from a flag; an empty element is an error, not ignored. */
export function commaList(flag: string, value: string): string[] {
  const items = value.split(',').map((s) => s.trim())
  if (items.some((s) => s === '')) {
    throw new UsageError(
      `${flag} expects a comma-separated list without empty items, got '${value}'`,
    )
  }
  return items
}

function flagsToCors(flags: CorsFlags): CorsConfig {
  const out: Record<string, unknown> = {}
  if (flags['cors-origin'] !== undefined) out.origin = flags['cors-origin']
  if (flags['cors-credentials']) out.credentials = true
  if (flags['cors-methods'] !== undefined)
    out.methods = commaList('--cors-methods', flags['cors-methods'])
  if (flags['cors-headers'] !== undefined)
    out.headers = commaList('--cors-headers', flags['cors-headers'])
  if (flags['cors-expose'] !== undefined)
    out.expose = commaList('--cors-expose', flags['cors-expose'])
  if (flags['cors-max-age'] !== undefined) {
    const value = flags['cors-max-age']
    out['max-age'] = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN
  }
  if (flags['cors-private-network']) out['private-network'] = true
  return out as CorsConfig
}

/**
 * Builds one policy from file options overlaid with flag options, or throws a UsageError naming
 * the key that is wrong, as it was written (`cors.origin[1]`, `--cors-origin`).
 */
function buildPolicy(
  fileCors: CorsConfig | undefined,
  flagCors: CorsConfig,
  filePrefix: string,
  warnings: string[],
): CorsPolicy<EngineRequest> | null {
  const merged: CorsConfig = { ...fileCors, ...flagCors }
  if (Object.keys(merged).length === 0) return null
  const options: CorsPolicyOptions<EngineRequest> = {
    origins: merged.origin ?? [],
    credentials: merged.credentials,
    methods: merged.methods,
    headers: merged.headers,
    expose: merged.expose,
    maxAge: merged['max-age'],
    privateNetwork: merged['private-network'],
  }
  const checked = checkCorsOptions(options as CorsPolicyOptions<never>)
  const first = checked.errors[0]
  if (first !== undefined) {
    const [option, index] = first.key.split('[') as [OptionKey, string | undefined]
    const where = KEYS[option]
    const fromFlag = where.file in flagCors
    const key = fromFlag
      ? where.flag
      : `${filePrefix}${where.file}${index === undefined ? '' : `[${index}`}`
    const shown =
      fromFlag && index !== undefined ? `${key} (item ${Number.parseInt(index, 10) + 1})` : key
    throw new UsageError(`${shown}: ${first.message}`)
  }
  if (merged.origin === undefined) {
    const key = Object.keys(flagCors).length > 0 ? '--cors-origin' : `${filePrefix}origin`
    throw new UsageError(`${key}: expected at least one allowed origin for the other CORS options`)
  }
  for (const warning of checked.warnings) warnings.push(warning)
  return createCorsPolicy<EngineRequest>(options)
}

/** The default policy (file `cors` with the flags over it) and the per-path ones. */
export function setUpCors(
  file: FileConfig | undefined,
  flags: CorsFlags,
  fileName: string,
): CorsSetup {
  const warnings: string[] = []
  const flagCors = flagsToCors(flags)
  const policy = buildPolicy(file?.cors, flagCors, `${fileName}: cors.`, warnings)
  const routes: CorsRoute[] = []
  for (const [path, entry] of Object.entries(file?.paths ?? {})) {
    const pattern = parsePathPattern(path)
    if ('error' in pattern) throw new UsageError(`${fileName}: paths.${path}: ${pattern.error}`)
    const routePolicy =
      entry.cors === false
        ? null
        : buildPolicy(entry.cors, {}, `${fileName}: paths.${path}.cors.`, warnings)
    routes.push({ pattern, policy: routePolicy })
  }
  return { policy, routes, warnings: [...new Set(warnings)] }
}
