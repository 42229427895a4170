import { defineConfig } from 'vitest/config';

// StrykerJS runs this subset (npm run mutation): the tests that judge src/tcp and src/check
// directly — conformance, unit tests and the mutant zoo — without the long property campaigns.
export default defineConfig({
  test: {
    include: ['src/conformance/**/*.test.ts', 'src/tcp/**/*.test.ts', 'src/check/**/*.test.ts', 'properties/mutants.test.ts', 'properties/socket-api.test.ts'],
    testTimeout: 300_000,
  },
});
