/**
 * `br=5,gzip=6`: compression levels given on the command line (`serve --compress-level`,
 * `compress --level`), each checked against its coding's range.
 */

import type { ContentCoding } from '../core/accept-encoding.js'
import { type CompressionLevels, LEVEL_RANGES } from '../store/codecs.js'
import { commaList } from './config.js'
import { UsageError } from './usage.js'

/** The levels in `value` (undefined: none given), or a UsageError naming `flag`. */
export function parseLevels(
  flag: string,
  value: string | undefined,
): Partial<Record<ContentCoding, number>> {
  if (value === undefined) return {}
  const levels: Partial<Record<ContentCoding, number>> = {}
  for (const item of commaList(flag, value)) {
    const [coding, level, extra] = item.split('=').map((s) => s.trim())
    if (!(coding !== undefined && coding in LEVEL_RANGES) || extra !== undefined) {
      throw new UsageError(`${flag} expects coding=level items (br, gzip, zstd), got '${item}'`)
    }
    const [min, max] = LEVEL_RANGES[coding as keyof CompressionLevels]
    if (level === undefined || !/^\d+$/.test(level) || Number(level) < min || Number(level) > max) {
      throw new UsageError(
        `${flag}: ${coding} expects a level from ${min} to ${max}, got '${item}'`,
      )
    }
    levels[coding as ContentCoding] = Number(level)
  }
  return levels
}
