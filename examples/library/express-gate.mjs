// Your own resources with sluice's conditional semantics, in Express: sendRepresentation
// answers reads (ETag, 304, 412, ranges), checkWritePreconditions guards writes (412, 428).
import express from 'express'
import { checkWritePreconditions, etagFor, sendRepresentation } from 'sluice'

const profiles = new Map([['ada', JSON.stringify({ name: 'Ada', theme: 'dark' })]])

const app = express()
app.get('/profiles/:id', (req, res) => {
  const profile = profiles.get(req.params.id)
  if (profile === undefined) return res.sendStatus(404)
  sendRepresentation(req, res, { body: profile, contentType: 'application/json' })
})
app.put('/profiles/:id', express.text({ type: () => true }), (req, res) => {
  const profile = profiles.get(req.params.id)
  const current = profile === undefined ? undefined : { etag: etagFor(profile) }
  if (!checkWritePreconditions(req, res, current, { requirePreconditions: true })) return
  // Decided and applied in one synchronous step: no other write can come in between.
  const text = typeof req.body === 'string' ? req.body : '' // no content: no body at all
  profiles.set(req.params.id, text)
  res
    .status(profile === undefined ? 201 : 204)
    .set('ETag', etagFor(text))
    .end()
})

const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
