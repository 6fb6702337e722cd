// The bundle entry of the `fresh-deploy` command (dist/cli.js).
import { main } from './main.js'

main({ argv: process.argv.slice(2), cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
  code => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`fresh-deploy crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exitCode = 1
  }
)
