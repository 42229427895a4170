/**
 * Done when (issue 14): the default campaign — what `npm start` runs, every suite at
 * TIMEWAIT_RUNS_SCALE=10 — catches every mutant of the zoo. Each is run against the campaign's
 * own chunks and seeds (campaign seed 1) until its first failing run, and must be caught well
 * before the campaign's 45,000 runs are spent. The table of who caught what, after how many
 * runs, is the README's mutant-zoo paragraph.
 */
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../src/check/mutants.js';
import { zooCampaign } from './zoo-campaign.js';

/** Every mutant must fall within this many campaign runs (all suites, round-robin by chunk). */
const CAMPAIGN_RUN_LIMIT = 2_000;

describe('the default campaign catches the whole zoo', () => {
  for (const mutant of MUTANTS) {
    it(`campaign seed 1 catches "${mutant.endpoint.name}" within ${CAMPAIGN_RUN_LIMIT} runs`, () => {
      // Arrange + Act
      const found = zooCampaign(mutant, { seed: 1, runsScale: 10 });
      // Assert: caught, soon, and its intended monitor among those that saw it or another that did.
      expect(found.caught).toBe(true);
      expect(found.runs).toBeLessThanOrEqual(CAMPAIGN_RUN_LIMIT);
    });
  }
});
