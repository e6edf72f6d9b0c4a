/**
 * A CORS policy: which origins may read responses and send which requests, decided the way the
 * Fetch standard's browser side will judge the answer (sections "CORS protocol", "CORS check"
 * and "CORS-preflight fetch"). Options are validated and normalized once, when the policy is
 * built; deciding a request is then set look-ups and precomputed header values.
 *
 * Every refusal carries a sentence saying exactly why, for the log and for cors-check.
 */

import { isToken, parseTokenList } from '../field-syntax.js'
import {
  explainOriginMismatch,
  formatOriginRule,
  matchesRule,
  type OriginRule,
  parseOrigin,
  parseOriginRule,
  type SerializedOrigin,
} from './origin.js'
import {
  isCorsSafelistedMethod,
  isForbiddenMethod,
  isNonWildcardRequestHeaderName,
  normalizeMethod,
} from './safelist.js'

/**
 * The function form of an allow-list: called with a syntactically valid serialized origin (or
 * `null`) and the request; true allows it, and the response names that origin (never `*`).
 */
export type OriginPredicate<R> = (origin: string, request: R) => boolean | Promise<boolean>

export interface CorsPolicyOptions<R = unknown> {
  /**
   * `*` (any origin; not `null`), `null` (opaque origins, only when listed), exact origins such as
   * `https://app.example`, patterns such as `https://*.example.com`; or a predicate.
   */
  readonly origins: readonly string[] | OriginPredicate<R>
  /** Share responses with credentialed requests (Access-Control-Allow-Credentials: true). */
  readonly credentials?: boolean
  /** Methods a preflight may ask for beyond the safelisted GET, HEAD and POST. */
  readonly methods?: readonly string[]
  /** Request header names a preflight may ask for (compared case-insensitively). */
  readonly headers?: readonly string[]
  /** Response header names scripts may read beyond the safelisted ones. */
  readonly expose?: readonly string[]
  /** Seconds a browser may cache a preflight answer (Access-Control-Max-Age). */
  readonly maxAge?: number
  /** Answer Private Network Access preflights (Access-Control-Allow-Private-Network). */
  readonly privateNetwork?: boolean
}

/** The longest Access-Control-Max-Age accepted; browsers cap lower (Chromium 2 hours). */
export const MAX_AGE_LIMIT = 86_400

export type CorsDenialCode = 'origin' | 'method' | 'header' | 'credentials' | 'private-network'

export interface CorsDenial {
  readonly code: CorsDenialCode
  /** One sentence, e.g. `header x-custom is not allowed (allowed: content-type)`. */
  readonly message: string
}

export type ActualDecision =
  /** Share the response: add `headers`. `warning` says why a browser will still refuse it. */
  | {
      readonly allowed: true
      readonly headers: Readonly<Record<string, string>>
      readonly warning?: CorsDenial
    }
  | { readonly allowed: false; readonly denial: CorsDenial }

export type PreflightDecision =
  | { readonly allowed: true; readonly headers: Readonly<Record<string, string>> }
  | { readonly allowed: false; readonly denial: CorsDenial }
  /** Access-Control-Request-Method or -Headers is not valid syntax: answer 400. */
  | { readonly allowed: false; readonly malformed: string }

/** What a CORS-preflight request asks (Fetch "CORS-preflight request"). */
export interface PreflightQuestion {
  readonly origin: string
  /** Access-Control-Request-Method as received. */
  readonly method: string
  /** Access-Control-Request-Headers as received, if any. */
  readonly headers: string | undefined
  /** Access-Control-Request-Private-Network: true was sent. */
  readonly privateNetwork: boolean
}

/** What an actual CORS request carries that matters to the decision. */
export interface ActualQuestion {
  readonly origin: string
  /** The request carries credentials a browser attaches (Cookie or Authorization). */
  readonly credentialed: boolean
}

export interface PolicyIssue {
  /** The option, e.g. `origins[1]` or `credentials`. */
  readonly key: string
  readonly message: string
}

/** Normalized options, as the policy uses them (and as `describe` shows them). */
export interface NormalizedCorsOptions {
  readonly origins: readonly OriginRule[] | 'function'
  readonly credentials: boolean
  readonly methods: readonly string[]
  readonly headers: readonly string[]
  readonly expose: readonly string[]
  readonly maxAge: number | undefined
  readonly privateNetwork: boolean
}

/**
 * Validates options without building a policy: the errors (unsafe or malformed, each naming its
 * key) and the warnings a server prints at start-up.
 * @example checkCorsOptions({ origins: ['*'], credentials: true }).errors[0].key // 'origins[0]'
 */
export function checkCorsOptions(options: CorsPolicyOptions<never>): {
  readonly errors: readonly PolicyIssue[]
  readonly warnings: readonly string[]
  readonly normalized: NormalizedCorsOptions | undefined
} {
  const errors: PolicyIssue[] = []
  const warnings: string[] = []
  const credentials = options.credentials ?? false
  if (typeof credentials !== 'boolean') {
    errors.push({ key: 'credentials', message: 'expected true or false' })
  }

  let origins: OriginRule[] | 'function' = 'function'
  if (typeof options.origins !== 'function') {
    origins = []
    if (!Array.isArray(options.origins)) {
      errors.push({ key: 'origins', message: 'expected a list of origins or a function' })
    } else {
      options.origins.forEach((text: unknown, i) => {
        const key = `origins[${i}]`
        if (typeof text !== 'string') {
          errors.push({ key, message: 'expected a string' })
          return
        }
        const rule = parseOriginRule(text)
        if ('error' in rule) {
          errors.push({ key, message: rule.error })
        } else if (rule.kind === 'any' && credentials === true) {
          errors.push({
            key,
            message:
              "'*' cannot be used with credentials: browsers refuse Access-Control-Allow-Origin: * on credentialed requests; list the origins",
          })
        } else {
          if (rule.kind === 'null') {
            warnings.push(
              "origin 'null' is allowed: every sandboxed iframe and file: page, from any site, sends it",
            )
          }
          ;(origins as OriginRule[]).push(rule)
        }
      })
    }
  }

  const list = (key: 'methods' | 'headers' | 'expose', what: string): string[] => {
    const value = options[key] ?? []
    if (!Array.isArray(value)) {
      errors.push({ key, message: `expected a list of ${what}` })
      return []
    }
    const out: string[] = []
    value.forEach((item: unknown, i) => {
      if (typeof item !== 'string' || !isToken(item)) {
        errors.push({
          key: `${key}[${i}]`,
          message: `expected ${what.replace(/s$/, '')} (an HTTP token), got ${JSON.stringify(item)}`,
        })
        return
      }
      if (item === '*' && credentials === true) {
        errors.push({
          key: `${key}[${i}]`,
          message: `'*' cannot be used with credentials: browsers then read it as the literal name '*'`,
        })
        return
      }
      out.push(item)
    })
    return out
  }
  const methods = list('methods', 'methods').map(normalizeMethod)
  for (const method of methods) {
    if (isForbiddenMethod(method)) {
      errors.push({
        key: 'methods',
        message: `${method} is a forbidden method: browsers never send it`,
      })
    }
  }
  const headers = list('headers', 'header names')
  const expose = list('expose', 'header names')

  const maxAge = options.maxAge
  if (
    maxAge !== undefined &&
    (typeof maxAge !== 'number' ||
      !Number.isInteger(maxAge) ||
      maxAge < 0 ||
      maxAge > MAX_AGE_LIMIT)
  ) {
    errors.push({ key: 'maxAge', message: `expected whole seconds from 0 to ${MAX_AGE_LIMIT}` })
  }
  const privateNetwork = options.privateNetwork ?? false
  if (typeof privateNetwork !== 'boolean') {
    errors.push({ key: 'privateNetwork', message: 'expected true or false' })
  }
  const normalized: NormalizedCorsOptions = {
    origins,
    credentials: credentials === true,
    methods: [...new Set(methods)],
    headers: dedupeCaseless(headers),
    expose: dedupeCaseless(expose),
    maxAge,
    privateNetwork: privateNetwork === true,
  }
  return { errors, warnings, normalized: errors.length === 0 ? normalized : undefined }
}

function dedupeCaseless(names: readonly string[]): string[] {
  const seen = new Set<string>()
  return names.filter((name) => {
    const lower = name.toLowerCase()
    if (seen.has(lower)) return false
    seen.add(lower)
    return true
  })
}

/** Preflight answers kept per policy; a browser asks the same few questions again and again. */
const PREFLIGHT_CACHE_LIMIT = 512
/**
 * Longer questions are answered but not kept: a browser's are short, and 512 keys the size of
 * a whole request head (up to 1 MiB with --max-header-size) would hold half a gigabyte.
 */
const PREFLIGHT_KEY_LIMIT = 2048

/**
 * A policy built from validated options. Construct it with `createCorsPolicy`.
 */
export class CorsPolicy<R = unknown> {
  readonly options: NormalizedCorsOptions
  readonly warnings: readonly string[]
  readonly #predicate: OriginPredicate<R> | undefined
  readonly #rules: readonly OriginRule[]
  readonly #anyOrigin: boolean
  readonly #methods: ReadonlySet<string>
  readonly #methodWildcard: boolean
  readonly #headers: ReadonlySet<string>
  readonly #headerWildcard: boolean
  /** Fields of an actual response other than Access-Control-Allow-Origin. */
  readonly #actualFields: Readonly<Record<string, string>>
  /** The whole actual-response fields when the answer is `*`. */
  readonly #actualAny: Readonly<Record<string, string>>
  /** Fields of an allowed preflight other than Access-Control-Allow-Origin. */
  readonly #preflightFields: Readonly<Record<string, string>>
  readonly #preflightCache = new Map<string, PreflightDecision>()

  constructor(options: CorsPolicyOptions<R>) {
    const checked = checkCorsOptions(options as CorsPolicyOptions<never>)
    const first = checked.errors[0]
    if (first !== undefined || checked.normalized === undefined) {
      throw new TypeError(`CORS option ${first?.key}: ${first?.message}`)
    }
    const o = checked.normalized
    this.options = o
    this.warnings = checked.warnings
    this.#predicate = typeof options.origins === 'function' ? options.origins : undefined
    this.#rules = o.origins === 'function' ? [] : o.origins
    this.#anyOrigin = this.#rules.some((rule) => rule.kind === 'any')
    this.#methods = new Set(o.methods)
    this.#methodWildcard = !o.credentials && o.methods.includes('*')
    this.#headers = new Set(o.headers.map((h) => h.toLowerCase()))
    this.#headerWildcard = !o.credentials && this.#headers.has('*')

    const actual: Record<string, string> = {}
    if (o.credentials) actual['Access-Control-Allow-Credentials'] = 'true'
    if (o.expose.length > 0) actual['Access-Control-Expose-Headers'] = o.expose.join(', ')
    this.#actualFields = Object.freeze(actual)
    this.#actualAny = Object.freeze({ 'Access-Control-Allow-Origin': '*', ...actual })

    const preflight: Record<string, string> = {}
    if (o.credentials) preflight['Access-Control-Allow-Credentials'] = 'true'
    if (o.methods.length > 0) preflight['Access-Control-Allow-Methods'] = o.methods.join(', ')
    if (o.headers.length > 0) preflight['Access-Control-Allow-Headers'] = o.headers.join(', ')
    if (o.maxAge !== undefined) preflight['Access-Control-Max-Age'] = String(o.maxAge)
    this.#preflightFields = Object.freeze(preflight)
  }

  /** The allow-list as configured (normalized), for messages. */
  describeOrigins(): string {
    if (this.#predicate !== undefined) return '(a function)'
    return this.#rules.map(formatOriginRule).join(', ') || '(none)'
  }

  /**
   * Decides an actual CORS request (any method, including an OPTIONS that is not a preflight):
   * the Access-Control-* fields for the response, or why the origin is refused.
   * @example createCorsPolicy({ origins: ['https://app.example'] }).decideActual({ origin: 'https://app.example', credentialed: false }, {}) // { allowed: true, headers: { 'Access-Control-Allow-Origin': 'https://app.example' } }
   */
  decideActual(question: ActualQuestion, request: R): ActualDecision | Promise<ActualDecision> {
    return then(this.#allowOrigin(question.origin, request), (allowOrigin) => {
      if (typeof allowOrigin !== 'string') return { allowed: false, denial: allowOrigin }
      const headers =
        allowOrigin === '*'
          ? this.#actualAny
          : { 'Access-Control-Allow-Origin': allowOrigin, ...this.#actualFields }
      if (question.credentialed && allowOrigin === '*') {
        return { allowed: true, headers, warning: WILDCARD_WITH_CREDENTIALS }
      }
      if (question.credentialed && !this.options.credentials) {
        return { allowed: true, headers, warning: CREDENTIALS_NOT_ENABLED }
      }
      return { allowed: true, headers }
    })
  }

  /**
   * Decides a CORS-preflight request: the fields of a 204 answer, or why it is refused.
   * @example createCorsPolicy({ origins: ['https://app.example'], methods: ['PUT'] }).decidePreflight({ origin: 'https://app.example', method: 'PUT', headers: undefined, privateNetwork: false }, {}) // { allowed: true, headers: { 'Access-Control-Allow-Origin': 'https://app.example', 'Access-Control-Allow-Methods': 'PUT' } }
   */
  decidePreflight(
    question: PreflightQuestion,
    request: R,
  ): PreflightDecision | Promise<PreflightDecision> {
    const key =
      this.#predicate === undefined
        ? `${question.origin}\n${question.method}\n${question.headers ?? ''}\n${question.privateNetwork}`
        : ''
    const cacheable = key !== '' && key.length <= PREFLIGHT_KEY_LIMIT
    if (cacheable) {
      const hit = this.#preflightCache.get(key)
      if (hit !== undefined) return hit
    }
    const decided = then(this.#allowOrigin(question.origin, request), (allowOrigin) =>
      this.#decidePreflightFor(question, allowOrigin),
    )
    if (cacheable) {
      if (this.#preflightCache.size >= PREFLIGHT_CACHE_LIMIT) this.#preflightCache.clear()
      this.#preflightCache.set(key, decided as PreflightDecision)
    }
    return decided
  }

  #decidePreflightFor(
    question: PreflightQuestion,
    allowOrigin: string | CorsDenial,
  ): PreflightDecision {
    const method = question.method
    if (!isToken(method)) {
      return { allowed: false, malformed: 'Access-Control-Request-Method is not a method token' }
    }
    const requested = question.headers === undefined ? [] : parseTokenList(question.headers)
    if (requested === undefined) {
      return {
        allowed: false,
        malformed: 'Access-Control-Request-Headers is not a list of header names',
      }
    }
    if (typeof allowOrigin !== 'string') return { allowed: false, denial: allowOrigin }

    // CORS-preflight fetch, step 7.5: a safelisted method needs no listing.
    if (!isCorsSafelistedMethod(method) && !this.#methods.has(method) && !this.#methodWildcard) {
      return { allowed: false, denial: this.#methodDenial(method) }
    }
    // Step 7.6 and 7.7: every unsafe name listed, Authorization even under `*`.
    for (const raw of requested) {
      const name = raw.toLowerCase()
      if (this.#headers.has(name)) continue
      if (this.#headerWildcard && !isNonWildcardRequestHeaderName(name)) continue
      return { allowed: false, denial: this.#headerDenial(name) }
    }
    if (question.privateNetwork && !this.options.privateNetwork) {
      return {
        allowed: false,
        denial: {
          code: 'private-network',
          message:
            'private network access was asked for (Access-Control-Request-Private-Network) but is not enabled',
        },
      }
    }
    const headers: Record<string, string> = {
      'Access-Control-Allow-Origin': allowOrigin,
      ...this.#preflightFields,
    }
    if (question.privateNetwork) headers['Access-Control-Allow-Private-Network'] = 'true'
    return { allowed: true, headers }
  }

  #methodDenial(method: string): CorsDenial {
    const listed = this.options.methods
    const sameLetters = listed.find((m) => m.toLowerCase() === method.toLowerCase())
    const hint =
      sameLetters !== undefined
        ? `; methods are case-sensitive and ${sameLetters} is listed`
        : this.options.credentials && listed.includes('*')
          ? "; '*' does not cover methods on credentialed requests"
          : ''
    return {
      code: 'method',
      message: `method ${method} is not allowed (allowed: ${['GET', 'HEAD', 'POST', ...listed].join(', ')})${hint}`,
    }
  }

  #headerDenial(name: string): CorsDenial {
    if (this.#headerWildcard && isNonWildcardRequestHeaderName(name)) {
      return {
        code: 'header',
        message: `header ${name} is not allowed: '*' never covers Authorization, list it by name`,
      }
    }
    const listed = this.options.headers
    return {
      code: 'header',
      message: `header ${name} is not allowed (allowed: ${listed.length > 0 ? listed.join(', ') : 'none'})`,
    }
  }

  /** The Access-Control-Allow-Origin value for `origin`, or why there is none. */
  #allowOrigin(origin: string, request: R): string | CorsDenial | Promise<string | CorsDenial> {
    const parsed: SerializedOrigin | 'null' | undefined =
      origin === 'null' ? 'null' : parseOrigin(origin)
    if (this.#predicate !== undefined) {
      if (parsed === undefined) return this.#originDenial(origin)
      return then(this.#predicate(origin, request), (ok) =>
        ok === true ? origin : this.#originDenial(origin),
      )
    }
    if (parsed === undefined) return this.#originDenial(origin)
    if (this.#anyOrigin && parsed !== 'null') return '*'
    for (const rule of this.#rules) if (matchesRule(rule, parsed)) return origin
    return this.#originDenial(origin)
  }

  #originDenial(origin: string): CorsDenial {
    return {
      code: 'origin',
      message:
        this.#predicate !== undefined
          ? `origin ${origin.slice(0, 200)} is not allowed by the policy function`
          : explainOriginMismatch(origin, this.#rules),
    }
  }
}

const WILDCARD_WITH_CREDENTIALS: CorsDenial = {
  code: 'credentials',
  message:
    "'*' is unusable with credentials: the request carries cookies or Authorization, and browsers refuse Access-Control-Allow-Origin: * on credentialed requests",
}

const CREDENTIALS_NOT_ENABLED: CorsDenial = {
  code: 'credentials',
  message:
    'credentials were sent (Cookie or Authorization) but are not enabled: a browser that asked for them will not share the response',
}

/**
 * Builds a policy, throwing a TypeError that names the option when one is malformed or unsafe.
 * @example createCorsPolicy({ origins: ['https://app.example'], credentials: true, methods: ['PUT'] })
 */
export function createCorsPolicy<R = unknown>(options: CorsPolicyOptions<R>): CorsPolicy<R> {
  return new CorsPolicy(options)
}

/** Applies `fn` to a value now, or once it settles: sync policies stay sync. */
function then<T, U>(value: T | Promise<T>, fn: (v: T) => U): U | Promise<U> {
  return value instanceof Promise ? value.then(fn) : fn(value)
}
