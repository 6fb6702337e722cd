// The main step (also the entry point for @github/local-action, which calls run()).
export { run } from './pipeline.js'
