import { describe, expect, it } from 'vitest';
import type { Segment } from '../tcp/segment.js';
import { LifecycleWorkload } from './lifecycle-workload.js';

/**
 * Host.spareRecords and spareTcbs, World.spareSegments: untraced runs make finished TIME-WAIT
 * records, TCBs and segments over for later connections.
 * Nothing may change but memory (C8, C9: every TIME-WAIT still lasts 2·MSL, restarts and all),
 * so the same run with and without reuse must send the same segments at the same times. The
 * run is untraced (tracing turns reuse off), so the wire is read by wrapping `sendSegment`.
 */
function run(reuse: boolean, lossRate: number): { digest: number; segments: number; endUs: number; events: number; reused: number; reusedTcbs: number; reusedSegments: number; tally: string } {
  const workload = new LifecycleWorkload({
    seed: 5,
    connections: 3_000,
    intervalUs: 1_000,
    requestBytes: 1_000,
    lossRate,
    clientHosts: 2,
    // 2·MSL = 200 ms: records end, and are made over, while connections still start.
    stack: { mslUs: 100_000 },
    keepClosedConnections: false,
  });
  for (const host of [workload.server, ...workload.clients]) host.reuseConnections = reuse;
  const world = workload.world;
  world.reuseSegments = reuse;
  const send = world.sendSegment.bind(world);
  let digest = 0;
  let segments = 0;
  world.sendSegment = (seg: Segment) => {
    // FNV-1a over what a capture shows, without keeping the segment.
    for (const value of [world.nowUs, seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort, seg.seq, seg.ack, seg.flags, seg.window, seg.tsVal, seg.payload.length]) {
      digest = Math.imul(digest ^ (value >>> 0), 16777619) >>> 0;
    }
    segments++;
    send(seg);
  };
  const end = workload.run();
  const hosts = [workload.server, ...workload.clients];
  const reused = hosts.reduce((sum, host) => sum + host.timeWaitRecordsReused, 0);
  const reusedTcbs = hosts.reduce((sum, host) => sum + host.tcbsReused, 0);
  return { digest, segments, endUs: end.endUs, events: end.events, reused, reusedTcbs, reusedSegments: world.segmentsReused, tally: JSON.stringify(workload.tally) };
}

describe('TIME-WAIT records, TCBs and segments made over (C8, C9)', () => {
  for (const lossRate of [0, 0.02]) {
    it(`changes nothing on the wire, ${lossRate * 100} % loss`, () => {
      const fresh = run(false, lossRate);
      const reused = run(true, lossRate);
      expect(fresh.reused + fresh.reusedTcbs + fresh.reusedSegments).toBe(0);
      // Records end from 200 ms on, and connections start for 3 s: most are made over; TCBs
      // (two a connection, one CLOSED, one swapped for its record) from the first on.
      expect(reused.reused).toBeGreaterThan(2_000);
      expect(reused.reusedTcbs).toBeGreaterThan(5_000);
      // Segments from the first delivered on.
      expect(reused.reusedSegments).toBeGreaterThan(reused.segments - 100);
      expect(reused.segments).toBeGreaterThanOrEqual(3_000 * 9);
      expect({ ...reused, reused: 0, reusedTcbs: 0, reusedSegments: 0 }).toEqual(fresh);
    });
  }

  it('reuses nothing while the run is traced: a trace keeps segments and connections', () => {
    const workload = new LifecycleWorkload({ seed: 5, connections: 500, intervalUs: 1_000, requestBytes: 1_000, lossRate: 0, clientHosts: 1, stack: { mslUs: 100_000 }, keepClosedConnections: false });
    const kept: unknown[] = [];
    workload.world.addListener({ onEvent: (event) => kept.push(event) });
    workload.run();
    const hosts = [workload.server, ...workload.clients];
    expect(kept.length).toBeGreaterThan(500 * 9);
    expect(workload.tally.serverEofs).toBe(500);
    expect(hosts.reduce((sum, host) => sum + host.timeWaitRecordsReused + host.tcbsReused, 0) + workload.world.segmentsReused).toBe(0);
  });
});
