// One Jest project per kind of test; unit vs integration chosen by file name (STYLE.md §8).
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022' } }];
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.tsx?$': swc },
  moduleNameMapper: { '^@celeriac/([a-z-]+)$': '<rootDir>/packages/$1/src', '^@celeriac/beat-db/(express|nestjs)$': '<rootDir>/packages/beat-db/src/$1' },
  setupFiles: ['<rootDir>/jest.setup.js'],
};
module.exports = {
  // Jest reads testTimeout globally, not per project; unit tests finish far below it.
  testTimeout: 30000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/packages/*/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/packages/*/test/integration/**/*.int.test.ts', '<rootDir>/sample-app/test/**/*.int.test.ts'], testTimeout: 30000 },
    { ...common, displayName: 'interop', testMatch: ['<rootDir>/packages/*/test/interop/**/*.int.test.ts'], testTimeout: 60000 },
  ],
};
