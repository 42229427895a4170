/**
 * RFC 7323 timestamps in one TCB, driven with no simulator: TS.Recent's update rule (§4.3,
 * Linux tcp_replace_ts_recent) and PAWS (§5, Linux tcp_paws_discard), with segments whose
 * sequence numbers are in the window but whose TSvals are old — what a wrapped sequence space
 * or an old incarnation's duplicate looks like.
 */
import { describe, expect, it } from 'vitest';
import { stackConfig } from './config.js';
import { ACK, NO_OPTIONS, PSH, RST, SYN, tcpdumpFlags, type Segment } from './segment.js';
import { seqAdd } from './seq.js';
import { Tcb, type SegmentFields } from './tcb.js';
import { quietTcbEnv } from './test-support.js';
import { timeWaitEffect } from './time-wait.js';

const PEER_ISN = 7000;
const OUR_ISN = 100;
/** The connection's TSval offset, as the host would give it. */
const OFFSET = 5_000_000;

/** A passive TCB in ESTABLISHED with timestamps in use; the peer's SYN had TSval 1000. */
function established() {
  const sent: string[] = [];
  const env = quietTcbEnv({
    transmit: (_tcb, f: SegmentFields) =>
      sent.push(`[${tcpdumpFlags(f.flags)}] ack ${(f.ack - PEER_ISN) >>> 0}${f.tsVal >= 0 ? ` ts ${f.tsVal - OFFSET} ecr ${f.tsEcr}` : ''}`),
    timestampOffset: () => OFFSET,
  });
  const tcb = new Tcb({ connId: 1, localIp: 1, localPort: 80, remoteIp: 2, remotePort: 1000 }, stackConfig(), env, { reuseAddr: false, lingerSec: null });
  /** A segment from the peer at relative sequence `rel` with TSval `tsVal` (-1: none). */
  const seg = (rel: number, flags: number, tsVal: number, len = 0): Segment => ({
    id: 0,
    srcIp: 2,
    srcPort: 1000,
    dstIp: 1,
    dstPort: 80,
    seq: seqAdd(PEER_ISN, rel),
    ack: OUR_ISN + 1,
    flags,
    window: 512,
    ...NO_OPTIONS,
    mss: flags & SYN ? 1460 : 0,
    wscale: flags & SYN ? 7 : -1,
    tsVal,
    tsEcr: 0,
    payload: new Uint8Array(len),
    sentAtUs: 0,
    incarnation: 1,
    connId: 2,
    retransmission: false,
    copyOf: -1,
  });
  tcb.acceptSyn(0, seg(0, SYN, 1000), OUR_ISN);
  tcb.input(2000, seg(1, ACK, 1002));
  return { tcb, sent, seg };
}

describe('TS.Recent (RFC 7323 §4.3)', () => {
  it('the SYN,ACK echoes the SYN\'s TSval; later ACKs echo the newest TSval of a segment at the left window edge', () => {
    // Arrange
    const { tcb, sent, seg } = established();
    // Act: data at 1 (TSval 1005), then at 11 with TSval 1009.
    tcb.input(3000, seg(1, ACK | PSH, 1005, 10));
    tcb.input(4000, seg(11, ACK | PSH, 1009, 10));
    // Assert: our TSval is our clock in ms (0, 3, 4) plus the offset.
    expect(sent).toEqual(['[S.] ack 1 ts 0 ecr 1000', '[.] ack 11 ts 3 ecr 1005', '[.] ack 21 ts 4 ecr 1009']);
    expect(tcb.tsRecent).toBe(1009);
  });

  it('a segment beyond the point our last ACK acknowledged does not set TS.Recent (it is out of order)', () => {
    // Arrange
    const { tcb, sent, seg } = established();
    // Act: a segment at 11 arrives before the one at 1; it is queued with TSval 1020.
    tcb.input(3000, seg(11, ACK | PSH, 1020, 10));
    // Assert: the duplicate ACK still echoes 1002.
    expect(sent.at(-1)).toBe('[.] ack 1 ts 3 ecr 1002');
    expect(tcb.tsRecent).toBe(1002);
  });
});

describe('PAWS (RFC 7323 §5, Linux tcp_paws_discard)', () => {
  it('drops an in-window segment whose TSval is older than TS.Recent, and ACKs it', () => {
    // Arrange
    const { tcb, sent, seg } = established();
    tcb.input(3000, seg(1, ACK | PSH, 1005, 10));
    sent.length = 0;
    // Act: in-window data (seq 11 = RCV.NXT) with TSval 900, an old duplicate.
    tcb.input(4000, seg(11, ACK | PSH, 900, 10));
    // Assert: not taken (RCV.NXT stays 11), answered with an ACK of what we have.
    expect(sent).toEqual(['[.] ack 11 ts 4 ecr 1005']);
    expect(tcb.readableBytes).toBe(10);
  });

  it('tolerates a TSval one behind TS.Recent (Linux TCP_PAWS_WINDOW = 1)', () => {
    // Arrange
    const { tcb, seg } = established();
    tcb.input(3000, seg(1, ACK | PSH, 1005, 10));
    // Act
    tcb.input(4000, seg(11, ACK | PSH, 1004, 10));
    // Assert
    expect(tcb.readableBytes).toBe(20);
    expect(tcb.tsRecent).toBe(1005);
  });

  it('lets a reset through to the sequence test: an exact RST with an old TSval still resets (Linux accepts it despite PAWS)', () => {
    // Arrange
    const { tcb, seg } = established();
    // Act
    tcb.input(3000, seg(1, RST | ACK, 10));
    // Assert
    expect(tcb.state).toBe('CLOSED');
    expect(tcb.error).toBe('ECONNRESET');
  });

  it('does not apply to segments without timestamps', () => {
    // Arrange
    const { tcb, seg } = established();
    // Act
    tcb.input(3000, seg(1, ACK | PSH, -1, 10));
    // Assert
    expect(tcb.readableBytes).toBe(10);
  });
});

describe('TIME-WAIT with timestamps (Linux tcp_timewait_state_process)', () => {
  const RCV_NXT = 5000;
  /** A segment to TIME-WAIT with sequence number `seq`, flags and TSval. */
  const twSeg = (seq: number, flags: number, tsVal: number): Segment => ({
    id: 0, srcIp: 2, srcPort: 1000, dstIp: 1, dstPort: 80, seq, ack: 9000, flags, window: 512, ...NO_OPTIONS, tsVal, tsEcr: 0,
    payload: new Uint8Array(0), sentAtUs: 0, incarnation: 1, connId: 2, retransmission: false, copyOf: -1,
  });
  // Late enough that a stamp 61 s back is still a time (a negative stamp means no timestamps).
  const NOW = 100_000_000;
  const effectOf = (seg: Segment, stampUs = NOW - 1_000_000) => timeWaitEffect(seg, RCV_NXT, false, 1000, stampUs, NOW);

  it('a SYN below RCV.NXT with a newer TSval opens a new incarnation; with an older one it fails PAWS, is answered and restarts 2·MSL', () => {
    expect(effectOf(twSeg(100, SYN, 1001)).newSyn).toBe(true);
    const old = effectOf(twSeg(100, SYN, 999));
    expect([old.newSyn, old.answer, old.restartCause]).toEqual([false, true, 'rcv old timestamp (PAWS)']);
    // Without timestamps on the TIME-WAIT, TSvals are not looked at: sequence numbers decide.
    const noTs = timeWaitEffect(twSeg(100, SYN, 1001), RCV_NXT, false, 0, -1, NOW);
    expect([noTs.newSyn, noTs.answer, noTs.restartCause]).toEqual([false, true, null]);
  });

  it('a SYN above RCV.NXT whose TSval fails PAWS opens nothing', () => {
    expect(effectOf(twSeg(RCV_NXT + 10, SYN, 999)).newSyn).toBe(false);
  });

  it('an in-window RST with an old TSval is dropped, unless TS.Recent is over 60 s old (TCP_PAWS_MSL)', () => {
    expect(effectOf(twSeg(RCV_NXT, RST, 999)).closeCause).toBe(null);
    expect(effectOf(twSeg(RCV_NXT, RST, 999), NOW - 61_000_000).closeCause).toBe('rcv RST in TIME-WAIT');
  });

  it('an in-window bare ACK takes its TSval as TS.Recent', () => {
    const ack = effectOf(twSeg(RCV_NXT, ACK, 1005));
    expect([ack.accept, ack.takeTsVal, ack.restartCause]).toEqual([true, true, 'rcv ACK']);
  });
});

