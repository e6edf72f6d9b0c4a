/**
 * Content-Type for a file name, from the mime-db database (through mime-types), with
 * `charset=utf-8` on textual types.
 */

import mime from 'mime-types'

const FALLBACK = 'application/octet-stream'
const cache = new Map<string, string>()

/** @example contentTypeFor('index.html') // 'text/html; charset=utf-8' */
export function contentTypeFor(fileName: string): string {
  const dot = fileName.lastIndexOf('.')
  const extension = dot <= 0 ? '' : fileName.slice(dot + 1).toLowerCase()
  let type = cache.get(extension)
  if (type === undefined) {
    type = (extension === '' ? false : mime.contentType(extension)) || FALLBACK
    if (cache.size < 1024) cache.set(extension, type)
  }
  return type
}
