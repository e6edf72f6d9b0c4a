/**
 * sluice.config.json and the --cors-* flags: what start-up accepts, what it refuses (one line
 * naming the key, exit 2), which wins, and that the shipped JSON Schema is the current one.
 */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { configJsonSchema } from '../../src/cli/config-schema.js'
import { parseServeArgs, type ServeConfig } from '../../src/cli/serve.js'
import { UsageError } from '../../src/cli/usage.js'
import { PROJECT_ROOT, runCli, tempRoot } from '../support/server.js'

let dir: string
let cleanup: () => Promise<void>
before(async () => {
  const root = await tempRoot()
  dir = root.dir
  cleanup = root.cleanup
  await mkdir(join(dir, 'site'))
})
after(() => cleanup())

async function withConfig(config: unknown, args?: string[]): Promise<ServeConfig> {
  const name = `c${Math.random().toString(36).slice(2)}.json`
  await writeFile(join(dir, name), typeof config === 'string' ? config : JSON.stringify(config))
  const parsed = await parseServeArgs([...(args ?? [join(dir, 'site')]), '--config', name], dir)
  assert.notEqual(parsed, 'help')
  return parsed as ServeConfig
}

async function refused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error))
    assert.match(error.message, message)
    assert.doesNotMatch(error.message, /\n/)
    return true
  })
}

describe('the configuration file', () => {
  test('holds every serve option, and per-path CORS policies', async () => {
    const config = await withConfig(
      {
        $schema: './schema/sluice.config.schema.json',
        root: 'site',
        host: '127.0.0.2',
        port: 0,
        'cache-control': 'max-age=60',
        'max-ranges': 5,
        dotfiles: true,
        'shutdown-timeout': 3,
        'log-format': 'json',
        quiet: true,
        cors: {
          origin: ['https://app.example'],
          credentials: true,
          methods: ['PUT'],
          'max-age': 60,
        },
        paths: {
          '/assets/**': { cors: { origin: ['*'] } },
          '/private/**': { cors: false },
        },
      },
      [],
    )
    assert.equal(config.root, join(dir, 'site'))
    assert.deepEqual(
      [
        config.host,
        config.port,
        config.cacheControl,
        config.maxRanges,
        config.dotfiles,
        config.shutdownTimeoutMs,
        config.logFormat,
        config.quiet,
      ],
      ['127.0.0.2', 0, 'max-age=60', 5, true, 3000, 'json', true],
    )
    assert.equal(config.cors.policy?.describeOrigins(), 'https://app.example')
    assert.equal(config.cors.policy?.options.maxAge, 60)
    assert.deepEqual(
      config.cors.routes.map((r) => [r.pattern.text, r.policy?.describeOrigins() ?? null]),
      [
        ['/assets/**', '*'],
        ['/private/**', null],
      ],
    )
  })

  test('holds the write options, and flags override them', async () => {
    const fromFile = await withConfig({
      writable: true,
      'require-preconditions': true,
      'max-body': 1024,
    })
    assert.deepEqual(fromFile.writes, { requirePreconditions: true, maxBodyBytes: 1024 })
    const overridden = await withConfig({ writable: true, 'max-body': 1024 }, [
      join(dir, 'site'),
      '--max-body',
      '2048',
    ])
    assert.deepEqual(overridden.writes, { requirePreconditions: false, maxBodyBytes: 2048 })
    assert.equal((await withConfig({ dotfiles: true })).writes, undefined)
  })

  test('holds the connection and request limits, and flags override them', async () => {
    const config = await withConfig(
      {
        'max-connections': 50,
        'max-requests-per-socket': 0,
        'headers-timeout': 5,
        'request-timeout': 60,
        'keep-alive-timeout': 2,
        'idle-timeout': 0,
        'max-url-length': 1000,
        'max-header-size': 4096,
        'http2-max-streams': 50,
        'tls-handshake-timeout': 3,
      },
      [join(dir, 'site'), '--headers-timeout', '7', '--max-connections', '60'],
    )
    assert.deepEqual(config.limits, {
      maxConnections: 60,
      maxRequestsPerSocket: 0,
      headersTimeoutMs: 7000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 2000,
      idleTimeoutMs: 0,
      maxUrlLength: 1000,
      maxHeaderSize: 4096,
      http2MaxStreams: 50,
      tlsHandshakeTimeoutMs: 3000,
      // Library-only limits keep their defaults.
      http2MaxSessionMemoryMiB: 10,
      http2MaxResets: 200,
    })
    await refused(withConfig({ 'headers-timeout': 30, 'request-timeout': 10 }), /must not exceed/)
    await refused(withConfig({ 'max-url-length': 20_000 }), /smaller than --max-header-size/)
    await refused(withConfig({ 'idle-timeout': -1 }), /idle-timeout: expected an integer/)
  })

  test('flags override the file, key by key', async () => {
    const config = await withConfig(
      { port: 1234, cors: { origin: ['https://app.example'], methods: ['PUT'], 'max-age': 60 } },
      [
        join(dir, 'site'),
        '--port',
        '0',
        '--cors-origin',
        'https://other.example',
        '--cors-max-age',
        '5',
      ],
    )
    assert.equal(config.port, 0)
    assert.equal(config.cors.policy?.describeOrigins(), 'https://other.example')
    assert.deepEqual(config.cors.policy?.options.methods, ['PUT'])
    assert.equal(config.cors.policy?.options.maxAge, 5)
  })

  test('./sluice.config.json is read when present', async () => {
    await writeFile(
      join(dir, 'sluice.config.json'),
      JSON.stringify({ cors: { origin: ['https://a.example'] } }),
    )
    const config = (await parseServeArgs([join(dir, 'site')], dir)) as ServeConfig
    assert.equal(config.cors.policy?.describeOrigins(), 'https://a.example')
  })

  test('null is accepted only explicitly, with a start-up warning', async () => {
    const config = await withConfig({ cors: { origin: ['null'] } })
    assert.match(config.cors.warnings[0]!, /origin 'null' is allowed/)
  })

  const refusals: [string, unknown, RegExp][] = [
    ['an unknown key', { prot: 8080 }, /: unknown key 'prot'$/],
    ['an unknown nested key', { cors: { origins: ['*'] } }, /: unknown key 'cors\.origins'$/],
    ['a wrong type', { port: '8080' }, /: port: expected an integer from 0 to 65535$/],
    [
      'a wrong nested type',
      { cors: { credentials: 'yes' } },
      /: cors\.credentials: expected true or false$/,
    ],
    [
      'a value out of range',
      { cors: { origin: ['*'], 'max-age': 100000 } },
      /: cors\.max-age: expected an integer from 0 to 86400$/,
    ],
    [
      'credentials with *',
      { cors: { origin: ['*'], credentials: true } },
      /: cors\.origin\[0\]: '\*' cannot be used with credentials/,
    ],
    [
      '* methods with credentials',
      { cors: { origin: ['https://a.example'], credentials: true, methods: ['*'] } },
      /: cors\.methods\[0\]: '\*' cannot be used with credentials: browsers then read it as the literal name '\*'$/,
    ],
    [
      '* headers with credentials',
      { cors: { origin: ['https://a.example'], credentials: true, headers: ['*'] } },
      /: cors\.headers\[0\]: '\*' cannot/,
    ],
    [
      '* expose with credentials',
      { cors: { origin: ['https://a.example'], credentials: true, expose: ['*'] } },
      /: cors\.expose\[0\]: '\*' cannot/,
    ],
    [
      'an origin with a path',
      { cors: { origin: ['https://a.example/app'] } },
      /: cors\.origin\[0\]: expected an origin without a path/,
    ],
    [
      'an origin with a trailing slash',
      { cors: { origin: ['https://a.example/'] } },
      /: cors\.origin\[0\]: expected an origin without a trailing slash/,
    ],
    [
      'an origin without a scheme',
      { cors: { origin: ['a.example'] } },
      /: cors\.origin\[0\]: expected an origin with a scheme/,
    ],
    [
      'options without an origin',
      { cors: { credentials: true } },
      /: cors\.origin: expected at least one allowed origin/,
    ],
    [
      'a bad per-path policy',
      { paths: { '/api/**': { cors: { origin: ['*'], credentials: true } } } },
      /: paths\.\/api\/\*\*\.cors\.origin\[0\]: '\*' cannot be used with credentials/,
    ],
    [
      'a bad path pattern',
      { paths: { 'api/**': { cors: false } } },
      /: paths\.api\/\*\*: expected a path starting with '\/'/,
    ],
    [
      'a per-path entry of the wrong shape',
      { paths: { '/a': { cors: true } } },
      /: paths\.\/a\.cors: expected an object of CORS options or false$/,
    ],
    ['max-body without writable', { 'max-body': 10 }, /--max-body only applies with --writable/],
    ['a negative max-body', { writable: true, 'max-body': -1 }, /: max-body: expected an integer/],
    ['not JSON', '{ "port": 1, }', /: not valid JSON: /],
    ['not an object', '[]', /: \(top level\): expected a JSON object$/],
  ]
  for (const [what, config, message] of refusals) {
    test(`refuses ${what} in one line naming the key`, () => refused(withConfig(config), message))
  }
  test('refuses a missing --config file', () =>
    refused(
      parseServeArgs([join(dir, 'site'), '--config', 'nope.json'], dir),
      /^--config: cannot read 'nope\.json': no such file$/,
    ))
})

describe('the --cors-* flags', () => {
  const flags = (...args: string[]) =>
    parseServeArgs([join(dir, 'site'), ...args], join(dir, 'site'))
  test('build the same policy', async () => {
    const config = (await flags(
      '--cors-origin',
      'https://app.example',
      '--cors-origin',
      'https://*.app.example',
      '--cors-credentials',
      '--cors-methods',
      'PUT, DELETE',
      '--cors-headers',
      'X-Custom,Content-Type',
      '--cors-expose',
      'ETag',
      '--cors-max-age',
      '600',
      '--cors-private-network',
    )) as ServeConfig
    const options = config.cors.policy!.options
    assert.equal(
      config.cors.policy!.describeOrigins(),
      'https://app.example, https://*.app.example',
    )
    assert.deepEqual(
      [
        options.credentials,
        options.methods,
        options.headers,
        options.expose,
        options.maxAge,
        options.privateNetwork,
      ],
      [true, ['PUT', 'DELETE'], ['X-Custom', 'Content-Type'], ['ETag'], 600, true],
    )
  })
  test('without CORS flags there is no policy', async () => {
    assert.equal(((await flags()) as ServeConfig).cors.policy, null)
  })
  const refusals: [string[], RegExp][] = [
    [
      ['--cors-origin', '*', '--cors-credentials'],
      /^--cors-origin \(item 1\): '\*' cannot be used with credentials/,
    ],
    [
      ['--cors-origin', 'https://a.example', '--cors-origin', 'https://b.example/'],
      /^--cors-origin \(item 2\): expected an origin without a trailing slash/,
    ],
    [
      ['--cors-origin', 'https://a.example', '--cors-max-age', 'ten'],
      /^--cors-max-age: expected whole seconds from 0 to 86400$/,
    ],
    [
      ['--cors-origin', 'https://a.example', '--cors-methods', 'PUT,,GET'],
      /^--cors-methods expects a comma-separated list without empty items/,
    ],
    [['--cors-credentials'], /^--cors-origin: expected at least one allowed origin/],
  ]
  for (const [args, message] of refusals) {
    test(`refuses ${args.join(' ')}`, () => refused(flags(...args), message))
  }
})

describe('the CLI', () => {
  test('an unsafe combination stops start-up: exit 2, one line on stderr naming the flag', async () => {
    const cli = runCli(['serve', '.', '--cors-origin', '*', '--cors-credentials'])
    assert.equal(await cli.exited, 2)
    const lines = cli.stderr().trimEnd().split('\n')
    assert.equal(lines.length, 1)
    assert.match(
      lines[0]!,
      /^sluice: --cors-origin \(item 1\): '\*' cannot be used with credentials/,
    )
  })
})

describe('the CLI warns at start-up', () => {
  test('when null is allowed', async () => {
    const cli = runCli([
      'serve',
      '.',
      '--port',
      '0',
      '--log-format',
      'json',
      '--cors-origin',
      'null',
    ])
    await cli.url
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited, 0)
    const warning = cli
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
      .find((entry) => entry.level === 40)
    assert.match(warning?.msg ?? '', /origin 'null' is allowed: every sandboxed iframe/)
  })
})

describe('schema/sluice.config.schema.json', () => {
  test('is the one the zod schema generates (run npm run schema after changing it)', () => {
    const shipped = JSON.parse(
      readFileSync(join(PROJECT_ROOT, 'schema/sluice.config.schema.json'), 'utf8'),
    )
    assert.deepEqual(shipped, configJsonSchema())
  })
})
