// Writes schema/sluice.config.schema.json from the zod schema in src/cli/config-schema.ts (run
// `npm run schema` after changing it; test/cli/config.test.ts fails while the file is stale).
import { writeFileSync } from 'node:fs'
import { configJsonSchema } from '../dist/src/cli/config-schema.js'

const target = new URL('../schema/sluice.config.schema.json', import.meta.url)
writeFileSync(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`)
