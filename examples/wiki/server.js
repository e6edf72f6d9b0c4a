// The seeds' wiki: pages anyone can edit, where an edit based on an old version is refused
// instead of silently overwriting someone else's (the lost update, RFC 9110 section 13.1.1).
// Built on sluice's public API only: sendRepresentation answers reads (ETag, 304, ranges) and
// checkWritePreconditions is the gate for writes (412 for a stale If-Match, 428 without one).
//
//   GET  /pages              the page names, as JSON
//   GET  /pages/:name        the page's text, with its ETag
//   PUT  /pages/:name        save: If-Match with the ETag you read, or If-None-Match: * to create
//   GET  /                   a small editor page that shows both versions on a conflict
//
// Pages live in memory; with WIKI_FILE=pages.json they are loaded from and saved to that file.
// `node examples/wiki/server.js` listens on PORT (default 0: any free port) and prints its URL.

import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import express from 'express'
import { checkWritePreconditions, etagFor, sendRepresentation } from 'sluice'

const EDITOR = readFileSync(new URL('./index.html', import.meta.url))

export function createWiki({ file } = {}) {
  /** name -> { text, modified } */
  const pages = new Map(Object.entries(file ? load(file) : {}))
  if (pages.size === 0) {
    pages.set('home', { text: 'Welcome to the wiki.\n', modified: Date.now() })
  }

  const app = express()
  app.get('/', (req, res) => {
    sendRepresentation(req, res, { body: EDITOR, contentType: 'text/html; charset=utf-8' })
  })
  app.get('/pages', (req, res) => {
    sendRepresentation(req, res, {
      body: JSON.stringify([...pages.keys()].sort()),
      contentType: 'application/json',
    })
  })
  app.get('/pages/:name', (req, res) => {
    const page = pages.get(req.params.name)
    if (page === undefined) {
      res.status(404).type('text/plain').send('No such page\n')
      return
    }
    // No etag given: sluice sends the strong ETag of the bytes, the one etagFor computes.
    sendRepresentation(req, res, {
      body: page.text,
      contentType: 'text/plain; charset=utf-8',
      lastModified: page.modified,
    })
  })
  // The content is read first (by express.text); the gate and the change then run in one
  // synchronous step, so no other request can change the page between the check and the save.
  app.put('/pages/:name', express.text({ type: () => true, limit: '1mb' }), (req, res) => {
    const name = req.params.name
    const page = pages.get(name)
    const current = page && { etag: etagFor(page.text), lastModified: page.modified }
    if (!checkWritePreconditions(req, res, current, { requirePreconditions: true })) return
    const text = typeof req.body === 'string' ? req.body : ''
    pages.set(name, { text, modified: Date.now() })
    if (file) save(file, pages)
    res
      .status(page ? 204 : 201)
      .set('ETag', etagFor(text))
      .end()
  })
  return app
}

function load(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    if (error.code === 'ENOENT') return {}
    throw error
  }
}

/** Writes the whole file anew and renames it into place: a crash leaves the old or the new. */
function save(file, pages) {
  writeFileSync(`${file}.tmp`, JSON.stringify(Object.fromEntries(pages), null, 2))
  renameSync(`${file}.tmp`, file)
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = createWiki({ file: process.env.WIKI_FILE })
  const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    console.log(`wiki listening on http://127.0.0.1:${server.address().port}`)
  })
}
