/**
 * A store that misbehaves on purpose, for proving that an error in one request stays in that
 * request: it wraps a real store and, for a first path segment naming a fault, throws, rejects,
 * answers nonsense, hands out files whose read() or close() throws, or field values a response
 * cannot carry. Every other path is served by the real store.
 */

import { PassThrough, type Readable } from 'node:stream'
import type { Lookup, OpenedFile, ResourcePath, Store } from '../../src/store/store.js'
import { StoreUnavailableError } from '../../src/store/store.js'

/** The faults, by the first segment of the path that triggers them. */
export const FAULTS = [
  'open-throws',
  'open-rejects',
  'open-garbage',
  'read-throws',
  'read-errors',
  'multipart-throws',
  'bad-type',
  'bad-etag-field',
  'close-throws',
  'unavailable',
] as const
export type Fault = (typeof FAULTS)[number]

export function faultyStore(inner: Store, file: ResourcePath = ['sample.bin']): Store {
  const openReal = async (change: (real: OpenedFile) => OpenedFile): Promise<Lookup> => {
    const lookup = await inner.open(file)
    if (lookup.kind !== 'file') throw new Error(`the faulty store needs ${file.join('/')}`)
    // Without the held bytes, so that writers go through the faulty read().
    return { kind: 'file', file: { ...change(lookup.file), bytes: undefined } }
  }
  return {
    open(path: ResourcePath): Promise<Lookup> {
      switch (path[0] as Fault | undefined) {
        case 'open-throws':
          // Not an async function: the throw happens before any promise exists.
          throw new TypeError('open-throws: a store bug')
        case 'open-rejects':
          return Promise.reject(new Error('open-rejects: a store bug'))
        case 'open-garbage':
          return Promise.resolve({ kind: 'nonsense' } as unknown as Lookup)
        case 'read-throws':
          return openReal((real) => ({
            ...real,
            read: () => {
              throw new Error('read-throws: a store bug')
            },
            close: () => real.close(),
          }))
        case 'read-errors':
          return openReal((real) => ({
            ...real,
            read: (start, end) => failingStream(real.read(start, end)),
            close: () => real.close(),
          }))
        case 'multipart-throws': {
          let reads = 0
          return openReal((real) => ({
            ...real,
            read: (start, end) => {
              if (++reads > 1) throw new Error('multipart-throws: a store bug')
              return real.read(start, end)
            },
            close: () => real.close(),
          }))
        }
        case 'bad-type':
          return openReal((real) => ({
            ...real,
            contentType: 'text/plain\r\nSet-Cookie: injected=1',
            read: real.read.bind(real),
            close: () => real.close(),
          }))
        case 'bad-etag-field':
          return openReal((real) => ({
            ...real,
            etagField: '"x"\r\nX-Injected: 1',
            read: real.read.bind(real),
            close: () => real.close(),
          }))
        case 'close-throws':
          return openReal((real) => ({
            ...real,
            read: real.read.bind(real),
            close: () => {
              real.close()
              throw new Error('close-throws: a store bug')
            },
          }))
        case 'unavailable':
          return Promise.reject(new StoreUnavailableError('out of file descriptors', 1))
        default:
          return inner.open(path)
      }
    },
  }
}

/** Passes half of the first chunk of `source` through, then fails. */
function failingStream(source: Readable): Readable {
  const out = new PassThrough()
  source.once('data', (chunk: Buffer) => {
    source.destroy()
    out.write(chunk.subarray(0, chunk.length >> 1))
    setImmediate(() => out.destroy(new Error('read-errors: the disk went away')))
  })
  source.on('error', (error) => out.destroy(error))
  return out
}
