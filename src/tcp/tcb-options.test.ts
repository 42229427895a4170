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
