// The post step: close the ssh master connection and delete the key, known_hosts and socket.
// Runs even when main failed or crashed (post-if: always()).
import { closeSsh } from '../engine/ssh.js'
import * as core from './actions-core.js'
import { ActionReporter } from './log.js'
import { loadSshStates } from './state-helper.js'

export async function post(): Promise<void> {
  const states = loadSshStates()
  if (states.length === 0) {
    core.info('nothing to clean up (local transport, or main stopped before connecting)')
    return
  }
  // One per host with several hosts; each has its own master connection and key copy.
  for (const state of states) {
    await closeSsh(state.dir, state.config, state.control, state.host, new ActionReporter())
    core.info(`closed the ssh connection and removed ${state.dir}`)
  }
}
