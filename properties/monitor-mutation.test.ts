/**
 * The mutation test of the monitors (issue 14 item 4): each monitor is weakened in turn
 * (properties/monitor-weakenings.ts), and the test that must then fail is run with the weakened
 * monitor in its place. A weakening that no test notices is a promise nobody checks.
 *
 * Budget: one zoo search (at most RUN_LIMIT runs, no shrinking) or one suite sample per
 * weakening, a few seconds in all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeMonitors } from '../src/check/index.js';
import { MUTANTS } from '../src/check/mutants.js';
import { executeRun } from '../src/scenario/execute.js';
import { suiteArbitrary, suiteByName } from '../src/suites.js';
import { WEAKENINGS } from './monitor-weakenings.js';
import { RUN_LIMIT, ZOO_SEED, zooSearch } from './zoo-search.js';

describe('the monitors, each weakened in turn, fail some test', () => {
  it('every monitor is weakened at least once', () => {
    // Arrange
    const weakened = new Set(WEAKENINGS.map((w) => w.monitor));
    // Act
    const missing = describeMonitors().map((m) => m.name).filter((name) => !weakened.has(name));
    // Assert
    expect(missing).toEqual([]);
  });

  for (const weakening of WEAKENINGS) {
    const killedBy = weakening.killedBy;
    if ('escapes' in killedBy) {
      it(`${weakening.monitor} with "${weakening.weakness}" lets "${killedBy.escapes}" through its zoo search`, () => {
        // Arrange: the mutant is one the monitor promises to catch (its zoo test exists).
        const mutant = MUTANTS.find((m) => m.endpoint.name === killedBy.escapes);
        expect(mutant).toBeDefined();
        expect([mutant!.caughtBy, ...(mutant!.alsoCaughtBy ?? [])]).toContain(weakening.monitor);
        // Act
        const details = zooSearch(mutant!, weakening.monitor, { name: weakening.monitor, make: weakening.make });
        // Assert: the search that finds it with the real monitor finds nothing now.
        expect(details.failed).toBe(false);
        expect(details.numRuns).toBe(RUN_LIMIT);
      });
    } else {
      it(`${weakening.monitor} with "${weakening.weakness}" fails the reference in the ${killedBy.falseAlarm} suite`, () => {
        // Arrange
        const suite = suiteByName(killedBy.falseAlarm);
        expect(suite).toBeDefined();
        const only = new Set([weakening.monitor]);
        // Act
        const specs = fc.sample(suiteArbitrary(suite!), { seed: ZOO_SEED, numRuns: RUN_LIMIT });
        const alarm = specs.findIndex((spec) => executeRun(spec, { monitors: only, replaceMonitor: { name: weakening.monitor, make: weakening.make } }).failed);
        // Assert: a false alarm, and the real monitor passes that same run.
        expect(alarm).toBeGreaterThanOrEqual(0);
        expect(executeRun(specs[alarm]!, { monitors: only }).failed).toBe(false);
      });
    }
  }
});
