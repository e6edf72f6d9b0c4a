/**
 * fast-check run counts for every property in the suite. `npm test` runs each property a
 * bounded number of times (seconds in all); `npm run fuzz` runs the same properties many more
 * times by setting SLUICE_FUZZ_SCALE (a multiplier) and, to replay a failure, SLUICE_FUZZ_SEED.
 */

import fc, { type Arbitrary, type Parameters } from 'fast-check'

const scale = positive(process.env.SLUICE_FUZZ_SCALE, 1)
const seed = process.env.SLUICE_FUZZ_SEED

/** Parameters for fc.assert: `runs` runs in `npm test`, scaled up under `npm run fuzz`. */
export function fuzz<T>(runs = 100): Parameters<T> {
  const parameters: Parameters<T> = { numRuns: Math.max(1, Math.round(runs * scale)) }
  if (seed !== undefined && seed !== '') parameters.seed = Number(seed)
  return parameters
}

/** True under `npm run fuzz`: tests may then afford larger inputs too. */
export const longRun = scale > 1

function positive(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`SLUICE_FUZZ_SCALE must be a positive number, got ${JSON.stringify(value)}`)
  }
  return n
}

/**
 * Strings close to valid ones: a value of `base` with a few characters replaced, inserted or
 * deleted, each new character drawn from `chars`. Parsers are most often wrong right next to
 * their grammar.
 */
export function mutated(
  base: Arbitrary<string>,
  chars: string,
  edits: { min?: number; max?: number } = {},
): Arbitrary<string> {
  const edit = fc.tuple(
    fc.constantFrom('replace', 'insert', 'delete'),
    fc.nat(60),
    fc.constantFrom(...chars),
  )
  return fc
    .tuple(base, fc.array(edit, { minLength: edits.min ?? 1, maxLength: edits.max ?? 3 }))
    .map(([text, list]) => {
      let s = text
      for (const [kind, at, c] of list) {
        const i = at % (s.length + 1)
        if (kind === 'replace') s = s.slice(0, i) + c + s.slice(i + 1)
        else if (kind === 'insert') s = s.slice(0, i) + c + s.slice(i)
        else s = s.slice(0, i) + s.slice(i + 1)
      }
      return s
    })
}
