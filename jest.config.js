// The AWS SDK warns once per module registry (every test file, in every worker) that its releases after January 2027
// need Node 22: 23 copies of one notice in a run of the suite on Node 20. The SDK's own switch turns off that notice
// and nothing else (@aws-sdk/core: emitWarningIfUnsupportedVersion); the action itself runs on Node 24. Set here, so
// the workers inherit it; a value already set by whoever runs the tests wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  // The fast files first, the moto ones next, those that run dist/ last.
  testSequencer: '<rootDir>/test/support/suite-order.mjs',
};
