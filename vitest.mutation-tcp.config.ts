import { defineConfig } from 'vitest/config';

// A fast StrykerJS pass over the TCP endpoints (stryker.tcp-unit.config.json): the unit tests next
// to src/tcp, the conformance tests (exact segment sequences), the world and packetdrill tests (the
// scripts run against the reference and the zoo) and the monitors' handcrafted traces. About 8 s in
// all on one core; Stryker runs per mutant only the tests that cover it. No property campaigns.
export default defineConfig({
  test: {
    include: [
      'src/tcp/**/*.test.ts',
      'src/conformance/**/*.test.ts',
      'src/world/**/*.test.ts',
      'src/packetdrill/**/*.test.ts',
      'src/check/*.test.ts',
    ],
    testTimeout: 60_000,
    // One module graph for all files: Stryker runs them on one thread, and a survivor that
    // reruns every file costs about 10 s, not 20 (the tests keep no state between files).
    isolate: false,
  },
});
