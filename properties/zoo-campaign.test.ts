/**
 * Done when (issue 14): the default campaign — what `npm start` runs, every suite at
 * TIMEWAIT_RUNS_SCALE=10 — catches every mutant of the zoo. Each is run against the campaign's
 * own chunks and seeds (campaign seed 1) until its first failing run, and must be caught well
 * before the campaign's 45,000 runs are spent. The per-monitor table (which mutants each
 * monitor promises to catch, and the campaign runs each took) is printed at the end, and kept in
 * docs/mutation.md.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MUTANTS } from '../src/check/mutants.js';
import { zooCampaign, type ZooCatch } from './zoo-campaign.js';

/** Every mutant must fall within this many campaign runs (all suites, round-robin by chunk). */
const CAMPAIGN_RUN_LIMIT = 2_000;

describe('the default campaign catches the whole zoo', () => {
  const found = new Map<string, ZooCatch>();

  for (const mutant of MUTANTS) {
    it(`campaign seed 1 catches "${mutant.endpoint.name}" within ${CAMPAIGN_RUN_LIMIT} runs`, () => {
      // Arrange + Act
      const caught = zooCampaign(mutant, { seed: 1, runsScale: 10 });
      found.set(mutant.endpoint.name, caught);
      // Assert: caught, and soon.
      expect(caught.caught).toBe(true);
      expect(caught.runs).toBeLessThanOrEqual(CAMPAIGN_RUN_LIMIT);
    });
  }

  afterAll(() => {
    // The per-monitor table: each monitor's mutants, the campaign runs to the first failure, and the suite that failed.
    const rows = ['| Monitor | Mutant | Campaign runs | Suite | Monitors that fired |', '|---|---|---|---|---|'];
    const monitors = [...new Set(MUTANTS.flatMap((m) => [m.caughtBy, ...(m.alsoCaughtBy ?? [])]))].sort();
    for (const monitor of monitors) {
      for (const mutant of MUTANTS.filter((m) => m.caughtBy === monitor || m.alsoCaughtBy?.includes(monitor) === true)) {
        const result = found.get(mutant.endpoint.name);
        if (result === undefined) continue;
        rows.push(result.caught ? `| ${monitor} | ${mutant.endpoint.name} | ${result.runs} | ${result.suite} | ${result.monitors.join(', ')} |` : `| ${monitor} | ${mutant.endpoint.name} | not caught in ${result.runs} | | |`);
      }
    }
    console.log(rows.join('\n'));
  });
});
