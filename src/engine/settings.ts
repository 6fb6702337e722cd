// Typed settings: every input of action.yml, parsed and checked once (see input-helper.ts).

export type ComposeCommand = 'auto' | 'docker compose' | 'docker-compose'
export type SyncMode = 'none' | 'git'
export type VerifyFrom = 'host' | 'runner' | 'container'
/** recreate: compose replaces the container; start-first: the new one is proven next to the old (strategy.ts). */
export type Strategy = 'recreate' | 'start-first'

export interface SshSettings {
  host: string
  port: number
  username: string
  key: string
  knownHosts: string
  hostFingerprint: string
  strict: boolean
  proxyJump: string
  connectTimeout: number
  /**
   * The command line: OpenSSH's own configuration applies (~/.ssh/config, the agent, default
   * keys, the user's known_hosts); only what must hold is passed as -o options.
   */
  terminal?: TerminalSsh
}

export interface TerminalSsh {
  /** --ssh-key-file: passed to ssh as -i (read by ssh, never copied); empty: ssh's own keys. */
  keyFile: string
  /** Whether port was given: without it, ~/.ssh/config's Port (or 22) applies. */
  portSet: boolean
}

/** One entry of the host input: the text as given (log groups, the hosts output) and its ssh settings. */
export interface HostEntry {
  label: string
  ssh: SshSettings
}

export interface Settings {
  /** undefined: the local transport (a self-hosted runner on the target). With several hosts: the first. */
  ssh?: SshSettings
  /** Every host of the host input, in the order given (undefined: the local transport). */
  hosts?: HostEntry[]
  /** With several hosts, how many are deployed at once (the first, the canary, always alone). */
  parallel: number
  connectTimeout: number
  projectDir: string
  composeFiles: string[]
  composeProjectName: string
  composeCommand: ComposeCommand
  service: string
  sync: SyncMode
  syncDiscardChanges: boolean
  ref: string
  purge: boolean
  /** '' turns the source and bytecode probes off. */
  sourceDir: string
  containerSourceDir: string
  /** source-include globs (default "**" + "/*.py"): the files the source probe compares. */
  sourceInclude: string[]
  sourceExclude: string[]
  buildNoCache: boolean
  buildPull: boolean
  renewAnonVolumes: boolean
  stopTimeout?: number
  healthTimeout: number
  verify: boolean
  verifyUrl: string
  verifyFrom: VerifyFrom
  verifyExpect: string
  verifyTimeout: number
  verifyInterval: number
  staleRetries: number
  strategy: Strategy
  /** Shell command run in a one-off container of the new image before the switch ('' none). */
  preDeploy: string
  /** Shell command run in the new container after the probes passed: the smoke probe ('' none). */
  postDeploy: string
  hookTimeout: number
  rollback: boolean
  lockTimeout: number
  dryRun: boolean
  githubToken: string
  environment: string
  environmentUrl: string
}
