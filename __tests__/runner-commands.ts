// What the Actions runner does with a step's stdout, modelled on actions/runner
// (ActionCommand.TryParseV2 / TryParse, ActionCommandManager.TryProcessCommand): the workflow
// commands that take effect, so that tests can say "no command from the target acted".
// - lines: split at \n, \r\n and a lone \r (.NET's ReadLine);
// - "::name props::data": the line, after leading white space, starts with "::";
// - "##[name props]data": anywhere in the line;
// - a name counts only when registered (case-insensitive); stop-commands registers its token,
//   and while stopped only a command named by the token (either form) does anything (resumes).

const REGISTERED = ['stop-commands', 'set-env', 'set-output', 'save-state', 'add-mask', 'add-path', 'add-matcher', 'remove-matcher', 'warning', 'error', 'notice', 'debug', 'group', 'endgroup', 'echo']

export interface Command {
  name: string
  data: string
  line: string
}

function parseV2(line: string, registered: Set<string>): Command | undefined {
  const m = line.replace(/^\s+/u, '')
  if (!m.startsWith('::')) return undefined
  const end = m.indexOf('::', 2)
  if (end < 0) return undefined
  const info = m.slice(2, end)
  const space = info.indexOf(' ')
  const name = space < 0 ? info : info.slice(0, space)
  if (!registered.has(name.toLowerCase())) return undefined
  return { name, data: m.slice(end + 2), line }
}

function parseLegacy(line: string, registered: Set<string>): Command | undefined {
  const at = line.indexOf('##[')
  if (at < 0) return undefined
  const rb = line.indexOf(']', at)
  if (rb < 0) return undefined
  const info = line.slice(at + 3, rb)
  const space = info.indexOf(' ')
  const name = space < 0 ? info : info.slice(0, space)
  if (!registered.has(name.toLowerCase())) return undefined
  return { name, data: line.slice(rb + 1), line }
}

/** The commands the runner acts on (stop-commands and its resume token included), in order. */
export function actedCommands(stdout: string): Command[] {
  const registered = new Set(REGISTERED)
  const acted: Command[] = []
  let stopToken: string | undefined
  for (const line of stdout.split(/\r\n|\n|\r/)) {
    const cmd = parseV2(line, registered) ?? parseLegacy(line, registered)
    if (!cmd) continue
    if (stopToken !== undefined) {
      if (cmd.name.toLowerCase() === stopToken.toLowerCase()) {
        registered.delete(stopToken.toLowerCase())
        stopToken = undefined
        acted.push(cmd)
      }
      continue
    }
    acted.push(cmd)
    if (cmd.name.toLowerCase() === 'stop-commands') {
      stopToken = cmd.data
      registered.add(stopToken.toLowerCase())
    }
  }
  return acted
}

/** The acted commands other than the stop-commands blocks themselves (open and resume). */
export function effectiveCommands(stdout: string): Command[] {
  const acted = actedCommands(stdout)
  const tokens = new Set(acted.filter(c => c.name.toLowerCase() === 'stop-commands').map(c => c.data.toLowerCase()))
  return acted.filter(c => c.name.toLowerCase() !== 'stop-commands' && !tokens.has(c.name.toLowerCase()))
}
