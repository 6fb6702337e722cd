// The command line's arguments and its config file: every action input is an option of the same
// name and default (from action.yml, see inputs.ts), a fresh-deploy.yml holds the same keys, and
// flags win over the file, the file over the defaults. Pure but for reading the config file.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ACTION_INPUTS } from './inputs.js'

export const COMMANDS = ['deploy', 'plan', 'verify', 'rollback', 'status'] as const
export type Command = (typeof COMMANDS)[number]

/** Inputs that are no options: the key's text (--ssh-key-file instead) and GitHub's own. */
const NOT_OPTIONS = new Set(['ssh-key', 'github-token', 'environment', 'environment-url'])

export interface CliOption {
  name: string
  /** The default as --help shows it. */
  shown: string
  default: string
  boolean: boolean
  description: string
}

/** Every option that sets an input, in action.yml's order; --ssh-key-file after --username. */
export const INPUT_OPTIONS: CliOption[] = ACTION_INPUTS.filter(i => !NOT_OPTIONS.has(i.name)).flatMap(i => {
  const option: CliOption =
    i.name === 'ref'
      ? { name: 'ref', shown: 'git rev-parse HEAD of the current directory (+ -dirty), else manual-<UTC time>', default: '', boolean: false, description: i.description }
      : { name: i.name, shown: i.required ? '(required)' : i.default === '' ? "''" : i.default, default: i.default, boolean: i.boolean, description: i.description }
  if (i.name !== 'username') return [option]
  return [option, { name: 'ssh-key-file', shown: "'' (OpenSSH's own: the agent, ~/.ssh/config, default keys)", default: '', boolean: false, description: 'Private key file, passed to ssh with -i (read by ssh, never copied).' }]
})

const BY_NAME = new Map(INPUT_OPTIONS.map(o => [o.name, o]))

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export interface Invocation {
  command: Command
  help: boolean
  version: boolean
  json: boolean
  quiet: boolean
  /** Every input option's value: defaults, then the config file, then the flags. */
  values: Map<string, string>
  /** The options that the file or a flag set (not left at their default). */
  given: Set<string>
  /** The config file that was read, if any. */
  configFile?: string
}

const DEFAULT_CONFIG = 'fresh-deploy.yml'

function parseFlags(argv: string[]): ReturnType<typeof parseArgs> {
  const options: NonNullable<Parameters<typeof parseArgs>[0]>['options'] = {
    config: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'V' }
  }
  for (const o of INPUT_OPTIONS) {
    if (o.boolean) {
      options[o.name] = { type: 'boolean' }
      options[`no-${o.name}`] = { type: 'boolean' }
    } else {
      options[o.name] = { type: 'string', multiple: o.name === 'host' }
    }
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true })
  } catch (e) {
    // node's messages name the option: "Unknown option '--foo'", "Option '--port <value>' argument missing".
    throw new UsageError((e as Error).message)
  }
}

/** A config value as the input's text: lists one item per line; nested maps are refused. */
function configValue(file: string, key: string, value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value) && value.every(v => typeof v === 'string' || typeof v === 'number')) return value.map(String).join('\n')
  throw new UsageError(`config file ${file}: key ${key}: expected a text, a number, true/false or a list of texts`)
}

/** The config file's keys and values; a file that does not parse or has an unknown key is refused. */
export async function readConfig(file: string, text: string): Promise<Map<string, string>> {
  // Loaded only when there is a file to read: yaml is most of the bundle, and --version or a
  // run without a config file would evaluate it for nothing (webpackMode eager: no chunk file).
  const { parseDocument } = await import(/* webpackMode: "eager" */ 'yaml')
  const doc = parseDocument(text)
  if (doc.errors.length > 0) throw new UsageError(`config file ${file} does not parse: ${doc.errors[0].message.split('\n')[0]}`)
  const data: unknown = doc.toJS()
  if (data === null || data === undefined) return new Map()
  if (typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`config file ${file}: expected keys and values (option names without --, e.g. "project-dir: /srv/app")`)
  const values = new Map<string, string>()
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (!BY_NAME.has(key)) {
      const hint = key === 'ssh-key' ? ' (give the key as a file: ssh-key-file)' : NOT_OPTIONS.has(key) ? ' (an input of the action only)' : ''
      throw new UsageError(`config file ${file}: unknown key ${JSON.stringify(key)}${hint}; the keys are the option names without --, see fresh-deploy --help`)
    }
    let v = configValue(file, key, value)
    // A key file named in the config file is relative to that file.
    if (key === 'ssh-key-file' && v !== '' && !isAbsolute(v)) v = resolve(dirname(file), v)
    values.set(key, v)
  }
  return values
}

/**
 * Reads argv (without node and the script), then the config file (--config FILE, else
 * ./fresh-deploy.yml when it exists). Throws UsageError for anything a user must fix first.
 */
export async function parseCommandLine(argv: string[], cwd: string): Promise<Invocation> {
  const { tokens = [] } = parseFlags(argv)
  const flags = new Map<string, string>()
  const hosts: string[] = []
  const positionals: string[] = []
  let configFile: string | undefined
  const switches = { json: false, quiet: false, help: false, version: false }
  let previous: (typeof tokens)[number] | undefined
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (previous?.kind === 'option' && BY_NAME.get(previous.name.replace(/^no-/, ''))?.boolean && /^(true|false)$/i.test(t.value)) {
        const name = previous.name.replace(/^no-/, '')
        throw new UsageError(`option --${previous.name} takes no value: write --${name} or --no-${name}`)
      }
      positionals.push(t.value)
    } else if (t.kind === 'option') {
      const name = t.name
      if (name === 'config') configFile = t.value
      else if (name in switches) switches[name as keyof typeof switches] = true
      else if (name === 'host') hosts.push(t.value ?? '')
      else if (t.value !== undefined) flags.set(name, t.value)
      else if (name.startsWith('no-') && BY_NAME.get(name.slice(3))?.boolean) flags.set(name.slice(3), 'false')
      else flags.set(name, 'true')
    }
    previous = t
  }
  if (hosts.length > 0) flags.set('host', hosts.join('\n'))

  if (positionals.length > 1) throw new UsageError(`one command at a time: got ${positionals.map(p => JSON.stringify(p)).join(', ')}`)
  const command = (positionals[0] ?? 'deploy') as Command
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command ${JSON.stringify(positionals[0])}: expected one of ${COMMANDS.join(', ')}`)

  let file: Map<string, string> = new Map()
  if (configFile !== undefined) {
    const path = resolve(cwd, configFile)
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (e) {
      throw new UsageError(`option --config: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    }
    file = await readConfig(path, text)
    configFile = path
  } else if (!switches.help && !switches.version && existsSync(resolve(cwd, DEFAULT_CONFIG))) {
    configFile = resolve(cwd, DEFAULT_CONFIG)
    file = await readConfig(configFile, readFileSync(configFile, 'utf8'))
  }

  const values = new Map(INPUT_OPTIONS.map(o => [o.name, o.default]))
  const given = new Set<string>()
  for (const [k, v] of [...file, ...flags]) {
    values.set(k, k === 'ssh-key-file' && v !== '' && flags.has(k) ? resolve(cwd, v) : v)
    given.add(k)
  }
  return { command, ...switches, values, given, configFile }
}

/** The usage text: shown with every usage error (short) and by --help (every option). */
export function usage(full: boolean): string {
  const head = [
    'usage: fresh-deploy [deploy|plan|verify|rollback|status] [--OPTION VALUE ...]',
    '',
    '  deploy    rebuild the service, purge bytecode, prove that the new code runs (the default)',
    '  plan      print every script a deploy would run; change nothing (dry-run)',
    '  verify    run the probes against what runs now; change nothing, build nothing',
    '  rollback  put back the image that ran before the last deploy, under the deploy lock',
    '  status    the running container, its revision and run labels, image, health, the previous image',
    '',
    'Options come from flags, then ./fresh-deploy.yml (or --config FILE, same keys without --), then the defaults.',
    'Exit codes: 0 fresh, unverified or a plan; 1 error; 2 stale; 3 unhealthy; 64 usage error.'
  ]
  if (!full) return [...head, 'Every option with its default: fresh-deploy --help', ''].join('\n')
  const rows = INPUT_OPTIONS.map(o => {
    const flag = o.boolean ? `--[no-]${o.name}` : `--${o.name} ${o.name === 'host' ? 'HOST (repeatable)' : o.name.endsWith('-file') ? 'PATH' : 'VALUE'}`
    return `  ${flag}\n      ${o.description}\n      default: ${o.shown}`
  })
  return [
    ...head,
    '',
    'Options (the action\'s inputs; ssh follows your own OpenSSH configuration unless told otherwise):',
    ...rows,
    '',
    '  --config FILE     read options from FILE instead of ./fresh-deploy.yml',
    '  --json            one JSON object on stdout (the action\'s output names + steps); logs on stderr',
    '  -q, --quiet       print the verdict line only',
    '  -h, --help        this text',
    '  -V, --version     the version',
    ''
  ].join('\n')
}
