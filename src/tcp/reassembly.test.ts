/**
 * Receive-side reassembly of one TCB (RFC 9293 §3.10.7.4 seventh and eighth checks), driven
 * with no simulator: segments are handed to `input`, what the TCB sends is recorded.
 */
import { describe, expect, it } from 'vitest';
import { stackConfig } from './config.js';
import { ACK, FIN, NO_OPTIONS, PSH, SYN, tcpdumpFlags, type Segment } from './segment.js';
import { seqAdd } from './seq.js';
import { Tcb, type SegmentFields } from './tcb.js';
import { quietTcbEnv } from './test-support.js';

/** A passive TCB in ESTABLISHED whose peer's ISN is `peerIsn`; byte at sequence s is (s & 255). */
function established(peerIsn: number) {
  const sent: string[] = [];
  const env = quietTcbEnv({
    transmit: (_tcb, f: SegmentFields) => sent.push(`[${tcpdumpFlags(f.flags)}] ack ${(f.ack - peerIsn) >>> 0}${f.payload.length > 0 ? ` len ${f.payload.length}` : ''}`),
    stateChanged: (_tcb, from, to) => sent.push(`${from}=>${to}`),
  });
  const tcb = new Tcb({ connId: 1, localIp: 1, localPort: 80, remoteIp: 2, remotePort: 1000 }, stackConfig({ receiveBufferBytes: 1000 }), env, { reuseAddr: false, lingerSec: null });
  /** A segment from the peer at relative sequence `rel` (1 = first data byte). */
  const seg = (rel: number, flags: number, len = 0): Segment => {
    const seq = seqAdd(peerIsn, rel);
    return {
      id: 0,
      srcIp: 2,
      srcPort: 1000,
      dstIp: 1,
      dstPort: 80,
      seq,
      ack: 101,
      flags,
      window: 65535,
      ...NO_OPTIONS,
      mss: flags & SYN ? 1460 : 0,
      payload: Uint8Array.from({ length: len }, (_, i) => seqAdd(seq, i) & 255),
      sentAtUs: 0,
      incarnation: 1,
      connId: 2,
      retransmission: false,
      copyOf: -1,
    };
  };
  tcb.acceptSyn(0, seg(0, SYN), 100);
  tcb.input(1, seg(1, ACK));
  sent.length = 0;
  const expected = (fromRel: number, count: number) => Array.from({ length: count }, (_, i) => seqAdd(peerIsn, fromRel + i) & 255);
  return { tcb, sent, seg, expected };
}

describe('reassembly', () => {
  it('C5: overlapping out-of-order pieces, a FIN among them, are delivered once each, in order, then EOF', () => {
    // Arrange
    const { tcb, sent, seg, expected } = established(5000);
    // Act: [11,21) [21,30) FIN@30 [5,15) arrive before [1,5).
    tcb.input(2, seg(11, ACK | PSH, 10));
    tcb.input(3, seg(21, ACK | PSH, 9));
    tcb.input(4, seg(30, ACK | FIN));
    tcb.input(5, seg(5, ACK | PSH, 10));
    tcb.input(6, seg(1, ACK | PSH, 4));
    // Assert: a duplicate ACK for each out-of-order arrival (RFC 5681 §4.2), then one ACK of all.
    expect(sent).toEqual(['[.] ack 1', '[.] ack 1', '[.] ack 1', '[.] ack 1', 'ESTABLISHED=>CLOSE-WAIT', '[.] ack 31']);
    const data = tcb.recv(7, 100);
    expect(data instanceof Uint8Array ? Array.from(data) : data).toEqual(expected(1, 29));
    expect(tcb.recv(8, 100)).toBe('eof');
  });

  it('C5: a retransmission that overlaps queued data and its FIN completes the stream', () => {
    // Arrange
    const { tcb, sent, seg, expected } = established(5000);
    // Act: [11,21)+FIN, a partial duplicate [11,16), then [1,13) filling the gap.
    tcb.input(2, seg(11, ACK | PSH | FIN, 10));
    tcb.input(3, seg(11, ACK | PSH, 5));
    tcb.input(4, seg(1, ACK | PSH, 12));
    // Assert
    expect(sent).toEqual(['[.] ack 1', '[.] ack 1', 'ESTABLISHED=>CLOSE-WAIT', '[.] ack 22']);
    const data = tcb.recv(5, 100);
    expect(data instanceof Uint8Array ? Array.from(data) : data).toEqual(expected(1, 20));
    expect(tcb.recv(6, 100)).toBe('eof');
  });

  it('C4: reassembly across the 2^32 wrap', () => {
    // Arrange: the peer's data starts 3 below 2^32.
    const { tcb, seg, expected } = established(0xffffffff - 3);
    // Act
    tcb.input(2, seg(5, ACK | PSH, 6)); // wraps: sequence numbers 1..6
    tcb.input(3, seg(1, ACK | PSH, 4)); // 2^32-3 .. 0
    // Assert
    const data = tcb.recv(4, 100);
    expect(data instanceof Uint8Array ? Array.from(data) : data).toEqual(expected(1, 10));
  });

  it('C5: text beyond the receive window is cut off, and a FIN beyond it is not taken', () => {
    // Arrange: the receive buffer (and window) is 1000 bytes.
    const { tcb, sent, seg } = established(5000);
    // Act: 1200 bytes with a FIN; only 1000 fit.
    tcb.input(2, seg(1, ACK | PSH | FIN, 1200));
    // Assert: no FIN processed (still ESTABLISHED); the window is now 0.
    expect(tcb.state).toBe('ESTABLISHED');
    expect(tcb.readableBytes).toBe(1000);
    expect(sent).toEqual(['[.] ack 1001']);
    expect(tcb.receiveWindow()).toBe(0);
  });
});
