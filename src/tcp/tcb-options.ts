/**
 * TCP options (RFC 9293 §3.2, §3.7.1; RFC 7323): what our SYN and SYN,ACK offer, what the
 * handshake settles, and the timestamps every later segment carries.
 *
 * - MSS: always sent in SYN and SYN,ACK; the peer's caps what we send.
 * - Window scale (RFC 7323 §2, Linux tcp_window_scaling = 1): offered in SYN; in effect only
 *   when both SYNs carried it. The shift we offer is tcp_select_initial_window's. The window
 *   field of a SYN or SYN,ACK is never scaled (§2.2).
 * - Timestamps (RFC 7323 §3–§5, Linux tcp_timestamps = 1): TSval is the host's millisecond
 *   clock plus a per-connection offset (Linux secure_tcp_ts_off, keyed from the 4-tuple);
 *   TSecr echoes TS.Recent, which follows RFC 7323 §4.3's rules (Linux tcp_replace_ts_recent);
 *   PAWS (§5) drops a segment whose TSval is older than TS.Recent (Linux tcp_paws_discard).
 * - SACK (RFC 2018, Linux tcp_sack): off by default here, though Linux's default is on (README,
 *   "Deliberately left out"). With `sack`, SYN and SYN,ACK offer sackOK (between MSS and
 *   timestamps, as Linux writes them), and once both did, every segment with ACK carries a SACK
 *   block for each run of out-of-order data we hold, the one the latest arrival joined first and
 *   the rest most recently changed first (RFC 2018 §4; Linux tcp_sack_new_ofo_skb keeps 4, and
 *   sends 3 with timestamps). The sender reads no blocks (there is no SACK recovery or RACK), but a
 *   SACK connection is what Linux's tail-loss probe needs (tcp-timers.ts). D-SACK (RFC 2883,
 *   tcp_dsack) is left out.
 */
import { SYN, type Segment } from './segment.js';
import { seqGe, seqLe, seqLt } from './seq.js';
import { TcbBase, type SegmentFields } from './tcb-base.js';

/** RFC 7323 §3.2: the timestamps option takes 12 bytes (with its two NOPs) of every segment. */
export const TIMESTAMPS_OPTION_BYTES = 12;
/** RFC 2018 §3: a SACK option takes 2 bytes, 8 more per block, after two NOPs. */
const SACK_OPTION_BASE_BYTES = 4;
const SACK_BLOCK_BYTES = 8;
/** Linux TCP_NUM_SACKS: the blocks a receiver remembers (and sends without timestamps). */
const SACK_BLOCKS_KEPT = 4;
/** RFC 2018 §3: with the 12 bytes of timestamps, room for 3 blocks in 40 bytes of options. */
const SACK_BLOCKS_WITH_TIMESTAMPS = 3;
/** RFC 7323 §2.3: a shift above 14 is taken as 14. */
const MAX_WSCALE = 14;
/** Linux TCP_PAWS_WINDOW: PAWS tolerates a TSval one tick behind TS.Recent. */
const PAWS_WINDOW = 1;
/** Linux TCP_PAWS_24DAYS, RFC 7323 §5.5: a TS.Recent older than this no longer rejects anything. */
const PAWS_IDLE_US = 24 * 24 * 3600 * 1_000_000;

export abstract class TcbOptionsPart extends TcbBase {
  /** The peer's MSS option; 536 when it sent none (RFC 9293 §3.7.1, RFC 1122 §4.2.2.6). */
  peerMss = 536;
  /** Both SYNs carried timestamps: every segment from now on carries them (RFC 7323 §3.2). */
  tsOk = false;
  /** TS.Recent: the TSval we echo. */
  tsRecent = 0;
  /** When TS.Recent was last set (Linux ts_recent_stamp), -1 while never. */
  tsRecentStampUs = -1;
  /** This connection's TSval offset (Linux tp->tsoffset). */
  tsOffset = 0;
  /** Both SYNs carried a window scale: shifts for the windows we receive and send. */
  wscaleOk = false;
  sndWscale = 0;
  rcvWscale = 0;
  /** Both SYNs carried sackOK (RFC 2018 §2): our ACKs carry SACK blocks, and the tail-loss probe may run. */
  sackOk = false;
  /**
   * The runs of out-of-order data we hold, as [start, end) edge pairs, the most recently
   * changed first (Linux tp->selective_acks). Allocated once SACK is in effect.
   */
  protected sackRanges: number[] | null = null;

  /** Our TSval at `nowUs`: the host's millisecond clock plus the offset, modulo 2^32. */
  tsValAt(nowUs: number): number {
    return (Math.floor(nowUs / 1000) + this.tsOffset) >>> 0;
  }

  /** Before the first SYN of either side: this connection's TSval offset. */
  protected initTimestamps(): void {
    this.tsOffset = this.config.timestamps === 1 ? this.env.timestampOffset(this.self) >>> 0 : 0;
  }

  /**
   * Take the options of the peer's SYN or SYN,ACK. An option is in effect when we offer it and
   * the peer's SYN carried it (RFC 7323 §2.2, §3.2); the SYN's TSval is the first TS.Recent.
   */
  protected takeSynOptions(nowUs: number, seg: Segment): void {
    if (seg.mss > 0) this.peerMss = seg.mss;
    this.tsOk = false;
    if (this.config.timestamps !== 0 && seg.tsVal >= 0) {
      this.tsOk = true;
      this.tsRecent = seg.tsVal;
      this.tsRecentStampUs = nowUs;
    }
    this.sackOk = this.config.sack && seg.sackOk;
    if (this.sackOk && this.sackRanges === null) this.sackRanges = [];
    if (this.config.windowScaling && seg.wscale >= 0) {
      this.wscaleOk = true;
      this.sndWscale = Math.min(seg.wscale, MAX_WSCALE);
      this.rcvWscale = this.offeredWscale();
    }
  }

  /**
   * C1/C2: our SYN carries MSS and, as configured, timestamps (TSecr 0) and window scale; our
   * SYN,ACK carries timestamps and window scale only when the peer's SYN did (RFC 7323).
   */
  protected addSynOptions(nowUs: number, fields: SegmentFields, synAck: boolean): void {
    fields.mss = this.config.mss;
    if (synAck ? this.tsOk : this.config.timestamps !== 0) {
      fields.tsVal = this.tsValAt(nowUs);
      // Linux tcp_syn_options echoes ts_recent in a SYN too: 0, unless the connection took over a
      // TIME-WAIT 4-tuple and its TS.Recent (tcp_twsk_unique).
      fields.tsEcr = this.tsRecent;
    }
    if (synAck ? this.wscaleOk : this.config.windowScaling) fields.wscale = this.offeredWscale();
    fields.sackOk = synAck ? this.sackOk : this.config.sack;
  }

  /** RFC 2018 §4: every ACK we send while we hold out-of-order data names it, most recent first. */
  protected addSackBlocks(fields: SegmentFields): void {
    const ranges = this.sackRanges;
    if (ranges === null || ranges.length === 0) return;
    const blocks = Math.min(ranges.length / 2, this.tsOk ? SACK_BLOCKS_WITH_TIMESTAMPS : SACK_BLOCKS_KEPT);
    fields.sackBlocks = ranges.slice(0, 2 * blocks);
  }

  /**
   * Out-of-order data [start, end) arrived (Linux tcp_sack_new_ofo_skb): it joins every run it
   * overlaps or touches, and the merged run moves to the front; past 4 runs the oldest is forgotten.
   */
  protected sackRecordOutOfOrder(start: number, end: number): void {
    const ranges = this.sackRanges;
    if (ranges === null) return;
    let mergedStart = start;
    let mergedEnd = end;
    for (let i = 0; i < ranges.length; ) {
      const runStart = ranges[i]!;
      const runEnd = ranges[i + 1]!;
      if (seqLe(runStart, mergedEnd) && seqLe(mergedStart, runEnd)) {
        if (seqLt(runStart, mergedStart)) mergedStart = runStart;
        if (seqLt(mergedEnd, runEnd)) mergedEnd = runEnd;
        ranges.splice(i, 2);
      } else {
        i += 2;
      }
    }
    ranges.unshift(mergedStart, mergedEnd);
    if (ranges.length > 2 * SACK_BLOCKS_KEPT) ranges.length = 2 * SACK_BLOCKS_KEPT;
  }

  /** RCV.NXT moved on (Linux tcp_sack_remove): a run it reached is no longer out of order. */
  protected sackForgetBelow(rcvNxt: number): void {
    const ranges = this.sackRanges;
    if (ranges === null || ranges.length === 0) return;
    for (let i = 0; i < ranges.length; ) {
      if (seqGe(rcvNxt, ranges[i]!)) ranges.splice(i, 2);
      else i += 2;
    }
  }

  /** RFC 7323 §3.2: once negotiated, every segment but a reset answering no connection carries timestamps. */
  protected addTimestamps(nowUs: number, fields: SegmentFields): void {
    if (!this.tsOk) return;
    fields.tsVal = this.tsValAt(nowUs);
    fields.tsEcr = this.tsRecent;
  }

  /**
   * The shift we offer (Linux tcp_select_initial_window): enough that the largest receive
   * buffer, tcp_rmem[2], fits a 16-bit window: ilog2(space) − 15, within 0–14.
   */
  protected offeredWscale(): number {
    const space = Math.max(this.config.rmemMaxBytes, this.config.receiveBufferBytes);
    return Math.max(0, Math.min(MAX_WSCALE, Math.floor(Math.log2(space)) - 15));
  }

  /** The peer's window in bytes: SYN windows are never scaled (RFC 7323 §2.2). */
  protected peerWindowBytes(seg: Segment): number {
    return seg.flags & SYN ? seg.window : seg.window * 2 ** this.sndWscale;
  }

  /**
   * RFC 7323 §5.3 R1 (Linux tcp_paws_discard): with timestamps in use, a segment whose TSval
   * is older than TS.Recent is an old duplicate. Segments without timestamps pass, as in Linux.
   */
  protected pawsRejects(nowUs: number, seg: Segment): boolean {
    if (!this.tsOk || seg.tsVal < 0 || this.tsRecentStampUs < 0) return false;
    if (((this.tsRecent - seg.tsVal) | 0) <= PAWS_WINDOW) return false;
    return nowUs - this.tsRecentStampUs < PAWS_IDLE_US;
  }

  /**
   * RFC 7323 §4.3 (Linux tcp_replace_ts_recent): TS.Recent takes a segment's TSval when the
   * segment covers the point our last ACK acknowledged (SEG.SEQ ≤ Last.ACK.sent) and the TSval
   * is not older than TS.Recent.
   */
  protected updateTsRecent(nowUs: number, seg: Segment): void {
    if (!this.tsOk || seg.tsVal < 0 || !seqLe(seg.seq, this.lastAckedRcvNxt)) return;
    if (((seg.tsVal - this.tsRecent) | 0) < 0) return;
    this.tsRecent = seg.tsVal;
    this.tsRecentStampUs = nowUs;
  }

  /**
   * The window field we send: what is free of the receive buffer, shifted by our scale once it
   * is in effect; a SYN's is unscaled and at most 65535 (RFC 7323 §2.2). Rounded down, so we
   * never offer more than we have.
   */
  protected windowField(flags: number): number {
    const free = this.receiveWindow();
    if (flags & SYN) return Math.min(free, 0xffff);
    return Math.min(Math.floor(free / 2 ** this.rcvWscale), 0xffff);
  }

  /**
   * The largest payload we send: the smaller MSS, less the timestamps option when in use, and
   * less the SACK blocks our segments carry just now (Linux tcp_current_mss counts
   * tcp_established_options).
   */
  protected sendMss(): number {
    let optionBytes = this.tsOk ? TIMESTAMPS_OPTION_BYTES : 0;
    const ranges = this.sackRanges;
    if (ranges !== null && ranges.length > 0) optionBytes += SACK_OPTION_BASE_BYTES + SACK_BLOCK_BYTES * Math.min(ranges.length / 2, this.tsOk ? SACK_BLOCKS_WITH_TIMESTAMPS : SACK_BLOCKS_KEPT);
    return Math.min(this.peerMss, this.config.mss) - optionBytes;
  }
}
