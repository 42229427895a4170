/**
 * The option and window rules of tcb-options.ts on one TCB driven by hand (no host, no world):
 * PAWS and TS.Recent on a live connection (RFC 7323 §5.3, §4.3; Linux tcp_paws_discard,
 * tcp_replace_ts_recent), and the window a socket whose SO_RCVBUF locked its buffer offers
 * (Linux tcp_select_initial_window, __tcp_select_window, tcp_select_window,
 * tcp_measure_rcv_mss), every expected value worked out from the kernel rule it names.
 */
import { describe, expect, it } from 'vitest';
import { stackConfig, type StackConfig } from './config.js';
import { ACK, NO_OPTIONS, PSH, SYN, type Segment } from './segment.js';
import { seqAdd } from './seq.js';
import { Tcb, type SegmentFields } from './tcb.js';
import { quietTcbEnv } from './test-support.js';

const OUR_ISN = 100;
const PEER_ISN = 7000;

interface Sent { flags: number; ack: number; window: number; wscale: number; len: number; tsEcr: number }

interface PeerOptions {
  /** The peer's SYN: its MSS option, window scale (-1: none), whether it carries timestamps. */
  mss?: number;
  wscale?: number;
  timestamps?: boolean;
  sack?: boolean;
}

/** A segment from the peer without options, `len` bytes at relative sequence `rel`. */
function peerSegment(rel: number, flags: number, len: number, options: Partial<Segment> = {}): Segment {
  return {
    id: 0, srcIp: 2, srcPort: 1000, dstIp: 1, dstPort: 80, seq: seqAdd(PEER_ISN, rel), ack: OUR_ISN + 1, flags, window: 65535, ...NO_OPTIONS,
    payload: new Uint8Array(len), sentAtUs: 0, incarnation: 1, connId: 2, retransmission: false, copyOf: -1, ...options,
  };
}

/** A passive TCB (local 1:80, peer 2:1000) brought to ESTABLISHED; every segment it sends recorded. */
function established(rcvBufBytes: number | null, peer: PeerOptions = {}, overrides: Partial<StackConfig> = {}, handshakeAckUs = 1000) {
  const sent: Sent[] = [];
  const env = quietTcbEnv({
    transmit: (_tcb, f: SegmentFields) => sent.push({ flags: f.flags, ack: (f.ack - PEER_ISN) >>> 0, window: f.window, wscale: f.wscale, len: f.payload.length, tsEcr: f.tsEcr }),
  });
  const tcb = new Tcb({ connId: 1, localIp: 1, localPort: 80, remoteIp: 2, remotePort: 1000 }, stackConfig(overrides), env, { reuseAddr: false, lingerSec: null, rcvBufBytes });
  const timestamps = peer.timestamps ?? false;
  let tsVal = 1000;
  const seg = (rel: number, flags: number, len: number, options: Partial<Segment> = {}): Segment =>
    peerSegment(rel, flags, len, { tsVal: timestamps ? tsVal : -1, tsEcr: 0, ...options });
  tcb.acceptSyn(0, seg(0, SYN, 0, { mss: peer.mss ?? 1460, wscale: peer.wscale ?? -1, sackOk: peer.sack ?? false, ack: 0 }), OUR_ISN);
  tcb.input(handshakeAckUs, seg(1, ACK, 0));
  return {
    tcb,
    sent,
    /** The peer's data at relative sequence `rel`, with its TSval `ts` (timestamps on). */
    data: (rel: number, len: number, atUs: number, ts = tsVal) => {
      tsVal = ts;
      tcb.input(atUs, seg(rel, ACK | PSH, len));
    },
    read: (bytes: number, atUs: number) => tcb.recv(atUs, bytes),
    last: () => sent.at(-1)!,
  };
}

/** As `established`, with timestamps and the handshake's ACK at time 0. */
function establishedAtZero() {
  return established(null, { timestamps: true }, {}, 0);
}

const DAY_US = 24 * 3600 * 1_000_000;

describe('PAWS on a live connection (RFC 7323 §5.3 R1, Linux tcp_paws_discard / tcp_paws_check)', () => {
  it('a TSval more than one tick behind TS.Recent is dropped and answered with an ACK; the data is not queued', () => {
    const t = established(null, { timestamps: true });
    t.data(1, 100, 2000, 998); // TS.Recent 1000: 998 is 2 behind, past TCP_PAWS_WINDOW (1)
    expect(t.tcb.readableBytes).toBe(0);
    expect(t.last()).toMatchObject({ flags: ACK, ack: 1 });
    t.data(1, 100, 3000, 999); // one behind: tolerated
    expect(t.tcb.readableBytes).toBe(100);
  });

  it('a TSval of 0 is a timestamp, and an old one, when TS.Recent was stamped at time 0', () => {
    // The handshake's ACK at time 0 leaves ts_recent_stamp = 0 (a stamp, not "never").
    const t = established(null, { timestamps: true });
    expect(t.tcb.tsRecentStampUs).toBe(1000);
    const u = establishedAtZero();
    u.data(1, 100, 2000, 0);
    expect(u.tcb.readableBytes).toBe(0);
  });

  it('a TS.Recent 24 days old no longer rejects anything (TCP_PAWS_24DAYS, RFC 7323 §5.5)', () => {
    const STAMP_US = 1000; // the handshake's ACK
    const young = established(null, { timestamps: true });
    young.data(1, 100, STAMP_US + 24 * DAY_US - 1, 500);
    expect(young.tcb.readableBytes).toBe(0);
    const idle = established(null, { timestamps: true });
    idle.data(1, 100, STAMP_US + 24 * DAY_US, 500);
    expect(idle.tcb.readableBytes).toBe(100);
  });
});

describe('TS.Recent on a live connection (RFC 7323 §4.3, Linux tcp_replace_ts_recent)', () => {
  it('an equal TSval re-stamps TS.Recent; an older (tolerated) one does not', () => {
    const t = established(null, { timestamps: true });
    t.data(1, 100, 5000, 1000);
    expect([t.tcb.tsRecent, t.tcb.tsRecentStampUs]).toEqual([1000, 5000]);
    t.data(101, 100, 6000, 999);
    expect([t.tcb.tsRecent, t.tcb.tsRecentStampUs]).toEqual([1000, 5000]);
  });

  it('out-of-order data (SEG.SEQ past Last.ACK.sent) does not take its TSval: the duplicate ACK echoes the old one', () => {
    const t = established(null, { timestamps: true });
    t.data(3001, 100, 2000, 1500);
    expect(t.last()).toMatchObject({ ack: 1, tsEcr: 1000 });
    expect(t.tcb.tsRecent).toBe(1000);
  });

  it('TSvals compare modulo 2^32: 0 is newer than 3,000,000,000 and is taken; a segment without timestamps changes nothing', () => {
    const t = established(null, { timestamps: true });
    t.data(1, 100, 2000, 2_000_000_000); // each step less than 2^31 ahead
    t.data(101, 100, 2500, 3_000_000_000);
    expect(t.tcb.tsRecent).toBe(3_000_000_000);
    t.tcb.input(3000, { ...peerSegment(201, ACK | PSH, 100), tsVal: -1 });
    expect(t.tcb.tsRecent).toBe(3_000_000_000);
    t.data(301, 100, 4000, 0);
    expect(t.tcb.readableBytes).toBe(400);
    expect(t.tcb.tsRecent).toBe(0);
  });

  it('without timestamps negotiated, a TSval on a later segment is not taken', () => {
    const t = established(null, { timestamps: false });
    t.tcb.input(2000, { ...peerSegment(1, ACK | PSH, 100), tsVal: 5000 });
    expect(t.tcb.readableBytes).toBe(100);
    expect(t.tcb.tsRecent).toBe(0);
  });
});

/**
 * A peer that keeps to the window it was offered: it sends `segmentBytes` at a time up to the
 * right edge of our last ACK (its window field shifted by our scale), and the application reads.
 */
function streaming(t: ReturnType<typeof established>, segmentBytes: number) {
  let next = 1;
  const edge = () => {
    const ack = [...t.sent].reverse().find((s) => s.flags & ACK)!;
    return ack.ack + ack.window * 2 ** (ack.flags & SYN ? 0 : t.tcb.rcvWscale);
  };
  return {
    /** The peer sends what the window allows, at most `bytes`, one segment per microsecond from `atUs`. */
    send: (bytes: number, atUs: number) => {
      let at = atUs;
      while (bytes > 0 && edge() > next) {
        const len = Math.min(segmentBytes, bytes, edge() - next);
        t.data(next, len, at++);
        next += len;
        bytes -= len;
      }
    },
    windows: () => t.sent.filter((s) => !(s.flags & SYN)).map((s) => `${s.ack}:${s.window}`),
  };
}

describe('the MSS we send with SACK blocks on our segments (Linux tcp_current_mss, tcp_established_options)', () => {
  /** A TCB with SACK on both sides, holding `runs` runs of out-of-order data; the payload sizes of what it sends. */
  function sendSizes(runs: number, timestamps: boolean): number[] {
    const t = established(null, { timestamps, sack: true }, { sack: true });
    for (let i = 0; i < runs; i++) t.data(1001 + 2000 * i, 100, 2000 + i * 1000);
    t.tcb.send(10_000, new Uint8Array(3000));
    return t.sent.filter((s) => s.len > 0).map((s) => s.len);
  }

  it('each block costs 8 bytes after a 4-byte base; with timestamps (12 bytes) at most 3 blocks fit in 40 bytes, without them 4', () => {
    // min(peer MSS 1460, our 1460) less 12 of timestamps, less 4 + 8·blocks.
    expect(sendSizes(0, true)).toEqual([1448, 1448, 104]);
    expect(sendSizes(1, true)).toEqual([1436, 1436, 128]);
    expect(sendSizes(2, true)).toEqual([1428, 1428, 144]);
    expect(sendSizes(4, true)).toEqual([1420, 1420, 160]); // 3 blocks sent, not 4
    expect(sendSizes(4, false)).toEqual([1424, 1424, 152]);
  });
});

describe('a locked receive buffer: the SYN,ACK (Linux tcp_openreq_init_rwin, tcp_select_initial_window)', () => {
  it('SO_RCVBUF 131072 (sk_rcvbuf 262144): the window scale comes from the full space, ilog2(131072) − 15 = 2; the window min(space, 65535)', () => {
    const t = established(262144, { timestamps: true, wscale: 0 });
    expect(t.sent[0]).toMatchObject({ flags: SYN | ACK, wscale: 2, window: 65535 });
  });

  it('sk_rcvbuf 4608: full space 2304, rounded down to the MSS less timestamps (1448); without timestamps to 1460', () => {
    expect(established(4608, { timestamps: true }).sent[0]).toMatchObject({ wscale: -1, window: 1448 });
    expect(established(4608, { timestamps: false }).sent[0]).toMatchObject({ window: 1460 });
    // A full space below the MSS is offered whole: sk_rcvbuf 2304 (SOCK_MIN_RCVBUF) offers 1152.
    expect(established(2304, { timestamps: true }).sent[0]).toMatchObject({ window: 1152 });
  });
});

describe('a locked receive buffer: the windows of a stream (Linux __tcp_select_window, tcp_select_window, tcp_measure_rcv_mss)', () => {
  it('sk_rcvbuf 4608, no window scaling: a second segment before any read leaves less than the MSS free, so the window closes; reads reopen it by one MSS', () => {
    const t = established(4608, { timestamps: true });
    const peer = streaming(t, 1448);
    for (let i = 0; i < 6; i++) {
      peer.send(3000, 10_000 * i);
      t.read(1000, 10_000 * i + 5000);
    }
    // The first 1448 bytes: scaling_ratio 1448·256/2280 = 162, so the full space is
    // 4608·162/256 = 2916 and the free space (4608 − 2280)·162/256 = 1473: at least half the full
    // space, capped at rcv_ssthresh 1448 (the SYN,ACK's window): 1448. The second joins the first
    // skb (tcp_try_coalesce, 1448 more): (4608 − 3728)·162/256 = 556, below the MSS: 0.
    expect(peer.windows().slice(0, 2)).toEqual(['1449:1448', '2897:0']);
    expect(peer.windows()).toEqual(['1449:1448', '2897:0', '2897:1448', '4345:1448', '5793:1448']);
  });

  it('sk_rcvbuf 262144 with window scale 2: the window grows with rcv_ssthresh and is rounded up to the scale\'s 4 bytes', () => {
    const t = established(262144, { timestamps: true, wscale: 0 });
    const peer = streaming(t, 1448);
    for (let i = 0; i < 12; i++) {
      peer.send(40_000, 100_000 * i);
      t.read(10_000, 100_000 * i + 50_000);
    }
    expect(peer.windows().join(' ')).toBe(E4_WINDOWS);
  });
});

describe('SO_RCVBUF set after the handshake (adoptReceiveBuffer)', () => {
  it('window_clamp stays 65535 << rcv_wscale, rcv_ssthresh the window offered: the right edge already offered is kept, then the small buffer\'s window is offered', () => {
    const t = established(null, { timestamps: true, wscale: 7 });
    t.tcb.options.rcvBufBytes = 4608;
    t.tcb.adoptReceiveBuffer();
    const peer = streaming(t, 1448);
    for (let i = 0; i < 40; i++) {
      peer.send(3000, 10_000 * i);
      t.read(100_000, 10_000 * i + 5000);
    }
    // The first 1448 bytes: rcv_mss is already 1448 (min(peer MSS, advmss)), so the ratio stays 128:
    // free (4608 − 2280)/2 = 1164, at least half the full space 2304; aligned up to 128: 1280.
    // Below the 65535 − 1448 left of the SYN,ACK's window, which is kept: ⌈64087/128⌉ = 501.
    expect(peer.windows()[0]).toBe('1449:501');
    // The delayed ACKs never fire here (no timers): the peer fills the 65,535 bytes offered, and
    // each read of everything frees the whole buffer: the window is the full space, 2304 = 18·128.
    expect(peer.windows().join(' ')).toBe(ADOPTED_WINDOWS);
  });
});

describe('a locked receive buffer: small and mid-sized segments (Linux tcp_measure_rcv_mss)', () => {
  /** sk_rcvbuf 4608 with timestamps; the peer sends `segmentBytes` at a time, the application reads `readBytes` between bursts. */
  function run(segmentBytes: number, readBytes: number, rounds: number): string[] {
    const t = established(4608, { timestamps: true });
    const peer = streaming(t, segmentBytes);
    for (let i = 0; i < rounds; i++) {
      peer.send(3000, 10_000 * i);
      t.read(readBytes, 10_000 * i + 5000);
    }
    return peer.windows();
  }

  it('segments below rcv_mss (536, the SYN,ACK\'s: max(88, min(mss, 536, window/2))) leave the scaling ratio and rcv_mss alone', () => {
    expect(run(100, 300, 8).join(' ')).toBe('101:1448 701:1448 2149:1448 2749:1448');
  });

  it('a 1000-byte segment sets rcv_mss to 1000 (not advmss) and the ratio to 1000·256/1832 = 139', () => {
    // The first: full space 4608·139/256 = 2502, free (4608 − 1832)·139/256 = 1507, at least half,
    // capped at rcv_ssthresh 1448. The second joins it: (4608 − 2832)·139/256 = 964, below rcv_mss
    // 1000 (below 1448 too, but the window of 448 left is kept): 448.
    expect(run(1000, 700, 8).join(' ')).toBe('1001:1448 2001:448 2449:1000 3449:1000 4449:1000 5449:1000');
  });
});

describe('a locked receive buffer with out-of-order data (tcp_space counts the out-of-order queue)', () => {
  it('a duplicate ACK keeps the window left; the read that frees the in-order skb offers rcv_ssthresh rounded to rcv_mss', () => {
    const t = established(4608, { timestamps: true });
    const peer = streaming(t, 1000);
    peer.send(2000, 0);
    expect(peer.windows()).toEqual(['1001:1448', '2001:448']);
    t.data(2201, 248, 10); // out of order, inside the window
    expect(t.last()).toMatchObject({ ack: 2001, window: 448 });
    // The read frees the coalesced skb (2000 bytes): what is left is the out-of-order 248 + 832,
    // (4608 − 1080)·139/256 = 1915, capped at rcv_ssthresh 1448; 448 is within one rcv_mss of
    // it, so it is rounded down to 1000, at least twice the 448 left: sent (tcp_cleanup_rbuf).
    t.read(2000, 20);
    expect(t.last()).toMatchObject({ ack: 2001, window: 1000 });
  });
});

describe('SO_RCVBUF set again on a socket whose buffer is locked already', () => {
  it('the window_clamp of the handshake stays: the windows are those of a socket that set it once', () => {
    const once = established(4608, { timestamps: true });
    const twice = established(4608, { timestamps: true });
    twice.tcb.adoptReceiveBuffer();
    for (const t of [once, twice]) {
      const peer = streaming(t, 1448);
      for (let i = 0; i < 6; i++) {
        peer.send(3000, 10_000 * i);
        t.read(1000, 10_000 * i + 5000);
      }
    }
    expect(twice.sent).toEqual(once.sent);
    expect(streaming(twice, 1448).windows()).toEqual(['1449:1448', '2897:0', '2897:1448', '4345:1448', '5793:1448']);
  });
});

const E4_WINDOWS = '1449:17108 2897:17832 4345:18556 5793:19280 7241:20004 8689:20728 10137:21452 11585:22176 13033:22900 14481:23624 15929:24348 17377:25072 18825:25796 20273:26520 21721:27244 23169:27968 24617:28692 26065:29416 27513:30140 28961:30864 30409:31588 31857:32312 33305:33036 34753:33760 36201:34484 37649:35208 39097:35024 40001:34881 41449:34652 42897:34423 44345:34194 45793:33965 47241:33735 48689:33506 50137:33146 51585:32917 53033:32688 54481:32458 55929:32229 57377:32000 58825:31771 60273:31542 186441:9017 222509:7870 253989:4264 271045:4091 287409:2974 299305:3891';
const ADOPTED_WINDOWS = '1449:501 2897:490 65617:18 67921:18 70225:18 72529:18 74833:18 77137:18 79441:18 81745:18 84049:18 86353:18 88657:18 90961:18 93265:18 95569:18 97873:18 100177:18 102481:18 104785:18 107089:18';
