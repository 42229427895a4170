/**
 * The send path of one TCB (tcb-send.ts) driven by hand, no simulator: what send() queues
 * (SO_SNDBUF's skbs as Linux's tcp_sendmsg_locked counts them, or the stack's byte limit), what
 * the peer's window lets out (RFC 9293 §3.8.6, Linux tcp_write_xmit, tcp_snd_wnd_test), the FIN
 * after the data, the persist timer, and the ACK's effect on what was sent (RFC 6298 §5,
 * tcp_clean_rtx_queue). Each test asserts the exact segments sent (sequence numbers relative to
 * the two ISNs) and the results of the application's calls.
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, PSH } from './segment.js';
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
