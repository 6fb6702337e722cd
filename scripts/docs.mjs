#!/usr/bin/env node
// Regenerates the inputs and outputs tables in README.md from action.yml, between the markers
//   <!-- inputs:start --> ... <!-- inputs:end -->   and   <!-- outputs:start --> ... <!-- outputs:end -->
// Usage: node scripts/docs.mjs [--check] [--readme README.md] [--action action.yml]
//   --check  change nothing; exit 1 when README.md is not what this script would write.
import { readFileSync, writeFileSync } from 'node:fs'
import { parse } from 'yaml'

function usage(code) {
  const text = 'usage: node scripts/docs.mjs [--check] [--readme FILE] [--action FILE]'
  ;(code === 0 ? console.log : console.error)(text)
  process.exit(code)
}

function parseArgs(argv) {
  const opts = { check: false, readme: 'README.md', action: 'action.yml' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--check') opts.check = true
    else if (a === '--readme' || a === '--action') {
      if (i + 1 >= argv.length) usage(2)
      opts[a.slice(2)] = argv[++i]
    } else if (a === '-h' || a === '--help') usage(0)
    else {
      console.error(`docs: unknown argument ${JSON.stringify(a)}`)
      usage(2)
    }
  }
  return opts
}

/** Escapes Markdown emphasis and HTML outside `code` spans, so __pycache__ and *.pyc show as written. */
function escapeMarkdown(text) {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part
            .replace(/([\\*<>])/g, '\\$1')
            // an underscore inside a word (RUNNER_TEMP) is no emphasis in GFM: leave it readable
            .replace(/_/g, (u, at, s) => (/[A-Za-z0-9]/.test(s[at - 1] ?? '') && /[A-Za-z0-9]/.test(s[at + 1] ?? '') ? u : '\\_'))
    )
    .join('')
}

/** One table cell: single line, pipes escaped, paragraphs kept apart with <br>. */
function cell(text) {
  const paragraphs = String(text ?? '')
    .trim()
    .split(/\n\s*\n/)
    .map(p => escapeMarkdown(p.replace(/\s*\n\s*/g, ' ')))
  return paragraphs.join('<br>').replace(/\|/g, '\\|')
}

/** A value in backticks, safe inside a table even when it holds backticks or pipes. */
function code(value) {
  const v = String(value).replace(/\|/g, '\\|')
  if (!v.includes('`')) return `\`${v}\``
  return `\`\` ${v} \`\``
}

function inputsTable(inputs) {
  const rows = ['| input | default | description |', '| --- | --- | --- |']
  for (const [name, spec] of Object.entries(inputs ?? {})) {
    const s = spec ?? {}
    let def
    if (s.default !== undefined && s.default !== null) def = code(s.default === '' ? "''" : s.default)
    else def = s.required === true || s.required === 'true' ? '**required**' : ''
    rows.push(`| ${code(name)} | ${def} | ${cell(s.description)} |`)
  }
  return rows.join('\n')
}

function outputsTable(outputs) {
  const rows = ['| output | description |', '| --- | --- |']
  for (const [name, spec] of Object.entries(outputs ?? {})) {
    rows.push(`| ${code(name)} | ${cell(spec?.description)} |`)
  }
  return rows.join('\n')
}

/** Replaces what lies between the markers; returns the new text or throws naming the marker. */
function replaceBetween(text, section, body, file) {
  const start = `<!-- ${section}:start -->`
  const end = `<!-- ${section}:end -->`
  const i = text.indexOf(start)
  const j = text.indexOf(end)
  if (i < 0 || j < 0 || j < i) {
    throw new Error(`${file}: missing or misordered markers ${start} / ${end}`)
  }
  if (text.indexOf(start, i + 1) >= 0 || text.indexOf(end, j + 1) >= 0) {
    throw new Error(`${file}: markers ${start} / ${end} appear more than once`)
  }
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`
}

/** First differing line, for a useful --check message. */
function firstDifference(a, b) {
  const x = a.split('\n')
  const y = b.split('\n')
  for (let n = 0; n < Math.max(x.length, y.length); n++) {
    if (x[n] !== y[n]) return { line: n + 1, found: x[n] ?? '(end of file)', expected: y[n] ?? '(end of file)' }
  }
  return undefined
}

function main() {
  const opts = parseArgs(process.argv.slice(2))
  let action
  try {
    action = parse(readFileSync(opts.action, 'utf8'))
  } catch (e) {
    console.error(`docs: cannot read ${opts.action}: ${e.message}`)
    process.exit(2)
  }
  if (!action || typeof action !== 'object') {
    console.error(`docs: ${opts.action} holds no mapping`)
    process.exit(2)
  }
  let readme
  try {
    readme = readFileSync(opts.readme, 'utf8')
  } catch (e) {
    console.error(`docs: cannot read ${opts.readme}: ${e.message}`)
    process.exit(2)
  }

  let next
  try {
    next = replaceBetween(readme, 'inputs', inputsTable(action.inputs), opts.readme)
    next = replaceBetween(next, 'outputs', outputsTable(action.outputs), opts.readme)
  } catch (e) {
    console.error(`docs: ${e.message}`)
    process.exit(1)
  }

  if (opts.check) {
    if (next === readme) {
      console.log(`docs: ${opts.readme} inputs and outputs tables match ${opts.action}`)
      return
    }
    const d = firstDifference(readme, next)
    console.error(
      `docs: ${opts.readme} is out of date with ${opts.action}: run \`npm run docs\` and commit the result.`
    )
    if (d) console.error(`  first difference at line ${d.line}:\n    found:    ${d.found}\n    expected: ${d.expected}`)
    process.exit(1)
  }
  if (next === readme) {
    console.log(`docs: ${opts.readme} already up to date`)
    return
  }
  writeFileSync(opts.readme, next)
  console.log(`docs: updated the inputs and outputs tables in ${opts.readme}`)
}

main()
