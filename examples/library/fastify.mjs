// Fastify: the plugin serves (and with writable, stores) files under its prefix; fastifyCors
// puts sluice's CORS policy around every route of the app, the plugin's included.
import Fastify from 'fastify'
import { fastifyCors, fastifyPlugin } from 'sluice'

const app = Fastify({ logger: { level: 'warn' } })
await app.register(fastifyCors, {
  origin: ['https://app.example'],
  methods: ['PUT'],
  headers: ['If-Match', 'If-None-Match'],
  expose: ['ETag'],
  logger: app.log,
})
await app.register(fastifyPlugin, { root: './public', prefix: '/files', writable: true })
app.get('/api/health', async () => ({ ok: true }))

const address = await app.listen({ port: Number(process.env.PORT ?? 8080), host: '127.0.0.1' })
console.log(`listening on ${address}`)
