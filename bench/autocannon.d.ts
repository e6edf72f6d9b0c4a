/** The part of autocannon's API the fallback load generator uses (it ships no types). */
declare module 'autocannon' {
  interface Histogram {
    readonly average: number
    readonly p50: number
    readonly p99: number
    readonly max: number
    readonly total: number
  }
  interface Result {
    readonly requests: Histogram
    readonly throughput: Histogram
    readonly latency: Histogram
    readonly duration: number
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
    readonly '1xx': number
    readonly '2xx': number
    readonly '3xx': number
    readonly '4xx': number
    readonly '5xx': number
  }
  interface RequestSpec {
    method?: string
    path?: string
    headers?: Record<string, string>
    setupRequest?: (request: RequestSpec) => RequestSpec
  }
  interface Options {
    url: string
    connections: number
    duration: number
    method?: string
    headers?: Record<string, string>
    requests?: RequestSpec[]
  }
  function autocannon(options: Options): Promise<Result>
  export default autocannon
}
