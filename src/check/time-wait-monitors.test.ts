/**
 * The TIME-WAIT monitors (time-wait-2msl, time-wait-side, no-stale-segment) on handcrafted
 * traces: each rule of the monitor's own model of Linux tcp_timewait_state_process and of
 * RFC 9293 §3.6 broken one way and kept the other, with the message it must give. Written to
 * kill the Stryker survivors of src/check/time-wait-monitors.ts (docs/mutation.md, session 6).
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, RST, SYN, type Segment } from '../tcp/segment.js';
import { TIME_WAIT_OVERFLOW_CAUSE } from '../tcp/tcb.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import type { MonitorContext } from './monitor.js';
import { NoStaleSegmentMonitor, TimeWait2MslMonitor, TimeWaitSideMonitor } from './time-wait-monitors.js';
import { A, B, conn, CONTEXT, delivered, judge, seg, sent, state } from './trace-test-support.js';

const C = 0x0a000003;
const REUSED = 'TIME-WAIT reused by connect (tcp_twsk_unique)';
const withTs = (s: Segment, tsVal: number): Segment => ({ ...s, tsVal, tsEcr: 1 });
const hostEvent = (atUs: number, host: string, event: 'crash' | 'restart'): TraceEvent => ({ type: 'host', atUs, host, event });
const accepted = (atUs: number, c: ConnInfo, s: Segment): TraceEvent => ({ type: 'accepted', atUs, conn: c, seg: s });
const twRestart = (atUs: number, c: ConnInfo): TraceEvent => ({ type: 'time-wait-restart', atUs, conn: c, cause: 'rcv FIN' });

describe('time-wait-2msl: RCV.NXT, timestamps and early exits as the wire shows them', () => {
  // The holder a:1000 ACKed the peer's FIN (RCV.NXT = 501) and entered TIME-WAIT at 100; 2·MSL = 200 us.
  const holder = conn(1, 'a', 1000, 80);
  const peer = conn(2, 'b', 80, 1000);
  const ackOfFin = (atUs: number, tsVal = -1) => sent(atUs, tsVal >= 0 ? withTs(seg(holder, { seq: 301, ack: 501, flags: ACK }), tsVal) : seg(holder, { seq: 301, ack: 501, flags: ACK }));
  const entry: TraceEvent[] = [ackOfFin(100), state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT')];
  const stampedEntry: TraceEvent[] = [ackOfFin(100, 1), state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT')];
  const close = (atUs: number, cause = '') => state(atUs, holder, 'TIME-WAIT', 'CLOSED', cause);
  const synFrom = (atUs: number, from: { ip: number; port: number; toIp: number; toPort: number }) => sent(atUs, seg(from, { seq: 70000, flags: SYN, connId: 3 }));
  const sameTuple = { ip: A, port: 1000, toIp: B, toPort: 80 };
  const inWindowRst = (atUs: number) => delivered(atUs, seg(peer, { seq: 501, flags: RST }));
  const noSyn = 'TIME-WAIT ended as taken over by connect(), but no SYN left its 4-tuple';
  const noTimestamps = 'TIME-WAIT without timestamps taken over by connect(); Linux tcp_twsk_unique allows it only with timestamps';

  it('C8 tcp_tw_reuse: the take-over\'s SYN must leave in the same instant; one a moment later is no evidence', () => {
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...stampedEntry, close(150, REUSED), synFrom(150, sameTuple)])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...stampedEntry, close(150, REUSED), synFrom(160, sameTuple)])).toBe(noSyn);
  });

  it('C8 tcp_tw_reuse: only a bare SYN is a connect()\'s; an ACK or a SYN,ACK leaving the 4-tuple is not', () => {
    const ack = sent(150, seg(sameTuple, { seq: 70001, ack: 9, flags: ACK, connId: 3 }));
    const synAck = sent(150, seg(sameTuple, { seq: 70000, ack: 9, flags: SYN | ACK, connId: 3 }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...stampedEntry, close(150, REUSED), ack])).toBe(noSyn);
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...stampedEntry, close(150, REUSED), synAck])).toBe(noSyn);
  });

  it('C8 tcp_tw_reuse: a SYN from another 4-tuple, differing in any one of its four fields, is no take-over', () => {
    for (const other of [
      { ip: C, port: 1000, toIp: B, toPort: 80 },
      { ip: A, port: 1001, toIp: B, toPort: 80 },
      { ip: A, port: 1000, toIp: C, toPort: 80 },
      { ip: A, port: 1000, toIp: B, toPort: 81 },
    ]) {
      expect(judge(new TimeWait2MslMonitor(CONTEXT), [...stampedEntry, close(150, REUSED), synFrom(150, other)])).toBe(noSyn);
    }
  });

  it('C8 tcp_twsk_unique: a TSval of 0 is a timestamp, sent or arrived; an arrival without one is not', () => {
    const zeroTsEntry = [ackOfFin(100, 0), state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT')];
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...zeroTsEntry, close(150, REUSED), synFrom(150, sameTuple)])).toBeNull();
    const peerAck = (tsVal: number) => delivered(150, tsVal >= 0 ? withTs(seg(peer, { seq: 501, ack: 302, flags: ACK }), tsVal) : seg(peer, { seq: 501, ack: 302, flags: ACK }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, peerAck(0), close(150, REUSED), synFrom(150, sameTuple)])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, peerAck(-1), close(150, REUSED), synFrom(150, sameTuple)])).toBe(noTimestamps);
  });

  it('C9: the endpoint\'s restart report for a connection not in TIME-WAIT is no concern of this monitor', () => {
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [twRestart(50, holder)])).toBeNull();
  });

  it('C8: RCV.NXT is what the holder\'s ACKs say; a segment without the ACK bit carries no acknowledgment (RFC 9293 §3.1)', () => {
    // A FIN without ACK (its ack field is junk), sent after the ACK of the peer's FIN, before and in TIME-WAIT.
    const noAck = (atUs: number) => sent(atUs, seg(holder, { seq: 301, ack: 777, flags: FIN }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [ackOfFin(90), noAck(95), state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'), inWindowRst(150), close(150)])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'), ackOfFin(100), noAck(120), inWindowRst(150), close(150)])).toBeNull();
    // A RST,ACK's ack is no ACK of the peer's data either.
    const rstAck = sent(95, seg(holder, { seq: 301, ack: 777, flags: RST | ACK }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [ackOfFin(90), rstAck, state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'), inWindowRst(150), close(150)])).toBeNull();
  });

  it('C8: with no ACK from the holder, RCV.NXT is unknown and no RST is in window', () => {
    const rstAt1 = delivered(150, seg(peer, { seq: 1, flags: RST }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'), rstAt1, close(150)])).toBe('TIME-WAIT lasted 50 us since the last segment that restarted it, expected 2·MSL = 200 us');
  });

  it('C9 tcp_timewait_state_process: a bare segment at RCV.NXT, even without ACK, restarts 2·MSL; data without ACK does not', () => {
    const bare = delivered(150, seg(peer, { seq: 501, flags: 0 }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, bare, close(350)])).toBeNull();
    const data = delivered(150, seg(peer, { seq: 501, flags: 0, bytes: 10 }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, data, close(300)])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, data, close(350)])).toBe('TIME-WAIT lasted 250 us since the last segment that restarted it, expected 2·MSL = 200 us');
  });

  it('C9 tcp_rfc1337: an in-window RST with a timestamp may fail PAWS, so 2·MSL from either the entry or the RST passes', () => {
    const rfc1337: MonitorContext = { ...CONTEXT, rfc1337: true };
    const stampedRst = delivered(150, withTs(seg(peer, { seq: 501, flags: RST }), 5));
    expect(judge(new TimeWait2MslMonitor(rfc1337), [...entry, stampedRst, close(300)])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(rfc1337), [...entry, stampedRst, close(350)])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(rfc1337), [...entry, stampedRst, close(320)])).toBe('TIME-WAIT lasted 220 us since the last segment that restarted it, expected 2·MSL = 200 us');
  });

  it('C9: a SYN above RCV.NXT without timestamps may end TIME-WAIT at once but never restarts it', () => {
    const synAbove = delivered(150, seg(peer, { seq: 1000, flags: SYN }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, synAbove, close(350)])).toBe('TIME-WAIT lasted 250 us since the last segment that restarted it, expected 2·MSL = 200 us');
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, synAbove, close(300)])).toBeNull();
  });

  it('C8: TIME-WAIT entered at time 0 and left at 1 us is too short; left at 2·MSL + 1 us after entry at 100, too long', () => {
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [ackOfFin(0), state(0, holder, 'FIN-WAIT-2', 'TIME-WAIT'), close(1)])).toBe('TIME-WAIT lasted 1 us since the last segment that restarted it, expected 2·MSL = 200 us');
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, close(201)])).toBe('TIME-WAIT lasted 101 us since the last segment that restarted it, expected 2·MSL = 200 us');
  });

  it('C8: a TIME-WAIT never left is reported at the end of the run, at no event (index -1), against its connection', () => {
    const monitor = new TimeWait2MslMonitor(CONTEXT);
    expect(judge(monitor, entry, 301)).toBe('TIME-WAIT last restarted at 100 us still held at 301 us, past 2·MSL');
    expect(monitor.violation?.eventIndex).toBe(-1);
    expect(monitor.violation?.connId).toBe(1);
  });

  it('C8: only a leaving from TIME-WAIT ends it; a state change the endpoint reports from another state does not', () => {
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, state(300, holder, 'FIN-WAIT-2', 'CLOSED')])).toBe('TIME-WAIT last restarted at 100 us still held at 10000 us, past 2·MSL');
  });

  it('C8: a TIME-WAIT is judged by its own connection: a stale exit of an earlier one on the 4-tuple ends nothing', () => {
    const next: ConnInfo = { ...conn(3, 'a', 1000, 80), incarnation: 2 };
    const events = [...entry, state(150, next, 'FIN-WAIT-2', 'TIME-WAIT'), close(300), state(350, next, 'TIME-WAIT', 'CLOSED')];
    expect(judge(new TimeWait2MslMonitor(CONTEXT), events)).toBeNull();
  });
});

describe('time-wait-2msl: crashes and restarts of hosts', () => {
  const holder = conn(1, 'a', 1000, 80);
  const entry: TraceEvent[] = [sent(100, seg(holder, { seq: 301, ack: 501, flags: ACK })), state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT')];
  const close = (atUs: number, cause = '') => state(atUs, holder, 'TIME-WAIT', 'CLOSED', cause);
  const tooShort = 'TIME-WAIT lasted 50 us since the last segment that restarted it, expected 2·MSL = 200 us';

  it('C8: a crash of its host ends a TIME-WAIT even when the endpoint reports no state change, or reports it late', () => {
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, hostEvent(150, 'a', 'crash')])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, hostEvent(150, 'a', 'crash'), close(150, 'host crash'), twRestart(160, holder)])).toBeNull();
  });

  it('C8: a crash of the peer\'s host ends no TIME-WAIT of this host, and excuses no early exit of this instant', () => {
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, hostEvent(150, 'b', 'crash'), close(250)])).toBe('TIME-WAIT lasted 150 us since the last segment that restarted it, expected 2·MSL = 200 us');
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, close(150), hostEvent(150, 'b', 'crash')])).toBe(tooShort);
  });

  it('C8: restart() of a host that never crashed (the program\'s restart step) ends none of its TIME-WAITs', () => {
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, hostEvent(150, 'a', 'restart')])).toBe('TIME-WAIT last restarted at 100 us still held at 10000 us, past 2·MSL');
  });
});

describe('time-wait-side: the active closer, and only it, enters TIME-WAIT', () => {
  // The closer a:1000 closes first (FIN-WAIT-1 at 10); the peer b:80 is the passive side.
  const closer = conn(1, 'a', 1000, 80);
  const peer = conn(2, 'b', 80, 1000, true);
  const fromPeer = (flags: number, bytes = 0) => seg(peer, { seq: 500, ack: 302, flags, bytes });
  const closing = state(10, closer, 'ESTABLISHED', 'FIN-WAIT-1');
  const halfClosed = [closing, accepted(20, closer, fromPeer(ACK)), state(20, closer, 'FIN-WAIT-1', 'FIN-WAIT-2')];
  const skipped = (from: string) => `active closer went ${from} -> CLOSED on a segment without TIME-WAIT`;

  it('C8 RFC 9293 §3.10.7.4: the peer\'s FIN in FIN-WAIT-2 leads to TIME-WAIT, never straight to CLOSED', () => {
    expect(judge(new TimeWaitSideMonitor(CONTEXT), [...halfClosed, accepted(30, closer, fromPeer(FIN | ACK)), state(30, closer, 'FIN-WAIT-2', 'TIME-WAIT')])).toBeNull();
    expect(judge(new TimeWaitSideMonitor(CONTEXT), [...halfClosed, accepted(30, closer, fromPeer(FIN | ACK)), state(30, closer, 'FIN-WAIT-2', 'CLOSED')])).toBe(skipped('FIN-WAIT-2'));
  });

  it('C8: a FIN,ACK in FIN-WAIT-1 (the only segment accepted), or the ACK in CLOSING, leads to TIME-WAIT too', () => {
    expect(judge(new TimeWaitSideMonitor(CONTEXT), [closing, accepted(20, closer, fromPeer(FIN | ACK)), state(20, closer, 'FIN-WAIT-1', 'CLOSED')])).toBe(skipped('FIN-WAIT-1'));
    const simultaneous = [closing, accepted(20, closer, fromPeer(FIN)), state(20, closer, 'FIN-WAIT-1', 'CLOSING'), accepted(30, closer, fromPeer(ACK))];
    expect(judge(new TimeWaitSideMonitor(CONTEXT), [...simultaneous, state(30, closer, 'CLOSING', 'CLOSED')])).toBe(skipped('CLOSING'));
    expect(judge(new TimeWaitSideMonitor(CONTEXT), [...simultaneous, state(30, closer, 'CLOSING', 'TIME-WAIT')])).toBeNull();
  });

  it('C14 RFC 9293 §3.10.7.4: a RST accepted in FIN-WAIT-2, an abort (a RST sent), or a timeout closes without TIME-WAIT', () => {
    expect(judge(new TimeWaitSideMonitor(CONTEXT), [...halfClosed, accepted(30, closer, fromPeer(RST)), state(30, closer, 'FIN-WAIT-2', 'CLOSED')])).toBeNull();
    // Data after close() is answered with a RST (Linux tcp_rcv_state_process): an abort.
    const abort = [...halfClosed, accepted(30, closer, fromPeer(ACK, 10)), sent(30, seg(closer, { seq: 302, ack: 510, flags: RST | ACK })), state(30, closer, 'FIN-WAIT-2', 'CLOSED')];
    expect(judge(new TimeWaitSideMonitor(CONTEXT), abort)).toBeNull();
    // tcp_fin_timeout: nothing accepted at that instant.
    expect(judge(new TimeWaitSideMonitor(CONTEXT), [...halfClosed, state(60_020, closer, 'FIN-WAIT-2', 'CLOSED')])).toBeNull();
    // Retransmissions exhausted in FIN-WAIT-1: nothing was ever accepted.
    expect(judge(new TimeWaitSideMonitor(CONTEXT), [closing, state(5_000, closer, 'FIN-WAIT-1', 'CLOSED')])).toBeNull();
  });

  it('C8 C11: the passive closer entering TIME-WAIT from LAST-ACK is a violation; after a simultaneous close both may', () => {
    const passive = [state(10, peer, 'ESTABLISHED', 'CLOSE-WAIT'), state(20, peer, 'CLOSE-WAIT', 'LAST-ACK'), state(30, peer, 'LAST-ACK', 'TIME-WAIT')];
    expect(judge(new TimeWaitSideMonitor(CONTEXT), passive)).toBe('passive closer entered TIME-WAIT (from LAST-ACK); only the side that closed first may');
    const both = [closing, state(10, peer, 'ESTABLISHED', 'FIN-WAIT-1'), state(20, closer, 'FIN-WAIT-1', 'CLOSING'), state(20, peer, 'FIN-WAIT-1', 'CLOSING'), state(30, closer, 'CLOSING', 'TIME-WAIT'), state(30, peer, 'CLOSING', 'TIME-WAIT')];
    expect(judge(new TimeWaitSideMonitor(CONTEXT), both)).toBeNull();
  });
});

describe('time-wait-side: tcp_max_tw_buckets counted per host', () => {
  const closer = conn(1, 'a', 1000, 80);
  const other = conn(4, 'a', 1001, 80);
  const one: MonitorContext = { ...CONTEXT, maxTwBuckets: 1 };
  const otherInTimeWait = [state(0, other, 'ESTABLISHED', 'FIN-WAIT-1'), state(1, other, 'FIN-WAIT-1', 'TIME-WAIT')];
  const overflow = (atUs: number) => state(atUs, closer, 'FIN-WAIT-2', 'CLOSED', TIME_WAIT_OVERFLOW_CAUSE);
  const notFull = 'active closer skipped TIME-WAIT for a full tcp_max_tw_buckets, but only 0 of 1 are in use on a';

  it('C8: without a tcp_max_tw_buckets in the context, an overflow is not checked (nor taken for a skipped TIME-WAIT)', () => {
    const fin = accepted(10, closer, seg(conn(2, 'b', 80, 1000), { seq: 500, ack: 302, flags: FIN | ACK }));
    expect(judge(new TimeWaitSideMonitor(CONTEXT), [state(0, closer, 'ESTABLISHED', 'FIN-WAIT-1'), fin, overflow(10)])).toBeNull();
  });

  it('C8: a crash empties the host\'s buckets even when the endpoint reports no state change for them', () => {
    expect(judge(new TimeWaitSideMonitor(one), [...otherInTimeWait, hostEvent(5, 'a', 'crash'), hostEvent(6, 'a', 'restart'), overflow(10)])).toBe(notFull);
  });

  it('C8: restart() of a host that never crashed leaves its buckets in use', () => {
    expect(judge(new TimeWaitSideMonitor(one), [...otherInTimeWait, hostEvent(5, 'a', 'restart'), overflow(10)])).toBeNull();
  });

  it('C8: a TIME-WAIT the crash already emptied, reported left late, does not free a bucket it never held', () => {
    const late = state(5, other, 'TIME-WAIT', 'CLOSED', 'host crash');
    const again = state(7, conn(5, 'a', 1002, 80), 'FIN-WAIT-1', 'TIME-WAIT');
    const events = [...otherInTimeWait, hostEvent(5, 'a', 'crash'), late, state(6, conn(5, 'a', 1002, 80), 'ESTABLISHED', 'FIN-WAIT-1'), again, overflow(10)];
    expect(judge(new TimeWaitSideMonitor(one), events)).toBeNull();
  });
});

describe('no-stale-segment (C10)', () => {
  const next: ConnInfo = { ...conn(3, 'a', 1000, 80), incarnation: 2 };
  const oldPeer = conn(2, 'b', 80, 1000);
  const old = (flags: number, bytes = 0): Segment => ({ ...seg(oldPeer, { seq: 7, ack: 1, flags, bytes }), incarnation: 1, sentAtUs: 40 });

  it('C10: a segment of an earlier incarnation accepted by a later one is a violation, named by what it was', () => {
    for (const [flags, bytes, what] of [
      [RST | ACK, 0, 'RST'],
      [SYN | ACK, 0, 'SYN'],
      [FIN | ACK, 0, 'FIN'],
      [ACK, 10, '10 data bytes'],
      [ACK, 0, 'ACK'],
    ] as const) {
      const s = old(flags, bytes);
      expect(judge(new NoStaleSegmentMonitor(CONTEXT), [accepted(100, next, s)])).toBe(`incarnation 2 accepted segment #${s.id} (${what}, seq 7) sent by incarnation 1 at 40 us`);
    }
  });

  it('C10: a segment of the same incarnation, or of a later one, is no stale segment', () => {
    expect(judge(new NoStaleSegmentMonitor(CONTEXT), [accepted(100, next, { ...old(ACK, 10), incarnation: 2 })])).toBeNull();
    expect(judge(new NoStaleSegmentMonitor(CONTEXT), [accepted(100, { ...next, incarnation: 1 }, { ...old(ACK, 10), incarnation: 2 })])).toBeNull();
  });
});
