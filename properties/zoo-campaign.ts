/**
 * The mutant zoo against the default campaign (`npm start`: every suite at TIMEWAIT_RUNS_SCALE=10,
 * chunked and seeded as `timewait run --seed S` plans it). The campaign's chunks are taken
 * round-robin across the suites (as its workers would run them side by side) until the first run
 * that fails; that run's monitors caught the mutant. No shrinking: this measures how soon the
 * campaign sees the bug, not how small it gets.
 */
import fc from 'fast-check';
import { planCampaign } from '../src/cli/campaign.js';
import type { Mutant } from '../src/check/mutants.js';
import { executeRun } from '../src/scenario/execute.js';
import { SUITES, suiteArbitrary, suiteByName } from '../src/suites.js';

export type ZooCatch =
  | {
      readonly caught: true;
      readonly suite: string;
      /** Campaign runs, all suites together, up to and including the failing one. */
      readonly runs: number;
      /** Of those, the runs of the suite that failed. */
      readonly suiteRuns: number;
      readonly monitors: readonly string[];
    }
  | { readonly caught: false; readonly runs: number };

export function zooCampaign(mutant: Mutant, options: { seed: number; runsScale: number }): ZooCatch {
  const plan = planCampaign({ suites: SUITES, runsScale: options.runsScale, seed: options.seed, endpoint: mutant.endpoint.name });
  const longest = Math.max(...plan.suites.map((s) => s.chunks.length));
  let runs = 0;
  for (let k = 0; k < longest; k++) {
    for (const { suite, chunks } of plan.suites) {
      const chunk = chunks[k];
      if (chunk === undefined) continue;
      let suiteRuns = k * chunks[0]!.numRuns;
      for (const spec of fc.sample(suiteArbitrary(suiteByName(chunk.suite)!), { seed: chunk.seed, numRuns: chunk.numRuns })) {
        runs++;
        suiteRuns++;
        const outcome = executeRun(spec, { endpoint: mutant.endpoint });
        if (outcome.failed) return { caught: true, suite: suite.name, runs, suiteRuns, monitors: [...new Set(outcome.violations.map((v) => v.monitor))] };
      }
    }
  }
  return { caught: false, runs };
}
