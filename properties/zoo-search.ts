/**
 * The zoo's search for one mutant (properties/mutants.test.ts): runs of the kind that can expose
 * it, judged by one monitor only, from a fixed seed. Shared with the mutation test of the
 * monitors (properties/monitor-mutation.test.ts), which runs the same search with that monitor
 * weakened and needs it to come back empty.
 */
import fc from 'fast-check';
import type { Monitor, MonitorContext } from '../src/check/index.js';
import type { Mutant } from '../src/check/mutants.js';
import { runSpecArb } from '../src/scenario/arbitraries.js';
import { executeRun } from '../src/scenario/execute.js';
import type { RunSpec } from '../src/scenario/spec.js';

/** A mutant must be caught within this many generated runs. */
export const RUN_LIMIT = 300;
export const ZOO_SEED = 20261125;

/** Runs of the kind that can expose `mutant`. */
export function zooArbitrary(mutant: Mutant): fc.Arbitrary<RunSpec> {
  return runSpecArb({
    closeOrders: mutant.closeOrders,
    faults: mutant.faults,
    maxIncarnations: mutant.maxIncarnations ?? 1,
    oldDuplicates: mutant.oldDuplicates ?? false,
    maxConnections: 2,
    ...(mutant.isn !== undefined ? { isn: mutant.isn } : {}),
    ...(mutant.secondListener === true ? { secondListener: true } : {}),
    ...(mutant.smallBuffers === true ? { smallBuffers: true } : {}),
    ...(mutant.linuxKnobs === true ? { linuxKnobs: true } : {}),
    ...(mutant.noData === true ? { noData: true } : {}),
    // TIME-WAIT fully honoured, so a stale segment can only be the mutant's doing.
    rfc1337: true,
  });
}

/** Search for a run in which `monitor` (alone, or its stand-in `replace`) catches `mutant`. */
export function zooSearch(mutant: Mutant, monitor: string, replace?: { name: string; make(context: MonitorContext): Monitor }): fc.RunDetails<[RunSpec]> {
  const only = new Set([monitor]);
  return fc.check(
    fc.property(zooArbitrary(mutant), (spec) => !executeRun(spec, { endpoint: mutant.endpoint, monitors: only, ...(replace !== undefined ? { replaceMonitor: replace } : {}) }).failed),
    { numRuns: RUN_LIMIT, seed: ZOO_SEED, ...(replace !== undefined ? { endOnFailure: true } : {}) },
  );
}
