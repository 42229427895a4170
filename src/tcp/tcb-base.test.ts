/**
 * What every part of the TCB shares (tcb-base.ts), driven by hand: the window a segment
 * advertises and the fields of each kind of segment, the delayed-ACK bookkeeping every ACK
 * clears, closing (timers, queues, the wake-up), the error reported once (Linux sock_error), and
 * the one place state changes.
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, PSH, RST, SYN } from './segment.js';
import { TimerKind } from './tcb.js';
import { drivenTcb, type DrivenTcbSpec } from './test-support.js';

/** A passive TCB in ESTABLISHED at 1 ms (peer's ISN 7000, ours 100), its record cleared. */
function established(spec: DrivenTcbSpec = {}) {
  const d = drivenTcb(spec);
  d.openPassive();
  return d;
}

describe('the fields of what a TCB sends', () => {
  it('a reset answering a segment as if no connection existed carries no ACK, ack 0 and window 0 (Linux tcp_v4_send_reset)', () => {
    const d = established();
    d.at(1500, (t) => t.close(1500));
    d.clear();
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    expect(d.segments).toEqual([expect.objectContaining({ flags: RST, seq: 1, ack: 0, window: 0 })]);
  });

  it('an ACK advertises the free receive buffer; reading makes room again', () => {
    const d = established({ config: { receiveBufferBytes: 1000, windowScaling: false } });
    d.input(2000, d.peer(1, 1, ACK | PSH, 300));
    expect(d.wire(0, true)).toEqual(['[.] seq 1 ack 301 win 700']);
    expect(d.tcb.receiveWindow()).toBe(700);
    d.tcb.recv(3000, 100);
    expect(d.tcb.receiveWindow()).toBe(800);
  });

  it('with SO_RCVBUF the window segments are accepted into is what is left of the one last advertised (Linux tcp_receive_window), across the 2^32 wrap', () => {
    const d = drivenTcb({ options: { rcvBufBytes: 4608 }, peerIsn: 0xffffff00 });
    d.openPassive();
    expect(d.tcb.receiveWindow()).toBe(1460); // the SYN,ACK's window (one MSS for this small buffer)
    d.input(2000, d.peer(1, 1, ACK | PSH, 0x80)); // ends at 2^32 - 0x80: ACKed at once (quick ACK)
    d.input(3000, d.peer(0x81, 1, ACK | PSH, 0x100)); // wraps past 2^32; its ACK waits
    expect(d.wire(0, true)).toEqual(['[.] seq 1 ack 129 win 1460']);
    expect(d.tcb.receiveWindow()).toBe(1460 - 0x100);
  });
});

describe('delayed-ACK bookkeeping (Linux inet_csk_clear_xmit_timer(ICSK_TIME_DACK) on every ACK sent)', () => {
  it('C7: an ACK that leaves for another reason (our data) takes the pending ACK with it and clears its timer', () => {
    const d = established({ config: { quickAcks: 0 } });
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    expect(d.armed.get(TimerKind.DelayedAck)).toBe(42_000);
    d.at(3000, (t) => t.send(3000, new Uint8Array(5)));
    expect(d.wire()).toEqual(['[P.] seq 1 ack 11 len 5']);
    expect(d.armed.has(TimerKind.DelayedAck)).toBe(false);
    // The timer, had it fired, would send nothing now.
    d.tcb.onTimer(42_000, TimerKind.DelayedAck);
    expect(d.wire()).toEqual(['[P.] seq 1 ack 11 len 5']);
  });
});

describe('closing (RFC 9293 §3.10.7: "enter the CLOSED state, delete the TCB")', () => {
  it('a reset connection keeps its unread data readable, then reports ECONNRESET, then EOF (Linux tcp_recvmsg reads the queue first)', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, ACK | PSH, 10));
    d.clear();
    d.input(3000, d.peer(11, 1, RST));
    expect(d.wakes).toBe(1);
    expect(d.armed.size).toBe(0);
    const data = d.tcb.recv(4000, 100);
    expect(data instanceof Uint8Array ? data.length : data).toBe(10);
    expect(d.tcb.recv(4000, 100)).toBe('ECONNRESET');
    expect(d.tcb.recv(4000, 100)).toBe('eof');
  });

  it('out-of-order data is dropped when the connection closes', () => {
    const d = established({ config: { sack: true } });
    d.input(2000, d.peer(11, 1, ACK | PSH, 10));
    d.input(3000, d.peer(1, 1, RST));
    expect(d.tcb.state).toBe('CLOSED');
    expect(d.tcb.readableBytes).toBe(0);
  });

  it('every timer is released on close: retransmission, delayed ACK, persist, TIME-WAIT, FIN-WAIT-2', () => {
    const d = established({ config: { quickAcks: 0 } });
    d.input(2000, d.peer(1, 1, ACK | PSH, 10)); // delayed ACK armed
    d.at(3000, (t) => t.send(3000, new Uint8Array(5))); // retransmission armed
    d.input(4000, d.peer(11, 1, ACK | PSH, 10, { window: 65535 }));
    expect(d.armed.size).toBeGreaterThanOrEqual(2);
    d.input(5000, d.peer(21, 1, RST));
    expect([...d.armed.keys()]).toEqual([]);
  });
});

describe('state changes and the error reported once', () => {
  it('setState reports a change once; the same state again reports nothing', () => {
    const d = drivenTcb();
    d.tcb.setState('LISTEN', 'a');
    d.tcb.setState('LISTEN', 'b');
    expect(d.states).toEqual(['CLOSED>LISTEN a']);
  });

  it('connect() and acceptSyn() on a TCB not CLOSED throw, naming the connection and its state', () => {
    const d = established();
    expect(() => d.tcb.connect(5000, 1)).toThrow('TCB 1 is ESTABLISHED, expected CLOSED');
    expect(() => d.tcb.acceptSyn(5000, d.peer(0, 0, SYN, 0, { ack: 0 }), 1)).toThrow('TCB 1 is ESTABLISHED, expected CLOSED');
  });

  it('an error is reported by the first call only (Linux sock_error), send and recv alike', () => {
    const d = drivenTcb();
    d.at(0, (t) => t.connect(0, 100));
    d.input(1000, d.peer(0, 1, RST | ACK));
    expect(d.tcb.error).toBe('ECONNREFUSED');
    expect(d.tcb.send(2000, new Uint8Array(1))).toBe('ECONNREFUSED');
    expect(d.tcb.error).toBe(null);
    expect(d.tcb.recv(2000, 1)).toBe('eof');
  });

  it('C5: a FIN wakes the reader; C14: so does a reset', () => {
    const d = established();
    d.input(2000, d.peer(1, 1, ACK | FIN));
    expect(d.wakes).toBe(1);
  });
});
