/**
 * The monitors against the reference endpoint on a fixed sample of every suite: none may
 * report a violation (no false alarms), while each has already been shown, by the mutant zoo,
 * to catch its broken endpoint. A monitor mutated to be stricter than TCP's promise fails here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { executeRun } from '../scenario/execute.js';
import { SUITES, suiteArbitrary } from '../suites.js';

describe('monitors raise no false alarm on the reference endpoint', () => {
  for (const suite of SUITES) {
    it(`${suite.claims.join('–')}: 150 fixed runs of ${suite.name}, every monitor watching, no violation`, () => {
      // Arrange
      const specs = fc.sample(suiteArbitrary(suite), { numRuns: 150, seed: 4242 });
      // Act: every monitor, no-stale-segment included only where C10 promises it.
      const violations = specs.flatMap((spec) => {
        const outcome = executeRun(spec);
        return outcome.failed ? outcome.violations.map((v) => `${v.monitor}: ${v.message}`) : [];
      });
      // Assert
      expect(violations).toEqual([]);
    });
  }
});
