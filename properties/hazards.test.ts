/**
 * The seed's hazards, shown (C10, C14). Each demo removes one protection, and the harness must
 * find — and shrink — a run where a new incarnation of a 4-tuple accepts a segment of an old
 * one; with the protection in place, the same search finds none.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runSpecArb, type RunShape } from '../src/scenario/arbitraries.js';
import { executeRun } from '../src/scenario/execute.js';
import { describeRunSpec, type RunSpec } from '../src/scenario/spec.js';
import { scaledRuns } from '../src/suites.js';

const NO_STALE = new Set(['no-stale-segment']);
const MS = 1_000;

function search(shape: RunShape, numRuns: number, seed: number) {
  return fc.check(
    fc.property(runSpecArb(shape), (spec) => !executeRun(spec, { monitors: NO_STALE }).failed),
    { numRuns, seed },
  );
}

function staleMessage(spec: RunSpec): string {
  const outcome = executeRun(spec, { monitors: NO_STALE });
  return outcome.failed ? outcome.violations[0]!.message : '';
}

describe('C14: SO_LINGER{on,0} skips TIME-WAIT, and old duplicates reach the next incarnation', () => {
  const hazard: RunShape = {
    closeOrders: ['abort-reconnect'],
    faults: true,
    oldDuplicates: true,
    maxIncarnations: 3,
    maxGapUs: 10 * MS,
    maxConnections: 2,
    isn: ['rfc6528'],
    // Timestamps off: with them, PAWS (RFC 7323 §5) drops the old incarnation's segments too.
    timestamps: 0,
  };

  it('C14: with an abort and the same 4-tuple reused at once, a stale segment is accepted (found and shrunk)', () => {
    // Act
    const details = search(hazard, 500, 14);
    // Assert: found, shrunk small, and it is the stale-segment promise that broke. Each
    // connection draws its link fates from its own stream: where the shrinker leaves two, one
    // alone still fails.
    expect(details.failed).toBe(true);
    const spec = details.counterexample![0] as RunSpec;
    expect(spec.connections.length).toBeLessThanOrEqual(2);
    expect(spec.connections.some((c) => staleMessage({ ...spec, connections: [c] }) !== '')).toBe(true);
    expect(spec.connections[0]!.incarnations).toBeGreaterThanOrEqual(2);
    expect(staleMessage(spec)).toMatch(/^incarnation \d+ accepted segment #\d+ .* sent by incarnation \d+/);
    console.info(`C14 counterexample (seed ${details.seed}, path ${details.counterexamplePath}):\n${describeRunSpec(spec)}\n${staleMessage(spec)}`);
  });

  it('C10/C14: with timestamps on (Linux tcp_timestamps = 1), PAWS drops the old duplicates: the same search finds none', () => {
    // Act: the same aborts and reconnects; the 4-tuple's TSvals keep rising across incarnations.
    const details = search({ ...hazard, timestamps: 1 }, scaledRuns(500), 14);
    // Assert
    expect(details.failed).toBe(false);
  });

  it('C10: with a graceful close and TIME-WAIT honoured, the same search finds no stale segment', () => {
    // Act: same links, same reuse of the 4-tuple, but the connection closes with FIN and TIME-WAIT.
    const details = search({ ...hazard, closeOrders: ['client-first', 'server-first'], rfc1337: true }, scaledRuns(500), 14);
    // Assert
    expect(details.failed).toBe(false);
  });
});

describe('C10: segments that outlive MSL defeat TIME-WAIT', () => {
  // A naive stack that starts every incarnation at the same ISN, so TIME-WAIT is all that keeps
  // incarnations apart; old duplicates may be held up to 3 s while 2·MSL is 1 s. The client
  // closes first, so the side that reopens the 4-tuple is the one holding TIME-WAIT. (When the
  // server holds it, the client may reconnect at once, and with a repeated ISN its SYN-SENT
  // takes an old SYN,ACK: that is the ISN clock's job, RFC 9293 §3.4.1, not TIME-WAIT's.)
  const naive: RunShape = {
    closeOrders: ['client-first'],
    faults: true,
    oldDuplicates: true,
    oldDuplicateDelayUsMax: 3_000 * MS,
    maxIncarnations: 3,
    maxGapUs: 500 * MS,
    maxConnections: 2,
    isn: ['fixed'],
    mslUs: [500 * MS],
    rfc1337: true,
    // Timestamps off: with them, PAWS drops most old duplicates whatever MSL says.
    timestamps: 0,
  };

  it('C10: when segments may outlive MSL, an old duplicate is accepted by a later incarnation (found and shrunk)', () => {
    // Act
    const details = search({ ...naive, enforceMsl: false }, 500, 10);
    // Assert
    expect(details.failed).toBe(true);
    const spec = details.counterexample![0] as RunSpec;
    expect(spec.enforceMsl).toBe(false);
    // Per-connection link fates: where the shrinker leaves two connections, one alone still fails.
    expect(spec.connections.length).toBeLessThanOrEqual(2);
    expect(spec.connections.some((c) => staleMessage({ ...spec, connections: [c] }) !== '')).toBe(true);
    expect(staleMessage(spec)).toMatch(/sent by incarnation \d+/);
    console.info(`C10 counterexample (seed ${details.seed}, path ${details.counterexamplePath}):\n${describeRunSpec(spec)}\n${staleMessage(spec)}`);
  });

  it('C10: with timestamps on and RFC 6528 ISNs, PAWS drops the old duplicates even when they outlive MSL: the same search finds none', () => {
    // Act: PAWS alone is not enough with repeated ISNs: Linux accepts a RST that fails PAWS
    // (tcp_validate_incoming), and an old RST whose sequence number repeats resets the new
    // incarnation — the harness found that.
    const details = search({ ...naive, enforceMsl: false, isn: ['rfc6528'], timestamps: 1 }, scaledRuns(500), 10);
    // Assert
    expect(details.failed).toBe(false);
  });

  it('C10: when the network kills segments after MSL and ISNs follow RFC 6528\'s clock, the same search finds none', () => {
    // Act: segments die within MSL. The ISN clock is needed as well as TIME-WAIT: with a fixed
    // ISN an old duplicate SYN can leave a half-open child on the listener (its SYN,ACK is
    // retransmitted for 31 s, far beyond 2·MSL), and a reconnect with the same ISN joins it —
    // the harness found that too.
    const details = search({ ...naive, enforceMsl: true, isn: ['rfc6528'] }, scaledRuns(500), 10);
    // Assert
    expect(details.failed).toBe(false);
  });
});
