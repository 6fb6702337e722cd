// Text from the target (build output, the app's logs, probe evidence such as an http body or a
// container's file names) printed so that no workflow command in it takes effect on the runner.
//
// The runner (actions/runner, ActionCommandManager.TryProcessCommand) reads every stdout line in
// two forms: "::name props::data" at the start of the line (after leading white space), and the
// legacy "##[name props]data" ANYWHERE in the line. A "stop-commands" command (either form) makes
// it ignore every command until one named by its token arrives. So:
// - "##[" is broken wherever it is ("##[" → "## ["): the legacy form cannot be parsed, whether
//   commands are stopped or not, and the log viewer does not render it as a group or an error;
// - text that holds "::" anywhere (the runner also splits lines at a lone CR, which our line
//   splitter does not) is wrapped in ::stop-commands::TOKEN … ::TOKEN:: with a random token,
//   which the text cannot end, as it cannot know the token.
import { randomBytes } from 'node:crypto'

const LEGACY = /##\[/g

/** The legacy "##[" form made inert: "## [" is no command, and reads the same. */
export function breakLegacy(text: string): string {
  return text.replace(LEGACY, '## [')
}

function newToken(text: string): string {
  let token: string
  // 64 random bits; one that happens to occur in the text is drawn again.
  do token = randomBytes(8).toString('hex')
  while (text.includes(token))
  return token
}

/**
 * Returns the text ready to print as it is (a trailing newline is not added): the legacy form
 * broken, and wrapped in a stop-commands block when a "::" command could be in it.
 */
export function neutralize(text: string): string {
  const safe = breakLegacy(text)
  if (!safe.includes('::')) return safe
  const token = newToken(safe)
  return `::stop-commands::${token}\n${safe}\n::${token}::`
}
