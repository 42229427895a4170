/**
 * Coverage of RFC 9293's state diagram: a sample of every suite's runs must take every edge of
 * Figure 5 that a program making blocking socket calls can reach.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EdgeCoverage } from '../src/check/coverage.js';
import { executeRun } from '../src/scenario/execute.js';
import { SUITES, suiteArbitrary } from '../src/suites.js';

/**
 * Not reachable through the BSD socket API with blocking calls: there is no send() on a
 * listening socket (LISTEN -> SYN-SENT), and a program blocked in connect() cannot close()
 * during a simultaneous open (SYN-RECEIVED -> FIN-WAIT-1).
 */
const UNREACHABLE = ['LISTEN=>SYN-SENT', 'SYN-RECEIVED=>FIN-WAIT-1'];

describe('state-diagram coverage', () => {
  it('every Figure 5 edge reachable by socket programs is taken by a sample of the campaign', () => {
    // Arrange
    const coverage = new EdgeCoverage();
    // Act: 300 runs of each suite.
    for (const suite of SUITES) {
      for (const spec of fc.sample(suiteArbitrary(suite), { numRuns: 300, seed: 9293 })) coverage.merge(executeRun(spec).coverage);
    }
    // Assert
    expect(coverage.missingDiagramEdges()).toEqual(UNREACHABLE);
    expect(coverage.counts.get('SYN-SENT=>SYN-RECEIVED')).toBeGreaterThan(0);
    expect(coverage.counts.get('FIN-WAIT-1=>CLOSING')).toBeGreaterThan(0);
  });
});
