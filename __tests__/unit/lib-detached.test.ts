// lib.sh, run by bash for real: fd_detached (the rebuild's detached unit: streamed output, exit
// status, its own session, no GNU tail needed) and fd_previous_tag (the rollback target's tag,
// keyed by project and service).
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readScript } from '../../src/engine/scripts.js'

function bash(body: string, env: NodeJS.ProcessEnv = {}): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('bash', ['-c', `FD_NONCE=t\n${readScript('lib.sh')}\nset +e\n${body}`], { encoding: 'utf8', env: { ...process.env, ...env } })
  return { stdout: r.stdout, stderr: r.stderr, status: r.status }
}

describe('fd_detached', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fd-detached-'))
  // A tail that is not GNU's (busybox, macOS) first on PATH: the unit must not need it.
  const shim = join(dir, 'shim')
  spawnSync('mkdir', ['-p', shim])
  writeFileSync(join(shim, 'tail'), '#!/bin/sh\necho "not GNU tail" >&2\nexit 1\n')
  chmodSync(join(shim, 'tail'), 0o755)
  const env = { PATH: `${shim}:${process.env.PATH}`, TMPDIR: dir }

  test('streams the output of each command in order, partial lines too, and returns the failing one\'s status', () => {
    const r = bash(
      `fd_detached sh -c 'echo one; printf "par"; sleep 0.3; echo "tial"; echo two >&2' --fd-then sh -c 'echo three; exit 4' --fd-then echo never; echo "rc=$?"`,
      env
    )
    expect(r.stdout).toBe("+ sh -c echo one; printf \"par\"; sleep 0.3; echo \"tial\"; echo two >&2\none\npartial\ntwo\n+ sh -c echo three; exit 4\nthree\nrc=4\n")
  })

  test('--rm FILE: removed when the unit ends; no log file is left', () => {
    const file = join(dir, 'override.yaml')
    writeFileSync(file, 'x\n')
    const r = bash(`fd_detached --rm ${file} cat ${file}; echo "rc=$?"`, env)
    expect(r.stdout).toBe(`+ cat ${file}\nx\nrc=0\n`)
    expect(existsSync(file)).toBe(false)
    expect(readdirSync(dir).filter(f => f.startsWith('fresh-deploy-log.'))).toEqual([])
  })

  test('the unit runs in a session of its own (a signal to the caller\'s process group does not reach it)', () => {
    const r = bash(`fd_detached sh -c 'ps -o sid= -o pgid= -p $$'; ps -o sid= -o pgid= -p $$`, env)
    const [unit, caller] = r.stdout
      .split('\n')
      .filter(l => /^\s*\d+\s+\d+\s*$/.test(l))
      .map(l => l.trim().split(/\s+/))
    expect(unit[0]).not.toBe(caller[0])
    expect(unit[1]).not.toBe(caller[1])
  })

  test('the unit outlives a caller that is killed, and finishes its commands', () => {
    const marker = join(dir, 'finished')
    const r = bash(`fd_detached sh -c 'sleep 1; touch ${marker}' & sleep 0.3; kill -KILL -- -$$ 2>/dev/null || kill -KILL $$`, { ...env })
    expect(r.status).not.toBe(0)
    const end = Date.now() + 5000
    while (!existsSync(marker) && Date.now() < end) spawnSync('sleep', ['0.1'])
    expect(existsSync(marker)).toBe(true)
  })
})

describe('fd_previous_tag: fresh-deploy/previous:PROJECT.SERVICE', () => {
  const tag = (project: string, service: string): string => bash(`FD_SERVICE=${JSON.stringify(service)}; fd_previous_tag ${JSON.stringify(project)}; printf '%s\\n%s' "$FD_PREV_TAG" "$FD_PREV_FILE"`, { HOME: '/home/deploy', XDG_STATE_HOME: '' }).stdout
  test('keyed by project and service, never the image name', () => {
    expect(tag('shop', 'backend')).toBe('fresh-deploy/previous:shop.backend\n/home/deploy/.local/state/fresh-deploy/previous/shop.backend')
    expect(tag('shop-a_1', 'Web.v2')).toMatch(/^fresh-deploy\/previous:shop-a_1\.Web\.v2\n/)
  })
  test('made a valid tag: no other characters, no leading "-" or ".", at most 128 characters', () => {
    expect(tag('-odd', 'we b')).toMatch(/^fresh-deploy\/previous:_-odd\.we_b\n/)
    const long = tag('p'.repeat(100), 's'.repeat(100)).split('\n')[0].split(':')[1]
    expect(long).toHaveLength(128)
    expect(long).toMatch(/^p{100}\.s{10}-[0-9a-f]{16}$/)
    expect(tag('p'.repeat(100), 's'.repeat(101))).not.toBe(tag('p'.repeat(100), 's'.repeat(100)))
  })
})
