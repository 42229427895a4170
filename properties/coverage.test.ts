/**
 * Coverage of RFC 9293's state diagram and of the timers: a sample of every suite's runs must
 * take every edge of Figure 5 that a program making blocking socket calls can reach, and fire
 * every kind of timer the endpoints arm. A timer that never fires is a rule no run tests.
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

/**
 * The states a server's connections pass through in the suites' scripts: a crash must find one in
 * each. (SYN-SENT is a client's: only servers crash.)
 */
const CRASH_STATES = ['SYN-RECEIVED', 'ESTABLISHED', 'CLOSE-WAIT', 'LAST-ACK', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'TIME-WAIT'] as const;

describe('state-diagram and timer coverage', () => {
  // Arrange: 300 runs of each suite, as the default campaign draws them.
  const coverage = new EdgeCoverage();
  for (const suite of SUITES) {
    for (const spec of fc.sample(suiteArbitrary(suite), { numRuns: 300, seed: 9293 })) coverage.merge(executeRun(spec).coverage);
  }

  it('every Figure 5 edge reachable by socket programs is taken by a sample of the campaign', () => {
    // Act + Assert
    expect(coverage.missingDiagramEdges()).toEqual(UNREACHABLE);
    expect(coverage.counts.get('SYN-SENT=>SYN-RECEIVED')).toBeGreaterThan(0);
    expect(coverage.counts.get('FIN-WAIT-1=>CLOSING')).toBeGreaterThan(0);
  });

  it('every timer kind fires in a sample of the campaign (retransmit, delayed ACK, persist, TIME-WAIT, orphaned FIN-WAIT-2, tail-loss probe)', () => {
    // Act + Assert: a kind missing here is armed and never fires, like the FIN-WAIT-2 timer before silent peers.
    expect(coverage.missingTimers()).toEqual([]);
    expect(coverage.counts.get('FIN-WAIT-2=>CLOSED')).toBeGreaterThan(0);
  });

  it('a host crash finds a connection in every state a server passes through (the mid-life crash generator)', () => {
    // Arrange: a larger sample of the suites that crash servers mid-life (CLOSING and LAST-ACK last one round trip).
    const crashes = new EdgeCoverage();
    for (const suite of SUITES.filter((s) => s.shape.midLifeCrash === true)) {
      for (const spec of fc.sample(suiteArbitrary(suite), { numRuns: 1_000, seed: 9293 })) crashes.merge(executeRun(spec).coverage);
    }
    // Act: how many connections each crash found, by state (`crash:<state>` in the report).
    const crashed = CRASH_STATES.filter((state) => crashes.crashesIn(state) === 0);
    // Assert: none missing; a crash that only ever hits ESTABLISHED tests one case of many.
    expect(crashed).toEqual([]);
  });
});
