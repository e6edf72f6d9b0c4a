/**
 * TSDoc: every function exported from the package root has an `@example`, and every one-line
 * example written as `call(...) // result` runs against the built package and gives that
 * result, so the examples cannot drift from the code.
 */

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import ts from 'typescript'
import * as sluice from '../../src/index.js'
import { PROJECT_ROOT } from '../support/server.js'

/** The declarations users get (the build writes them beside the JavaScript). */
const INDEX = join(PROJECT_ROOT, 'dist', 'src', 'index.d.ts')

function exportedFunctions(): { name: string; examples: string[] }[] {
  const program = ts.createProgram([INDEX], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    noEmit: true,
  })
  const checker = program.getTypeChecker()
  const module = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!
  const found: { name: string; examples: string[] }[] = []
  for (const exported of checker.getExportsOfModule(module)) {
    const symbol =
      exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
    if (!(symbol.flags & ts.SymbolFlags.Function)) continue
    const examples = symbol
      .getJsDocTags(checker)
      .filter((tag) => tag.name === 'example')
      .map((tag) => ts.displayPartsToString(tag.text).trim())
    found.push({ name: exported.name, examples })
  }
  return found
}

/** `code // result` on one line, where the result is a JavaScript value. */
function checkable(example: string): { code: string; expected: unknown } | undefined {
  const match = /^(?!.*\n)(.*\S)\s+\/\/\s+(.+)$/.exec(example)
  if (match === null) return undefined
  try {
    // TypeScript's non-null assertion is the one piece of TypeScript examples use.
    const code = match[1]!.replace(/\)!/g, ')')
    return { code, expected: plain(new Function(`return (${match[2]})`)()) }
  } catch {
    return undefined // a comment in words, not a value
  }
}

/** A value as data: what JSON keeps (no undefined fields, no prototypes). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? 'null')
}

const functions = exportedFunctions()

describe('TSDoc of the package root', () => {
  test('finds the exported functions', () => {
    assert.ok(functions.length > 60, `only ${functions.length} functions found`)
  })
  for (const { name, examples } of functions) {
    test(`${name} has an @example`, () => {
      assert.ok(examples.length > 0, `${name} has no @example`)
    })
    for (const example of examples) {
      const check = checkable(example)
      if (check === undefined) continue
      test(`${name}: ${check.code}`, async () => {
        const names = Object.keys(sluice)
        const run = new Function(...names, `return (async () => (${check.code}))()`)
        const actual = await run(...names.map((n) => (sluice as Record<string, unknown>)[n]))
        assert.deepEqual(plain(actual), check.expected)
      })
    }
  }
})
