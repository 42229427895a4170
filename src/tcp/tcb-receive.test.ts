/**
 * The receive path of one TCB (tcb-receive.ts) driven by hand, no simulator: segment arrival in
 * the synchronized states as RFC 9293 §3.10.7.4 orders its checks (sequence, RST, SYN, ACK,
 * text, FIN), with Linux's choices (tcp_validate_incoming, tcp_reset, tcp_ack, tcp_data_queue,
 * __tcp_ack_snd_check). Each test asserts the exact segments the TCB sends (sequence numbers
 * relative to the two ISNs) and the results of the application's calls.
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, PSH, RST, SYN } from './segment.js';
import { TimerKind } from './tcb.js';
import { drivenTcb } from './test-support.js';

/** A passive TCB in ESTABLISHED at 1 ms (peer's ISN 7000, ours 100), its record cleared. */
function established(config = {}) {
  const d = drivenTcb({ config });
  d.openPassive();
  return d;
}

describe('RST in a synchronized state (RFC 9293 §3.10.7.4 second check, Linux tcp_reset)', () => {
  it('C14: ESTABLISHED: an exact RST closes with ECONNRESET, reported once; then EPIPE and EOF', () => {
    const d = established();
    d.at(1500, (t) => t.send(1500, new Uint8Array(10)));
    d.clear();
    d.input(2000, d.peer(1, 1, RST));
    expect(d.states).toEqual(['ESTABLISHED>CLOSED rcv RST']);
    expect(d.wire()).toEqual([]);
    expect(d.armed.size).toBe(0);
    expect(d.tcb.unsentOrUnackedBytes).toBe(0);
    expect(d.at(3000, (t) => t.recv(3000, 10))).toBe('ECONNRESET');
    expect(d.at(3000, (t) => t.send(3000, new Uint8Array(1)))).toBe('EPIPE');
    expect(d.at(3000, (t) => t.recv(3000, 10))).toBe('eof');
  });

  it('C14: FIN-WAIT-1 and FIN-WAIT-2 give ECONNRESET too', () => {
    const fw1 = established();
    fw1.at(1500, (t) => t.shutdownWrite(1500));
    fw1.clear();
    fw1.input(2000, fw1.peer(1, 1, RST));
    expect(fw1.states).toEqual(['FIN-WAIT-1>CLOSED rcv RST']);
    expect(fw1.at(3000, (t) => t.recv(3000, 10))).toBe('ECONNRESET');

    const fw2 = established();
    fw2.at(1500, (t) => t.shutdownWrite(1500));
    fw2.input(2000, fw2.peer(1, 2, ACK));
    fw2.clear();
    fw2.input(3000, fw2.peer(1, 2, RST));
    expect(fw2.states).toEqual(['FIN-WAIT-2>CLOSED rcv RST']);
    expect(fw2.at(3000, (t) => t.recv(3000, 10))).toBe('ECONNRESET');
  });

  it('CLOSE-WAIT: the application saw EOF already; recv stays EOF and the next send gets EPIPE (Linux tcp_reset)', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, ACK | FIN));
    d.clear();
    d.input(3000, d.peer(2, 1, RST));
    expect(d.states).toEqual(['CLOSE-WAIT>CLOSED rcv RST']);
    expect(d.at(4000, (t) => t.recv(4000, 10))).toBe('eof');
    expect(d.at(4000, (t) => t.send(4000, new Uint8Array(1)))).toBe('EPIPE');
    expect(d.tcb.error).toBe(null);
  });

  it('LAST-ACK and CLOSING: an exact RST closes with no error to report', () => {
    const lastAck = established();
    lastAck.input(2000, lastAck.peer(1, 1, ACK | FIN));
    lastAck.at(2500, (t) => t.close(2500));
    lastAck.clear();
    lastAck.input(3000, lastAck.peer(2, 1, RST));
    expect(lastAck.states).toEqual(['LAST-ACK>CLOSED rcv RST']);
    expect(lastAck.tcb.error).toBe(null);

    const closing = established();
    closing.at(1500, (t) => t.close(1500));
    closing.input(2000, closing.peer(1, 1, ACK | FIN)); // crosses our FIN: CLOSING
    closing.clear();
    closing.input(3000, closing.peer(2, 1, RST));
    expect(closing.states).toEqual(['CLOSING>CLOSED rcv RST']);
    expect(closing.tcb.error).toBe(null);
  });

  it('C3: a half-open child goes back to LISTEN on an exact RST: nothing sent, every timer released', () => {
    const d = drivenTcb();
    d.tcb.acceptSyn(0, d.peer(0, 0, SYN, 0, { ack: 0 }), 100);
    d.clear();
    d.input(1000, d.peer(1, 0, RST));
    expect(d.states).toEqual(['SYN-RECEIVED>LISTEN rcv RST']);
    expect(d.wire()).toEqual([]);
    expect(d.armed.size).toBe(0);
    expect(d.tcb.error).toBe(null);
  });

  it('an active opener in SYN-RECEIVED (simultaneous open) reports ECONNRESET, not ECONNREFUSED', () => {
    const d = drivenTcb();
    d.at(0, (t) => t.connect(0, 100));
    d.input(1000, d.peer(0, 0, SYN, 0, { ack: 0 }));
    d.clear();
    d.input(2000, d.peer(1, 0, RST));
    expect(d.states).toEqual(['SYN-RECEIVED>CLOSED rcv RST']);
    expect(d.tcb.error).toBe('ECONNRESET');
  });

  it('RFC 5961 §3.2: a RST in the window but not at RCV.NXT gets a challenge ACK, rate-limited to one per 500 ms; the connection stays', () => {
    const d = established();
    d.input(2000, d.peer(2, 1, RST));
    d.input(501_999, d.peer(2, 1, RST));
    d.input(502_000, d.peer(2, 1, RST));
    expect(d.wire()).toEqual(['[.] seq 1 ack 1', '[.] seq 1 ack 1']);
    expect(d.segments.map((s) => s.atUs)).toEqual([2000, 502_000]);
    expect(d.tcb.state).toBe('ESTABLISHED');
    expect(d.accepted).toEqual([]);
  });

  it('a RST outside the window is dropped silently', () => {
    const d = established();
    d.input(2000, d.peer(0, 1, RST));
    d.input(3000, d.peer(70_000, 1, RST));
    expect(d.wire()).toEqual([]);
    expect(d.tcb.state).toBe('ESTABLISHED');
  });
});

describe('SYN, ACK field and close states (RFC 9293 §3.10.7.4 fourth and fifth checks)', () => {
  it('RFC 5961 §4: a SYN in ESTABLISHED gets a challenge ACK (rate-limited) and changes nothing', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, SYN));
    d.input(3000, d.peer(1, 1, SYN | ACK));
    expect(d.wire()).toEqual(['[.] seq 1 ack 1']);
    expect(d.tcb.state).toBe('ESTABLISHED');
    expect(d.accepted).toEqual([]);
  });

  it('a segment without ACK is dropped: its data is not taken and nothing is sent', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, PSH, 10));
    d.input(3000, d.peer(1, 1, FIN));
    expect(d.wire()).toEqual([]);
    expect([d.tcb.readableBytes, d.tcb.state]).toEqual([0, 'ESTABLISHED']);
    expect(d.accepted).toEqual([]);
  });

  it('an ACK of something not yet sent (SEG.ACK > SND.NXT) gets a challenge ACK; its data and FIN are dropped (Linux 6.18 tcp_ack)', () => {
    const d = established();
    d.input(2000, d.peer(1, 2, ACK | PSH | FIN, 10));
    expect(d.wire()).toEqual(['[.] seq 1 ack 1']);
    expect([d.tcb.readableBytes, d.tcb.state]).toEqual([0, 'ESTABLISHED']);
    // An ACK at SND.NXT is no such ACK.
    d.input(3000, d.peer(1, 1, ACK | PSH, 10));
    expect(d.tcb.readableBytes).toBe(10);
  });

  it('C5: FIN-WAIT-1 becomes FIN-WAIT-2 only on the ACK of our FIN; after close() the tcp_fin_timeout timer is armed, after shutdown(SHUT_WR) not', () => {
    const closed = established();
    closed.at(1500, (t) => t.close(1500));
    closed.input(2000, closed.peer(1, 1, ACK)); // acks nothing new
    expect(closed.tcb.state).toBe('FIN-WAIT-1');
    closed.input(3000, closed.peer(1, 2, ACK));
    expect(closed.states).toEqual(['ESTABLISHED>FIN-WAIT-1 close', 'FIN-WAIT-1>FIN-WAIT-2 rcv ACK of FIN']);
    expect(closed.armed.get(TimerKind.FinWait2)).toBe(3000 + 60_000_000);

    const halfClosed = established();
    halfClosed.at(1500, (t) => t.shutdownWrite(1500));
    halfClosed.input(3000, halfClosed.peer(1, 2, ACK));
    expect(halfClosed.tcb.state).toBe('FIN-WAIT-2');
    expect(halfClosed.armed.has(TimerKind.FinWait2)).toBe(false);
  });

  it('C8: CLOSING becomes TIME-WAIT on the ACK of our FIN, and its data is not taken', () => {
    const d = established();
    d.at(1500, (t) => t.close(1500));
    d.input(2000, d.peer(1, 1, ACK | FIN));
    expect(d.tcb.state).toBe('CLOSING');
    d.input(2500, d.peer(2, 1, ACK));
    expect(d.tcb.state).toBe('CLOSING');
    d.clear();
    d.input(3000, d.peer(2, 2, ACK));
    expect(d.states).toEqual(['CLOSING>TIME-WAIT rcv ACK of FIN']);
    expect(d.armed.get(TimerKind.TimeWait)).toBe(3000 + 60_000_000);
    expect(d.wire()).toEqual([]);
  });

  it('C5: LAST-ACK becomes CLOSED on the ACK of our FIN, not before', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, ACK | FIN));
    d.at(2500, (t) => t.close(2500));
    d.input(2800, d.peer(2, 1, ACK));
    expect(d.tcb.state).toBe('LAST-ACK');
    d.clear();
    d.input(3000, d.peer(2, 2, ACK));
    expect(d.states).toEqual(['LAST-ACK>CLOSED rcv ACK of FIN']);
    expect(d.wire()).toEqual([]);
  });

  it('C9: in CLOSE-WAIT, LAST-ACK and CLOSING a retransmitted FIN is ACKed at once; a segment at RCV.NXT is not', () => {
    const lastAck = established();
    lastAck.input(2000, lastAck.peer(1, 1, ACK | FIN));
    lastAck.at(2500, (t) => t.close(2500));
    lastAck.clear();
    lastAck.input(3000, lastAck.peer(1, 1, ACK | FIN));
    expect(lastAck.wire()).toEqual(['[.] seq 2 ack 2']);
    lastAck.input(4000, lastAck.peer(2, 1, ACK | FIN));
    expect(lastAck.wire()).toEqual(['[.] seq 2 ack 2']);

    const closeWait = established();
    closeWait.input(2000, closeWait.peer(1, 1, ACK | FIN));
    closeWait.fire(TimerKind.DelayedAck);
    closeWait.clear();
    closeWait.input(60_000, closeWait.peer(1, 1, ACK | FIN));
    expect(closeWait.wire()).toEqual(['[.] seq 1 ack 2']);
  });
});

describe('segment acceptability (RFC 9293 §3.10.7.4 first check, Linux tcp_sequence)', () => {
  /** ESTABLISHED with a receive buffer (and window) of `windowBytes`. */
  const narrow = (windowBytes: number) => established({ receiveBufferBytes: windowBytes });

  it('a bare ACK is acceptable from RCV.NXT up to and including the right edge RCV.NXT + RCV.WND (Linux), not one past it nor one below', () => {
    const d = narrow(100);
    d.input(2000, d.peer(101, 1, ACK)); // right edge: taken, no answer
    d.input(3000, d.peer(102, 1, ACK)); // past it: answered
    d.input(600_000, d.peer(0, 1, ACK)); // below RCV.NXT: answered
    expect(d.wire()).toEqual(['[.] seq 1 ack 1', '[.] seq 1 ack 1']);
    expect(d.segments.map((s) => s.atUs)).toEqual([3000, 600_000]);
    expect(d.accepted.length).toBe(1);
  });

  it('with a zero window only a segment at exactly RCV.NXT is acceptable; its text is trimmed away and ACKed', () => {
    const d = narrow(10);
    d.input(2000, d.peer(1, 1, ACK | PSH, 10)); // fills the window
    d.clear();
    d.input(3000, d.peer(11, 1, ACK)); // bare ACK at RCV.NXT: acceptable, nothing sent
    d.input(4000, d.peer(12, 1, ACK)); // one past: unacceptable
    d.input(600_000, d.peer(11, 1, ACK | PSH, 5)); // data at RCV.NXT: acceptable, trimmed, ACKed
    d.input(700_000, d.peer(12, 1, ACK | PSH, 5)); // data one past: unacceptable, answered (data is not rate-limited)
    expect(d.wire()).toEqual(['[.] seq 1 ack 11', '[.] seq 1 ack 11', '[.] seq 1 ack 11']);
    expect(d.segments.map((s) => s.atUs)).toEqual([4000, 600_000, 700_000]);
    expect(d.accepted.length).toBe(2);
    expect(d.tcb.readableBytes).toBe(10);
  });

  it('data is acceptable when its first byte is in the window, or its last one; a segment ending just below RCV.NXT or starting at the right edge is not', () => {
    const d = narrow(100);
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    d.clear();
    d.input(3000, d.peer(1, 1, ACK | PSH, 10)); // old entirely: answered with a duplicate ACK
    d.input(4000, d.peer(2, 1, ACK | PSH, 10)); // last byte (11) is RCV.NXT: acceptable, one new byte
    expect(d.accepted.length).toBe(1);
    expect(d.tcb.readableBytes).toBe(11);
    // The window is now 89 (11 bytes queued): its right edge is 12 + 89 = 101.
    d.input(5000, d.peer(96, 1, ACK | PSH, 5)); // ends at 100: in the window, out of order
    d.input(6000, d.peer(101, 1, ACK | PSH, 5)); // starts at the right edge: unacceptable
    expect(d.accepted.length).toBe(2);
    expect(d.wire()).toEqual(['[.] seq 1 ack 11', '[.] seq 1 ack 12', '[.] seq 1 ack 12', '[.] seq 1 ack 12']);
  });
});

describe('segment text after close or shutdown(SHUT_RD) (Linux tcp_rcv_state_process, RFC 1122 §4.2.2.13)', () => {
  it('C14: new data for an orphaned FIN-WAIT-1 is answered <SEQ=SEG.ACK><CTL=RST> and the connection is gone, no error kept', () => {
    const d = established();
    d.at(1500, (t) => t.close(1500));
    d.clear();
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    expect(d.wire()).toEqual(['[R] seq 1']);
    expect(d.states).toEqual(['FIN-WAIT-1>CLOSED data after close']);
    expect([d.tcb.error, d.tcb.unsentOrUnackedBytes, d.armed.size]).toEqual([null, 0, 0]);
  });

  it('after shutdown(SHUT_RD) in FIN-WAIT-2 new data resets with ECONNRESET; in ESTABLISHED it is ACKed and queued', () => {
    const fw2 = established();
    fw2.at(1500, (t) => t.shutdownRead());
    fw2.at(1500, (t) => t.shutdownWrite(1500));
    fw2.input(2000, fw2.peer(1, 2, ACK));
    fw2.clear();
    fw2.input(3000, fw2.peer(1, 2, ACK | PSH, 10));
    expect(fw2.wire()).toEqual(['[R] seq 2']);
    expect(fw2.states).toEqual(['FIN-WAIT-2>CLOSED data after shutdown(SHUT_RD)']);
    expect(fw2.tcb.error).toBe('ECONNRESET');

    const est = established();
    est.at(1500, (t) => t.shutdownRead());
    est.input(2000, est.peer(1, 1, ACK | PSH, 10));
    expect(est.wire()).toEqual(['[.] seq 1 ack 11']);
    expect(est.tcb.readableBytes).toBe(10);
  });

  it('a FIN alone after close() is no new data: the orphan ACKs it and enters TIME-WAIT', () => {
    const d = established();
    d.at(1500, (t) => t.close(1500));
    d.input(2000, d.peer(1, 2, ACK));
    d.clear();
    d.input(3000, d.peer(1, 2, ACK | FIN));
    expect(d.wire()).toEqual(['[.] seq 2 ack 2']);
    expect(d.states).toEqual(['FIN-WAIT-2>TIME-WAIT rcv FIN']);
  });
});

describe('out-of-order text and when to ACK (RFC 5681 §4.2, Linux tcp_data_queue, __tcp_ack_snd_check)', () => {
  it('a FIN alone above RCV.NXT waits; the data that fills the gap is ACKed at once together with the FIN, even in ping-pong mode', () => {
    const d = established();
    d.input(2000, d.peer(11, 1, ACK | FIN));
    expect(d.wire()).toEqual(['[.] seq 1 ack 1']);
    expect(d.tcb.state).toBe('ESTABLISHED');
    d.input(3000, d.peer(1, 1, ACK | PSH, 10));
    expect(d.wire()).toEqual(['[.] seq 1 ack 1', '[.] seq 1 ack 12']);
    expect(d.states).toEqual(['ESTABLISHED>CLOSE-WAIT rcv FIN']);
    expect(d.armed.has(TimerKind.DelayedAck)).toBe(false);
  });

  it('the segment that fills a gap is ACKed at once, with quick ACKs used up', () => {
    const d = established({ quickAcks: 0 });
    d.input(2000, d.peer(1, 1, ACK | PSH, 10)); // in order: delayed
    expect(d.wire()).toEqual([]);
    expect(d.armed.get(TimerKind.DelayedAck)).toBe(2000 + 40_000);
    d.input(3000, d.peer(21, 1, ACK | PSH, 10)); // out of order: a duplicate ACK at once
    d.input(4000, d.peer(11, 1, ACK | PSH, 10)); // fills the gap: ACK at once
    expect(d.wire()).toEqual(['[.] seq 1 ack 11', '[.] seq 1 ack 31']);
    expect(d.tcb.readableBytes).toBe(30);
    expect(d.armed.has(TimerKind.DelayedAck)).toBe(false);
  });

  it('C7: a FIN before any data is ACKed at the next 4 ms tick, one after data 40 ms later (ato 0, then TCP_ATO_MIN)', () => {
    const bare = established();
    bare.input(5000, bare.peer(1, 1, ACK | FIN));
    expect(bare.armed.get(TimerKind.DelayedAck)).toBe(8000);
    expect(bare.wire()).toEqual([]);

    const afterData = established();
    afterData.input(2000, afterData.peer(1, 1, ACK | PSH, 10));
    afterData.input(5000, afterData.peer(11, 1, ACK | FIN));
    expect(afterData.armed.get(TimerKind.DelayedAck)).toBe(45_000);
    afterData.fire(TimerKind.DelayedAck);
    expect(afterData.wire()).toEqual(['[.] seq 1 ack 11', '[.] seq 1 ack 12']);
  });

  it('data beyond the window is cut off there, with a FIN it carried; data from inside the window up to its edge is queued', () => {
    const d = established({ receiveBufferBytes: 20 });
    d.input(2000, d.peer(1, 1, ACK | PSH | FIN, 25));
    expect(d.tcb.readableBytes).toBe(20);
    expect(d.tcb.state).toBe('ESTABLISHED');
    expect(d.wire()).toEqual(['[.] seq 1 ack 21']);
  });
});

describe('simultaneous open: the crossed SYN,ACK (RFC 9293 §3.5 figure 8, Linux 6.10+ tcp_validate_incoming)', () => {
  /** An active opener whose SYN crossed the peer's: SYN-RECEIVED at 1 ms, our SYN,ACK sent. */
  function crossed() {
    const d = drivenTcb();
    d.at(0, (t) => t.connect(0, 100));
    d.input(1000, d.peer(0, 0, SYN, 0, { ack: 0 }));
    d.clear();
    return d;
  }

  it('C3: the peer\'s SYN,ACK with SEG.SEQ + 1 = RCV.NXT and SEG.ACK = SND.NXT completes the handshake with one ACK', () => {
    const d = crossed();
    d.input(2000, d.peer(0, 1, SYN | ACK));
    expect(d.states).toEqual(['SYN-RECEIVED>ESTABLISHED rcv ACK of SYN']);
    expect(d.wire()).toEqual(['[.] seq 1 ack 1']);
  });

  it('a SYN,ACK that acks something else, carries a FIN or data, or has another sequence number is no crossed SYN,ACK: a challenge ACK, still SYN-RECEIVED', () => {
    for (const [seq, ack, flags, len] of [[0, 0, SYN | ACK, 0], [0, 1, SYN | ACK | FIN, 0], [0, 1, SYN | ACK | PSH, 3], [1, 1, SYN | ACK, 0], [-1, 1, SYN | ACK, 0]] as const) {
      const d = crossed();
      d.input(2000, d.peer(seq, ack, flags, len));
      expect(d.tcb.state).toBe('SYN-RECEIVED');
      expect(d.wire()).toEqual(['[.] seq 1 ack 1']);
    }
  });

  it('a passive child takes no SYN,ACK as a crossed one', () => {
    const d = drivenTcb();
    d.tcb.acceptSyn(0, d.peer(0, 0, SYN, 0, { ack: 0 }), 100);
    d.clear();
    d.input(2000, d.peer(0, 1, SYN | ACK));
    expect(d.tcb.state).toBe('SYN-RECEIVED');
    expect(d.wire()).toEqual(['[.] seq 1 ack 1']);
  });
});

describe("the peer's window (RFC 9293 §3.10.7.4 fifth check: SND.WL1, SND.WL2)", () => {
  /** An active opener ESTABLISHED with 100 bytes queued and a peer window of 10: 10 bytes sent. */
  function sending() {
    const d = drivenTcb();
    d.openActive(10_000, { window: 10 });
    d.at(11_000, (t) => t.send(11_000, new Uint8Array(100)));
    return d;
  }

  it('a newer segment (SEG.SEQ > SND.WL1) updates the window, and the newly allowed data goes at once, after the ACK of its data', () => {
    const d = sending();
    d.input(20_000, d.peer(1, 11, ACK | PSH, 5, { window: 30 }));
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 10', '[.] seq 11 ack 6', '[P.] seq 11 ack 6 len 30']);
  });

  it('an older segment (SEG.SEQ < SND.WL1), or one at SND.WL1 with SEG.ACK < SND.WL2, leaves the window; one at both updates it', () => {
    const d = sending();
    d.input(20_000, d.peer(1, 11, ACK | PSH, 5, { window: 0 })); // WL1 1, WL2 11: a zero window
    d.input(30_000, d.peer(6, 11, ACK, 0, { window: 0 })); // WL1 6
    d.input(40_000, d.peer(4, 11, ACK | PSH, 5, { window: 50 })); // SEG.SEQ 4 < WL1: its 3 new bytes are taken, its window not
    d.input(50_000, d.peer(9, 11, ACK, 0, { window: 0 })); // WL1 9
    d.input(60_000, d.peer(9, 10, ACK, 0, { window: 50 })); // SEG.ACK 10 < WL2 11: not taken
    expect(d.wire().slice(1)).toEqual(['[.] seq 11 ack 6', '[.] seq 11 ack 9']);
    d.input(70_000, d.peer(9, 11, ACK, 0, { window: 20 })); // WL1 and WL2 equal: taken
    expect(d.wire().slice(3)).toEqual(['[P.] seq 11 ack 9 len 20']);
  });
});

describe('what an acceptable ACK also does (RFC 7323 §4.3, Linux tcp_ack)', () => {
  it('TS.Recent is taken from a segment whose ACK lies in [SND.UNA, SND.NXT], not from one with an old ACK', () => {
    const d = drivenTcb({ config: { timestamps: 1 } });
    d.openPassive(1000, { tsVal: 1000 }, { tsVal: 1002 });
    d.at(1500, (t) => t.send(1500, new Uint8Array(10)));
    d.input(2000, d.peer(1, 11, ACK, 0, { tsVal: 1010, tsEcr: 0 })); // acks all: TS.Recent 1010
    d.input(3000, d.peer(1, 1, ACK | PSH, 5, { tsVal: 1020, tsEcr: 0 })); // ACK 1 < SND.UNA 11: TS.Recent stays
    d.input(4000, d.peer(6, 11, ACK | PSH, 5, { tsVal: 1030, tsEcr: 0 })); // ACK = SND.UNA = SND.NXT: taken
    expect(d.segments.filter((s) => s.flags === ACK).map((s) => [s.ack, s.tsEcr])).toEqual([[6, 1010], [11, 1030]]);
  });

  it('RFC 9293 §3.8.6.1: an ACK that answers a zero-window probe starts the count of unanswered probes again (icsk_probes_out = 0)', () => {
    const d = drivenTcb({ config: { dataRetries: 2 } });
    d.openActive(10_000, { window: 0 });
    d.at(11_000, (t) => t.send(11_000, new Uint8Array(10)));
    for (let i = 0; i < 4; i++) {
      expect(d.fire(TimerKind.Persist)).toBe(true);
      d.input(d.segments.at(-1)!.atUs + 1000, d.peer(1, 1, ACK, 0, { window: 0 }));
    }
    expect(d.tcb.state).toBe('ESTABLISHED');
    // Unanswered now: two more probes, then ETIMEDOUT at the third timeout.
    expect([d.fire(TimerKind.Persist), d.fire(TimerKind.Persist), d.fire(TimerKind.Persist)]).toEqual([true, true, true]);
    expect(d.tcb.state).toBe('CLOSED');
    expect(d.tcb.error).toBe('ETIMEDOUT');
    expect(d.wire().filter((l) => l === '[.] seq 0 ack 1').length).toBe(6);
  });
});

describe('receive-path edges', () => {
  it('RFC 7323 §5.3: a segment PAWS rejects is answered, with data every time, bare at most once per 500 ms', () => {
    const d = drivenTcb({ config: { timestamps: 1 } });
    d.openPassive(1000, { tsVal: 1000 }, { tsVal: 1010 });
    d.input(2000, d.peer(1, 1, ACK | PSH, 10, { tsVal: 1005, tsEcr: 0 }));
    d.input(3000, d.peer(1, 1, ACK | PSH, 10, { tsVal: 1005, tsEcr: 0 }));
    d.input(4000, d.peer(1, 1, ACK, 0, { tsVal: 1005, tsEcr: 0 }));
    d.input(5000, d.peer(1, 1, ACK, 0, { tsVal: 1005, tsEcr: 0 }));
    expect(d.wire()).toEqual(['[.] seq 1 ack 1', '[.] seq 1 ack 1', '[.] seq 1 ack 1']);
    expect(d.segments.map((s) => s.atUs)).toEqual([2000, 3000, 4000]);
    expect(d.tcb.readableBytes).toBe(0);
  });

  it('RFC 5961 §3.2: the challenge ACK of an in-window RST is rate-limited even when the RST carries data', () => {
    const d = established();
    d.input(2000, d.peer(2, 1, RST | ACK, 5));
    d.input(3000, d.peer(2, 1, RST | ACK, 5));
    expect(d.wire()).toEqual(['[.] seq 1 ack 1']);
    expect(d.tcb.state).toBe('ESTABLISHED');
  });

  it('RFC 5961 §4: a retransmitted SYN,ACK in ESTABLISHED is no crossed SYN,ACK: not taken, and answered at most once per 500 ms', () => {
    const d = drivenTcb();
    d.openActive(10_000);
    d.input(20_000, d.peer(0, 1, SYN | ACK));
    d.input(120_000, d.peer(0, 1, SYN | ACK));
    expect(d.wire()).toEqual(['[.] seq 1 ack 1']);
    expect(d.accepted).toEqual([]);
  });

  it('RFC 9293 §3.10.7.4: with a zero window, the ACK of a data segment at RCV.NXT is processed (its text trimmed); one past RCV.NXT is not', () => {
    const d = established({ receiveBufferBytes: 10 });
    d.input(2000, d.peer(1, 1, ACK | PSH, 10)); // the window is now 0
    d.at(3000, (t) => t.shutdownWrite(3000)); // our FIN: seq 1
    d.clear();
    d.input(4000, d.peer(12, 2, ACK | PSH, 5)); // one past: unacceptable, the ACK of our FIN not taken
    expect(d.tcb.state).toBe('FIN-WAIT-1');
    d.input(5000, d.peer(11, 2, ACK | PSH, 5)); // at RCV.NXT: the ACK is taken
    expect(d.states).toEqual(['FIN-WAIT-1>FIN-WAIT-2 rcv ACK of FIN']);
    expect(d.tcb.readableBytes).toBe(10);
    expect(d.wire()).toEqual(['[.] seq 2 ack 11', '[.] seq 2 ack 11']);
    // Text trimmed away entirely wakes no reader.
    expect(d.wakes).toBe(0);
  });

  it('C5: data that exactly fills the window takes the FIN it carries (Linux tcp_data_queue queues the whole in-order skb)', () => {
    const d = established({ receiveBufferBytes: 20 });
    d.input(2000, d.peer(1, 1, ACK | PSH | FIN, 20));
    expect(d.tcb.readableBytes).toBe(20);
    expect(d.states).toEqual(['ESTABLISHED>CLOSE-WAIT rcv FIN']);
  });

  it('C9: a retransmission that reaches past the FIN, in CLOSE-WAIT, is ACKed at once; text after the FIN is not', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, ACK | FIN));
    d.fire(TimerKind.DelayedAck);
    d.clear();
    d.input(60_000, d.peer(1, 1, ACK | PSH, 2)); // starts at the FIN's number: acceptable (ends at RCV.NXT)
    expect(d.wire()).toEqual(['[.] seq 1 ack 2']);
    d.input(70_000, d.peer(2, 1, ACK | PSH, 2)); // starts at RCV.NXT: beyond the FIN, ignored
    expect(d.wire()).toEqual(['[.] seq 1 ack 2']);
    expect(d.tcb.readableBytes).toBe(0);
  });

  it('RFC 2018 §4: the SACK block of out-of-order data with a FIN covers the FIN (Linux tcp_sack_new_ofo_skb takes end_seq)', () => {
    const d = drivenTcb({ config: { sack: true } });
    d.openPassive(1000, { sackOk: true });
    d.input(2000, d.peer(11, 1, ACK | PSH | FIN, 10));
    expect(d.segments.map((s) => s.sack)).toEqual([[11, 22]]);
  });

  it('C5: an ACK in FIN-WAIT-1 whose FIN waits for a zero window acks no FIN: still FIN-WAIT-1', () => {
    const d = drivenTcb();
    d.openActive(10_000, { window: 0 });
    d.at(11_000, (t) => t.shutdownWrite(11_000));
    d.input(20_000, d.peer(1, 1, ACK, 0, { window: 0 }));
    expect(d.tcb.state).toBe('FIN-WAIT-1');
    expect(d.wire()).toEqual([]);
  });

  it('C4: a FIN at sequence number 0 (our ISN 2^32 - 1) is acknowledged by ACK 1 mod 2^32', () => {
    const d = drivenTcb({ ourIsn: 0xffffffff });
    d.openActive(10_000);
    d.at(11_000, (t) => t.shutdownWrite(11_000));
    expect(d.wire()).toEqual(['[F.] seq 1 ack 1']); // relative: the FIN's absolute number is 0
    d.input(20_000, d.peer(1, 2, ACK));
    expect(d.tcb.state).toBe('FIN-WAIT-2');
  });
});

describe('when to ACK in-order data (Linux __tcp_ack_snd_check, tcp_send_delayed_ack)', () => {
  it('C7: with quick ACKs used up, one full segment waits 40 ms; more than one full segment unacknowledged is ACKed at once', () => {
    const d = established({ quickAcks: 0 });
    d.input(2000, d.peer(1, 1, ACK | PSH, 1460));
    expect(d.wire()).toEqual([]);
    d.input(3000, d.peer(1461, 1, ACK | PSH, 1));
    expect(d.wire()).toEqual(['[.] seq 1 ack 1462']);
  });

  it('the full segment is the smaller of the two MSSs: the peer\'s 500', () => {
    const d = drivenTcb({ config: { quickAcks: 0 } });
    d.openPassive(1000, { mss: 500 });
    d.input(2000, d.peer(1, 1, ACK | PSH, 500));
    expect(d.wire()).toEqual([]);
    d.input(3000, d.peer(501, 1, ACK | PSH, 1));
    expect(d.wire()).toEqual(['[.] seq 1 ack 502']);
  });

  it('the first 16 ACKs go at once (quick-ACK mode, tcp_incr_quickack), then they wait', () => {
    const d = established({ quickAcks: 2 });
    for (let i = 0; i < 3; i++) d.input(2000 + i * 1000, d.peer(1 + i * 10, 1, ACK | PSH, 10));
    expect(d.wire()).toEqual(['[.] seq 1 ack 11', '[.] seq 1 ack 21']);
    expect(d.armed.get(TimerKind.DelayedAck)).toBe(4000 + 40_000);
  });

  it('ping-pong mode (after the peer\'s FIN) spends no quick ACK', () => {
    const d = established({ quickAcks: 1 });
    d.input(2000, d.peer(1, 1, ACK | FIN));
    expect(d.wire()).toEqual([]);
  });

  it('with delayedAckUs 0 every ACK goes at once', () => {
    const d = established({ quickAcks: 0, delayedAckUs: 0 });
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    d.input(3000, d.peer(11, 1, ACK | FIN));
    expect(d.wire()).toEqual(['[.] seq 1 ack 11', '[.] seq 1 ack 12']);
  });

  it('an armed delayed-ACK timer is not pushed back by more data; it sends one ACK of all', () => {
    const d = established({ quickAcks: 0 });
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    d.input(30_000, d.peer(11, 1, ACK | PSH, 10));
    expect(d.armed.get(TimerKind.DelayedAck)).toBe(42_000);
    d.fire(TimerKind.DelayedAck);
    expect(d.wire()).toEqual(['[.] seq 1 ack 21']);
    expect(d.segments[0]!.atUs).toBe(42_000);
  });

  it('C7: before any data, the timer fires at the next 4 ms tick, also from exactly on a tick', () => {
    const d = established();
    d.input(8000, d.peer(1, 1, ACK | FIN));
    expect(d.armed.get(TimerKind.DelayedAck)).toBe(12_000);
  });
});

describe('the peer\'s FIN (RFC 9293 §3.10.7.4 eighth check, Linux tcp_fin)', () => {
  it('C4: the FIN takes one sequence number; in FIN-WAIT-1 it is ACKed at once and the connection is CLOSING (simultaneous close)', () => {
    const d = established();
    d.at(1500, (t) => t.shutdownWrite(1500));
    d.clear();
    d.input(2000, d.peer(1, 1, ACK | PSH | FIN, 5));
    expect(d.wire()).toEqual(['[.] seq 2 ack 7']);
    expect(d.states).toEqual(['FIN-WAIT-1>CLOSING rcv FIN']);
    expect(d.wakes).toBeGreaterThan(0);
    expect(d.tcb.recv(3000, 10) instanceof Uint8Array).toBe(true);
    expect(d.tcb.recv(3000, 10)).toBe('eof');
  });

  it('C8: in FIN-WAIT-2 it is ACKed at once and the connection enters TIME-WAIT for 2·MSL', () => {
    const d = established();
    d.at(1500, (t) => t.shutdownWrite(1500));
    d.input(2000, d.peer(1, 2, ACK));
    d.clear();
    d.input(3000, d.peer(1, 2, ACK | FIN));
    expect(d.wire()).toEqual(['[.] seq 2 ack 2']);
    expect(d.states).toEqual(['FIN-WAIT-2>TIME-WAIT rcv FIN']);
    expect(d.armed.get(TimerKind.TimeWait)).toBe(3000 + 60_000_000);
    expect(d.tcb.recv(3000, 10)).toBe('eof');
  });
});

describe('reassembly edges (RFC 9293 §3.10.7.4 seventh check)', () => {
  it('a queued piece that ends exactly at RCV.NXT is dropped, and one with a FIN that ends there still gives the FIN', () => {
    const d = established();
    d.input(2000, d.peer(6, 1, ACK | PSH, 5)); // [6, 11) out of order
    d.input(3000, d.peer(11, 1, ACK | FIN)); // FIN at 11, out of order
    d.input(4000, d.peer(1, 1, ACK | PSH, 10)); // [1, 11) covers the first piece exactly
    expect(d.tcb.readableBytes).toBe(10);
    expect(d.states).toEqual(['ESTABLISHED>CLOSE-WAIT rcv FIN']);
    expect(d.wire().at(-1)).toBe('[.] seq 1 ack 12');
  });

  it('pieces arriving in reverse order are delivered in sequence order', () => {
    const d = established();
    d.input(2000, d.peer(21, 1, ACK | PSH, 10));
    d.input(3000, d.peer(11, 1, ACK | PSH, 10));
    d.input(4000, d.peer(1, 1, ACK | PSH, 10));
    const data = d.tcb.recv(5000, 100);
    expect(data instanceof Uint8Array ? Array.from(data) : data).toEqual(Array.from({ length: 30 }, (_, i) => (i + 1) & 255));
  });

  it('a piece partly overlapping RCV.NXT gives only its new bytes', () => {
    const d = established();
    d.input(2000, d.peer(5, 1, ACK | PSH, 10)); // [5, 15)
    d.input(3000, d.peer(1, 1, ACK | PSH, 8)); // [1, 9): 4 bytes of the queued piece are new from 9
    const data = d.tcb.recv(4000, 100);
    expect(data instanceof Uint8Array ? Array.from(data) : data).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
  });
});

describe('window updates after a read (Linux tcp_cleanup_rbuf, RFC 9293 §3.8.6.2.2)', () => {
  it('no update once the peer\'s FIN came (CLOSE-WAIT): it sends nothing more', () => {
    const d = established({ receiveBufferBytes: 100 });
    d.input(2000, d.peer(1, 1, ACK | PSH | FIN, 100));
    d.fire(TimerKind.DelayedAck);
    d.clear();
    d.tcb.recv(3000, 100);
    expect(d.wire()).toEqual([]);
  });

  it('the update goes when the window left is at most half the buffer and the new one at least twice it and at least min(buffer / 2, MSS)', () => {
    // Window left 50 of 100 (exactly half): a read of 10 gives 60, not twice 50: nothing.
    const half = established({ receiveBufferBytes: 100 });
    half.input(2000, half.peer(1, 1, ACK | PSH, 50));
    half.clear();
    half.tcb.recv(3000, 10);
    expect(half.wire()).toEqual([]);
    // A read of all 50 gives 100 ≥ 2 · 50: the update.
    half.tcb.recv(3000, 100);
    expect(half.wire(0, true)).toEqual(['[.] seq 1 ack 51 win 100']);
    // Window left 49: 51 queued; reading 49 gives 98 ≥ 98.
    const edge = established({ receiveBufferBytes: 100 });
    edge.input(2000, edge.peer(1, 1, ACK | PSH, 51));
    edge.clear();
    edge.tcb.recv(3000, 49);
    expect(edge.wire(0, true)).toEqual(['[.] seq 1 ack 52 win 98']);
  });

  it('no update for less than min(buffer / 2, MSS) (receiver SWS avoidance)', () => {
    // Buffer 4000, MSS 1460: window left 0; reading 1000 opens 1000 < 1460: nothing; 460 more: the update.
    const d = established({ receiveBufferBytes: 4000, mss: 1460, windowScaling: false });
    d.input(2000, d.peer(1, 1, ACK | PSH, 1460));
    d.input(2100, d.peer(1461, 1, ACK | PSH, 1460));
    d.input(2200, d.peer(2921, 1, ACK | PSH, 1080));
    d.clear();
    d.tcb.recv(3000, 1000);
    expect(d.wire()).toEqual([]);
    d.tcb.recv(3000, 460);
    expect(d.wire(0, true)).toEqual(['[.] seq 1 ack 4001 win 1460']);
  });
});

describe('window updates after a read in FIN-WAIT-1 and FIN-WAIT-2', () => {
  it('C6: a half-closed connection still receiving announces the window a read reopens, as in ESTABLISHED', () => {
    for (const acked of [false, true]) {
      const d = established({ receiveBufferBytes: 100 });
      d.at(1500, (t) => t.shutdownWrite(1500));
      d.input(2000, d.peer(1, acked ? 2 : 1, ACK | PSH, 60));
      expect(d.tcb.state).toBe(acked ? 'FIN-WAIT-2' : 'FIN-WAIT-1');
      d.clear();
      d.tcb.recv(3000, 60);
      expect(d.wire(0, true)).toEqual(['[.] seq 2 ack 61 win 100']);
    }
  });
});
