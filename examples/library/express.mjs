// Express: files under /static, falling through to the app's routes when no file matches; a
// writable mount under /files, before any body parser; sluice's CORS around the app's API.
import express from 'express'
import { corsMiddleware, expressMiddleware } from 'sluice'

const app = express()
app.use('/static', expressMiddleware({ root: './public' }))
app.use('/files', expressMiddleware({ root: './public', writable: true }))
app.use(
  '/api',
  corsMiddleware({ origin: ['https://app.example'], credentials: true, methods: ['PUT'] }),
)
app.use(express.json()) // after the writable mount: it must not read a PUT's content first

app.get('/static/generated.txt', (req, res) => res.send('from a route\n')) // no such file
app.get('/api/time', (req, res) => res.json({ now: new Date().toISOString() }))

const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
