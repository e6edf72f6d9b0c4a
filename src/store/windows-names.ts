/**
 * Names Windows does not treat as plain file names. On Windows, `CON`, `NUL`, `aux.txt` or
 * `com1.log` open a device wherever they are, trailing dots and spaces are dropped
 * (`secret.txt.` opens `secret.txt`), `name:stream` opens an alternate data stream, and an
 * 8.3 short name (`SECRET~1`) opens the long name it abbreviates, a dotfile included. The
 * filesystem store refuses such segments when it runs on Windows (or is told to).
 */

/** Device names, matched after Windows has dropped trailing dots and spaces. */
const DEVICE =
  /^(?:con|prn|aux|nul|com[0-9\xb9\xb2\xb3]|lpt[0-9\xb9\xb2\xb3]|conin\$|conout\$|clock\$)(?: *\..*)?$/i

/** Why `segment` is not a plain name on Windows, or undefined when it is one. */
export function windowsNameProblem(segment: string): string | undefined {
  const last = segment.charCodeAt(segment.length - 1)
  if (last === 0x2e || last === 0x20) return 'a trailing dot or space, which Windows drops'
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i)
    // < > : " | ? * (controls never get this far: see src/http/target.ts)
    if (
      c === 0x3c ||
      c === 0x3e ||
      c === 0x3a ||
      c === 0x22 ||
      c === 0x7c ||
      c === 0x3f ||
      c === 0x2a
    ) {
      return 'a character Windows reserves'
    }
    if (c === 0x7e && i + 1 < segment.length && isDigit(segment.charCodeAt(i + 1))) {
      return 'what may be an 8.3 short name'
    }
  }
  if (DEVICE.test(segment)) return 'a Windows device name'
  return undefined
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}
