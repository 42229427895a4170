/**
 * The library entry (src/index.ts): what the CLI does, from a user's own vitest suite. The
 * first test is the example in docs/cli.md ("Library use").
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_RUNS,
  executeRun,
  MUTANTS,
  parseScenario,
  REFERENCE_ENDPOINT,
  replayRun,
  runScenario,
  runSuite,
  statisticsRows,
  suiteArbitrary,
  suiteByName,
  toCsv,
  RUN_COLUMNS,
  type Endpoint,
} from '../index.js';

describe('library use', () => {
  it('runs a suite against your own endpoint; a failure comes with seed, path and the shrunk scenario', async () => {
    // Arrange: "my" endpoint is the reference one with a broken TIME-WAIT (a mutant of the zoo).
    const mine: Endpoint = { ...MUTANTS.find((m) => m.endpoint.name === 'no-time-wait')!.endpoint, name: 'mine' };
    // Act
    const result = await runSuite('close', { runs: 50, seed: 1, endpoint: mine });
    // Assert
    expect(result.failures).toHaveLength(1);
    const failure = result.failures[0]!;
    expect(failure.violations[0]!.monitor).toBe('time-wait-side');
    expect(failure.spec.connections).toHaveLength(1);
    // The same { seed, path } replays it.
    const replayed = replayRun({ suite: 'close', seed: failure.seed, path: failure.path }, { endpoint: mine });
    expect(replayed.violations.map((v) => v.monitor)).toContain('time-wait-side');
  });

  it('the reference endpoint passes, and every run has its statistics row', async () => {
    // Act
    const result = await runSuite('handshake', { runs: CHUNK_RUNS + 10, seed: 2, endpoint: REFERENCE_ENDPOINT.name });
    // Assert
    expect(result.failures).toEqual([]);
    expect(result.rows).toHaveLength(CHUNK_RUNS + 10);
    expect(toCsv(RUN_COLUMNS, result.rows).split('\n')[0]).toBe(RUN_COLUMNS.map((c) => c.key).join(','));
  });

  it('your own property over a suite generator, with statistics rows of each outcome', () => {
    // Arrange
    const arb = suiteArbitrary(suiteByName('time-wait')!);
    // Act / Assert
    fc.assert(
      fc.property(arb, (spec) => {
        const outcome = executeRun(spec);
        const { run } = statisticsRows(outcome, { suite: 'mine' });
        // The active closer of every connection that closed normally held TIME-WAIT, or skipped it
        // for a full tcp_max_tw_buckets (the suite draws small ones).
        return !outcome.failed && run.time_wait_entries + run.time_wait_overflows >= run.closes_three_segment + run.closes_four_segment;
      }),
      { numRuns: 30, seed: 3 },
    );
  });

  it('runs a scenario given as an object', () => {
    // Arrange
    const scenario = parseScenario({
      hosts: [
        { name: 'server', script: [{ op: 'socket', sock: 'l' }, { op: 'bind', sock: 'l', port: 80 }, { op: 'listen', sock: 'l' }, { op: 'accept', sock: 'l', as: 'c' }, { op: 'close', sock: 'c', expect: 'ok' }] },
        { name: 'client', script: [{ op: 'socket', sock: 's' }, { op: 'connect', sock: 's', host: 'server', port: 80, expect: 'ok' }, { op: 'recv-until-eof', sock: 's', expect: 'eof' }, { op: 'close', sock: 's' }] },
      ],
      expect: { timeWaitHosts: ['server'] },
    });
    // Act
    const result = runScenario(scenario);
    // Assert
    expect(result.passed).toBe(true);
    expect(result.mismatches).toEqual([]);
  });
});
