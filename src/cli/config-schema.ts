/**
 * The schema of `sluice.config.json`: every `serve` flag under the flag's own name, the CORS
 * flags grouped under `cors` (`--cors-max-age` is `cors.max-age`), and per-path CORS policies
 * under `paths`. zod checks shapes and types with the rules the library options use too
 * (src/option-rules.ts); the CORS rules themselves (origin syntax, unsafe combinations) are
 * checked by the core policy, so the file, the flags and the library get the same answers.
 *
 * `schema/sluice.config.schema.json` is generated from this (`npm run schema`) so editors can
 * complete and check the file; a test keeps it current.
 */

import { z } from 'zod'
import {
  COMPRESS_DESCRIPTION,
  COMPRESS_RULES,
  CORS_RULES,
  flag,
  integerOption,
  PATHS_DESCRIPTION,
  SHARED_RULES,
  text,
} from '../option-rules.js'

export const corsSchema = z
  .strictObject(
    {
      origin: CORS_RULES.origin,
      credentials: CORS_RULES.credentials,
      methods: CORS_RULES.methods,
      headers: CORS_RULES.headers,
      expose: CORS_RULES.expose,
      'max-age': CORS_RULES.maxAge,
      'private-network': CORS_RULES.privateNetwork,
    },
    { error: 'expected an object of CORS options' },
  )
  .partial()
  .describe('A CORS policy, the same options as the --cors-* flags')

export type CorsConfig = z.infer<typeof corsSchema>

export const compressSchema = z
  .strictObject(
    {
      types: COMPRESS_RULES.types,
      'min-size': COMPRESS_RULES.minSize,
      'max-size': COMPRESS_RULES.maxSize,
      level: COMPRESS_RULES.level,
      'cache-bytes': COMPRESS_RULES.cacheBytes,
    },
    { error: 'expected an object of compression settings' },
  )
  .partial()
  .describe('on-the-fly compression settings, the same as the --compress-* flags')

export type CompressConfig = z.infer<typeof compressSchema>

export const configSchema = z
  .strictObject(
    {
      $schema: text('a string').describe('the JSON Schema of this file, for editors'),
      root: text('a directory path').describe('the directory to serve (the <root> argument)'),
      host: text('an address').describe('interface to listen on'),
      port: integerOption('port', 'port to listen on, 0 for any free port'),
      'tls-cert': text('a file path').describe(
        'PEM certificate (chain) for HTTPS, relative to this file; needs tls-key',
      ),
      'tls-key': text('a file path').describe(
        "the certificate's PEM private key, relative to this file",
      ),
      'self-signed': flag('HTTPS with a development certificate for localhost'),
      'cache-control': SHARED_RULES.cacheControl,
      'max-ranges': SHARED_RULES.maxRanges,
      dotfiles: SHARED_RULES.dotfiles,
      'shutdown-timeout': integerOption(
        'shutdown-timeout',
        'seconds in-flight responses get at shutdown',
      ),
      workers: integerOption('workers', 'processes serving the port (default: one per core)'),
      'log-format': z
        .enum(['json', 'pretty'], { error: 'expected "json" or "pretty"' })
        .describe('access log format'),
      quiet: flag('no access log; warnings and errors only'),
      writable: SHARED_RULES.writable,
      'require-preconditions': SHARED_RULES.requirePreconditions,
      'max-body': SHARED_RULES.maxBody,
      'max-connections': integerOption('max-connections', 'connections open at once'),
      'max-requests-per-socket': integerOption(
        'max-requests-per-socket',
        'requests on one keep-alive connection; 0 for no limit',
      ),
      'headers-timeout': integerOption(
        'headers-timeout',
        "seconds a client has to send a request's header fields",
      ),
      'request-timeout': integerOption(
        'request-timeout',
        'seconds a client has to send a whole request',
      ),
      'keep-alive-timeout': integerOption(
        'keep-alive-timeout',
        'seconds an idle keep-alive connection stays open',
      ),
      'idle-timeout': integerOption(
        'idle-timeout',
        'seconds a connection may go without a byte; 0 for none',
      ),
      'max-url-length': integerOption('max-url-length', 'longest request-target in bytes'),
      'max-header-size': integerOption('max-header-size', 'largest request head in bytes'),
      'http2-max-streams': integerOption(
        'http2-max-streams',
        'HTTP/2 streams open at once on one connection',
      ),
      'tls-handshake-timeout': integerOption(
        'tls-handshake-timeout',
        'seconds a client has to complete the TLS handshake',
      ),
      compress: z.union([compressSchema, z.boolean()]).describe(COMPRESS_DESCRIPTION),
      precompressed: SHARED_RULES.precompressed,
      cors: corsSchema,
      paths: z
        .record(z.string(), z.strictObject({ cors: z.union([corsSchema, z.literal(false)]) }), {
          error: 'expected an object of path patterns',
        })
        .describe(PATHS_DESCRIPTION),
    },
    { error: 'expected a JSON object' },
  )
  .partial()

export type FileConfig = z.infer<typeof configSchema>

/** The JSON Schema shipped in schema/sluice.config.schema.json. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { target: 'draft-2020-12' }),
    title: 'sluice.config.json',
  }
}

/** The first problem of a failed parse as `key: expectation`, one line. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!
  const path = issue.path.map(String).join('.')
  if (issue.code === 'unrecognized_keys') {
    const key = path === '' ? issue.keys[0] : `${path}.${issue.keys[0]}`
    return `unknown key '${key}'`
  }
  if (issue.code === 'invalid_union') {
    if (path === 'compress') {
      // A wrong setting inside the object is named; anything else is neither form.
      const inner = issue.errors[0]?.[0]
      if (inner !== undefined && (inner.path.length > 0 || inner.code === 'unrecognized_keys')) {
        return describeIssue(new z.ZodError([{ ...inner, path: ['compress', ...inner.path] }]))
      }
      return 'compress: expected true, false or an object of compression settings'
    }
    return `${path}: expected an object of CORS options or false`
  }
  return `${path === '' ? '(top level)' : path}: ${issue.message}`
}
