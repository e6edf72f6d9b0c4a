/**
 * The notes example (examples/notes) end to end in Chromium: two pages open the same note,
 * both edit it, both save. The first save wins; the second is refused with 412 and the page
 * shows the newer text beside the user's, and the note on disk is the first save, whole.
 * Nothing is lost: the second user's text is still on their screen, and saving it over the
 * newer version is a deliberate second step.
 *
 * Needs Debian's chromium at /usr/bin/chromium (.ci/run installs it).
 */

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { cp, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { CHROMIUM, launchChromium } from '../support/browser.js'
import { PROJECT_ROOT, startServer, tempRoot } from '../support/server.js'

/** The page's status line, as an expression evaluated in the page (tests compile without DOM types). */
const STATUS = "document.querySelector('#status')?.value"

test(
  'notes: the second of two concurrent saves shows the conflict, and nothing is lost',
  {
    timeout: 60_000,
  },
  async (t) => {
    if (!existsSync(CHROMIUM)) {
      t.skip(`${CHROMIUM} is not installed (apt-get install chromium)`)
      return
    }
    const { dir, cleanup } = await tempRoot()
    await cp(join(PROJECT_ROOT, 'examples', 'notes'), dir, { recursive: true })
    const server = await startServer(dir, { writable: true, requirePreconditions: true })
    let browser: Browser | undefined
    try {
      browser = await launchChromium()
      const alice = await openNote(browser, `${server.url}/?note=welcome`)
      const bob = await openNote(browser, `${server.url}/?note=welcome`)

      await alice.fill('#editor', 'Alice was here.\n')
      await alice.click('#save')
      await expectStatus(alice, 'Saved')
      assert.equal(await readFile(join(dir, 'notes', 'welcome.txt'), 'utf8'), 'Alice was here.\n')

      await bob.fill('#editor', 'Bob was here.\n')
      await bob.click('#save')
      await expectStatus(bob, 'Not saved: someone saved a newer version')
      assert.equal(await bob.isVisible('#conflict'), true)
      assert.equal(await bob.inputValue('#theirs'), 'Alice was here.\n')
      assert.equal(await bob.inputValue('#mine'), 'Bob was here.\n')
      // Bob's save changed nothing: Alice's text is what the server has.
      assert.equal(await readFile(join(dir, 'notes', 'welcome.txt'), 'utf8'), 'Alice was here.\n')

      // Bob merges by hand and saves knowingly, against the version he has now seen.
      await bob.fill('#mine', 'Alice was here.\nBob was here.\n')
      await bob.click('#keep-mine')
      await expectStatus(bob, 'Saved')
      assert.equal(
        await readFile(join(dir, 'notes', 'welcome.txt'), 'utf8'),
        'Alice was here.\nBob was here.\n',
      )

      // Alice's next save, based on her old version, is refused in turn.
      await alice.fill('#editor', 'Alice again.\n')
      await alice.click('#save')
      await expectStatus(alice, 'Not saved: someone saved a newer version')
      assert.equal(await alice.inputValue('#theirs'), 'Alice was here.\nBob was here.\n')

      // A new note is created with If-None-Match: *, and the first creator wins.
      const carol = await openNote(browser, `${server.url}/?note=fresh`)
      const dave = await openNote(browser, `${server.url}/?note=fresh`)
      await carol.fill('#editor', 'Carol first.\n')
      await carol.click('#save')
      await expectStatus(carol, 'Saved')
      await dave.fill('#editor', 'Dave first.\n')
      await dave.click('#save')
      await expectStatus(dave, 'Not saved: someone saved a newer version')
      assert.equal(await dave.inputValue('#theirs'), 'Carol first.\n')
      assert.equal(await readFile(join(dir, 'notes', 'fresh.txt'), 'utf8'), 'Carol first.\n')
    } finally {
      await browser?.close()
      await server.close()
      await cleanup()
    }
  },
)

/** A new page (its own browser context, like another user) with the note loaded. */
async function openNote(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(url)
  await page.waitForFunction(`['Loaded', 'New note'].includes(${STATUS})`)
  return page
}

async function expectStatus(page: Page, text: string): Promise<void> {
  await page.waitForFunction(`${STATUS} === ${JSON.stringify(text)}`, undefined, {
    timeout: 10_000,
  })
}
