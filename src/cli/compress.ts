/**
 * `sluice compress <dir>`: writes precompressed siblings (`app.js.br`, `app.js.gz`, and
 * `app.js.zst` where this Node's zlib has zstd) next to every compressible file, for `sluice
 * serve` to send as variants. A sibling is fresh by the rules serve applies (variants.ts): not
 * older than its source, smaller, and decoding to exactly its bytes. Fresh siblings are left
 * alone; stale ones are rewritten; `--prune` removes the stale ones it does not rewrite.
 *
 * Each sibling is written under a staged name (`.sluice-tmp-*`, never served) and renamed
 * into place, so an interrupted run (SIGINT, SIGTERM) leaves every sibling whole: old or new.
 * On a terminal it shows a progress bar (cli-progress); otherwise one line per sibling written
 * or removed, and a summary.
 */

import type { Dirent } from 'node:fs'
import { lstat, readdir, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { ContentCoding } from '../core/accept-encoding.js'
import {
  compilePatterns,
  DEFAULT_COMPRESSIBLE_TYPES,
  matchesMediaType,
} from '../core/media-type-patterns.js'
import {
  type CompressionLevels,
  compress,
  decodedTag,
  PRECOMPRESS_LEVELS,
  RUNTIME_CODINGS,
  SIBLING_SUFFIXES,
} from '../store/codecs.js'
import { opaqueTagOf } from '../store/content-tags.js'
import { type FileIdentity, identityOf, sameIdentity } from '../store/file-identity.js'
import { DEFAULT_COMPRESS_SETTINGS } from '../store/fs-store.js'
import { contentTypeFor } from '../store/media-types.js'
import {
  createStagedFile,
  discardStagedFile,
  isReservedName,
  type StagedFile,
  sweepStagedFiles,
} from '../store/staged-files.js'
import { staleByIdentity } from '../store/variants.js'
import { commaList } from './config.js'
import { parseLevels } from './levels.js'
import { parseFlags, parseInteger, UsageError } from './usage.js'
import { INTEGER_RANGES } from '../option-ranges.js'
import { patternProblem } from '../core/media-type-patterns.js'

export const COMPRESS_HELP = `Usage: sluice compress <dir> [options]

Writes precompressed siblings next to every compressible file under <dir>: app.js.br and
app.js.gz (and app.js.zst where this Node has zstd: ${RUNTIME_CODINGS.includes('zstd') ? 'it has' : 'this one has not'}), which sluice serve sends
as variants while they are fresh. Fresh siblings are skipped, stale ones rewritten; each is
written under a temporary name and renamed, so an interrupted run leaves none half-written.

Options:
  --prune               also remove stale siblings that are not rewritten (of files not
                        compressed, or that compressing no longer makes smaller)
  --types <list>        media types compressed, e.g. text/*,+json,application/wasm
                        (default: as sluice serve's --compress-types)
  --min-size <bytes>    smallest file compressed (default ${DEFAULT_COMPRESS_SETTINGS.minSize})
  --level <list>        levels, e.g. br=9,gzip=6 (default br=${PRECOMPRESS_LEVELS.br},gzip=${PRECOMPRESS_LEVELS.gzip},zstd=${PRECOMPRESS_LEVELS.zstd}; brotli 11
                        is about 1 MB/s)
  --codings <list>      siblings to write (default ${RUNTIME_CODINGS.join(',')})
  --dotfiles            also names starting with "." (skipped by default, as serve hides them)
  -h, --help            show this help
`

const FLAGS = {
  prune: { type: 'boolean' },
  types: { type: 'string' },
  'min-size': { type: 'string' },
  level: { type: 'string' },
  codings: { type: 'string' },
  dotfiles: { type: 'boolean' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export interface CompressConfig {
  readonly dir: string
  readonly prune: boolean
  readonly types: readonly string[]
  readonly minSize: number
  readonly levels: CompressionLevels
  readonly codings: readonly ContentCoding[]
  readonly dotfiles: boolean
}

/** The arguments after `compress`, or a UsageError. */
export async function parseCompressArgs(args: string[]): Promise<CompressConfig | 'help'> {
  const { values, positionals } = parseFlags(args, FLAGS)
  if (values.help) return 'help'
  if (positionals.length !== 1) {
    throw new UsageError(`compress takes one <dir>, got ${positionals.length} arguments`)
  }
  const dir = positionals[0]!
  const stats = await stat(dir).catch(() => undefined)
  if (stats === undefined) throw new UsageError(`directory '${dir}' does not exist`)
  if (!stats.isDirectory()) throw new UsageError(`'${dir}' is not a directory`)
  const types =
    values.types === undefined ? DEFAULT_COMPRESSIBLE_TYPES : commaList('--types', values.types)
  for (const type of types) {
    const problem = patternProblem(type)
    if (problem !== undefined) throw new UsageError(`--types: ${problem}, got '${type}'`)
  }
  const [min, max] = INTEGER_RANGES['compress-min-size']
  const codings =
    values.codings === undefined ? RUNTIME_CODINGS : commaList('--codings', values.codings)
  for (const coding of codings) {
    if (!(RUNTIME_CODINGS as readonly string[]).includes(coding)) {
      throw new UsageError(
        `--codings expects some of ${RUNTIME_CODINGS.join(', ')} (this Node's), got '${coding}'`,
      )
    }
  }
  return {
    dir,
    prune: values.prune ?? false,
    types,
    minSize:
      values['min-size'] === undefined
        ? DEFAULT_COMPRESS_SETTINGS.minSize
        : parseInteger('--min-size', values['min-size'], min, max),
    levels: { ...PRECOMPRESS_LEVELS, ...parseLevels('--level', values.level) },
    codings: codings as ContentCoding[],
    dotfiles: values.dotfiles ?? false,
  }
}

/** What one run did, for the summary. */
interface Tally {
  /** Files looked at, and those of them compressible. */
  files: number
  compressible: number
  written: number
  fresh: number
  removed: number
  kept: number
  bytesIn: number
  bytesOut: number
}

function emptyTally(): Tally {
  return {
    files: 0,
    compressible: 0,
    written: 0,
    fresh: 0,
    removed: 0,
    kept: 0,
    bytesIn: 0,
    bytesOut: 0,
  }
}

/** How a run reports: a progress bar on a terminal, plain lines otherwise. */
interface Report {
  start(total: number): void
  file(name: string, tally: Tally): void
  line(text: string): void
  stop(): void
}

/** Runs `sluice compress`; resolves with the exit code (130 when interrupted). */
export async function compressCommand(config: CompressConfig): Promise<number> {
  const interrupt = interruption()
  const report = await createReport(process.stdout)
  const tally = emptyTally()
  try {
    // What an earlier run that was killed (SIGKILL) left: staged files no one holds.
    await sweepStagedFiles(config.dir)
    const sources = await findFiles(config)
    const patterns = compilePatterns(config.types)
    const compressible = sources.filter(
      (s) => s.size >= config.minSize && matchesMediaType(patterns, contentTypeFor(s.name)),
    )
    report.start(sources.length)
    // The others too: their stale siblings are named, or removed with --prune.
    const writable = new Set(compressible)
    const queue = sources.map((source) => ({ source, write: writable.has(source) }))
    // Two files at a time: zlib runs on libuv's thread pool, one core each.
    const work = async () => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        if (interrupt.happened) return
        await siblingsOf(job.source, job.write, config, tally, report, interrupt)
        tally.files++
        if (job.write) tally.compressible++
        report.file(relative(config.dir, job.source.path), tally)
      }
    }
    await Promise.race([Promise.all([work(), work()]), interrupt.promise])
    report.stop()
    if (interrupt.happened) {
      await interrupt.cleanedUp()
      process.stdout.write(`interrupted (${interrupt.signal}): ${summary(tally)}\n`)
      return 130
    }
    process.stdout.write(`${summary(tally)}\n`)
    return 0
  } finally {
    report.stop()
    interrupt.dispose()
  }
}

interface Source {
  readonly path: string
  readonly name: string
  readonly size: number
}

/** Every regular file under the directory but siblings (symbolic links are not followed). */
async function findFiles(config: CompressConfig): Promise<Source[]> {
  const found: Source[] = []
  const pending = [config.dir]
  while (pending.length > 0) {
    const directory = pending.pop()!
    const entries: Dirent[] = await readdir(directory, { withFileTypes: true })
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      if (isReservedName(entry.name)) continue
      const path = join(directory, entry.name)
      const top = directory === config.dir
      if (
        !config.dotfiles &&
        entry.name.startsWith('.') &&
        !(top && entry.name === '.well-known')
      ) {
        continue
      }
      if (entry.isDirectory()) pending.push(path)
      else if (entry.isFile()) {
        const stats = await lstat(path)
        found.push({ path, name: entry.name, size: stats.size })
      }
    }
  }
  // Siblings are looked at with their source, not as files of their own.
  const paths = new Set(found.map((f) => f.path))
  const suffixes = Object.values(SIBLING_SUFFIXES)
  return found
    .filter(
      (f) => !suffixes.some((s) => f.path.endsWith(s) && paths.has(f.path.slice(0, -s.length))),
    )
    .sort((a, b) => (a.path < b.path ? -1 : 1))
}

/**
 * The siblings of one file: each fresh one kept, each other one rewritten (when `write`) or
 * removed (with --prune, when it is stale and not rewritten).
 */
async function siblingsOf(
  source: Source,
  write: boolean,
  config: CompressConfig,
  tally: Tally,
  report: Report,
  interrupt: Interruption,
): Promise<void> {
  const before = await identity(source.path)
  if (before === undefined) return
  const codings = write ? config.codings : RUNTIME_CODINGS
  const siblings = await Promise.all(
    codings.map((coding) => identity(source.path + SIBLING_SUFFIXES[coding])),
  )
  // A file not compressed, without siblings, is not even read.
  if (!write && siblings.every((s) => s === undefined)) return
  const bytes = await readFile(source.path)
  if (bytes.length !== before.size) return // changed while read: the next run sees it
  const opaque = opaqueTagOf(bytes)
  for (const [i, coding] of codings.entries()) {
    if (interrupt.happened) return
    const path = source.path + SIBLING_SUFFIXES[coding]
    const sibling = siblings[i]
    if (sibling !== undefined && (await isFresh(coding, path, before, sibling, opaque))) {
      tally.fresh++
      continue
    }
    const shown = relative(config.dir, path)
    if (write) {
      const encoded = await interrupt.race(compress(coding, bytes, config.levels[coding]))
      if (encoded === undefined) return
      if (encoded.length < bytes.length) {
        if (!sameIdentity((await identity(source.path)) ?? before, before)) return
        await interrupt.guard(path, encoded)
        tally.written++
        tally.bytesIn += bytes.length
        tally.bytesOut += encoded.length
        const percent = ((100 * encoded.length) / bytes.length).toFixed(1)
        report.line(`wrote ${shown} (${bytes.length} -> ${encoded.length} bytes, ${percent}%)`)
        continue
      }
    }
    if (sibling === undefined) continue
    if (config.prune) {
      await unlink(path).catch(() => {})
      tally.removed++
      report.line(`removed ${shown} (stale)`)
    } else {
      tally.kept++
      report.line(`stale ${shown} (kept: sluice serve does not send it; --prune removes it)`)
    }
  }
}

/** Whether the sibling at `path` is fresh for the source, by the rules serve applies. */
async function isFresh(
  coding: ContentCoding,
  path: string,
  source: FileIdentity,
  sibling: FileIdentity,
  sourceOpaque: string,
): Promise<boolean> {
  if (staleByIdentity(source, sibling) !== undefined) return false
  const encoded = await readFile(path).catch(() => undefined)
  if (encoded === undefined) return false
  return (await decodedTag(coding, [encoded], source.size)) === sourceOpaque
}

async function identity(path: string): Promise<FileIdentity | undefined> {
  const stats = await lstat(path, { bigint: true }).catch(() => undefined)
  return stats?.isFile() ? identityOf(stats) : undefined
}

/** ` (12.3%)`: what the siblings written take of their sources; empty when none was. */
function ratio(tally: Tally): string {
  return tally.bytesIn === 0 ? '' : ` (${((100 * tally.bytesOut) / tally.bytesIn).toFixed(1)}%)`
}

function summary(tally: Tally): string {
  return (
    `${tally.compressible} compressible files (${tally.files} in all): ` +
    `${tally.written} siblings written, ${tally.fresh} fresh, ` +
    `${tally.removed} removed, ${tally.kept} stale kept; ` +
    `${formatBytes(tally.bytesIn)} -> ${formatBytes(tally.bytesOut)}${ratio(tally)}`
  )
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

interface Interruption {
  readonly happened: boolean
  readonly signal: string | undefined
  /** Resolves when SIGINT or SIGTERM comes. */
  readonly promise: Promise<void>
  /** `work`'s result, or undefined when interrupted first. */
  race<T>(work: Promise<T>): Promise<T | undefined>
  /** Writes `bytes` to a staged file and renames it to `path`, unless interrupted first. */
  guard(path: string, bytes: Buffer): Promise<void>
  /** Resolves once the staged files in use are removed. */
  cleanedUp(): Promise<void>
  dispose(): void
}

/** SIGINT and SIGTERM: stop, and remove the staged files being written. */
function interruption(): Interruption {
  let happened = false
  let signal: string | undefined
  let wake = () => {}
  const promise = new Promise<void>((resolve) => {
    wake = resolve
  })
  const staged = new Set<StagedFile>()
  const removals: Promise<void>[] = []
  const onSignal = (name: NodeJS.Signals) => {
    if (happened) return
    happened = true
    signal = name
    for (const file of staged) removals.push(discardStagedFile(file))
    staged.clear()
    wake()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    get happened() {
      return happened
    },
    get signal() {
      return signal
    },
    promise,
    race: <T>(work: Promise<T>) =>
      Promise.race([work, promise.then(() => undefined)]) as Promise<T | undefined>,
    async guard(path, bytes) {
      if (happened) return
      const directory = path.slice(0, path.lastIndexOf(sep))
      const file = await createStagedFile(directory)
      if (happened) return discardStagedFile(file)
      staged.add(file)
      try {
        await file.handle.writeFile(bytes)
        if (happened || !staged.has(file)) return
        await rename(file.path, path)
        staged.delete(file)
        await file.handle.close()
      } catch (error) {
        if (staged.delete(file)) await discardStagedFile(file)
        if (!happened) throw error
      }
    },
    cleanedUp: () => Promise.all(removals).then(() => undefined),
    dispose() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

/** A progress bar on a terminal; plain lines otherwise. */
async function createReport(out: NodeJS.WriteStream): Promise<Report> {
  if (!out.isTTY) {
    return {
      start: () => {},
      file: () => {},
      line: (text) => out.write(`${text}\n`),
      stop: () => {},
    }
  }
  // Loaded only for a terminal.
  const { default: progress } = await import('cli-progress')
  const bar = new progress.SingleBar(
    {
      stream: out,
      format:
        '{bar} {percentage}% | {value}/{total} files | {bytesIn} -> {bytesOut}{ratio} | {file}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 24,
    },
    progress.Presets.shades_classic,
  )
  let started = false
  const payload = (tally: Tally, file: string) => ({
    bytesIn: formatBytes(tally.bytesIn),
    bytesOut: formatBytes(tally.bytesOut),
    ratio: ratio(tally),
    file,
  })
  return {
    start(total) {
      started = true
      bar.start(total, 0, payload(emptyTally(), ''))
    },
    file(name, tally) {
      bar.update(tally.files, payload(tally, name))
    },
    line() {},
    stop() {
      if (!started) return
      started = false
      bar.stop()
    },
  }
}
