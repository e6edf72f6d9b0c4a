// A notes page that never loses an edit (optimistic locking, RFC 9110 section 13.1.1).
//
// Loading a note remembers its ETag. Saving sends PUT with `If-Match: <that ETag>` (or
// `If-None-Match: *` for a note that does not exist yet, so two first saves cannot overwrite
// each other). The server applies the PUT only if the note is still the version that was
// edited; otherwise it answers 412 Precondition Failed and changes nothing, and this page shows
// the newer text beside the user's instead of overwriting it. Each successful save answers
// with the new ETag, so the next save needs no reload.

const name = new URLSearchParams(location.search).get('note') || 'welcome'
const url = `notes/${encodeURIComponent(name)}.txt`

const $ = (selector) => document.querySelector(selector)
const editor = $('#editor')
const status = $('#status')
const conflict = $('#conflict')
const theirs = $('#theirs')
const mine = $('#mine')

/** The ETag of the version being edited; null when the note does not exist on the server. */
let etag = null
/** The ETag of the newer version shown in the conflict panel. */
let newerTag = null

function say(text) {
  status.value = text
}

/** Fetches the current version: its text and ETag, or null for a note not saved yet. */
async function fetchNote() {
  const res = await fetch(url, { cache: 'no-store' })
  if (res.status === 404) return null
  if (!res.ok) throw new Error(`loading failed: ${res.status}`)
  return { text: await res.text(), etag: res.headers.get('ETag') }
}

async function load() {
  const note = await fetchNote()
  etag = note?.etag ?? null
  editor.value = note?.text ?? ''
  conflict.hidden = true
  say(note ? 'Loaded' : 'New note')
}

async function save(text) {
  const headers = { 'Content-Type': 'text/plain; charset=utf-8' }
  if (etag === null) headers['If-None-Match'] = '*'
  else headers['If-Match'] = etag
  say('Saving…')
  const res = await fetch(url, { method: 'PUT', headers, body: text })
  if (res.status === 201 || res.status === 204) {
    etag = res.headers.get('ETag')
    editor.value = text
    conflict.hidden = true
    say('Saved')
    return
  }
  if (res.status === 412) {
    await showConflict(text)
    return
  }
  say(`Not saved: ${res.status} ${(await res.text()).trim()}`)
}

/** The note changed on the server since it was loaded: show both versions, lose neither. */
async function showConflict(text) {
  const newer = await fetchNote()
  newerTag = newer?.etag ?? null
  theirs.value = newer?.text ?? '(the note was deleted)'
  mine.value = text
  conflict.hidden = false
  say('Not saved: someone saved a newer version')
}

$('#save').addEventListener('click', () => save(editor.value))
$('#reload').addEventListener('click', () => load())
$('#use-theirs').addEventListener('click', () => {
  etag = newerTag
  editor.value = theirs.value
  conflict.hidden = true
  say('Showing the newer version')
})
// Saving over the newer version is a deliberate choice, made against that version's ETag: if
// it changed yet again meanwhile, this save is refused too.
$('#keep-mine').addEventListener('click', () => {
  etag = newerTag
  save(mine.value)
})

$('#name').value = name
load().catch((error) => say(String(error)))
