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
  // The monitors are made inside the test, so that a mutation tool counts the test as covering them.
  it("each monitor: black-box flag as the README's table has it, real claims, a description", () => {
    const monitors = describeMonitors();
    expect(monitors.length).toBe(README_BLACK_BOX.size);
    for (const monitor of monitors) {
      expect(README_BLACK_BOX.get(monitor.name), `README's monitor table has no row for ${monitor.name}`).toBeDefined();
      expect(monitor.blackBox, `${monitor.name}: black-box`).toBe(README_BLACK_BOX.get(monitor.name));
      expect(monitor.claims.length, `${monitor.name}: claims`).toBeGreaterThan(0);
      for (const claim of monitor.claims) expect(claim, `${monitor.name}: claim`).toMatch(CLAIM);
      expect(monitor.description.length, `${monitor.name}: description`).toBeGreaterThan(40);
    }
  });
});
