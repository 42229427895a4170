/**
 * What each monitor says of itself is what the README's monitor table says: its black-box flag
 * (✓ or no), claims that name a claim of the article (C1–C15) or an RFC section, and a
 * description a user can read in `timewait list`. The profile of the real-stack issue and the
 * coverage report rely on these fields, so a monitor that lost one is a defect.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeMonitors } from './index.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const ROW = /^\| `([a-z0-9-]+)` \| (✓|no[^|]*) \| (.+) \|$/gm;
const README_BLACK_BOX = new Map([...README.matchAll(ROW)].map((m) => [m[1]!, m[2] === '✓']));
const CLAIM = /^(C([1-9]|1[0-5])|RFC \d{3,4}( §[\d.]+)?)$/;

describe('monitor descriptions', () => {
  for (const monitor of describeMonitors()) {
    it(`${monitor.name}: black-box flag as the README's table has it, real claims, a description`, () => {
      expect(README_BLACK_BOX.get(monitor.name), `README's monitor table has no row for ${monitor.name}`).toBeDefined();
      expect(monitor.blackBox).toBe(README_BLACK_BOX.get(monitor.name));
      expect(monitor.claims.length).toBeGreaterThan(0);
      for (const claim of monitor.claims) expect(claim).toMatch(CLAIM);
      expect(monitor.description.length).toBeGreaterThan(40);
    });
  }
});
