/**
 * The mutant zoo proves the checks can fail: for every monitor, a deliberately broken
 * endpoint, and a search that must find a counterexample for it within a stated number of
 * runs, shrunk to one small connection that the reference endpoint passes.
 */
import { describe, expect, it } from 'vitest';
import { describeMonitors } from '../src/check/index.js';
import { MUTANTS } from '../src/check/mutants.js';
import { executeRun } from '../src/scenario/execute.js';
import type { RunSpec } from '../src/scenario/spec.js';
import { RUN_LIMIT, zooSearch } from './zoo-search.js';

describe('mutant zoo', () => {
  it('has a mutant for every monitor', () => {
    // Arrange
    const monitors = describeMonitors().map((m) => m.name);
    // Act
    const caught = new Set(MUTANTS.map((m) => m.caughtBy));
    // Assert
    expect(monitors.filter((name) => !caught.has(name))).toEqual([]);
  });

  for (const mutant of MUTANTS) {
    it(`${mutant.caughtBy} catches "${mutant.endpoint.name}" (${mutant.endpoint.description}) within ${RUN_LIMIT} runs`, () => {
      // Arrange: runs of the kind that can expose the mutant; only its monitor judges them.
      const only = new Set([mutant.caughtBy]);
      // Act
      const details = zooSearch(mutant, mutant.caughtBy);
      // Assert: found, shrunk small, and only the mutant is at fault. Each connection draws its
      // link fates from its own stream, so a second connection the shrinker left behind can be
      // dropped by hand and the first still fails alone: one connection is always enough.
      expect(details.failed).toBe(true);
      expect(details.numRuns).toBeLessThanOrEqual(RUN_LIMIT);
      let spec = details.counterexample![0] as RunSpec;
      expect(spec.connections.length).toBeLessThanOrEqual(mutant.faults ? 2 : 1);
      if (spec.connections.length > 1) {
        const alone = spec.connections.map((c) => ({ ...spec, connections: [c] })).find((one) => executeRun(one, { endpoint: mutant.endpoint, monitors: only }).failed);
        expect(alone).toBeDefined();
        spec = alone!;
      }
      const outcome = executeRun(spec, { endpoint: mutant.endpoint });
      expect(outcome.failed && outcome.violations.map((v) => v.monitor)).toContain(mutant.caughtBy);
      expect(executeRun(spec).failed).toBe(false);
    });
  }

  // Other monitors that promise to catch a mutant too (the two-sided zoo's per-monitor lists):
  // weakening one of them in a way that lets the mutant by fails this test.
  for (const mutant of MUTANTS) {
    for (const monitor of mutant.alsoCaughtBy ?? []) {
      it(`${monitor} catches "${mutant.endpoint.name}" too, within ${RUN_LIMIT} runs`, () => {
        // Arrange + Act
        const details = zooSearch(mutant, monitor);
        // Assert
        expect(details.failed).toBe(true);
      });
    }
  }
});
