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

/** Several hosts: every host's files, saved again as each host connects (the last save wins). */
export function saveSshStates(list: SshState[]): void {
  core.saveState('sshHosts', JSON.stringify(list))
}

/** What the main step left to clean up: one entry per host it connected to. */
export function loadSshStates(): SshState[] {
  const many = core.getState('sshHosts')
  if (many) {
    try {
      return (JSON.parse(many) as SshState[]).filter(x => typeof x?.dir === 'string' && x.dir !== '')
    } catch {
      /* a state the main step did not write: fall back to the single host's */
    }
  }
  const dir = core.getState('sshDir')
  if (!dir) return []
  return [{ dir, config: core.getState('sshConfig'), control: core.getState('sshControl'), host: core.getState('sshHost') }]
}
