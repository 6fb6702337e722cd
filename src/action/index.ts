// The action's bundle entry, one for both steps, told apart by the state the main step saved
// (as actions/checkout does).
import * as core from './actions-core.js'
import { isPost } from './state-helper.js'

async function entry(): Promise<void> {
  try {
    if (isPost) {
      const { post } = await import('./post.js')
      await post()
    } else {
      const { run } = await import('./main.js')
      await run()
    }
  } catch (e) {
    core.setFailed(`fresh-deploy crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  }
}

void entry()
