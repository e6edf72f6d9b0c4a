// Ranges and validators for bytes your app makes: a generated report, and a large body read
// by range on demand (a range source), never held in memory.
import { createServer } from 'node:http'
import { sendRepresentation } from 'sluice'

const updatedAt = new Date('2024-05-01T12:00:00Z')
const report = 'id,total\n1,42\n2,17\n'
// A gigabyte whose byte i is i % 256, made only in the ranges a client asks for.
async function* bytes(start, end) {
  for (let at = start; at <= end; at += 65_536) {
    const last = Math.min(end, at + 65_535)
    yield Uint8Array.from({ length: last - at + 1 }, (_, i) => (at + i) % 256)
  }
}
const big = { size: 1024 ** 3, read: (start, end) => bytes(start, end) }

const server = createServer((req, res) => {
  if (req.url === '/report.csv') {
    sendRepresentation(req, res, {
      body: report, // an ETag is computed from the bytes
      contentType: 'text/csv; charset=utf-8',
      lastModified: updatedAt,
    })
  } else if (req.url === '/big.bin') {
    sendRepresentation(req, res, { body: big, etag: '"big-v1"' }) // a source needs its own ETag
  } else {
    res.writeHead(404).end()
  }
})
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
