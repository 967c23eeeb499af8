/**
 * `npm run test:faults`: tests that kill the host or stop storage and wait for recovery, each for
 * minutes. They run the built host (dist/local/start.js) as a child process, so the build comes first.
 * @type {import('jest').Config}
 */
module.exports = {
  // The same transform and environment as the suite; a config file is CommonJS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ...require('./jest.config.js'),
  roots: ['<rootDir>/test/faults'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 600_000,
};
