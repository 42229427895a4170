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
 *
 * The window we advertise. A socket whose receive buffer SO_RCVBUF set (Linux
 * SOCK_RCVBUF_LOCK) chooses it as Linux 6.x does, in `selectWindow` below; every other socket
 * advertises what is free of the stack's `receiveBufferBytes` (Linux autotunes the default
 * buffer, tcp_rcv_space_adjust, which is not modelled). The Linux model, per function:
 * - Memory: each queued segment costs its length plus SKB_OVERHEAD_BYTES (Linux charges skb
 *   truesize to sk_rmem_alloc; a 1448-byte segment over this machine's loopback is queued as
 *   2280 bytes) and is freed once wholly read. A segment that joins the newest skb of the queue
 *   (tcp_try_coalesce, in `chargeQueued`) costs only its length, and the joined skb is freed
 *   once wholly read.
 * - tcp_win_from_space: space × scaling_ratio / 256, the ratio 50 % (TCP_DEFAULT_SCALING_RATIO)
 *   until tcp_measure_rcv_mss re-measures it from the first segment of a new size
 *   (len × 256 / truesize) and re-clamps the window (tcp_set_window_clamp).
 * - tcp_full_space / tcp_space: the window of sk_rcvbuf, and of what the queues leave of it.
 * - tcp_connect_init / tcp_openreq_init_rwin: with the buffer locked, window_clamp is the full
 *   space; tcp_select_initial_window offers min(full space, 65535) rounded down to the MSS (less
 *   the timestamps on a SYN,ACK that carries them), and a window scale from the clamp.
 * - __tcp_select_window: free space; below half the full space quick ACKs stop, and below the
 *   MSS (or 1/16 of the full space) the window is 0; at most rcv_ssthresh; without window
 *   scaling a multiple of the MSS, kept as it is while within one MSS of the free space; with
 *   scaling, rounded up to the scale's unit.
 * - tcp_select_window: never shrunk (tcp_shrink_window = 0): never below what is left of the
 *   window last advertised.
 */
import { ACK, SYN, type Segment } from './segment.js';
import { seqDiff, seqGe, seqLe, seqLt } from './seq.js';
import { TcbBase, type SegmentFields, type TcbOptions } from './tcb-base.js';

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
/** TCP_DEFAULT_SCALING_RATIO: 128/256, half a buffer's bytes may be window. */
const DEFAULT_SCALING_RATIO = 128;
/** Bytes Linux charges a queued segment beyond its payload (skb truesize less len), measured on this machine's Linux 6.18 loopback (MTU 1500): 2280 for 1448. */
export const SKB_OVERHEAD_BYTES = 832;
/** Linux MAX_SKB_FRAGS: the page fragments one skb holds, so the segments tcp_try_coalesce joins into it. */
const MAX_SKB_FRAGS = 17;
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

  // Receive window selection with a locked buffer (Linux tcp_sock fields of the same names).
  /** window_clamp: the largest window we will ever offer. */
  protected windowClamp = 0;
  /** rcv_ssthresh: the window grows towards the clamp as data arrives (tcp_grow_window, tcb-receive.ts). */
  protected rcvSsthresh = 0;
  /** icsk_ack.rcv_mss: our estimate of the peer's segment size (tcp_measure_rcv_mss), 536 until a larger one arrives. */
  protected rcvMss = 536;
  /** tp->scaling_ratio: window bytes per 256 bytes of buffer. */
  protected scalingRatio = DEFAULT_SCALING_RATIO;
  /**
   * sk_rmem_alloc of the in-order queue: each skb in it, oldest first, its payload and its
   * truesize, and how much of the oldest was read; for the newest, the end of its first segment
   * and how many segments it holds (tcp_try_coalesce).
   */
  protected readonly queuedLengths: number[] = [];
  protected readonly queuedTruesizes: number[] = [];
  protected queuedTruesizeTotal = 0;
  protected headSegmentRead = 0;
  private tailFirstSegmentEnd = 0;
  private tailSegments = 0;

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
    // A locked buffer: min(…, window_clamp) is the full space, so a small buffer offers shift 0.
    if (this.options.rcvBufBytes !== null) return Math.max(0, Math.min(MAX_WSCALE, Math.floor(Math.log2(Math.max(1, this.fullSpace()))) - 15));
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
   * never offer more than we have. With a locked buffer, Linux's choice (selectWindow).
   */
  protected windowField(flags: number): number {
    if (this.options.rcvBufBytes !== null) return flags & SYN ? this.initialWindow(flags) : this.selectWindow() >>> this.rcvWscale;
    const free = this.receiveWindow();
    if (flags & SYN) return Math.min(free, 0xffff);
    return Math.min(Math.floor(free / 2 ** this.rcvWscale), 0xffff);
  }

  /**
   * SO_RCVBUF set on a connection already past its SYN: Linux keeps the window_clamp the
   * handshake chose (65535 << rcv_wscale with the default buffer) and rcv_ssthresh, and from now
   * on charges the new sk_rcvbuf; what is queued already is charged as one segment.
   */
  adoptReceiveBuffer(): void {
    if (this.windowClamp !== 0 || this.state === 'CLOSED' || this.state === 'LISTEN') return;
    this.windowClamp = 0xffff * 2 ** this.rcvWscale;
    this.rcvSsthresh = Math.max(this.lastAdvertisedWindow, 1);
    this.rcvMss = Math.min(this.peerMss, this.advMss());
    if (this.receiveQueue.length > 0) this.chargeQueued(this.receiveQueue.length, -1);
  }

  /** tcp_win_from_space. */
  protected winFromSpace(space: number): number {
    return Math.floor((space * this.scalingRatio) / 256);
  }

  /** tcp_full_space: the window sk_rcvbuf may offer. */
  protected fullSpace(): number {
    return this.winFromSpace(this.options.rcvBufBytes ?? 0);
  }

  /** tcp_space: the window what the queues leave of sk_rcvbuf may offer (negative when over). */
  protected freeSpace(): number {
    let allocated = this.queuedTruesizeTotal;
    for (let i = 0; i < this.outOfOrder.length; i++) allocated += this.outOfOrder[i]!.payload.length + SKB_OVERHEAD_BYTES;
    return this.winFromSpace((this.options.rcvBufBytes ?? 0) - allocated);
  }

  /**
   * In-order data of `len` bytes (ending at RCV.NXT + len) joined the receive queue at `nowUs`
   * (a locked buffer's memory account). Linux's tcp_queue_rcv first tries tcp_try_coalesce:
   * the segment's pages join the newest skb of the queue, which is then charged only the
   * payload (skb_try_coalesce's delta for a header-less skb), not another skb. On loopback,
   * which is what the kernel runs compare with, the newest skb still shares its data with the
   * sender's retransmit queue (skb_cloned) until the sender has taken our ACK of its first
   * segment: an ACK sent at an earlier instant, or one whose window this segment needed
   * (tcb-base.ts ackedByPeer). Over a real network a received skb is never shared, and Linux
   * coalesces regardless; that case is not modelled. At most
   * MAX_SKB_FRAGS (17) segments join one skb, taking one page fragment each.
   */
  protected chargeQueued(len: number, nowUs: number): void {
    const tail = this.queuedLengths.length - 1;
    const acked = nowUs < 0 ? null : this.ackedByPeer(nowUs, (this.rcvNxt + len) >>> 0);
    if (tail >= 0 && acked !== null && this.tailSegments < MAX_SKB_FRAGS && seqGe(acked, this.tailFirstSegmentEnd)) {
      this.queuedLengths[tail] = this.queuedLengths[tail]! + len;
      this.queuedTruesizes[tail] = this.queuedTruesizes[tail]! + len;
      this.queuedTruesizeTotal += len;
      this.tailSegments++;
      return;
    }
    const truesize = len + SKB_OVERHEAD_BYTES;
    this.queuedLengths.push(len);
    this.queuedTruesizes.push(truesize);
    this.queuedTruesizeTotal += truesize;
    // adoptReceiveBuffer charges what is queued already (RCV.NXT is past it) as one skb.
    this.tailFirstSegmentEnd = nowUs < 0 ? this.rcvNxt : (this.rcvNxt + len) >>> 0;
    this.tailSegments = 1;
  }

  /** The application read `len` bytes: segments wholly read free their memory (sk_eat_skb). */
  protected releaseRead(len: number): void {
    let left = len;
    while (left > 0 && this.queuedTruesizes.length > 0) {
      const unread = this.queuedLengths[0]! - this.headSegmentRead;
      if (left < unread) {
        this.headSegmentRead += left;
        return;
      }
      left -= unread;
      this.headSegmentRead = 0;
      this.queuedLengths.shift();
      this.queuedTruesizeTotal -= this.queuedTruesizes.shift()!;
    }
  }

  /**
   * tcp_measure_rcv_mss: a segment of at least rcv_mss sets it (at most our advmss); one of a new
   * size re-measures the scaling ratio from its truesize and re-clamps the window
   * (tcp_set_window_clamp: at least SOCK_MIN_RCVBUF / 2; a larger clamp lifts rcv_ssthresh to
   * min(rcv_wnd, clamp)).
   */
  protected measureRcvMss(len: number): void {
    if (len < this.rcvMss) return;
    if (len !== this.rcvMss) {
      const ratio = Math.max(1, Math.floor((len * 256) / (len + SKB_OVERHEAD_BYTES)));
      if (ratio !== this.scalingRatio) {
        this.scalingRatio = ratio;
        const clamp = Math.max(1152, this.fullSpace());
        if (clamp > this.windowClamp) this.rcvSsthresh = Math.max(this.rcvSsthresh, Math.min(this.lastAdvertisedWindow, clamp));
        else this.rcvSsthresh = Math.min(this.rcvSsthresh, clamp);
        this.windowClamp = clamp;
      }
    }
    this.rcvMss = Math.min(len, this.advMss());
  }

  /** tp->advmss: the MSS we announced, less the timestamps every segment carries. */
  protected advMss(): number {
    return this.config.mss - (this.tsOk ? TIMESTAMPS_OPTION_BYTES : 0);
  }

  /**
   * tcp_select_initial_window with a locked buffer: window_clamp = full space
   * (tcp_connect_init, tcp_openreq_init_rwin), the window min(space, 65535) rounded down to the
   * MSS less the timestamps a SYN,ACK carries, rcv_ssthresh = that window.
   */
  private initialWindow(flags: number): number {
    const full = this.fullSpace();
    const mss = flags & ACK && this.tsOk ? this.config.mss - TIMESTAMPS_OPTION_BYTES : this.config.mss;
    let space = full;
    if (space > mss) space = Math.floor(space / mss) * mss;
    const window = Math.min(space, 0xffff);
    this.windowClamp = Math.min(0xffff * 2 ** this.offeredWscale(), full);
    this.rcvSsthresh = window;
    this.rcvMss = Math.max(88, Math.min(this.config.mss, 536, window >> 1));
    return window;
  }

  /**
   * The window to advertise, in bytes, with a locked buffer: tcp_select_window around
   * __tcp_select_window. Quick ACKs stop when less than half the full space is free (the
   * "quick-ACK turned off under memory pressure" of __tcp_select_window); the window is never
   * shrunk below what is left of the last one (tcp_shrink_window = 0).
   */
  protected selectWindow(): number {
    const left = Math.max(0, this.lastAdvertisedWindow - seqDiff(this.rcvNxt, this.lastAckedRcvNxt));
    const chosen = this.rawSelectWindow();
    const unit = 2 ** this.rcvWscale;
    return chosen < left ? Math.ceil(left / unit) * unit : chosen;
  }

  /** __tcp_select_window (Linux 6.x), with the free space counted in bytes queued. */
  protected rawSelectWindow(): number {
    const allowed = this.fullSpace();
    const full = Math.min(this.windowClamp, allowed);
    const unit = 2 ** this.rcvWscale;
    let mss = this.rcvMss;
    let free = this.freeSpace();
    if (mss > full) mss = full;
    if (free < full >> 1) {
      this.quickAcksLeft = 0;
      free = Math.floor(Math.max(0, free) / unit) * unit;
      if (free < allowed >> 4 || free < mss) return 0;
    }
    if (free > this.rcvSsthresh) free = this.rcvSsthresh;
    let window = this.lastAdvertisedWindow;
    if (this.rcvWscale > 0) {
      // Enough that the scaled field does not round it away.
      window = Math.ceil(free / unit) * unit;
    } else if (window <= free - mss || window > free) {
      window = Math.floor(free / mss) * mss;
    } else if (mss === full && free > window + (full >> 1)) {
      window = free;
    }
    return window;
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

  /** This part's fields as a new connection has them (TcbBase.resetState). */
  protected override resetState(options: TcbOptions): void {
    super.resetState(options);
    this.peerMss = 536;
    this.tsOk = false;
    this.tsRecent = 0;
    this.tsRecentStampUs = -1;
    this.tsOffset = 0;
    this.wscaleOk = false;
    this.sndWscale = 0;
    this.rcvWscale = 0;
    this.sackOk = false;
    this.sackRanges = null;
    this.windowClamp = 0;
    this.rcvSsthresh = 0;
    this.rcvMss = 536;
    this.scalingRatio = DEFAULT_SCALING_RATIO;
    this.queuedLengths.length = 0;
    this.queuedTruesizes.length = 0;
    this.queuedTruesizeTotal = 0;
    this.headSegmentRead = 0;
    this.tailFirstSegmentEnd = 0;
    this.tailSegments = 0;
  }
}
