/**
 * The TIME-WAIT record (time-wait.ts) must be invisible: a run where hosts swap closed TIME-WAIT
 * connections for records gives the same trace, byte for byte, as one where they keep full
 * TCBs. Generated runs with loss, duplicates, old duplicates, retransmitted FINs, RSTs (RFC 1337
 * on and off), reused 4-tuples and aborts exercise every effect of `timeWaitEffect`. When
 * this fails after a change to Tcb.timeWaitInput, make the same change in TimeWaitConnection.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runSpecArb, type RunShape } from '../scenario/arbitraries.js';
import { buildRun } from '../scenario/build.js';
import { runPrograms } from '../world/run-script.js';
import { formatEvent, TraceRecorder } from '../world/trace.js';
import type { RunSpec } from '../scenario/spec.js';
import { Host } from './host.js';
import { TimeWaitConnection, type TimeWaitHandover } from './time-wait.js';

const SHAPES: readonly RunShape[] = [
  { closeOrders: ['client-first', 'server-first', 'simultaneous', 'half-close'], faults: true, oldDuplicates: true, maxConnections: 3, maxIncarnations: 3, rfc1337: true },
  { closeOrders: ['client-first', 'server-first', 'simultaneous', 'half-close'], faults: true, oldDuplicates: true, maxConnections: 3, maxIncarnations: 3, rfc1337: false },
  { closeOrders: ['abort-client', 'abort-server', 'unread-close', 'server-first', 'crash-server', 'abort-reconnect'], faults: true, maxConnections: 3, maxIncarnations: 2 },
];

/** The whole trace of a run, and how many TIME-WAIT records its hosts made. */
function trace(spec: RunSpec, compact: boolean): { text: string; records: number } {
  const { world, programs } = buildRun(spec);
  for (const host of world.hosts) if (host instanceof Host) host.compactTimeWaitConnections = compact;
  const recorder = new TraceRecorder();
  world.addListener(recorder);
  const { end } = runPrograms(world, programs, { maxEvents: 400_000, maxTimeUs: 24 * 3600 * 1_000_000 });
  const records = world.hosts.reduce((sum, host) => sum + host.allTcbs.filter((tcb) => tcb instanceof TimeWaitConnection).length, 0);
  return { text: `${recorder.events.map(formatEvent).join('\n')}\nend ${end.stoppedBy} ${end.events} ${end.endUs}`, records };
}

describe('TIME-WAIT records', () => {
  it.each(SHAPES.map((shape, index) => [index, shape] as const))('C8–C10: swapping closed TIME-WAIT TCBs for records changes no trace (shape %i)', (_index, shape) => {
    let records = 0;
    fc.assert(
      fc.property(runSpecArb(shape), (spec) => {
        // Arrange + Act
        const full = trace(spec, false);
        const compact = trace(spec, true);
        records += compact.records;
        // Assert
        expect(full.records).toBe(0);
        expect(compact.text).toBe(full.text);
      }),
      { numRuns: 60, seed: 1125 + shape.closeOrders.length },
    );
    // The swap did happen, or the comparison proved nothing.
    expect(records).toBeGreaterThan(0);
  });
});

describe('a TIME-WAIT record made over (Host.spareRecords)', () => {
  it('is, field by field, the record its handover would make new', () => {
    // Two handovers that differ in every field, so a field takeOver forgot keeps the first's value.
    const env = { which: 'first' } as unknown as TimeWaitHandover['env'];
    const config = { which: 'first' } as unknown as TimeWaitHandover['config'];
    const first: TimeWaitHandover = {
      id: { connId: 1, localIp: 1, localPort: 1001, remoteIp: 2, remotePort: 80 },
      config,
      env,
      options: { reuseAddr: false, lingerSec: null },
      passive: false,
      incarnation: 1,
      retransmissions: 0,
      sndNxt: 100,
      rcvNxt: 200,
      window: 1000,
      tsOk: true,
      tsRecent: 300,
      tsRecentStampUs: 4_000,
      tsOffset: 5,
      lastOutOfWindowAckUs: 6_000,
      timeWaitEnteredUs: 7_000,
    };
    const second: TimeWaitHandover = {
      id: { connId: 9, localIp: 3, localPort: 2002, remoteIp: 4, remotePort: 443 },
      config: { which: 'second' } as unknown as TimeWaitHandover['config'],
      env: { which: 'second' } as unknown as TimeWaitHandover['env'],
      options: { reuseAddr: true, lingerSec: 5 },
      passive: true,
      incarnation: 2,
      retransmissions: 3,
      sndNxt: 0xffff_fff0,
      rcvNxt: 0x8000_0001,
      window: 2000,
      tsOk: false,
      tsRecent: 0xffff_0000,
      tsRecentStampUs: 8_000,
      tsOffset: 0x9000_0000,
      lastOutOfWindowAckUs: -Infinity,
      timeWaitEnteredUs: 9_000,
    };
    const record = new TimeWaitConnection(first);
    // As a record whose TIME-WAIT ended is when the host keeps it.
    record.state = 'CLOSED';
    record.error = 'ECONNRESET';
    record.hostEntry = {};
    record.orphaned = false;
    // Act
    record.takeOver(second);
    // Assert
    expect(record).toEqual(new TimeWaitConnection(second));
    expect(Object.keys(record)).toEqual(Object.keys(new TimeWaitConnection(second)));
  });
});
