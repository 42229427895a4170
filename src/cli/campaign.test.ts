/**
 * Campaigns on a pool started beforehand (`createCampaignPool`, issue #13): the same rows as in
 * this thread, in the same order, and the pool stays up for the next campaign. Worker threads
 * need the compiled worker, so this runs the compiled campaign module from dist/.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const COMPILED = new URL('../../dist/cli/campaign.js', import.meta.url);
const SUITES = new URL('../../dist/suites.js', import.meta.url);
const built = existsSync(fileURLToPath(COMPILED));
if (!built) console.log('src/cli/campaign.test.ts: skipped, dist/ is not built (npx tsc -p tsconfig.build.json)');

describe('a campaign on a pool of worker threads started beforehand', () => {
  it.skipIf(!built)('gives the rows of an in-thread campaign, in order, and leaves the pool up for the next one', async () => {
    // Arrange
    const campaign = (await import(COMPILED.href)) as typeof import('./campaign.js');
    const { suiteByName } = (await import(SUITES.href)) as typeof import('../suites.js');
    const plan = (seed: number) => campaign.planCampaign({ suites: [suiteByName('close-shape')!], runs: 120, seed, endpoint: 'reference', timing: false });
    const pool = campaign.createCampaignPool(2)!;
    try {
      // Act: two campaigns on the one pool, and the first again in this thread.
      const first = await campaign.runCampaign(plan(21), { pool });
      const second = await campaign.runCampaign(plan(22), { pool });
      const inThread = await campaign.runCampaign(plan(21), { workers: 1 });
      // Assert
      expect([first.workers, second.workers, second.rows.length]).toEqual([2, 2, 120]);
      expect(JSON.stringify(first.rows)).toBe(JSON.stringify(inThread.rows));
    } finally {
      await pool.destroy();
    }
  });
});
