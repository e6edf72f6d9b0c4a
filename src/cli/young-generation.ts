/**
 * The memory of a serving process: V8 lets its young generation (where short-lived objects are
 * born) grow from 1 MiB semi-spaces to 16 MiB ones under a steady allocation rate, and a server
 * allocates steadily. With a thousand slow downloads that reserve was about a fifth of the
 * process (docs/PERFORMANCE.md, S6: 105 MiB peak RSS, 84 MiB without the growth) and bought no
 * measurable throughput: the collector's share of CPU time stayed about 2% in S1.
 *
 * The size can only be set when node starts (`--max-semi-space-size`), which an installed
 * `sluice` cannot do for its own process; the growth factor is read on every growth, so
 * setting it to 1 once the process runs keeps the young generation at its starting size.
 * Someone who sized the young generation themselves (node flags or NODE_OPTIONS) keeps theirs.
 * Node warns that a flag set after start may do nothing (or worse, for flags that change
 * compiled code); this one is a number V8 reads when it grows the space, and
 * test/cli/young-generation.test.ts checks that it takes effect on the Node that runs it.
 */

import { setFlagsFromString } from 'node:v8'

const SIZING_FLAG =
  /^--(?:(?:max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)(?:=|$)/

/** Whether node was started with a size or growth factor for the young generation. */
export function youngGenerationSizedByUser(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): boolean {
  const flags = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)]
  return flags.some((flag) => SIZING_FLAG.test(flag))
}

/**
 * Keeps this process's young generation at its starting size, unless the user sized it.
 * Process-wide: for the CLI, which owns its process, never for the library.
 */
export function keepYoungGenerationSmall(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): boolean {
  if (youngGenerationSizedByUser(execArgv, nodeOptions)) return false
  setFlagsFromString('--semi-space-growth-factor=1')
  return true
}
