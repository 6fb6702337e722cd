// The bundle entry of the `fresh-deploy` command (dist/cli.js). `--version` answers before the
// rest is evaluated: the engine and the Node modules it needs (child_process, crypto, …) are in
// this same file (webpackMode eager: no chunk) but run only when imported below.
import { version } from './version.js'

const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`fresh-deploy ${version()}\n`)
} else {
  import(/* webpackMode: "eager" */ './main.js')
    .then(({ main }) => main({ argv, cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr }))
    .then(
      code => {
        process.exitCode = code
      },
      (e: unknown) => {
        process.stderr.write(`fresh-deploy crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
        process.exitCode = 1
      }
    )
}
