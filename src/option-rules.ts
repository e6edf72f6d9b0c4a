/**
 * What each option accepts, written once: the library options (camelCase, src/options.ts) and
 * the configuration file (the flags' names, src/cli/config-schema.ts, and so its JSON Schema)
 * are both built from these rules, so the two cannot disagree about a value. zod checks types
 * and ranges; the CORS rules themselves (origin syntax, unsafe combinations) are checked by the
 * core policy (`checkCorsOptions`) for both.
 *
 * Every message starts with "expected": the file reports `key: expected ...`, the library
 * `option 'key' must be ...`.
 */

import { z } from 'zod'
import { MAX_AGE_LIMIT } from './core/cors/policy.js'
import { patternProblem } from './core/media-type-patterns.js'
import { INTEGER_RANGES, type IntegerOption } from './option-ranges.js'
import { LEVEL_RANGES } from './store/codecs.js'

export const text = (what: string) => z.string({ error: `expected ${what}` })

export const flag = (what: string) => z.boolean({ error: 'expected true or false' }).describe(what)

/** An integer in the range of `option` (option-ranges.ts). */
export const integerOption = (option: IntegerOption, what: string) => {
  const [min, max] = INTEGER_RANGES[option]
  return integer(min, max, what)
}

export const integer = (min: number, max: number, what: string) =>
  z
    .int({ error: `expected an integer from ${min} to ${max}` })
    .min(min, { error: `expected an integer from ${min} to ${max}` })
    .max(max, { error: `expected an integer from ${min} to ${max}` })
    .describe(what)

export const names = (what: string) =>
  z.array(text('a string'), { error: `expected a list of ${what}` }).describe(`list of ${what}`)

/** A value sent in a header field as is: visible ASCII and spaces, not only spaces. */
const fieldValue = (what: string) =>
  text(what).refine((value) => /^[\x20-\x7e]+$/.test(value) && value.trim() !== '', {
    error: 'expected printable ASCII text',
  })

/** The options the library shares with `sluice serve` and the configuration file. */
export const SHARED_RULES = {
  cacheControl: fieldValue('a Cache-Control value').describe('Cache-Control of file responses'),
  maxRanges: integerOption('max-ranges', 'ranges honoured in one Range field'),
  dotfiles: flag('serve names starting with "."'),
  writable: flag('accept PUT and DELETE'),
  requirePreconditions: flag(
    'with writable: PUT or DELETE of an existing file must send If-Match or If-Unmodified-Since',
  ),
  maxBody: integerOption('max-body', 'with writable: the largest PUT in bytes'),
  precompressed: flag('serve fresh precompressed siblings (app.js.br, .zst, .gz) as variants'),
} as const

/** The parts of `compress`, under the same names in the file and the library except where noted. */
export const COMPRESS_RULES = {
  types: z
    .array(
      text('a media type pattern').refine((p) => patternProblem(p) === undefined, {
        error: 'expected type/subtype, type/* or +suffix',
      }),
      { error: 'expected a list of media type patterns' },
    )
    .describe('media types compressed on the fly: "text/*", "application/wasm", "+json"'),
  /** `min-size` in the file. */
  minSize: integerOption('compress-min-size', 'smallest file compressed on the fly, in bytes'),
  /** `max-size` in the file. */
  maxSize: integerOption('compress-max-size', 'largest file compressed on the fly, in bytes'),
  level: z
    .strictObject(
      {
        br: integer(...LEVEL_RANGES.br, 'brotli quality'),
        gzip: integer(...LEVEL_RANGES.gzip, 'gzip level'),
        zstd: integer(...LEVEL_RANGES.zstd, 'zstd level'),
      },
      { error: 'expected an object of levels such as { "br": 5, "gzip": 6 }' },
    )
    .partial()
    .describe('compression level per coding (on the fly)'),
  /** `cache-bytes` in the file. */
  cacheBytes: integerOption(
    'compress-cache',
    'bytes compressed on the fly held in memory, all files together',
  ),
} as const

/** The description of `compress`, in the file and the library. */
export const COMPRESS_DESCRIPTION =
  'compress compressible responses on the fly (default true), or the settings of it'

/** The CORS options, under the same names in the file and the library except where noted. */
export const CORS_RULES = {
  origin: names('origins: "*", "null", "https://app.example" or "https://*.example.com"'),
  credentials: flag('share responses with credentialed requests (cookies, Authorization)'),
  methods: names('methods a preflight may ask for, e.g. "PUT"'),
  headers: names('request header names a preflight may ask for, e.g. "X-Custom"'),
  expose: names('response header names scripts may read, e.g. "ETag"'),
  /** `max-age` in the file. */
  maxAge: integer(0, MAX_AGE_LIMIT, 'seconds a browser may cache a preflight answer'),
  /** `private-network` in the file. */
  privateNetwork: flag('answer Private Network Access preflights'),
} as const

/** The description of a per-path `paths` object, in the file and the library. */
export const PATHS_DESCRIPTION =
  'per-path settings, first match wins: "/assets/**" (any depth), "/api/*" (one segment); cors false means no CORS there'
