/**
 * Put into a process with `node --import` (see test/cli/loaded-modules.test.ts): at exit, it
 * writes one line `loaded <path>` to stderr for each file under node_modules the process
 * loaded. ES modules are seen by a resolve hook; CommonJS ones, `require` and createRequire
 * included (which Node 20's hooks do not see), in require.cache; native addons in the process's
 * memory map.
 */

import { writeSync } from 'node:fs'
import { createRequire, register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'
import { mappedFiles } from './proc.js'

/** Each line's prefix (test/cli/loaded-modules.test.ts looks for it). */
const LOADED = 'loaded '

const resolved = new Set<string>()
const { port1, port2 } = new MessageChannel()
port1.on('message', (path: string) => resolved.add(path))
port1.unref()
register(
  `data:text/javascript,${encodeURIComponent(`
    let port
    export function initialize(data) { port = data.port }
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context)
      if (result.url.startsWith('file:')) port.postMessage(new URL(result.url).pathname)
      return result
    }
  `)}`,
  { data: { port: port2 }, transferList: [port2] },
)

process.on('exit', () => {
  const loaded = [...resolved, ...Object.keys(createRequire(import.meta.url).cache)]
  for (const file of mappedFiles('self')) if (file.endsWith('.node')) loaded.push(file)
  const lines = [...new Set(loaded)].filter((file) => file.includes('/node_modules/'))
  writeSync(2, lines.map((file) => `${LOADED}${file}\n`).join(''))
})
