// What the main step hands to the post step (GITHUB_STATE), as in actions/checkout.
import * as core from './actions-core.js'

export const isPost = core.getState('isPost') === 'true'

// Written as early as possible in main: the post step must find it even when main crashes.
if (!isPost) core.saveState('isPost', 'true')

export interface SshState {
  dir: string
  config: string
  control: string
  host: string
}

export function saveSshState(s: SshState): void {
  core.saveState('sshDir', s.dir)
  core.saveState('sshConfig', s.config)
  core.saveState('sshControl', s.control)
  core.saveState('sshHost', s.host)
}

export function loadSshState(): SshState | undefined {
  const dir = core.getState('sshDir')
  if (!dir) return undefined
  return { dir, config: core.getState('sshConfig'), control: core.getState('sshControl'), host: core.getState('sshHost') }
}
