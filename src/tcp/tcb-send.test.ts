/**
 * The send path of one TCB (tcb-send.ts) driven by hand, no simulator: what send() queues
 * (SO_SNDBUF's skbs as Linux's tcp_sendmsg_locked counts them, or the stack's byte limit), what
 * the peer's window lets out (RFC 9293 §3.8.6, Linux tcp_write_xmit, tcp_snd_wnd_test), the FIN
 * after the data, the persist timer, and the ACK's effect on what was sent (RFC 6298 §5,
 * tcp_clean_rtx_queue). Each test asserts the exact segments sent (sequence numbers relative to
 * the two ISNs) and the results of the application's calls.
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, PSH, RST, SYN } from './segment.js';
import { TimerKind } from './tcb.js';
import { drivenTcb, type DrivenTcbSpec } from './test-support.js';

/** An active opener ESTABLISHED at 10 ms (SRTT 10 ms) with the peer's window `window`, its record cleared. */
function established(window = 65535, spec: DrivenTcbSpec = {}) {
  const d = drivenTcb(spec);
  d.openActive(10_000, { window });
  return d;
}
const bytes = (n: number) => new Uint8Array(n);

describe("output: what the peer's window lets out (RFC 9293 §3.8.6, Linux tcp_write_xmit)", () => {
  it('C5: data leaves in MSS-sized segments up to the window; the FIN rides on the last one', () => {
    const d = established(65535, { config: { mss: 1000 } });
    d.input(10_000, d.peer(1, 1, ACK, 0, { window: 65535 }));
    expect(d.at(11_000, (t) => t.send(11_000, bytes(2500)))).toBe(2500);
    d.at(12_000, (t) => t.close(12_000));
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 1000', '[P.] seq 1001 ack 1 len 1000', '[P.] seq 2001 ack 1 len 500', '[F.] seq 2501 ack 1']);
  });

  it('the FIN rides on the last data only when its sequence number fits in the window too (Linux tcp_snd_wnd_test)', () => {
    const d = established(10);
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.at(11_000, (t) => t.shutdownWrite(11_000));
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 10']);
    const both = established(11);
    both.at(11_000, (t) => t.send(11_000, bytes(10)));
    both.at(11_000, (t) => t.shutdownWrite(11_000));
    // The FIN waits when queued before the data could go with it, and goes alone after.
    expect(both.wire()).toEqual(['[P.] seq 1 ack 1 len 10', '[F.] seq 11 ack 1']);
    // In one go: data and FIN queued together, the FIN fits: one segment.
    const one = established(0);
    one.at(11_000, (t) => t.send(11_000, bytes(10)));
    one.at(11_000, (t) => t.shutdownWrite(11_000));
    one.input(20_000, one.peer(1, 1, ACK, 0, { window: 11 }));
    expect(one.wire()).toEqual(['[FP.] seq 1 ack 1 len 10']);
    const tight = established(0);
    tight.at(11_000, (t) => t.send(11_000, bytes(10)));
    tight.at(11_000, (t) => t.shutdownWrite(11_000));
    tight.input(20_000, tight.peer(1, 1, ACK, 0, { window: 10 }));
    expect(tight.wire()).toEqual(['[P.] seq 1 ack 1 len 10']);
  });

  it('a FIN does not go into a zero window: the persist timer is armed once, at the RTO, and probes (RFC 9293 §3.8.6.1)', () => {
    const d = established(0);
    d.at(11_000, (t) => t.shutdownWrite(11_000));
    expect(d.wire()).toEqual([]);
    // SRTT 10 ms: RTO = 10 ms + max(200 ms, 4 · 5 ms) = 210 ms.
    expect(d.armed.get(TimerKind.Persist)).toBe(11_000 + 210_000);
    d.fire(TimerKind.Persist);
    expect(d.wire()).toEqual(['[.] seq 0 ack 1']);
    d.input(230_000, d.peer(1, 1, ACK, 0, { window: 5 }));
    expect(d.wire().slice(1)).toEqual(['[F.] seq 1 ack 1']);
    expect(d.armed.has(TimerKind.Persist)).toBe(false);
  });

  it('more data for a zero window does not re-arm the persist timer that is already armed', () => {
    const d = established(0);
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.at(50_000, (t) => t.send(50_000, bytes(10)));
    expect(d.armed.get(TimerKind.Persist)).toBe(11_000 + 210_000);
    expect(d.wire()).toEqual([]);
  });

  it('no persist timer while data is in flight (the retransmission timer covers it), nor with nothing to send', () => {
    const d = established(10);
    d.at(11_000, (t) => t.send(11_000, bytes(20)));
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 10']);
    expect(d.armed.has(TimerKind.Persist)).toBe(false);
    expect(d.armed.get(TimerKind.Retransmit)).toBe(11_000 + 210_000);
    const idle = established(0);
    idle.input(20_000, idle.peer(1, 1, ACK, 0, { window: 0 }));
    expect(idle.armed.has(TimerKind.Persist)).toBe(false);
  });

  it('the retransmission timer is armed by the first segment and not pushed back by the next ones (RFC 6298 §5.1)', () => {
    const d = established();
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.at(20_000, (t) => t.send(20_000, bytes(10)));
    expect(d.armed.get(TimerKind.Retransmit)).toBe(11_000 + 210_000);
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 10', '[P.] seq 11 ack 1 len 10']);
  });
});

describe('what send() queues (Linux tcp_sendmsg_locked)', () => {
  it('without SO_SNDBUF: bytes up to the stack\'s sendBufferBytes, EAGAIN when full; acknowledged bytes make room', () => {
    const d = established(0, { config: { sendBufferBytes: 100 } });
    expect(d.at(11_000, (t) => t.send(11_000, bytes(150)))).toBe(100);
    expect(d.at(11_000, (t) => t.send(11_000, bytes(1)))).toBe('EAGAIN');
    expect(d.tcb.writableForPoll).toBe(false);
    d.input(20_000, d.peer(1, 1, ACK, 0, { window: 40 }));
    d.input(30_000, d.peer(1, 41, ACK, 0, { window: 0 }));
    expect(d.tcb.writableForPoll).toBe(true);
    expect(d.at(31_000, (t) => t.send(31_000, bytes(50)))).toBe(40);
    expect(d.tcb.unsentOrUnackedBytes).toBe(100);
    // A send of nothing is no EAGAIN.
    expect(d.at(31_000, (t) => t.send(31_000, bytes(0)))).toBe(0);
  });

  it('with SO_SNDBUF: one skb per MSS, each charged its payload + 832 bytes (sk_wmem_queued); an ACK frees whole skbs and trims a partly acknowledged one', () => {
    const d = established(0, { config: { mss: 1000 }, options: { sndBufBytes: 100_000 } });
    expect(d.at(11_000, (t) => t.send(11_000, bytes(2500)))).toBe(2500);
    expect(d.tcb.sendMemoryQueuedBytes).toBe(2500 + 3 * 832);
    d.input(20_000, d.peer(1, 1, ACK, 0, { window: 65535 }));
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 1000', '[P.] seq 1001 ack 1 len 1000', '[P.] seq 2001 ack 1 len 500']);
    d.input(30_000, d.peer(1, 1501, ACK, 0, { window: 65535 }));
    expect(d.tcb.sendMemoryQueuedBytes).toBe(1000 + 2 * 832);
    d.input(40_000, d.peer(1, 2001, ACK, 0, { window: 65535 }));
    expect(d.tcb.sendMemoryQueuedBytes).toBe(500 + 832);
    d.input(50_000, d.peer(1, 2501, ACK, 0, { window: 65535 }));
    expect(d.tcb.sendMemoryQueuedBytes).toBe(0);
    // Emptied: the next write starts a fresh skb.
    d.at(51_000, (t) => t.send(51_000, bytes(10)));
    expect(d.tcb.sendMemoryQueuedBytes).toBe(10 + 832);
  });

  it('with SO_SNDBUF, a new skb only while sk_wmem_queued < sk_sndbuf; the last may go past it (sk_stream_memory_free)', () => {
    // 2 × 1832 = 3664 < 4000: a third skb is allowed and takes it to 5496; no fourth.
    const d = established(0, { config: { mss: 1000 }, options: { sndBufBytes: 4000 } });
    expect(d.at(11_000, (t) => t.send(11_000, bytes(10_000)))).toBe(3000);
    expect(d.at(11_000, (t) => t.send(11_000, bytes(1)))).toBe('EAGAIN');
    // At exactly the limit no new skb: 2 skbs of 1000 at a limit of 3664.
    const exact = established(0, { config: { mss: 1000 }, options: { sndBufBytes: 3664 } });
    expect(exact.at(11_000, (t) => t.send(11_000, bytes(10_000)))).toBe(2000);
  });

  it('poll() is writable with SO_SNDBUF while the free space is at least half the truesize queued and below sk_sndbuf (__sk_stream_is_writeable)', () => {
    // 1 skb of 1000: 1832 queued, 10000 - 1832 = 8168 ≥ 916: writable.
    const d = established(0, { config: { mss: 1000 }, options: { sndBufBytes: 10_000 } });
    d.at(11_000, (t) => t.send(11_000, bytes(1000)));
    expect(d.tcb.writableForPoll).toBe(true);
    // 4 skbs: 7328 queued, 2672 free < 3664: not writable, though below sk_sndbuf.
    d.at(11_000, (t) => t.send(11_000, bytes(3000)));
    expect(d.tcb.sendMemoryQueuedBytes).toBe(7328);
    expect(d.tcb.writableForPoll).toBe(false);
  });

  it('an ACK wakes a writer blocked on SO_SNDBUF only once the free space is half what is still queued (sk_stream_write_space)', () => {
    const d = established(0, { config: { mss: 1000 }, options: { sndBufBytes: 7000 } });
    d.at(11_000, (t) => t.send(11_000, bytes(10_000))); // 4 skbs: 7328
    d.input(20_000, d.peer(1, 1, ACK, 0, { window: 65535 }));
    d.clear();
    d.input(30_000, d.peer(1, 1001, ACK, 0, { window: 65535 })); // 3 left: 5496 queued, 1504 free < 2748
    expect(d.wakes).toBe(0);
    d.input(40_000, d.peer(1, 2001, ACK, 0, { window: 65535 })); // 2 left: 3664, 3336 free ≥ 1832
    expect(d.wakes).toBe(1);
  });

  it('without SO_SNDBUF every ACK of data wakes the writer', () => {
    const d = established();
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.clear();
    d.input(20_000, d.peer(1, 6, ACK));
    expect(d.wakes).toBe(1);
  });
});

describe('the RTO estimator (RFC 6298 §2, Linux tcp_rtt_estimator, __tcp_set_rto)', () => {
  it('the first sample sets SRTT and RTTVAR = SRTT / 2; RTO = SRTT + max(tcp_rto_min, 4·RTTVAR)', () => {
    // SYN at 0, SYN,ACK at 10 ms: SRTT 10 ms, RTTVAR 5 ms: RTO 210 ms.
    const d = established();
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    expect(d.armed.get(TimerKind.Retransmit)).toBe(11_000 + 210_000);
  });

  it('a later sample: RTTVAR = ¾·RTTVAR + ¼·|SRTT − R|, SRTT = ⅞·SRTT + ⅛·R', () => {
    // R = 30 ms: RTTVAR 3.75 + 5 = 8.75 ms, SRTT 8.75 + 3.75 = 12.5 ms: RTO 212.5 ms.
    const d = established();
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.input(41_000, d.peer(1, 11, ACK));
    d.at(50_000, (t) => t.send(50_000, bytes(10)));
    expect(d.armed.get(TimerKind.Retransmit)).toBe(50_000 + 212_500);
  });

  it('a large variance: 4·RTTVAR above tcp_rto_min counts instead; the RTO is capped at tcp_rto_max and floored at tcp_rto_min', () => {
    // SYN,ACK after 100 ms: SRTT 100, RTTVAR 50: 100 + max(20, 200) = 300 ms.
    const big = drivenTcb({ config: { rtoMinUs: 20_000 } });
    big.openActive(100_000);
    big.at(100_000, (t) => t.send(100_000, bytes(1)));
    expect(big.armed.get(TimerKind.Retransmit)).toBe(100_000 + 300_000);
    const capped = drivenTcb({ config: { rtoMinUs: 20_000, rtoMaxUs: 250_000 } });
    capped.openActive(100_000);
    capped.at(100_000, (t) => t.send(100_000, bytes(1)));
    expect(capped.armed.get(TimerKind.Retransmit)).toBe(100_000 + 250_000);
    // SRTT 0 (an instant answer): RTO = 0 + max(200 ms, 0) = 200 ms.
    const instant = drivenTcb();
    instant.openActive(0);
    instant.at(0, (t) => t.send(0, bytes(1)));
    expect(instant.armed.get(TimerKind.Retransmit)).toBe(200_000);
  });

  it('after a backoff, an ACK of new data without an RTT sample (Karn) restores the smoothed RTO (Linux tcp_set_rto)', () => {
    const d = established();
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.fire(TimerKind.Retransmit); // at 221 ms: the RTO doubles to 420 ms
    expect(d.armed.get(TimerKind.Retransmit)).toBe(221_000 + 420_000);
    d.input(230_000, d.peer(1, 11, ACK)); // acks the retransmitted first segment: no sample, RTO back to 210 ms
    expect(d.armed.get(TimerKind.Retransmit)).toBe(230_000 + 210_000);
  });
});

describe('retransmission (RFC 6298 §5, RFC 9293 §3.8.1)', () => {
  it('the timeout resends the first unacknowledged segment, marked a retransmission; go-back-N resends the next on each ACK', () => {
    const d = established(65535, { config: { mss: 10 } });
    d.at(11_000, (t) => t.send(11_000, bytes(25)));
    d.at(11_000, (t) => t.close(11_000));
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 10', '[P.] seq 11 ack 1 len 10', '[P.] seq 21 ack 1 len 5', '[F.] seq 26 ack 1']);
    d.fire(TimerKind.Retransmit);
    d.input(300_000, d.peer(1, 11, ACK));
    d.input(310_000, d.peer(1, 21, ACK));
    // The resent tail takes the FIN with the last data (at most one MSS of data, then the FIN).
    expect(d.wire().slice(4)).toEqual(['[P.] seq 1 ack 1 len 10 (rtx)', '[P.] seq 11 ack 1 len 10 (rtx)', '[FP.] seq 21 ack 1 len 5 (rtx)']);
    expect(d.tcb.retransmissions).toBe(3);
    // Everything acknowledged: the retransmission timer stops.
    d.input(320_000, d.peer(1, 27, ACK));
    expect(d.armed.has(TimerKind.Retransmit)).toBe(false);
    expect(d.tcb.state).toBe('FIN-WAIT-2');
  });

  it('a FIN alone is resent alone', () => {
    const d = established();
    d.at(11_000, (t) => t.shutdownWrite(11_000));
    d.fire(TimerKind.Retransmit);
    expect(d.wire()).toEqual(['[F.] seq 1 ack 1', '[F.] seq 1 ack 1 (rtx)']);
  });

  it('an ACK of part of what is in flight restarts the timer from now (RFC 6298 §5.3); a duplicate ACK does not', () => {
    const d = established();
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.at(12_000, (t) => t.send(12_000, bytes(10)));
    d.input(30_000, d.peer(1, 1, ACK));
    expect(d.armed.get(TimerKind.Retransmit)).toBe(11_000 + 210_000);
    d.input(40_000, d.peer(1, 11, ACK));
    // The ACK gave an RTT sample (29 ms): RTTVAR 3.75 + 4.75 = 8.5, SRTT 8.75 + 3.625 = 12.375 ms.
    expect(d.armed.get(TimerKind.Retransmit)).toBe(40_000 + Math.round(12_375 + 200_000));
  });

  it('a window that opens from zero stops the persist timer; one that was open already leaves it be', () => {
    const d = established(0);
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    expect(d.armed.has(TimerKind.Persist)).toBe(true);
    d.input(20_000, d.peer(1, 1, ACK, 0, { window: 100 }));
    expect(d.armed.has(TimerKind.Persist)).toBe(false);
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 10']);
  });

  it('a persist backoff is forgotten once the window opens: the next zero window probes at the RTO again', () => {
    const d = established(0);
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.fire(TimerKind.Persist); // at 221 ms, backoff 1: next at 221 + 420
    expect(d.armed.get(TimerKind.Persist)).toBe(221_000 + 420_000);
    d.input(300_000, d.peer(1, 1, ACK, 0, { window: 10 })); // opens: the 10 bytes go
    d.input(310_000, d.peer(1, 11, ACK, 0, { window: 0 })); // acked, and closed again
    d.at(320_000, (t) => t.send(320_000, bytes(10)));
    // RTO after the sample from the 10 bytes (10 ms): unchanged 210 ms; no backoff left.
    expect(d.armed.get(TimerKind.Persist)! - 320_000).toBeLessThan(420_000);
  });
});

describe('the send sequence space', () => {
  it('C1: the ISN is taken mod 2^32 and the first data byte is ISN + 1', () => {
    const d = drivenTcb({ ourIsn: 0xffffffff });
    d.at(0, (t) => t.connect(0, -1));
    expect(d.tcb.iss).toBe(0xffffffff);
    d.input(10_000, d.peer(0, 1, SYN | ACK));
    expect(d.tcb.sndNxt).toBe(0);
    d.at(11_000, (t) => t.send(11_000, bytes(5)));
    expect(d.wire().slice(-1)).toEqual(['[P.] seq 1 ack 1 len 5']);
    expect(d.tcb.sndNxt).toBe(5);
  });

  it('a connection that failed discards its send queue and reports the error once', () => {
    const d = established(0);
    d.at(11_000, (t) => t.send(11_000, bytes(10)));
    d.input(20_000, d.peer(1, 1, RST));
    expect(d.tcb.unsentOrUnackedBytes).toBe(0);
    expect(d.tcb.send(30_000, bytes(1))).toBe('ECONNRESET');
    expect(d.tcb.send(30_000, bytes(1))).toBe('EPIPE');
  });
});

describe('send-path edges', () => {
  it('C14: an orphan whose FIN waits for a zero window sends no FIN after the RST that new data draws, though that segment opened the window', () => {
    const d = established(0);
    d.at(11_000, (t) => t.close(11_000));
    expect(d.wire()).toEqual([]);
    d.input(20_000, d.peer(1, 1, ACK | PSH, 10, { window: 100 }));
    expect(d.wire()).toEqual(['[R] seq 1']);
    expect(d.tcb.state).toBe('CLOSED');
  });

  it('RFC 9293 §3.8.6.1: a window closed while data is in flight arms no persist timer (the retransmission timer covers it)', () => {
    const d = established(10);
    d.at(11_000, (t) => t.send(11_000, bytes(20)));
    d.input(20_000, d.peer(1, 6, ACK, 0, { window: 0 }));
    expect(d.armed.has(TimerKind.Persist)).toBe(false);
    expect(d.armed.has(TimerKind.Retransmit)).toBe(true);
  });

  it('an ACK wakes a writer blocked on SO_SNDBUF when the free space is exactly half the truesize queued (sk_stream_wspace ≥ sk_stream_min_wspace)', () => {
    // sk_sndbuf 5496: three skbs of 1000 (5496 queued). Acking one leaves 3664, free 1832 = 3664 / 2.
    const d = established(0, { config: { mss: 1000 }, options: { sndBufBytes: 5496 } });
    expect(d.at(11_000, (t) => t.send(11_000, bytes(10_000)))).toBe(3000);
    d.input(20_000, d.peer(1, 1, ACK, 0, { window: 65535 }));
    d.clear();
    d.input(30_000, d.peer(1, 1001, ACK, 0, { window: 65535 }));
    expect(d.wakes).toBe(1);
    expect(d.tcb.writableForPoll).toBe(true);
  });

  it('RFC 8985 §7.2 (Linux tcp_schedule_loss_probe): with SACK, new segments arm a tail-loss probe at 2·SRTT + 2 ms when several are out', () => {
    const d = drivenTcb({ config: { sack: true, mss: 10 } });
    d.openActive(10_000, { sackOk: true });
    d.at(11_000, (t) => t.send(11_000, bytes(20)));
    expect(d.wire()).toEqual(['[P.] seq 1 ack 1 len 10', '[P.] seq 11 ack 1 len 10']);
    expect(d.tcb.lossProbePending).toBe(true);
    expect(d.armed.get(TimerKind.Retransmit)).toBe(11_000 + 2 * 10_000 + 2000);
    d.input(20_000, d.peer(1, 21, ACK, 0, { sackBlocks: [] }));
    expect(d.tcb.lossProbePending).toBe(false);
  });
});

describe('the tail-loss probe armed by output (Linux tcp_schedule_loss_probe)', () => {
  it('the probe is due no later than the RTO of the oldest segment still out: new data 21 ms before it comes arms the probe at that RTO', () => {
    const d = drivenTcb({ config: { sack: true } });
    d.openActive(10_000, { sackOk: true });
    d.at(11_000, (t) => t.send(11_000, bytes(10))); // RTO due at 221 ms; probe min(220, 210) ms
    expect(d.armed.get(TimerKind.Retransmit)).toBe(221_000);
    d.at(200_000, (t) => t.send(200_000, bytes(10))); // two out: 2·SRTT + 2 ms = 22 ms, but the RTO is 21 ms away
    expect(d.armed.get(TimerKind.Retransmit)).toBe(221_000);
    expect(d.tcb.lossProbePending).toBe(true);
  });
});
