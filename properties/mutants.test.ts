/**
 * The mutant zoo proves the checks can fail: for every monitor, a deliberately broken
 * endpoint, and a search that must find a counterexample for it within a stated number of
 * runs, shrunk to one small connection that the reference endpoint passes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeMonitors } from '../src/check/index.js';
import { MUTANTS } from '../src/check/mutants.js';
import { runSpecArb } from '../src/scenario/arbitraries.js';
import { executeRun } from '../src/scenario/execute.js';
import type { RunSpec } from '../src/scenario/spec.js';

/** A mutant must be caught within this many generated runs. */
const RUN_LIMIT = 300;

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
      const arb = runSpecArb({
        closeOrders: mutant.closeOrders,
        faults: mutant.faults,
        maxIncarnations: mutant.maxIncarnations ?? 1,
        oldDuplicates: mutant.oldDuplicates ?? false,
        maxConnections: 2,
        ...(mutant.isn !== undefined ? { isn: mutant.isn } : {}),
        ...(mutant.secondListener === true ? { secondListener: true } : {}),
        ...(mutant.noData === true ? { noData: true } : {}),
        // TIME-WAIT fully honoured, so a stale segment can only be the mutant's doing.
        rfc1337: true,
      });
      const only = new Set([mutant.caughtBy]);
      // Act
      const details = fc.check(
        fc.property(arb, (spec) => !executeRun(spec, { endpoint: mutant.endpoint, monitors: only }).failed),
        { numRuns: RUN_LIMIT, seed: 20261125 },
      );
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
});
