/**
 * Every suite against the reference endpoint: no monitor may be violated. A failure prints
 * the broken invariant, the shrunk scenario and the trace; fast-check adds `{ seed, path }`.
 * TIMEWAIT_RUNS_SCALE multiplies the run counts for long campaigns.
 */
import { fc, test } from '@fast-check/vitest';
import { describe } from 'vitest';
import { checkRun, scaledRuns, suiteArbitrary, SUITES } from '../src/suites.js';

for (const suite of SUITES) {
  describe(`${suite.name} (${suite.claims.join(', ')})`, () => {
    test.prop([suiteArbitrary(suite)], { numRuns: scaledRuns(suite.defaultRuns) })(`${suite.claims.join('–')}: ${suite.description}`, (spec) => {
      checkRun(spec);
    });
  });
}

void fc;
