// ESM jest: run with NODE_OPTIONS=--experimental-vm-modules (npm test does).
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node'
}
export default {
  // Integration tests deploy real containers: minutes, not milliseconds.
  testTimeout: 600000,
  // Two test files at a time: an integration file spends most of its time waiting for builds,
  // health checks and timeouts, not on the CPU (the whole suite: ~40 min with one, on 2 cores).
  maxWorkers: Number(process.env.FRESH_DEPLOY_TEST_WORKERS || 2),
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/__tests__/integration/**/*.test.ts'] }
  ]
}
