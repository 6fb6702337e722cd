export const IT_DIR = process.env.FRESH_DEPLOY_IT_DIR ?? '/tmp/fresh-deploy-it'
/** Per test worker: where this file's sshd facts are kept. */
export const SSHD_FILE = (): string => `${IT_DIR}/sshd-${process.pid}.json`

/** The base image of the example app: python:3.12-slim on GitHub's runners, a local one here. */
export function baseImage(): string {
  return process.env.FRESH_DEPLOY_BASE_IMAGE ?? 'fresh-deploy/python-base:bookworm'
}

/** The reverse proxy of the start-first tests: nginx:stable on GitHub's runners, a local Debian one here (.ci/setup.sh). */
export function nginxImage(): string {
  return process.env.FRESH_DEPLOY_NGINX_IMAGE ?? 'fresh-deploy/nginx:bookworm'
}
