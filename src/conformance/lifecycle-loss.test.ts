/**
 * The main lifecycles again, losing each segment in turn. For every k, the k-th segment put on
 * the wire is dropped, and what must hold whatever is lost is checked:
 *
 * - both applications get exactly the bytes the other sent, and every call returns what it
 *   returns without loss (scripts carry `=> expected` results);
 * - every connection ends CLOSED, and only the active closer ever enters TIME-WAIT;
 * - the lost segment is made good on the wire: a segment that occupies sequence space (SYN,
 *   data, FIN) is retransmitted by its sender, a retransmission covering its sequence range; a
 *   pure ACK is covered by a later segment from the same sender acknowledging at least as much.
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, RST, segLen, SYN, type Segment } from '../tcp/segment.js';
import { seqAdd, seqGe, seqLe } from '../tcp/seq.js';
import { runConformance, type ConformanceProgram, type ConformanceRun } from './harness.js';

interface Lifecycle {
  readonly name: string;
  readonly programs: readonly ConformanceProgram[];
  /** `host.port` of the side that closes first. */
  readonly activeCloser: string;
}

const LIFECYCLES: readonly Lifecycle[] = [
  {
    // C3 handshake, data both ways, C7 three-way close initiated by the client (44722).
    name: 'C3/C7: handshake, data both ways, three-way close',
    activeCloser: 'client.44722',
    programs: [
      { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv c 3000 => recv 3000', 'send c 2000 => sent 2000', 'recv-eof c => eof', 'close c', 'close srv'] },
      { host: 'client', steps: ['socket s', 'bind s 44722', 'connect s server 8848 => ok', 'send s 3000 => sent 3000', 'recv s 2000 => recv 2000', 'close s'] },
    ],
  },
  {
    // C3 handshake, data, C5 four-way close: the server waits 100 ms after EOF.
    name: 'C3/C5: handshake, data, four-way close',
    activeCloser: 'client.44722',
    programs: [
      { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv c 1000 => recv 1000', 'recv-eof c => eof', 'sleep 100ms', 'close c', 'close srv'] },
      { host: 'client', steps: ['socket s', 'bind s 44722', 'connect s server 8848 => ok', 'send s 1000 => sent 1000', 'close s'] },
    ],
  },
  {
    // C11: the server closes first after answering, so it holds TIME-WAIT on 8848.
    name: 'C3/C11: server answers and closes first',
    activeCloser: 'server.8848',
    programs: [
      { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv c 500 => recv 500', 'send c 1500 => sent 1500', 'close c', 'close srv'] },
      { host: 'client', steps: ['socket s', 'bind s 44722', 'connect s server 8848 => ok', 'send s 500 => sent 500', 'recv s 1500 => recv 1500', 'recv-eof s => eof', 'close s'] },
    ],
  },
  {
    // C6: half-close; the passive closer still sends after the FIN.
    name: 'C6: half-close with data after the FIN',
    activeCloser: 'client.44722',
    programs: [
      { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv-eof c => eof', 'send c 2000 => sent 2000', 'close c', 'close srv'] },
      { host: 'client', steps: ['socket s', 'bind s 44722', 'connect s server 8848 => ok', 'shutdown s wr', 'recv s 2000 => recv 2000', 'recv-eof s => eof', 'close s'] },
    ],
  },
];

describe.each(LIFECYCLES)('$name, losing each segment in turn', (lifecycle) => {
  const clean = runConformance({ programs: lifecycle.programs });

  it(`${lifecycle.name.split(':')[0]}: without loss, the run is clean (the baseline the losses are compared with)`, () => {
    expect(clean.mismatches()).toEqual([]);
    expect(clean.streams().problems).toEqual([]);
    expect(clean.timeWaitHolders()).toEqual([lifecycle.activeCloser]);
    expect(clean.sent.some((w) => w.seg.retransmission)).toBe(false);
  });

  const cases = clean.wire().map((line, k) => ({ k, line }));
  it.each(cases)(`${lifecycle.name.split(':')[0]}: lose segment $k ($line)`, ({ k }) => {
    // Act
    const run = runConformance({ programs: lifecycle.programs, dropWire: [k] });
    const context = `\n${run.wire({ time: true, rtx: true }).join('\n')}`;
    // Assert
    const lost = run.sent[k]!;
    expect(lost.dropped, context).toBe(true);
    expect(run.mismatches(), context).toEqual([]);
    expect(run.streams(), context).toEqual(clean.streams());
    expect(run.finalStates(), context).toEqual(clean.finalStates());
    expect(run.timeWaitHolders(), context).toEqual([lifecycle.activeCloser]);
    expect(run.sent.some((w) => w.seg.flags & RST), context).toBe(false);
    expect(madeGood(run, k), context).toBe(true);
  });
});

describe('C3/C7: any two segments lost', () => {
  const lifecycle = LIFECYCLES[0]!;
  const clean = runConformance({ programs: lifecycle.programs });

  it('C3/C7: losing any two of the segments of the clean run still ends with the data delivered, everyone CLOSED, TIME-WAIT on the client only', () => {
    // Arrange: every pair (a, b) of wire indexes, b counted in the run that already lost a.
    const failures: string[] = [];
    let runs = 0;
    for (let a = 0; a < clean.sent.length; a++) {
      for (let b = a + 1; b < clean.sent.length; b++) {
        // Act
        const run = runConformance({ programs: lifecycle.programs, dropWire: [a, b] });
        runs++;
        // Assert (collected, so one failure shows every pair that fails)
        const problems = [...run.mismatches(), ...run.streams().problems];
        if (run.finalStates().join() !== clean.finalStates().join()) problems.push(`final states ${run.finalStates().join(', ')}`);
        if (run.timeWaitHolders().join() !== lifecycle.activeCloser) problems.push(`TIME-WAIT on ${run.timeWaitHolders().join(', ')}`);
        if (run.sent.some((w) => w.seg.flags & RST)) problems.push('a RST was sent');
        if (problems.length > 0) failures.push(`lose ${a} and ${b}: ${problems.join('; ')}`);
      }
    }
    expect(failures).toEqual([]);
    expect(runs).toBe((clean.sent.length * (clean.sent.length - 1)) / 2);
  });
});

/** Did a later segment from the same sender repeat what segment k carried? */
function madeGood(run: ConformanceRun, k: number): boolean {
  const lost = run.sent[k]!.seg;
  const later = run.sent.slice(k + 1).map((w) => w.seg).filter((seg) => sameDirection(seg, lost));
  const occupiesSpace = lost.payload.length > 0 || (lost.flags & (SYN | FIN)) !== 0;
  if (occupiesSpace) {
    // A retransmission covering the lost sequence range. It may carry more: Linux collapses a
    // queued FIN into a retransmitted data segment (tcp_retrans_try_collapse), e.g. [FP.].
    const end = (seg: Segment) => seqAdd(seg.seq, segLen(seg));
    return later.some((seg) => seg.retransmission && seqLe(seg.seq, lost.seq) && seqGe(end(seg), end(lost)) && (seg.flags & SYN) === (lost.flags & SYN));
  }
  return later.some((seg) => (seg.flags & ACK) !== 0 && seqGe(seg.ack, lost.ack));
}

function sameDirection(a: Segment, b: Segment): boolean {
  return a.srcIp === b.srcIp && a.srcPort === b.srcPort && a.dstIp === b.dstIp && a.dstPort === b.dstPort;
}
