// Untrusted text printed so that no workflow command in it acts: both the "::" form and the
// legacy "##[" form, checked with a model of the runner's own parser (../runner-commands.ts).
import { actedCommands, effectiveCommands } from '../runner-commands.js'
import { breakLegacy, neutralize } from '../../src/action/workflow-commands.js'

// Our own commands, printed around the untrusted text as the action prints them.
const OURS = '::group::verify: probes\n'
const OUR_ERROR = '::error::fresh-deploy verdict stale\n'

const HOSTILE = [
  '::add-mask::x',
  '  ::error::boom',
  '\u00a0::warning::nbsp first',
  'a\r::set-output name=verified::true',
  '##[error]legacy error',
  'build step 3/5 ##[add-mask]secret-ish',
  '##[stop-commands]x',
  '::stop-commands::y',
  '##[group]fake group',
  '##[set-output name=verified;]true',
  '##[endgroup]'
]

describe('the runner model (the tests below rely on it)', () => {
  test('sees both forms, anywhere for ##[, and stop-commands swallowing our own ::error', () => {
    expect(actedCommands('x ##[error]boom\n').map(c => c.name)).toEqual(['error'])
    expect(actedCommands(' \t::add-mask::s\n').map(c => c.name)).toEqual(['add-mask'])
    expect(actedCommands('a\r::warning::w\n').map(c => c.name)).toEqual(['warning'])
    expect(actedCommands('::nosuch::x\n##[nosuch]y\n')).toEqual([])
    const swallowed = actedCommands(`build ##[stop-commands]x\n${OUR_ERROR}`)
    expect(swallowed.map(c => c.name)).toEqual(['stop-commands'])
    expect(actedCommands(`::stop-commands::t\n::error::a\n::t::\n${OUR_ERROR}`).map(c => c.name)).toEqual(['stop-commands', 't', 'error'])
  })
})

describe('neutralize', () => {
  test.each(HOSTILE)('%j: no command acts, and our own ::error after it still does', line => {
    const out = `${OURS}${neutralize(line)}\n${OUR_ERROR}`
    expect(effectiveCommands(out).map(c => `${c.name}:${c.data}`)).toEqual(['group:verify: probes', 'error:fresh-deploy verdict stale'])
  })

  test('all of them in one block (the service logs)', () => {
    const out = `${neutralize(HOSTILE.join('\n'))}\n${OUR_ERROR}`
    expect(effectiveCommands(out).map(c => c.name)).toEqual(['error'])
  })

  test('a line that ends the block with a guessed token, or with the token of an earlier block', () => {
    const first = neutralize('::warning::one')
    const earlier = /^::stop-commands::([0-9a-f]{16})$/m.exec(first)![1]
    const guesses = ['::0000000000000000::', '::stop-commands::', `::${earlier}::`, `##[${earlier}]`, '::endgroup::', '::fresh-deploy::']
    const text = `${guesses.join('\n')}\n::add-mask::after-guess\n##[error]after-guess`
    const out = `${first}\n${neutralize(text)}\n${OUR_ERROR}`
    expect(effectiveCommands(out).map(c => c.name)).toEqual(['error'])
  })

  test('the text is printed unchanged but for "##[", and plain text is not wrapped', () => {
    expect(neutralize('plain log line')).toBe('plain log line')
    expect(neutralize('step ##[error]x')).toBe('step ## [error]x')
    expect(neutralize('###[[##[')).toBe('### [[## [')
    const wrapped = neutralize('a::b')
    const m = /^::stop-commands::([0-9a-f]{16})\na::b\n::([0-9a-f]{16})::$/.exec(wrapped)
    expect(m).not.toBeNull()
    expect(m![1]).toBe(m![2])
  })

  test('each block gets its own token', () => {
    const tokens = new Set(Array.from({ length: 20 }, () => /stop-commands::(\w+)/.exec(neutralize('::x::'))![1]))
    expect(tokens.size).toBe(20)
  })
})

describe('breakLegacy (the annotation text)', () => {
  test('an ::error whose message holds ##[ commands acts as one error', () => {
    const msg = breakLegacy('probe http failed: body ##[stop-commands]x ##[add-mask]y')
    expect(effectiveCommands(`::error::${msg}\n${OUR_ERROR}`).map(c => c.name)).toEqual(['error', 'error'])
    expect(msg).not.toContain('##[')
  })
})
