/**
 * The socket calls and the segment dispatch of tcb.ts on one TCB driven by hand: what send(),
 * recv(), shutdown() and close() return and send in each state (RFC 9293 §3.10.1–§3.10.5, Linux
 * tcp_sendmsg, tcp_recvmsg, tcp_shutdown, tcp_close, tcp_disconnect), which states take
 * segments, and TIME-WAIT's entry and hand-over (tcp_timewait_state_process, inet_twsk).
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, PSH, RST, SYN } from './segment.js';
import { Tcb, TimerKind } from './tcb.js';
import { drivenTcb, type DrivenTcbSpec } from './test-support.js';
import { TimeWaitConnection } from './time-wait.js';

const bytes = (n: number) => new Uint8Array(n);

/** A passive TCB in ESTABLISHED at 1 ms (peer's ISN 7000, ours 100), its record cleared. */
function established(spec: DrivenTcbSpec = {}) {
  const d = drivenTcb(spec);
  d.openPassive();
  return d;
}

/** Each state a test needs, reached by calls and segments from ESTABLISHED. */
const reach = {
  'CLOSE-WAIT': (d: ReturnType<typeof established>) => d.input(2000, d.peer(1, 1, ACK | FIN)),
  'FIN-WAIT-1': (d: ReturnType<typeof established>) => d.at(2000, (t) => t.shutdownWrite(2000)),
  'FIN-WAIT-2': (d: ReturnType<typeof established>) => {
    d.at(2000, (t) => t.shutdownWrite(2000));
    d.input(3000, d.peer(1, 2, ACK));
  },
  CLOSING: (d: ReturnType<typeof established>) => {
    d.at(2000, (t) => t.shutdownWrite(2000));
    d.input(3000, d.peer(1, 1, ACK | FIN));
  },
  'LAST-ACK': (d: ReturnType<typeof established>) => {
    d.input(2000, d.peer(1, 1, ACK | FIN));
    d.at(3000, (t) => t.shutdownWrite(3000));
  },
  'TIME-WAIT': (d: ReturnType<typeof established>) => {
    d.at(2000, (t) => t.shutdownWrite(2000));
    d.input(3000, d.peer(1, 2, ACK | FIN));
  },
} as const;
type Reachable = keyof typeof reach;
function inState(state: Reachable, spec: DrivenTcbSpec = {}) {
  const d = established(spec);
  reach[state](d);
  expect(d.tcb.state).toBe(state);
  d.clear();
  return d;
}

describe('send() by state (RFC 9293 §3.10.2, Linux tcp_sendmsg)', () => {
  it('queues in ESTABLISHED and CLOSE-WAIT; EPIPE once the sending half is closed, and after a close; EAGAIN before the handshake ends; ENOTCONN on a listener', () => {
    expect(established().at(2000, (t) => t.send(2000, bytes(5)))).toBe(5);
    expect(inState('CLOSE-WAIT').at(4000, (t) => t.send(4000, bytes(5)))).toBe(5);
    for (const state of ['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'LAST-ACK', 'TIME-WAIT'] as const) {
      expect([state, inState(state).at(9000, (t) => t.send(9000, bytes(5)))]).toEqual([state, 'EPIPE']);
    }
    const synSent = drivenTcb();
    synSent.at(0, (t) => t.connect(0, 100));
    expect(synSent.tcb.send(1, bytes(5))).toBe('EAGAIN');
    const synRcvd = drivenTcb();
    synRcvd.tcb.acceptSyn(0, synRcvd.peer(0, 0, SYN, 0, { ack: 0 }), 100);
    expect(synRcvd.tcb.send(1, bytes(5))).toBe('EAGAIN');
    const closed = drivenTcb();
    expect(closed.tcb.send(1, bytes(5))).toBe('EPIPE');
    const listen = drivenTcb();
    listen.tcb.setState('LISTEN', 'test');
    expect(listen.tcb.send(1, bytes(5))).toBe('ENOTCONN');
    expect(listen.tcb.recv(1, 5)).toBe('ENOTCONN');
  });

  it('the data leaves at once, and the pending error comes first', () => {
    const d = established();
    expect(d.at(2000, (t) => t.send(2000, bytes(5)))).toBe(5);
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 5']);
    d.input(3000, d.peer(1, 1, RST));
    expect(d.tcb.send(4000, bytes(5))).toBe('ECONNRESET');
    expect(d.tcb.send(4000, bytes(5))).toBe('EPIPE');
  });
});

describe('recv() (RFC 9293 §3.10.3, Linux tcp_recvmsg)', () => {
  it('returns at most what is asked, then EAGAIN while open; EOF after the peer\'s FIN, and in CLOSING, LAST-ACK, TIME-WAIT', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    const first = d.tcb.recv(3000, 4);
    expect(first instanceof Uint8Array ? Array.from(first) : first).toEqual([1, 2, 3, 4]);
    expect(d.tcb.readableBytes).toBe(6);
    const rest = d.tcb.recv(3000, 100);
    expect(rest instanceof Uint8Array ? rest.length : rest).toBe(6);
    expect(d.tcb.recv(3000, 100)).toBe('EAGAIN');
    for (const state of ['FIN-WAIT-1', 'FIN-WAIT-2'] as const) expect(inState(state).tcb.recv(9000, 10)).toBe('EAGAIN');
    for (const state of ['CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT'] as const) expect(inState(state).tcb.recv(9000, 10)).toBe('eof');
  });

  it('C5: data queued before the FIN is read first, then EOF', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, ACK | PSH | FIN, 3));
    const data = d.tcb.recv(3000, 10);
    expect(data instanceof Uint8Array ? data.length : data).toBe(3);
    expect(d.tcb.recv(3000, 10)).toBe('eof');
  });

  it('a read that reopens a window closed to less than half the buffer sends a window update; a small read behind a wide window does not (Linux tcp_cleanup_rbuf)', () => {
    const d = established({ config: { receiveBufferBytes: 100 } });
    d.input(2000, d.peer(1, 1, ACK | PSH, 60));
    d.clear();
    d.tcb.recv(3000, 10);
    expect(d.wire()).toEqual([]);
    d.input(4000, d.peer(61, 1, ACK | PSH, 40));
    d.clear();
    d.tcb.recv(5000, 60);
    expect(d.wire(0, true)).toEqual(['[.] seq 1 ack 101 win 70']);
  });
});

describe('shutdown(SHUT_WR) and close() (RFC 9293 §3.10.4, Linux tcp_shutdown, tcp_close)', () => {
  it('C1: shutdown(SHUT_WR) in SYN-SENT closes at once and sends nothing (tcp_close_state)', () => {
    const d = drivenTcb();
    d.at(0, (t) => t.connect(0, 100));
    d.clear();
    d.at(500, (t) => t.shutdownWrite(500));
    expect(d.states).toEqual(['SYN-SENT>CLOSED close in SYN-SENT']);
    expect([d.wire(), d.armed.size]).toEqual([[], 0]);
  });

  it('C6: in ESTABLISHED it sends the FIN (FIN-WAIT-1), in CLOSE-WAIT too (LAST-ACK); once closing, again does nothing', () => {
    const est = established();
    est.at(2000, (t) => t.shutdownWrite(2000));
    est.at(3000, (t) => t.shutdownWrite(3000));
    expect(est.states).toEqual(['ESTABLISHED>FIN-WAIT-1 close']);
    expect(est.wire()).toEqual(['[F.] seq 1 ack 1']);
    const cw = inState('CLOSE-WAIT');
    cw.at(4000, (t) => t.shutdownWrite(4000));
    cw.at(5000, (t) => t.shutdownWrite(5000));
    expect(cw.states).toEqual(['CLOSE-WAIT>LAST-ACK close']);
    expect(cw.wire()).toEqual(['[F.] seq 1 ack 2']);
    for (const state of ['FIN-WAIT-2', 'CLOSING', 'TIME-WAIT'] as const) {
      const d = inState(state);
      d.at(9000, (t) => t.shutdownWrite(9000));
      expect([state, d.wire(), d.states]).toEqual([state, [], []]);
    }
  });

  it('a half-open child closed before the handshake ends sends its FIN with the handshake (SYN-RECEIVED → FIN-WAIT-1)', () => {
    const d = drivenTcb();
    d.tcb.acceptSyn(0, d.peer(0, 0, SYN, 0, { ack: 0 }), 100);
    d.clear();
    d.at(500, (t) => t.shutdownWrite(500));
    expect(d.states).toEqual(['SYN-RECEIVED>FIN-WAIT-1 close']);
  });

  it('C8: close() in FIN-WAIT-2 (after shutdown(SHUT_WR)) orphans it and arms tcp_fin_timeout; a second close() does nothing', () => {
    const d = inState('FIN-WAIT-2');
    expect(d.armed.has(TimerKind.FinWait2)).toBe(false);
    d.at(5000, (t) => t.close(5000));
    expect(d.armed.get(TimerKind.FinWait2)).toBe(5000 + 60_000_000);
    d.at(6000, (t) => t.close(6000));
    expect(d.armed.get(TimerKind.FinWait2)).toBe(5000 + 60_000_000);
    expect(d.wire()).toEqual([]);
  });

  it('C14: close() with unread data aborts with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> (RFC 2525 §2.17); with SO_LINGER{on,0} too', () => {
    const unread = established();
    unread.input(2000, unread.peer(1, 1, ACK | PSH, 10));
    unread.clear();
    unread.at(3000, (t) => t.close(3000));
    expect(unread.wire()).toEqual(['[R.] seq 1 ack 11']);
    expect(unread.states).toEqual(['ESTABLISHED>CLOSED close with unread data']);
    expect(unread.tcb.readableBytes).toBe(0);

    const linger = established({ options: { lingerSec: 0 } });
    linger.at(2000, (t) => t.send(2000, bytes(10)));
    linger.clear();
    linger.at(3000, (t) => t.close(3000));
    expect(linger.wire()).toEqual(['[R.] seq 11 ack 1']);
    expect(linger.states).toEqual(['ESTABLISHED>CLOSED close with SO_LINGER{on,0}']);
    expect([linger.tcb.unsentOrUnackedBytes, linger.armed.size]).toEqual([0, 0]);

    const lingerFive = established({ options: { lingerSec: 5 } });
    lingerFive.at(3000, (t) => t.close(3000));
    expect(lingerFive.wire()).toEqual(['[F.] seq 1 ack 1']);
  });

  it('close() in TIME-WAIT or CLOSED sends nothing and changes no state', () => {
    const tw = inState('TIME-WAIT');
    tw.at(5000, (t) => t.close(5000));
    expect([tw.wire(), tw.states, tw.tcb.orphaned]).toEqual([[], [], true]);
    const closed = drivenTcb();
    closed.at(5000, (t) => t.close(5000));
    expect([closed.wire(), closed.states]).toEqual([[], []]);
  });
});

describe('abort (RFC 9293 §3.10.5, Linux tcp_disconnect, tcp_send_active_reset)', () => {
  it('C14: RST,ACK from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT; queued data discarded; no TIME-WAIT', () => {
    for (const state of ['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT'] as const) {
      const d = inState(state);
      d.at(9000, (t) => t.abort(9000, 'test'));
      expect([state, d.wire(), d.states]).toEqual([state, [state === 'CLOSE-WAIT' ? '[R.] seq 1 ack 2' : '[R.] seq 2 ack 1'], [`${state}>CLOSED test`]]);
    }
    const synRcvd = drivenTcb();
    synRcvd.tcb.acceptSyn(0, synRcvd.peer(0, 0, SYN, 0, { ack: 0 }), 100);
    synRcvd.clear();
    synRcvd.at(500, (t) => t.abort(500, 'test'));
    expect(synRcvd.wire()).toEqual(['[R.] seq 1 ack 1']);
  });

  it('in CLOSING and LAST-ACK a RST,ACK only while data is queued or the FIN not yet sent; else nothing (Linux tcp_disconnect)', () => {
    const lastAck = inState('LAST-ACK');
    lastAck.at(9000, (t) => t.abort(9000, 'test'));
    expect([lastAck.wire(), lastAck.states]).toEqual([[], ['LAST-ACK>CLOSED test']]);
    const closing = inState('CLOSING');
    closing.at(9000, (t) => t.abort(9000, 'test'));
    expect(closing.wire()).toEqual([]);
    // LAST-ACK with data still unacknowledged: RST,ACK.
    const withData = established();
    withData.input(2000, withData.peer(1, 1, ACK | FIN));
    withData.at(2500, (t) => t.send(2500, bytes(10)));
    withData.at(3000, (t) => t.shutdownWrite(3000));
    withData.clear();
    withData.at(9000, (t) => t.abort(9000, 'test'));
    expect(withData.wire()).toEqual(['[R.] seq 12 ack 2']);
    // LAST-ACK whose FIN waits for a zero window: RST,ACK.
    const finWaiting = established();
    finWaiting.input(2000, finWaiting.peer(1, 1, ACK | FIN, 0, { window: 0 }));
    finWaiting.at(3000, (t) => t.shutdownWrite(3000));
    expect(finWaiting.tcb.state).toBe('LAST-ACK');
    finWaiting.clear();
    finWaiting.at(9000, (t) => t.abort(9000, 'test'));
    expect(finWaiting.wire()).toEqual(['[R.] seq 1 ack 2']);
  });

  it('in TIME-WAIT or SYN-SENT nothing is sent', () => {
    const tw = inState('TIME-WAIT');
    tw.at(9000, (t) => t.abort(9000, 'test'));
    expect([tw.wire(), tw.states]).toEqual([[], ['TIME-WAIT>CLOSED test']]);
    const synSent = drivenTcb();
    synSent.at(0, (t) => t.connect(0, 100));
    synSent.clear();
    synSent.at(9000, (t) => t.abort(9000, 'test'));
    expect(synSent.wire()).toEqual([]);
  });
});

describe('segment dispatch and TIME-WAIT (RFC 9293 §3.10.7, Linux tcp_timewait_state_process)', () => {
  it('a CLOSED or LISTEN TCB takes no segment; a TIME-WAIT one only through timeWaitInput', () => {
    const closed = drivenTcb();
    closed.input(1000, closed.peer(0, 0, SYN, 0, { ack: 0 }));
    expect([closed.wire(), closed.states, closed.accepted]).toEqual([[], [], []]);
    const listen = drivenTcb();
    listen.tcb.setState('LISTEN', 'test');
    listen.clear();
    listen.input(1000, listen.peer(0, 0, SYN, 0, { ack: 0 }));
    expect([listen.wire(), listen.states, listen.accepted]).toEqual([[], [], []]);
    const tw = inState('TIME-WAIT');
    expect(() => tw.input(9000, tw.peer(2, 2, ACK | FIN))).toThrow('TIME-WAIT input goes through timeWaitInput');
  });

  it('C9: a retransmitted FIN is ACKed and restarts 2·MSL; C10: a SYN above RCV.NXT is a new incarnation\'s', () => {
    const d = inState('TIME-WAIT');
    expect(d.tcb.timeWaitInput(10_000_000, d.peer(1, 2, ACK | FIN))).toBe('handled');
    expect(d.wire()).toEqual(['[.] seq 2 ack 2']);
    expect(d.armed.get(TimerKind.TimeWait)).toBe(10_000_000 + 60_000_000);
    expect(d.tcb.timeWaitInput(11_000_000, d.peer(5, 0, SYN, 0, { ack: 0 }))).toBe('new-syn');
    expect(d.wire()).toEqual(['[.] seq 2 ack 2']);
    expect(d.tcb.state).toBe('TIME-WAIT');
  });

  it('a bare ACK at RCV.NXT is accepted and restarts 2·MSL silently; an exact RST ends TIME-WAIT (tcp_rfc1337 = 0), or only restarts it (1)', () => {
    const d = inState('TIME-WAIT');
    d.tcb.timeWaitInput(5_000_000, d.peer(2, 2, ACK));
    expect([d.wire(), d.accepted.length, d.armed.get(TimerKind.TimeWait)]).toEqual([[], 1, 65_000_000]);
    d.tcb.timeWaitInput(6_000_000, d.peer(2, 2, RST));
    expect(d.states).toEqual(['TIME-WAIT>CLOSED rcv RST in TIME-WAIT']);
    expect(d.accepted.length).toBe(2);

    const protectedTw = inState('TIME-WAIT', { config: { rfc1337: true } });
    protectedTw.tcb.timeWaitInput(6_000_000, protectedTw.peer(2, 2, RST));
    expect([protectedTw.states, protectedTw.accepted.length, protectedTw.armed.get(TimerKind.TimeWait)]).toEqual([[], 0, 66_000_000]);
  });

  it('RFC 7323: with timestamps, the retransmitted FIN\'s ACK echoes TS.Recent; a bare ACK at RCV.NXT with a newer TSval becomes TS.Recent', () => {
    const d = drivenTcb({ config: { timestamps: 1 } });
    d.openPassive(1000, { tsVal: 1000 }, { tsVal: 1001 });
    d.at(2000, (t) => t.shutdownWrite(2000));
    d.input(3000, d.peer(1, 2, ACK | FIN, 0, { tsVal: 1003, tsEcr: 0 }));
    d.clear();
    d.tcb.timeWaitInput(4000, d.peer(2, 2, ACK, 0, { tsVal: 1004, tsEcr: 0 }));
    d.tcb.timeWaitInput(5000, d.peer(1, 2, ACK | FIN, 0, { tsVal: 1005, tsEcr: 0 }));
    expect(d.segments.map((s) => [s.ack, s.tsEcr])).toEqual([[2, 1004]]);
    // Its TS.Recent is what a connection taking the 4-tuple over inherits (tcp_tw_reuse).
    expect(d.tcb.timeWaitReuse()).toEqual({ sndNxt: 102, tsRecent: 1004, tsRecentStampUs: 4000, enteredUs: 3000 });
  });

  it('timeWaitReuse is null without timestamps or outside TIME-WAIT (tcp_twsk_unique needs tw_ts_recent_stamp)', () => {
    expect(inState('TIME-WAIT').tcb.timeWaitReuse()).toBe(null);
    const d = drivenTcb({ config: { timestamps: 1 } });
    d.openPassive(1000, { tsVal: 1000 }, { tsVal: 1001 });
    expect(d.tcb.timeWaitReuse()).toBe(null);
  });

  it('inheritTsRecent takes a TS.Recent as an unsigned 32-bit value and its stamp, which the next ACK echoes', () => {
    const d = drivenTcb({ config: { timestamps: 1 } });
    d.openPassive(1000, { tsVal: 1000 }, { tsVal: 1001 });
    d.tcb.inheritTsRecent(-1, 2000);
    d.at(3000, (t) => t.send(3000, bytes(1)));
    expect(d.segments.at(-1)!.tsEcr).toBe(0xffffffff);
  });
});

describe('compactForTimeWait (Linux inet_twsk_alloc: the socket swapped for a small record)', () => {
  /** A closed (orphaned) TCB in TIME-WAIT with timestamps. */
  function orphanInTimeWait() {
    const d = drivenTcb({ config: { timestamps: 1 } });
    d.openPassive(1000, { tsVal: 1000 }, { tsVal: 1001 });
    d.at(2000, (t) => t.close(2000));
    d.input(3000, d.peer(1, 2, ACK | FIN, 0, { tsVal: 1003, tsEcr: 0 }));
    expect(d.tcb.state).toBe('TIME-WAIT');
    d.clear();
    return d;
  }

  it('the record answers a retransmitted FIN as the TCB would: the same ACK, window and TSecr', () => {
    const d = orphanInTimeWait();
    d.tcb.timeWaitInput(4000, d.peer(1, 2, ACK | FIN, 0, { tsVal: 1004, tsEcr: 0 }));
    const record = d.tcb.compactForTimeWait();
    expect(record).toBeInstanceOf(TimeWaitConnection);
    expect([record!.state, record!.passive, record!.incarnation]).toEqual(['TIME-WAIT', true, 0]);
    (record as TimeWaitConnection).timeWaitInput(5000, d.peer(1, 2, ACK | FIN, 0, { tsVal: 1005, tsEcr: 0 }));
    expect(d.segments.length).toBe(2);
    const [fromTcb, fromRecord] = d.segments;
    expect({ ...fromRecord, atUs: 0 }).toEqual({ ...fromTcb, atUs: 0 });
  });

  it('a spare record is taken over rather than a new one made; nothing for an open socket, another state, or a subclass', () => {
    const first = orphanInTimeWait().tcb.compactForTimeWait()!;
    const d = orphanInTimeWait();
    expect(d.tcb.compactForTimeWait(first)).toBe(first);
    expect(inState('TIME-WAIT').tcb.compactForTimeWait()).toBe(null); // shutdown only: not orphaned
    const fw2 = inState('FIN-WAIT-2');
    fw2.at(5000, (t) => t.close(5000));
    expect(fw2.tcb.compactForTimeWait()).toBe(null);
    class Variant extends Tcb {}
    const variant = new Variant(d.tcb.id, d.tcb.config, (d.tcb as unknown as { env: never }).env, { reuseAddr: false, lingerSec: null });
    variant.state = 'TIME-WAIT';
    variant.orphaned = true;
    expect(variant.compactForTimeWait()).toBe(null);
  });
});

describe('close, abort and TIME-WAIT edges', () => {
  it('close() after shutdown(SHUT_WR) has taken the connection to TIME-WAIT leaves it there, unread data or not: no RST (the socket is already a timewait sock)', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    d.at(3000, (t) => t.shutdownWrite(3000));
    d.input(4000, d.peer(11, 2, ACK | FIN));
    expect(d.tcb.state).toBe('TIME-WAIT');
    d.clear();
    d.at(5000, (t) => t.close(5000));
    expect([d.wire(), d.states]).toEqual([[], []]);
  });

  it('close() on a connection a reset closed (its data unread) sends nothing and wakes nobody', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    d.input(3000, d.peer(11, 1, RST));
    d.clear();
    d.at(4000, (t) => t.close(4000));
    expect([d.wire(), d.wakes]).toEqual([[], 0]);
  });

  it('C5: close() in ESTABLISHED arms no tcp_fin_timeout timer until the FIN is acknowledged', () => {
    const d = established();
    d.at(2000, (t) => t.close(2000));
    expect(d.armed.has(TimerKind.FinWait2)).toBe(false);
  });

  it('C14: abort in CLOSING with data still unacknowledged sends RST,ACK (Linux tcp_disconnect)', () => {
    const d = established();
    d.at(2000, (t) => t.send(2000, bytes(10)));
    d.at(2000, (t) => t.shutdownWrite(2000));
    d.input(3000, d.peer(1, 1, ACK | FIN));
    expect(d.tcb.state).toBe('CLOSING');
    d.clear();
    d.at(4000, (t) => t.abort(4000, 'test'));
    expect(d.wire()).toEqual(['[R.] seq 12 ack 2']);
  });

  it('C4: abort in LAST-ACK whose FIN went at sequence number 0 (ISN 2^32 - 1) sends nothing: the FIN was sent', () => {
    const d = drivenTcb({ ourIsn: 0xffffffff });
    d.openPassive();
    d.input(2000, d.peer(1, 1, ACK | FIN));
    d.at(3000, (t) => t.shutdownWrite(3000));
    expect(d.tcb.state).toBe('LAST-ACK');
    d.clear();
    d.at(4000, (t) => t.abort(4000, 'test'));
    expect(d.wire()).toEqual([]);
  });

  it('C10: without timestamps TIME-WAIT reads no TSval: a SYN at or below RCV.NXT carrying one opens nothing (Linux needs tw_ts_recent_stamp)', () => {
    const d = inState('TIME-WAIT');
    expect(d.tcb.timeWaitInput(5000, d.peer(1, 0, SYN, 0, { ack: 0, tsVal: 5 }))).toBe('handled');
  });

  it('RFC 7323: a TSval of 0 is a timestamp: after the wrap it becomes TS.Recent in TIME-WAIT, and the next answer echoes it', () => {
    const d = drivenTcb({ config: { timestamps: 1 } });
    d.openPassive(1000, { tsVal: 0xfffffff0 }, { tsVal: 0xfffffff1 });
    d.at(2000, (t) => t.shutdownWrite(2000));
    d.input(3000, d.peer(1, 2, ACK | FIN, 0, { tsVal: 0xfffffff2, tsEcr: 0 }));
    d.clear();
    d.tcb.timeWaitInput(4000, d.peer(2, 2, ACK, 0, { tsVal: 0, tsEcr: 0 }));
    d.tcb.timeWaitInput(5000, d.peer(1, 2, ACK | FIN, 0, { tsVal: 1, tsEcr: 0 }));
    expect(d.segments.map((s) => s.tsEcr)).toEqual([0]);
  });
});
