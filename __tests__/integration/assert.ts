import { transcript, type ActionRun } from './harness.js'

/** Fails with the whole transcript when a run's exit code is not the expected one. */
export function expectExit(run: ActionRun, code: 'zero' | 'non-zero'): void {
  const ok = code === 'zero' ? run.code === 0 : run.code !== 0
  if (!ok) throw new Error(`expected exit ${code}, got ${run.code}\n${transcript(run)}`)
}

/** The ::error annotations a run printed. */
export function errors(run: ActionRun): string[] {
  return run.stdout.split('\n').filter(l => l.startsWith('::error'))
}
