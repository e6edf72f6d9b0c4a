/**
 * The range of each integer option, written once, under the flag's name: `sluice serve` checks
 * its flags against these without loading zod, and the zod rules of the configuration file
 * (src/cli/config-schema.ts) and of the library (src/option-rules.ts) are built from them.
 */
export const INTEGER_RANGES = {
  port: [0, 65_535],
  'max-ranges': [1, 10_000],
  'max-body': [0, Number.MAX_SAFE_INTEGER],
  'shutdown-timeout': [0, 3600],
  workers: [1, 256],
  'max-connections': [1, 1_000_000],
  'max-requests-per-socket': [0, 1e9],
  'headers-timeout': [1, 3600],
  'request-timeout': [1, 86_400],
  'keep-alive-timeout': [1, 3600],
  'idle-timeout': [0, 86_400],
  'max-url-length': [64, 1_048_576],
  'max-header-size': [1024, 1_048_576],
  'http2-max-streams': [1, 10_000],
  'tls-handshake-timeout': [1, 300],
  'compress-min-size': [0, Number.MAX_SAFE_INTEGER],
  'compress-max-size': [0, 256 * 1024 * 1024],
  'compress-cache': [0, Number.MAX_SAFE_INTEGER],
} as const satisfies Record<string, readonly [min: number, max: number]>

export type IntegerOption = keyof typeof INTEGER_RANGES
