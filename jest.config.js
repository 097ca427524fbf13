/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  testTimeout: 120000,
  globalSetup: '<rootDir>/test/global-setup.js',
  // The addon's libtorch threads and ~150 MB RSS per worker: two test files at once on two cores is the most that helps.
  maxWorkers: 2,
};
