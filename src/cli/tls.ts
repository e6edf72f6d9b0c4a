/**
 * `--tls-cert` / `--tls-key` and `--self-signed`: the certificate and key a TLS server starts
 * with (and reloads on SIGHUP), each checked so that a bad file is one line naming the file and
 * what is wrong with it (unreadable, not PEM, a key that does not match the certificate), and a
 * development certificate for localhost kept in a per-user cache so that a browser's exception
 * for it survives restarts.
 */

import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { TlsCredentials } from '../http/server.js'
import { UsageError } from './usage.js'

/** Where the certificate and key come from. */
export type TlsSource =
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string }
  | { readonly kind: 'self-signed' }

/** A certificate and key checked to belong together, with what to print about them. */
export interface CheckedCredentials extends TlsCredentials {
  /** SHA-256 fingerprint of the certificate, as browsers show it (AA:BB:...). */
  readonly fingerprint: string
  /** When the certificate stops being valid. */
  readonly validTo: Date
}

/**
 * Reads and checks a certificate file and a key file. Throws a UsageError naming the file and
 * the problem.
 */
export async function loadTlsFiles(certFile: string, keyFile: string): Promise<CheckedCredentials> {
  const [cert, key] = await Promise.all([
    readTlsFile('--tls-cert', certFile),
    readTlsFile('--tls-key', keyFile),
  ])
  return checkCredentials(cert, key, `--tls-cert '${certFile}'`, `--tls-key '${keyFile}'`)
}

async function readTlsFile(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (code ?? 'unreadable')
    throw new UsageError(`${flag} '${file}' cannot be read: ${why}`)
  }
}

/** Parses a PEM certificate (chain) and key, and checks that the key is the certificate's. */
export function checkCredentials(
  cert: Buffer,
  key: Buffer,
  certName: string,
  keyName: string,
): CheckedCredentials {
  const certText = cert.toString('latin1')
  if (!certText.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`${certName} is not a PEM certificate (no BEGIN CERTIFICATE block)`)
  }
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(cert)
  } catch {
    throw new UsageError(`${certName} is not a PEM certificate (its certificate does not parse)`)
  }
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(key.toString('latin1'))) {
    throw new UsageError(`${keyName} is not a PEM private key (no BEGIN PRIVATE KEY block)`)
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(key)
  } catch (error) {
    const encrypted = /passphrase/i.test((error as Error).message)
    throw new UsageError(
      encrypted
        ? `${keyName} is encrypted; give the key without a passphrase`
        : `${keyName} is not a PEM private key (its key does not parse)`,
    )
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new UsageError(`${keyName} does not match the certificate in ${certName}`)
  }
  return { cert, key, fingerprint: leaf.fingerprint256, validTo: new Date(leaf.validTo) }
}

/** The per-user directory the development certificate is kept in. */
export function selfSignedDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'sluice')
}

const CERT_FILE = 'localhost-cert.pem'
const KEY_FILE = 'localhost-key.pem'
/** A certificate is made again once it is this close to expiring. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000
const VALID_FOR_MS = 365 * 24 * 3600 * 1000

/**
 * The development certificate for localhost, 127.0.0.1 and ::1: the one in the cache while it
 * is valid for another 30 days, else a new one (ECDSA P-256, a year), written there first.
 * `made` says which.
 */
export async function selfSignedCredentials(
  directory: string = selfSignedDirectory(),
): Promise<CheckedCredentials & { readonly made: boolean; readonly directory: string }> {
  const certFile = join(directory, CERT_FILE)
  const keyFile = join(directory, KEY_FILE)
  const cached = await Promise.all([readFile(certFile), readFile(keyFile)]).catch(() => undefined)
  if (cached !== undefined) {
    try {
      const checked = checkCredentials(cached[0], cached[1], certFile, keyFile)
      if (checked.validTo.getTime() - Date.now() > RENEW_BEFORE_MS) {
        return { ...checked, made: false, directory }
      }
    } catch {
      // A damaged cache is made again.
    }
  }
  const { cert, key } = await makeDevelopmentCertificate()
  await mkdir(directory, { recursive: true, mode: 0o700 })
  // Written beside and renamed, so that a concurrent start never reads half a file.
  const suffix = `.${process.pid}.tmp`
  await writeFile(keyFile + suffix, key, { mode: 0o600 })
  await writeFile(certFile + suffix, cert, { mode: 0o644 })
  await rename(keyFile + suffix, keyFile)
  await rename(certFile + suffix, certFile)
  const checked = checkCredentials(Buffer.from(cert), Buffer.from(key), certFile, keyFile)
  return { ...checked, made: true, directory }
}

/** A self-signed certificate for local development, made with the selfsigned package. */
async function makeDevelopmentCertificate(): Promise<{ cert: string; key: string }> {
  // Loaded only for --self-signed: it brings a polyfill and a certificate toolkit with it.
  const { generate } = await import('selfsigned')
  const now = Date.now()
  const made = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + VALID_FOR_MS),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  })
  return { cert: made.cert, key: made.private }
}
