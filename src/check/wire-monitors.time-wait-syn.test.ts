/**
 * time-wait-syn (C10) on handcrafted traces, the bookkeeping around the rule: where RCV.NXT and
 * SND.NXT come from, which TIME-WAIT a state change ends, listeners lost in a crash, and a SYN
 * still waiting for its answer when the run ends.
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, RST, SYN } from '../tcp/segment.js';
import type { TraceEvent } from '../world/trace.js';
import { A, B, call, conn, CONTEXT, delivered, judge, seg, sent, state } from './trace-test-support.js';
import { TimeWaitSynMonitor } from './wire-monitors.js';

// The server b:80 listens; its connection to a:40000 ends in TIME-WAIT with RCV.NXT 500, SND.NXT 700.
const holder = conn(2, 'b', 80, 40000);
const listening: TraceEvent[] = [
  call(0, 'b', { op: 'socket', sock: 'l' }, 'ok', 3),
  call(0, 'b', { op: 'bind', sock: 'l', port: 80 }, 'ok', 3),
  call(0, 'b', { op: 'listen', sock: 'l', backlog: 8 }, 'ok', 3),
];
const from = { ip: A, port: 40000, toIp: B, toPort: 80 };
const back = { ip: B, port: 80, toIp: A, toPort: 40000 };
const synAbove = (atUs = 150): TraceEvent => delivered(atUs, seg(from, { seq: 1000, flags: SYN }));
const synAck = (isn: number): TraceEvent => sent(150, seg(back, { seq: isn, ack: 1001, flags: SYN | ACK, connId: 9 }));
const later = state(151, holder, 'CLOSED', 'CLOSED');
const NO_ANSWER = "SYN seq 1000 above TIME-WAIT's RCV.NXT on a listening port opened no new incarnation (no SYN,ACK)";

describe('time-wait-syn: RCV.NXT and SND.NXT from the holder\'s own segments', () => {
  it('C10: the ACK sent before the state change to TIME-WAIT gives RCV.NXT and SND.NXT (a simultaneous close enters TIME-WAIT sending nothing)', () => {
    const closing: TraceEvent[] = [
      ...listening,
      state(90, holder, 'FIN-WAIT-1', 'CLOSING'),
      sent(90, seg(holder, { seq: 700, ack: 500, flags: ACK })),
      state(100, holder, 'CLOSING', 'TIME-WAIT'),
    ];
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...closing, synAbove(), later])).toBe(NO_ANSWER);
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...closing, synAbove(), synAck(700 + 65537), later])).toBeNull();
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...closing, synAbove(), synAck(700 + 65538), later])).toBe("the new incarnation's ISN is 66238, expected the old SND.NXT + 65537 = 66237 (Linux tcp_timewait_state_process)");
  });

  it('C10: a TIME-WAIT whose holder sent nothing yet has no RCV.NXT to judge a SYN by', () => {
    const silent = [...listening, state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT')];
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...silent, synAbove(), later])).toBeNull();
  });
});

describe('time-wait-syn: which TIME-WAIT a state change ends', () => {
  it('C10: the end of an older incarnation\'s TIME-WAIT does not end the newer one on the same 4-tuple', () => {
    const newer = { ...conn(3, 'b', 80, 40000), incarnation: 2 };
    const events: TraceEvent[] = [
      ...listening,
      state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'),
      sent(100, seg(holder, { seq: 300, ack: 200, flags: ACK })),
      state(120, newer, 'FIN-WAIT-2', 'TIME-WAIT'),
      sent(120, seg(newer, { seq: 700, ack: 500, flags: ACK })),
      state(130, holder, 'TIME-WAIT', 'CLOSED'),
      synAbove(),
      later,
    ];
    expect(judge(new TimeWaitSynMonitor(CONTEXT), events)).toBe(NO_ANSWER);
  });

  it('a TIME-WAIT that ends without having been seen to begin is left alone', () => {
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...listening, state(100, holder, 'TIME-WAIT', 'CLOSED'), synAbove(), later])).toBeNull();
  });
});

describe('time-wait-syn: listeners and the end of the run', () => {
  const held: TraceEvent[] = [...listening, state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'), sent(100, seg(holder, { seq: 700, ack: 500, flags: ACK }))];

  it('C10: a host that crashed listens no more, so a SYN above RCV.NXT need not open anything; a restart alone listens on nothing', () => {
    const crash: TraceEvent = { type: 'host', atUs: 120, host: 'b', event: 'crash' };
    const restart: TraceEvent = { type: 'host', atUs: 130, host: 'b', event: 'restart' };
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, crash, restart, synAbove(), later])).toBeNull();
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, restart, synAbove(), later])).toBe(NO_ANSWER);
    const otherHost: TraceEvent = { type: 'host', atUs: 120, host: 'a', event: 'crash' };
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, otherHost, synAbove(), later])).toBe(NO_ANSWER);
  });

  it('C10: a SYN still unanswered when the run ends is judged at the end', () => {
    const monitor = new TimeWaitSynMonitor(CONTEXT);
    expect(judge(monitor, [...held, synAbove()])).toBe(NO_ANSWER);
    expect(monitor.violation?.eventIndex).toBe(-1);
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, synAbove(), synAck(700 + 65537)])).toBeNull();
  });

  it("C10: the holder's FIN retransmitted in TIME-WAIT is no ACK to learn from until it carries one", () => {
    // A FIN without ACK (never sent by a real stack) leaves RCV.NXT as the last ACK gave it.
    const odd = [...held, sent(110, seg(holder, { seq: 699, ack: 0, flags: FIN }))];
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...odd, synAbove(), later])).toBe(NO_ANSWER);
  });
});

describe('time-wait-syn: the TS.Recent bound of a 4-tuple past judging', () => {
  it('C10, RFC 7323: a forgotten incarnation\'s TSvals bound nothing for the next one on the 4-tuple', () => {
    const withTs = (s: ReturnType<typeof seg>, tsVal: number) => ({ ...s, tsVal });
    const client = (connId: number, incarnation: number) => ({ ...conn(connId, 'a', 40000, 80), incarnation });
    const server = (connId: number, incarnation: number) => ({ ...conn(connId, 'b', 80, 40000, true), incarnation });
    const close = (atUs: number, c: ReturnType<typeof conn>) => call(atUs, c.host, { op: 'close', sock: 's' }, 'ok', 4, c.connId);
    // The first incarnation: a TSval of 1,000,000 reaches the server, then both close and are forgotten.
    const oldData = withTs(seg(client(1, 1), { seq: 1, ack: 1, flags: ACK }), 1_000_000);
    const first: TraceEvent[] = [
      state(0, client(1, 1), 'SYN-SENT', 'ESTABLISHED'), state(0, server(2, 1), 'SYN-RECEIVED', 'ESTABLISHED'),
      sent(5, oldData), delivered(5, oldData),
      close(10, client(1, 1)), close(10, server(2, 1)),
      state(20, client(1, 1), 'ESTABLISHED', 'CLOSED'), state(20, server(2, 1), 'ESTABLISHED', 'CLOSED'),
      // A later instant with the 4-tuple still quiet: the book forgets the pair.
      { type: 'host', atUs: 30, host: 'c', event: 'restart' },
    ];
    // The second: its client's clock starts low (TSval 100); the server ends in TIME-WAIT.
    const newData = withTs(seg(client(3, 2), { seq: 1, ack: 1, flags: ACK }), 100);
    const second: TraceEvent[] = [
      state(40, client(3, 2), 'SYN-SENT', 'ESTABLISHED'), state(40, server(4, 2), 'SYN-RECEIVED', 'ESTABLISHED'),
      sent(45, newData), delivered(45, newData),
      state(50, server(4, 2), 'FIN-WAIT-2', 'TIME-WAIT'), sent(50, seg(server(4, 2), { seq: 700, ack: 500, flags: ACK })),
    ];
    // A SYN with TSval 200, newer than anything this incarnation delivered: it must open.
    const syn = delivered(60, withTs(seg(from, { seq: 1000, flags: SYN }), 200));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...listening, ...first, ...second, syn, state(61, server(4, 2), 'CLOSED', 'CLOSED')])).toBe("SYN seq 1000 above TIME-WAIT's RCV.NXT on a listening port opened no new incarnation (no SYN,ACK)");
  });
});

describe('time-wait-syn: what answers the SYN, and what gives RCV.NXT, SND.NXT and the TS.Recent bound', () => {
  // As above: b:80 listens and holds TIME-WAIT with RCV.NXT 500, SND.NXT 700; a SYN at 1000 is above it.
  const held: TraceEvent[] = [...listening, state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'), sent(100, seg(holder, { seq: 700, ack: 500, flags: ACK }))];
  const C = 0x0a000003; // an address no host of the run has
  const OPENED = 700 + 65537;
  const withTs = (s: ReturnType<typeof seg>, tsVal: number) => ({ ...s, tsVal });
  // What the peer a:40000 delivers to the holder (its TSvals bound the holder's TS.Recent from above).
  const fromPeer = (atUs: number, tsVal: number, fields: { seq: number; ack?: number; flags: number } = { seq: 499, ack: 701, flags: FIN | ACK }) => delivered(atUs, withTs(seg(from, fields), tsVal));
  const synAt = (seq: number, tsVal = -1) => delivered(150, withTs(seg(from, { seq, flags: SYN }), tsVal));
  const noAnswer = (seq: number) => `SYN seq ${seq} above TIME-WAIT's RCV.NXT on a listening port opened no new incarnation (no SYN,ACK)`;

  it('C10: a reset with SYN and ACK set is no SYN,ACK: it opens nothing (RFC 9293 §3.10.7: a RST is processed as a reset)', () => {
    const resetSynAck = sent(150, seg(back, { seq: OPENED, ack: 1001, flags: RST | SYN | ACK, connId: 9 }));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, synAbove(), resetSynAck, later])).toBe(NO_ANSWER);
  });

  it('C10: a SYN,ACK on another 4-tuple at the same instant (any of its four fields different) answers nothing', () => {
    const synAckOn = (on: { ip: number; port: number; toIp: number; toPort: number }) => sent(150, seg(on, { seq: OPENED, ack: 1001, flags: SYN | ACK, connId: 9 }));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, synAbove(), synAckOn({ ...back, ip: C }), later])).toBe(NO_ANSWER);
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, synAbove(), synAckOn({ ...back, port: 81 }), later])).toBe(NO_ANSWER);
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, synAbove(), synAckOn({ ...back, toIp: C }), later])).toBe(NO_ANSWER);
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, synAbove(), synAckOn({ ...back, toPort: 40001 }), later])).toBe(NO_ANSWER);
  });

  it('C10: a SYN,ACK opening a new incarnation for a SYN not above RCV.NXT is wrong whatever it acknowledges', () => {
    const wrongAck = sent(150, seg(back, { seq: OPENED, ack: 999, flags: SYN | ACK, connId: 9 }));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, synAt(400), wrongAck, later])).toBe(`SYN seq 400, not above TIME-WAIT's RCV.NXT, opened a new incarnation (SYN,ACK seq ${OPENED})`);
  });

  it('C10: a holder with connection id 0 is judged like any other (ids from 0 up are connections)', () => {
    const first = conn(0, 'b', 80, 40000);
    const events = [...listening, state(100, first, 'FIN-WAIT-2', 'TIME-WAIT'), sent(100, seg(first, { seq: 700, ack: 500, flags: ACK })), synAbove(), later];
    expect(judge(new TimeWaitSynMonitor(CONTEXT), events)).toBe(NO_ANSWER);
  });

  it('C10: the ack field of a segment without ACK says nothing of RCV.NXT (RFC 9293 §3.1), nor does another connection\'s ACK on the 4-tuple', () => {
    const noAckFlag = sent(110, seg(holder, { seq: 700, ack: 2000, flags: FIN }));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, noAckFlag, synAbove(), later])).toBe(NO_ANSWER);
    const otherConnection = sent(110, seg(back, { seq: 5000, ack: 3000, flags: ACK, connId: 9 }));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, otherConnection, synAbove(), later])).toBe(NO_ANSWER);
  });

  it('C10: RCV.NXT 0 and SND.NXT 0 are sequence numbers like any other: a SYN above 0 opens, with ISN 0 + 65537', () => {
    const atZero = [...listening, state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'), sent(100, seg(holder, { seq: 0, ack: 0, flags: ACK }))];
    const answer = (isn: number) => sent(150, seg(back, { seq: isn, ack: 6, flags: SYN | ACK, connId: 9 }));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...atZero, synAt(5), later])).toBe(noAnswer(5));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...atZero, synAt(5), answer(65537), later])).toBeNull();
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...atZero, synAt(5), answer(65538), later])).toBe("the new incarnation's ISN is 65538, expected the old SND.NXT + 65537 = 65537 (Linux tcp_timewait_state_process)");
  });

  it('RFC 7323: without timestamps on both sides, the sequence number alone decides (Linux reads a TIME-WAIT SYN\'s TSval only when TIME-WAIT has TS.Recent)', () => {
    // No TSval ever reached the holder; the SYN carries one.
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, synAt(1000, 200), later])).toBe(NO_ANSWER);
    // TSvals reached it; the SYN carries none, so PAWS passes and the sequence number decides.
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, fromPeer(90, 200), synAt(1000), later])).toBe(NO_ANSWER);
    // A segment without timestamps leaves the bound unset: a SYN below RCV.NXT with a TSval is judged by its sequence number.
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, fromPeer(90, -1), synAt(400, 5), later])).toBeNull();
  });

  it('RFC 7323: a SYN below RCV.NXT whose TSval is newer than every TSval delivered (mod 2^32, 0 included) must open', () => {
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, fromPeer(90, 0xffff_fff0), synAt(400, 0), later])).toBe(noAnswer(400));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, fromPeer(90, 0), synAt(400, 1), later])).toBe(noAnswer(400));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, fromPeer(90, 0), synAt(400, 1), sent(150, seg(back, { seq: OPENED, ack: 401, flags: SYN | ACK, connId: 9 })), later])).toBeNull();
  });

  it('RFC 7323: a SYN below RCV.NXT whose TSval only equals the newest delivered may find TS.Recent equal (no opening) or older: not judged', () => {
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, fromPeer(90, 200), synAt(400, 200), later])).toBeNull();
  });

  it('RFC 7323: TSvals delivered out of order: the bound is the newest, not the last', () => {
    // TSval 1000, then a late copy with 500: TS.Recent may be 1000, so a SYN with 800 may fail PAWS.
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, fromPeer(80, 1000), fromPeer(90, 500), synAt(400, 800), later])).toBeNull();
  });

  it('RFC 7323, Linux tcp_timewait_state_process: a RST off RCV.NXT is dropped and leaves TS.Recent alone, so it raises no bound', () => {
    // TSval 200 reached the holder, then a RST with TSval 5000 at seq 9999 (not RCV.NXT 500): a SYN with TSval 300 is newer than TS.Recent.
    const outOfWindowReset = fromPeer(95, 5000, { seq: 9999, flags: RST });
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, fromPeer(90, 200), outOfWindowReset, synAt(400, 300), later])).toBe(noAnswer(400));
  });
});

describe('time-wait-syn under tcp_rfc1337 = 1: a RST\'s TSval raises the bound too', () => {
  const held: TraceEvent[] = [...listening, state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'), sent(100, seg(holder, { seq: 700, ack: 500, flags: ACK }))];
  const withTs = (s: ReturnType<typeof seg>, tsVal: number) => ({ ...s, tsVal });

  // Found by helper ports: with tcp_rfc1337 = 1 a RST at RCV.NXT leaves TIME-WAIT in place, and
  // Linux tcp_timewait_state_process then takes its TSval as tw_ts_recent (src/tcp/time-wait.ts
  // does too: RST_PROTECTED, takeTsVal). Skipping RSTs kept the bound at 200, so the monitor
  // demanded an opening that PAWS refuses (5000 - 300 > 0).
  it('RFC 7323, tcp_rfc1337 = 1: a RST at RCV.NXT that TIME-WAIT survives raises TS.Recent, so a SYN with an older TSval may fail PAWS', () => {
    const rfc1337 = { ...CONTEXT, rfc1337: true };
    const tsFromPeer = delivered(90, withTs(seg(from, { seq: 499, ack: 701, flags: FIN | ACK }), 200));
    const resetAtRcvNxt = delivered(95, withTs(seg(from, { seq: 500, flags: RST }), 5000));
    const syn = delivered(150, withTs(seg(from, { seq: 1000, flags: SYN }), 300));
    expect(judge(new TimeWaitSynMonitor(rfc1337), [...held, tsFromPeer, resetAtRcvNxt, syn, later])).toBeNull();
  });

  it('RFC 7323: a RST raises no bound where it leaves TS.Recent alone: off RCV.NXT (dropped), without tcp_rfc1337 (it ends TIME-WAIT), or to no TIME-WAIT', () => {
    const rfc1337 = { ...CONTEXT, rfc1337: true };
    const tsFromPeer = delivered(90, withTs(seg(from, { seq: 499, ack: 701, flags: FIN | ACK }), 200));
    const syn = delivered(150, withTs(seg(from, { seq: 1000, flags: SYN }), 300));
    const unanswered = "SYN seq 1000 above TIME-WAIT's RCV.NXT on a listening port opened no new incarnation (no SYN,ACK)";
    const resetOff = delivered(95, withTs(seg(from, { seq: 501, flags: RST }), 5000));
    expect(judge(new TimeWaitSynMonitor(rfc1337), [...held, tsFromPeer, resetOff, syn, later])).toBe(unanswered);
    // Without tcp_rfc1337 the RST would have ended TIME-WAIT; a trace that keeps it still owes the opening.
    const resetAt = delivered(95, withTs(seg(from, { seq: 500, flags: RST }), 5000));
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...held, tsFromPeer, resetAt, syn, later])).toBe(unanswered);
    // A RST on a 4-tuple in no TIME-WAIT is no RST at RCV.NXT of one.
    const elsewhere = delivered(95, withTs(seg({ ip: A, port: 40001, toIp: B, toPort: 80 }, { seq: 500, flags: RST }), 5000));
    expect(judge(new TimeWaitSynMonitor(rfc1337), [...held, tsFromPeer, elsewhere, syn, later])).toBe(unanswered);
  });
});
