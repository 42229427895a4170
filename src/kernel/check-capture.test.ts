import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../scenario/scenario-file.js';
import { loadScenarioFile } from './test-support.js';
import { pcapForHost, pcapOfWire, wirePackets, writePcap, type CapturedSegment } from '../report/pcap.js';
import { CaptureFormatError } from '../report/pcap-read.js';
import { ACK, FIN, RST, SYN, type Segment } from '../tcp/segment.js';
import { seqAdd } from '../tcp/seq.js';
import { checkCapture, formatCaptureCheck } from './check-capture.js';

const EXAMPLES = readdirSync('examples').filter((f) => f.endsWith('.json')).sort();

function example(name: string) {
  const scenario = loadScenarioFile(`examples/${name}.json`);
  const run = runScenario(scenario);
  return { scenario, run, timeWaitUs: 2 * (scenario.stack?.mslUs ?? 30_000_000), packets: wirePackets(run.events) };
}

function edit(packets: readonly CapturedSegment[], change: (seg: Segment, i: number) => Partial<Segment> | null): CapturedSegment[] {
  return packets.map((p, i) => {
    const changed = change(p.seg, i);
    return changed === null ? p : { atUs: p.atUs, seg: { ...p.seg, ...changed } };
  });
}

const monitorsOf = (bytes: Uint8Array, timeWaitUs: number) => checkCapture(bytes, { timeWaitUs }).violations.map((v) => v.monitor);

describe('timewait check on captures the simulator writes', () => {
  it.each(EXAMPLES)('%s: no violation on the wire capture nor on either host\'s', (file) => {
    // Arrange
    const { scenario, run, timeWaitUs } = example(file.replace(/\.json$/, ''));
    // Act / Assert: the wire, and each host's interface (what it sent and what it received)
    expect(checkCapture(pcapOfWire(run.events), { timeWaitUs, closeShape: true }).violations).toEqual([]);
    for (const host of scenario.hosts) {
      const ip = run.events.find((e) => e.type === 'state' && e.conn.host === host.name);
      if (ip === undefined || ip.type !== 'state') continue;
      const check = checkCapture(pcapForHost(run.events, ip.conn.localIp), { timeWaitUs, closeShape: true });
      expect(check.violations.map((v) => v.message)).toEqual([]);
    }
  });
});

describe('timewait check catches a capture edited to break a promise', () => {
  it('C4: the FIN ACKed without +1 (fin-ack), at the frame Wireshark shows', () => {
    // Arrange: the article's capture; the client's last ACK acknowledges the server's FIN seq itself
    const { packets, timeWaitUs } = example('c07-three-way-close');
    const serverFin = packets.find((p) => p.seg.flags & FIN && p.seg.srcPort === 8848)!.seg;
    const lastAck = packets.length - 1;
    const edited = edit(packets, (seg, i) => (i === lastAck ? { ack: serverFin.seq } : null));
    // Act
    const check = checkCapture(writePcap(edited), { timeWaitUs });
    // Assert
    expect(check.violations.map((v) => [v.monitor, v.frame])).toEqual([['fin-ack', lastAck + 1]]);
    expect(formatCaptureCheck('edited.pcap', check)).toMatch(/FAIL frame 7: fin-ack \(C4\)/);
  });

  it('C2: the SYN ACKed with ISN+2 (syn-ack)', () => {
    const { packets, timeWaitUs } = example('c07-three-way-close');
    const synAck = packets.findIndex((p) => p.seg.flags & SYN && p.seg.flags & ACK);
    const edited = edit(packets, (seg, i) => (i === synAck ? { ack: seqAdd(seg.ack, 1) } : null));
    expect(monitorsOf(writePcap(edited), timeWaitUs)).toContain('syn-ack');
  });

  it('C9: TIME-WAIT answers the retransmitted FIN with RST (time-wait-2msl)', () => {
    // Arrange: c09's client, in TIME-WAIT, ACKs the server's retransmitted FIN; make that a reset
    const { packets, timeWaitUs } = example('c09-time-wait-acks-retransmitted-fin');
    const last = packets.length - 1;
    expect(packets[last]!.seg.flags).toBe(ACK);
    const edited = edit(packets, (seg, i) => (i === last ? { flags: RST, seq: seg.seq, ack: 0 } : null));
    // Act / Assert
    expect(monitorsOf(writePcap(edited), timeWaitUs)).toEqual(['time-wait-2msl']);
    // The same reset after 2·MSL is no violation: TIME-WAIT is over by then.
    const late = edited.map((p, i) => (i === last ? { ...p, atUs: p.atUs + timeWaitUs + 1 } : p));
    expect(monitorsOf(writePcap(late), timeWaitUs)).toEqual([]);
  });

  it('C10: a segment of the old incarnation accepted by the new one (no-stale-segment)', () => {
    // Arrange: c10's two incarnations of 10.0.0.2:40000 -> 8848. Move the second one's client ISN
    // to 500 above the first's, then let the first incarnation's data segment arrive after the
    // second handshake: 500 of its bytes fall in the new receive window.
    const { packets, timeWaitUs } = example('c10-old-duplicates-die-out');
    const syns = packets.map((p, i) => (p.seg.flags === SYN ? i : -1)).filter((i) => i >= 0);
    expect(syns).toHaveLength(2);
    const [first, second] = [packets[syns[0]!]!.seg, packets[syns[1]!]!.seg];
    const delta = (first.seq + 500 - second.seq) | 0;
    const shifted = edit(packets, (seg, i) => {
      if (i < syns[1]!) return null;
      return seg.srcPort === 40000 ? { seq: seqAdd(seg.seq, delta) } : { ack: seqAdd(seg.ack, delta) };
    });
    expect(monitorsOf(writePcap(shifted), timeWaitUs)).toEqual([]);
    const oldData = packets.find((p, i) => i < syns[1]! && p.seg.payload.length > 0)!;
    const handshakeDone = syns[1]! + 3;
    const stale = [...shifted.slice(0, handshakeDone), { atUs: shifted[handshakeDone - 1]!.atUs, seg: oldData.seg }, ...shifted.slice(handshakeDone)];
    // Act
    const check = checkCapture(writePcap(stale), { timeWaitUs });
    // Assert
    expect(check.violations.map((v) => v.monitor)).toContain('no-stale-segment');
    expect(check.violations.find((v) => v.monitor === 'no-stale-segment')!.message).toMatch(/incarnation 2 accepted segment .* sent by incarnation 1/);
  });
});

describe('timewait check says what it cannot judge', () => {
  it('a frame cut inside its TCP header: cannot judge', () => {
    const { run } = example('c07-three-way-close');
    const file = pcapOfWire(run.events);
    // Cut the second record's captured length to 24 bytes (IP header and 4 of TCP).
    const view = new DataView(file.buffer, file.byteOffset);
    const firstLength = view.getUint32(24 + 8, true);
    const second = 24 + 16 + firstLength;
    const secondLength = view.getUint32(second + 8, true);
    const cut = new Uint8Array(file.length - (secondLength - 24));
    cut.set(file.subarray(0, second + 16 + 24));
    cut.set(file.subarray(second + 16 + secondLength), second + 16 + 24);
    new DataView(cut.buffer).setUint32(second + 8, 24, true);
    const check = checkCapture(cut);
    expect(check.cannotJudge[0]).toMatch(/frame\(s\) cut before the end of their TCP header \(frame 2\)/);
    expect(formatCaptureCheck('cut.pcap', check)).toMatch(/# result: cannot judge/);
  });

  it('one direction only: not judged, and the capture as a whole cannot be', () => {
    const { packets } = example('c07-three-way-close');
    const oneWay = packets.filter((p) => p.seg.srcPort === 44722);
    const check = checkCapture(writePcap(oneWay));
    expect(check.notJudged.map((n) => n.why)).toEqual([expect.stringMatching(/one direction only/)]);
    expect(check.cannotJudge).toEqual([expect.stringMatching(/no connection shows both directions/)]);
  });

  it('not a capture: CaptureFormatError', () => {
    expect(() => checkCapture(new TextEncoder().encode('hello'))).toThrow(CaptureFormatError);
  });
});
