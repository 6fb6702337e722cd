#!/usr/bin/env node
// Checks every step that uses this action (`uses: ./` or `uses: fresh-deploy/fresh-deploy@...`)
// in the given workflow files: each `with:` key must be an input of action.yml, and every
// required input must be given. action-validator checks the workflow schema, not this.
// Usage: node scripts/check-uses.mjs WORKFLOW.yml...   (exit 1 on any problem)
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

const action = parse(readFileSync('action.yml', 'utf8'))
const inputs = action.inputs ?? {}
const required = Object.entries(inputs)
  .filter(([, s]) => s && (s.required === true || s.required === 'true') && s.default === undefined)
  .map(([name]) => name)
const ours = uses => uses === './' || /^fresh-deploy\/fresh-deploy@/.test(String(uses))

let problems = 0
let steps = 0
for (const file of process.argv.slice(2)) {
  let wf
  try {
    wf = parse(readFileSync(file, 'utf8'))
  } catch (e) {
    console.error(`${file}: cannot parse: ${e.message}`)
    problems++
    continue
  }
  for (const [jobId, job] of Object.entries(wf?.jobs ?? {})) {
    for (const [i, step] of (job?.steps ?? []).entries()) {
      if (!step || !ours(step.uses)) continue
      steps++
      const where = `${file}: jobs.${jobId}.steps[${i}]${step.id ? ` (${step.id})` : ''}`
      const given = Object.keys(step.with ?? {})
      for (const key of given) {
        if (!(key in inputs)) {
          console.error(`${where}: unknown input "${key}" (not in action.yml)`)
          problems++
        }
      }
      for (const name of required) {
        if (!given.includes(name)) {
          console.error(`${where}: required input "${name}" is missing`)
          problems++
        }
      }
    }
  }
}
if (problems > 0) {
  console.error(`check-uses: ${problems} problem(s)`)
  process.exit(1)
}
console.log(`check-uses: ${steps} step(s) using this action pass action.yml's inputs`)
