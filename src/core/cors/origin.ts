/**
 * Origins as the CORS protocol compares them. A browser sends the serialization of an origin
 * (HTML "serialization of an origin"; Fetch "byte-serializing a request origin"): a lower-case
 * scheme, `://`, a lower-case host, and `:port` only when the port is not the scheme's default.
 * Opaque origins (sandboxed documents, `file:` pages, some redirects) are sent as `null`.
 *
 * The Fetch CORS check (section "CORS check", step 4) compares Access-Control-Allow-Origin with
 * that serialization byte for byte, so matching here is exact too: no case folding, no
 * trailing-dot folding, no default-port folding on the request side. A pattern
 * `https://*.example.com` matches one or more whole DNS labels in front of `.example.com`, with
 * scheme and port pinned; never a substring and never a regular expression.
 */

/** A parsed serialized origin (never `null`). */
export interface SerializedOrigin {
  readonly scheme: string
  readonly host: string
  /** The port when it is not the scheme's default, else undefined. */
  readonly port: number | undefined
  /** Exactly the form a browser sends. */
  readonly serialized: string
}

/** One entry of an allow-list, parsed once when a policy is built. */
export type OriginRule =
  | { readonly kind: 'any' }
  | { readonly kind: 'null' }
  | { readonly kind: 'exact'; readonly origin: SerializedOrigin }
  | {
      readonly kind: 'pattern'
      readonly scheme: string
      /** The fixed labels after `*.`, e.g. `example.com`. */
      readonly suffix: string
      readonly port: number | undefined
      readonly text: string
    }

/** The URL standard's special schemes with default ports (URL standard, "default port"). */
const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  http: 80,
  https: 443,
  ws: 80,
  wss: 443,
  ftp: 21,
}

interface OriginParts {
  readonly scheme: string
  readonly host: string
  /** The digits after the host's `:`, or undefined when there is no port. */
  readonly port: string | undefined
  /** Whatever follows the authority: a path, a query, a fragment. */
  readonly rest: string
}

/** Splits `scheme://authority rest` without judging the parts; undefined when there is no `://`. */
function splitOrigin(text: string): OriginParts | undefined {
  const colon = text.indexOf('://')
  if (colon <= 0) return undefined
  const scheme = text.slice(0, colon)
  let end = colon + 3
  while (end < text.length && !'/?#'.includes(text[end]!)) end++
  const authority = text.slice(colon + 3, end)
  const rest = text.slice(end)
  let host = authority
  let port: string | undefined
  const close = authority.lastIndexOf(']')
  const portColon = authority.lastIndexOf(':')
  if (portColon > close) {
    host = authority.slice(0, portColon)
    port = authority.slice(portColon + 1)
  }
  return { scheme, host, port, rest }
}

function isSchemeSyntax(scheme: string): boolean {
  return /^[a-z][a-z0-9+.-]*$/.test(scheme)
}

/**
 * A host as a browser serializes it: lower-case DNS labels (letters, digits, `-`, `_`,
 * already punycoded) separated by single dots, an optional trailing dot (a different host, kept
 * as is), or an IPv6 address in brackets. IPv4 addresses are label syntax too.
 */
function isHostSyntax(host: string): boolean {
  if (host.startsWith('[')) return /^\[[0-9a-f:.]+\]$/.test(host)
  return /^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/.test(host)
}

function parsePort(scheme: string, digits: string | undefined): number | undefined | 'invalid' {
  if (digits === undefined) return undefined
  if (!/^[0-9]{1,5}$/.test(digits)) return 'invalid'
  const port = Number(digits)
  if (port > 65535) return 'invalid'
  return port === DEFAULT_PORTS[scheme] ? undefined : port
}

function serialize(scheme: string, host: string, port: number | undefined): string {
  return port === undefined ? `${scheme}://${host}` : `${scheme}://${host}:${port}`
}

/**
 * Parses an Origin request header as a browser sends it. Anything else (upper case, a default
 * port spelled out, a path, a missing scheme, `null`) is undefined: it cannot match an
 * allow-list entry and must never be reflected.
 * @example parseOrigin('https://app.example:8443') // { scheme: 'https', host: 'app.example', port: 8443, serialized: 'https://app.example:8443' }
 */
export function parseOrigin(value: string): SerializedOrigin | undefined {
  const parts = splitOrigin(value)
  if (parts === undefined || parts.rest !== '') return undefined
  if (!isSchemeSyntax(parts.scheme) || !isHostSyntax(parts.host)) return undefined
  const port = parsePort(parts.scheme, parts.port)
  if (port === 'invalid') return undefined
  const serialized = serialize(parts.scheme, parts.host, port)
  // A default port written out (`:443`) or a leading zero is not what a browser sends.
  if (serialized !== value) return undefined
  return { scheme: parts.scheme, host: parts.host, port, serialized }
}

/**
 * Parses one allow-list entry from configuration: `*`, `null`, an origin, or a pattern
 * `scheme://*.suffix[:port]`. Scheme and host are lower-cased and a default port is dropped (the
 * same origin, as the URL standard serializes it); everything that would never match what a
 * browser sends is an error, returned as a sentence for the caller to prefix with the key.
 * @example parseOriginRule('https://*.example.com') // { kind: 'pattern', scheme: 'https', suffix: 'example.com', port: undefined, text: 'https://*.example.com' }
 */
export function parseOriginRule(text: string): OriginRule | { readonly error: string } {
  if (text === '*') return { kind: 'any' }
  if (text === 'null') return { kind: 'null' }
  const example = 'like https://app.example or https://*.example.com'
  const parts = splitOrigin(text)
  if (parts === undefined) {
    return { error: `expected an origin with a scheme, ${example}, got '${text}'` }
  }
  if (parts.rest !== '') {
    const what = parts.rest === '/' ? 'a trailing slash' : 'a path, query or fragment'
    return { error: `expected an origin without ${what}, ${example}, got '${text}'` }
  }
  const scheme = parts.scheme.toLowerCase()
  if (!isSchemeSyntax(scheme)) return { error: `expected a URL scheme before '://', got '${text}'` }
  let host = parts.host.toLowerCase()
  const port = parsePort(scheme, parts.port)
  if (port === 'invalid') return { error: `expected a port from 0 to 65535, got '${text}'` }
  let wildcard = false
  if (host.startsWith('*.')) {
    wildcard = true
    host = host.slice(2)
  }
  if (host.includes('*')) {
    return {
      error: `expected '*' only as a whole leftmost label, like https://*.example.com, got '${text}'`,
    }
  }
  if (host.endsWith('.')) {
    return { error: `expected a host without a trailing dot, got '${text}'` }
  }
  if (!isHostSyntax(host) || host === '') {
    return { error: `expected a host of DNS labels or an IP address, got '${text}'` }
  }
  if (!wildcard) {
    return {
      kind: 'exact',
      origin: { scheme, host, port, serialized: serialize(scheme, host, port) },
    }
  }
  if (host.startsWith('[') || /^[0-9.]+$/.test(host)) {
    return { error: `expected a DNS name after '*.', not an IP address, got '${text}'` }
  }
  if (!host.includes('.')) {
    return {
      error: `expected at least two labels after '*.' (it would match every site under '.${host}'), got '${text}'`,
    }
  }
  return { kind: 'pattern', scheme, suffix: host, port, text: serialize(scheme, `*.${host}`, port) }
}

/**
 * The text form of a rule, as configured (normalized).
 * @example formatOriginRule(parseOriginRule('HTTPS://*.Example.com:443')) // 'https://*.example.com'
 */
export function formatOriginRule(rule: OriginRule): string {
  switch (rule.kind) {
    case 'any':
      return '*'
    case 'null':
      return 'null'
    case 'exact':
      return rule.origin.serialized
    case 'pattern':
      return rule.text
  }
}

/**
 * Whether `origin` (a parsed Origin header, or `'null'`) is matched by `rule`. `*` does not match
 * `null`: an opaque origin is allowed only by listing `null` itself.
 * @example matchesRule(parseOriginRule('https://*.example.com'), parseOrigin('https://eu.api.example.com')) // true
 */
export function matchesRule(rule: OriginRule, origin: SerializedOrigin | 'null'): boolean {
  if (origin === 'null') return rule.kind === 'null'
  switch (rule.kind) {
    case 'any':
      return true
    case 'null':
      return false
    case 'exact':
      return rule.origin.serialized === origin.serialized
    case 'pattern': {
      if (rule.scheme !== origin.scheme || rule.port !== origin.port) return false
      const host = origin.host
      // One or more whole labels, then exactly `.suffix`: `app.example.com` and `a.b.example.com`
      // match `*.example.com`; `example.com`, `evil-example.com` and `a.example.com.` do not.
      return (
        host.length > rule.suffix.length + 1 &&
        host.endsWith(rule.suffix) &&
        host.charCodeAt(host.length - rule.suffix.length - 1) === 0x2e &&
        !host.startsWith('[')
      )
    }
  }
}

/**
 * Says why `value` (an Origin header as received) matched none of `rules`, naming the closest
 * allowed origin when the difference is one a developer makes by mistake: another scheme, another
 * port, letter case, a trailing dot, a pattern's bare suffix, or a look-alike host.
 * @example explainOriginMismatch('http://app.example', [{ kind: 'exact', origin: parseOrigin('https://app.example')! }]) // 'origin http://app.example is not allowed: closest allowed origin https://app.example differs in scheme'
 */
export function explainOriginMismatch(value: string, rules: readonly OriginRule[]): string {
  const shown = value.length > 200 ? `${value.slice(0, 200)}...` : value
  if (value === 'null') {
    return "origin null (a sandboxed document or file: page) is not allowed: list 'null' explicitly to allow it"
  }
  const parts = splitOrigin(value)
  const strict = parseOrigin(value)
  const prefix = `origin ${shown} is not allowed`
  if (parts === undefined || strict === undefined) {
    const why =
      parts === undefined
        ? 'it has no scheme'
        : parts.rest !== ''
          ? 'it has a path'
          : 'it is not serialized the way browsers send origins (lower case, no default port)'
    const closest = parts === undefined ? undefined : closestByHost(parts, rules)
    return `${prefix}: not a serialized origin (${why})${closest === undefined ? '' : `; closest allowed origin ${closest}`}`
  }
  const near = closestByHost(parts, rules)
  if (near !== undefined) return `${prefix}: closest allowed origin ${near}`
  const lookalike = lookalikeOf(strict.host, rules)
  if (lookalike !== undefined) return `${prefix}: ${lookalike}`
  return rules.length === 0 ? `${prefix}: no origin is allowed here` : prefix
}

/** An allowed origin or pattern with the same host up to case and a trailing dot, and why it differs. */
function closestByHost(parts: OriginParts, rules: readonly OriginRule[]): string | undefined {
  const scheme = parts.scheme.toLowerCase()
  const rawHost = parts.host
  const host = rawHost.toLowerCase().replace(/\.$/, '')
  const portValue = parsePort(scheme, parts.port)
  const port = portValue === 'invalid' ? undefined : portValue
  for (const rule of rules) {
    let candidate: { scheme: string; port: number | undefined; text: string } | undefined
    if (rule.kind === 'exact' && rule.origin.host === host) {
      candidate = { ...rule.origin, text: rule.origin.serialized }
    } else if (rule.kind === 'pattern') {
      if (host === rule.suffix) {
        return `${rule.text} differs: a pattern matches subdomains only, never ${rule.suffix} itself`
      }
      if (host.endsWith(`.${rule.suffix}`)) candidate = rule
    }
    if (candidate === undefined) continue
    const differences: string[] = []
    if (candidate.scheme !== parts.scheme) differences.push('scheme')
    if (candidate.port !== port) differences.push('port')
    if (rawHost !== rawHost.toLowerCase())
      differences.push('letter case (browsers send lower case)')
    if (rawHost.endsWith('.')) differences.push('a trailing dot in the host')
    if (differences.length === 0 && parts.port !== undefined && port === undefined) {
      differences.push('the default port written out (browsers omit it)')
    }
    if (differences.length > 0) return `${candidate.text} differs in ${differences.join(' and ')}`
  }
  return undefined
}

/** `app.example.evil.test` or `evil-app.example` against an allowed `app.example`. */
function lookalikeOf(host: string, rules: readonly OriginRule[]): string | undefined {
  for (const rule of rules) {
    const allowed =
      rule.kind === 'exact' ? rule.origin.host : rule.kind === 'pattern' ? rule.suffix : undefined
    if (allowed === undefined || allowed === host) continue
    if (host.startsWith(`${allowed}.`)) {
      return `look-alike host: ${host} only begins with the allowed host ${allowed}`
    }
    if (host.endsWith(allowed) && !host.endsWith(`.${allowed}`)) {
      return `look-alike host: ${host} ends with ${allowed} but not at a label boundary`
    }
  }
  return undefined
}
