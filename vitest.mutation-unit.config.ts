import { defineConfig } from 'vitest/config';

// A fast StrykerJS pass over the monitors (stryker.check-unit.config.json): only the handcrafted
// trace tests and conformance-trace tests of src/check, so each of a file's mutants costs a second rather than a zoo run.
export default defineConfig({
  test: {
    include: ['src/check/*.test.ts'],
    testTimeout: 60_000,
    // One module graph for all files, as in vitest.mutation-tcp.config.ts: a mutant's run does not
    // import every module afresh (the trace tests keep no state between files that a test reads).
    isolate: false,
  },
});
