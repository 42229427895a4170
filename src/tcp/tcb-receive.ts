/**
 * Segment arrival in the synchronized states (RFC 9293 §3.10.7.4, SYN-RECEIVED through
 * LAST-ACK): the acceptability test, RST and SYN checks, the ACK's effect on the close states,
 * segment text with reassembly of out-of-order data, the FIN, and when to ACK. gVisor's rcv.go.
 */
import { ACK, FIN, RST, SYN, segLen, type Segment } from './segment.js';
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from './seq.js';
import { EMPTY, TimerKind, isArmed, type TcbOptions } from './tcb-base.js';
import { SKB_OVERHEAD_BYTES } from './tcb-options.js';
import { TcbTimersPart } from './tcb-timers.js';

export abstract class TcbReceivePart extends TcbTimersPart {
  /** §3.10.7.4 SYN-RECEIVED through LAST-ACK. */
  protected inputOtherStates(nowUs: number, seg: Segment): void {
    const flags = seg.flags;
    const len = segLen(seg);

    if (this.answerRepeatedSyn(nowUs, seg)) return;

    // RFC 7323 §5.3 R1 (Linux tcp_validate_incoming): PAWS comes before the sequence test. An
    // old TSval is a duplicate from the past: ACK it (rate-limited unless it carries data) and
    // drop it. A reset goes on to the sequence test, as Linux accepts it despite PAWS.
    if (this.pawsRejects(nowUs, seg) && !(flags & RST)) {
      this.sendOutOfWindowAck(nowUs, seg, false);
      return;
    }

    // First: the sequence number test, four cases. The crossed SYN,ACK of a simultaneous open
    // passes it (Linux tcp_sequence tests its end, SEG.SEQ+1 = RCV.NXT, not its start).
    const crossedSynAck = (flags & SYN) !== 0 && this.isCrossedSynAck(seg);
    const window = this.receiveWindow();
    if (!crossedSynAck && !this.acceptable(seg.seq, len, window)) {
      // RFC 9293 §3.10.7.4 first check: answer an unacceptable segment with an ACK, unless it is a reset.
      if (!(flags & RST)) this.sendOutOfWindowAck(nowUs, seg, false);
      return;
    }

    // Second: RST. RFC 5961 §3.2 (folded into RFC 9293): reset only on an exact match,
    // challenge-ACK anything else in the window.
    if (flags & RST) {
      if (seg.seq !== this.rcvNxt) {
        this.sendOutOfWindowAck(nowUs, seg, true);
        return;
      }
      this.env.segmentAccepted(this.self, seg);
      switch (this.state) {
        case 'SYN-RECEIVED':
          if (this.passive) {
            this.clearSendQueue();
            this.setState('LISTEN', 'rcv RST');
            this.releaseTimers();
            return;
          }
          // RFC 9293 says "connection refused" for an active open; Linux tcp_reset reports
          // ECONNRESET from SYN-RECEIVED (only SYN-SENT gives ECONNREFUSED), and so do we.
          this.fail('ECONNRESET', 'rcv RST');
          return;
        case 'CLOSE-WAIT':
          // Linux tcp_reset: in CLOSE-WAIT the application already saw EOF; the error it gets
          // (from its next send) is EPIPE, not ECONNRESET.
          this.fail('EPIPE', 'rcv RST');
          return;
        case 'ESTABLISHED':
        case 'FIN-WAIT-1':
        case 'FIN-WAIT-2':
          this.fail('ECONNRESET', 'rcv RST');
          return;
        default:
          // CLOSING, LAST-ACK: enter CLOSED, no error to report (the application closed already).
          this.becomeClosed('rcv RST');
          return;
      }
    }

    // Fourth: a SYN in a synchronized state gets a challenge ACK (RFC 5961 §4), except the peer's
    // SYN,ACK in a simultaneous open, which completes it (crossedSynAck).
    if (flags & SYN && !crossedSynAck) {
      this.sendOutOfWindowAck(nowUs, seg, true);
      return;
    }

    // Fifth: the ACK field.
    if (!(flags & ACK)) return;
    this.env.segmentAccepted(this.self, seg);
    if (this.state !== 'SYN-RECEIVED' && seqGt(seg.ack, this.sndNxt)) {
      // RFC 9293 §3.10.7.4 fifth check: an ACK of something not yet sent (SEG.ACK > SND.NXT) is
      // answered with an ACK and the segment dropped — its text and FIN too, and TS.Recent stays.
      // Linux 6.18 tcp_ack (after(ack, tp->snd_nxt)) sends a challenge ACK, rate-limited
      // (tcp_send_challenge_ack, tcp_invalid_ratelimit), in every synchronized state; checked on
      // this machine's 6.18.44 with packetdrill's ts_recent/invalid_ack.pkt, which expects the
      // older silence and fails there the way it fails here. Earlier 6.x kernels drop it silently
      // in ESTABLISHED (tcp_rcv_established) and challenge-ACK it elsewhere (tcp_rcv_state_process).
      this.sendOutOfWindowAck(nowUs, seg, true);
      return;
    }
    // RFC 7323 §4.3: TS.Recent from a segment whose ACK is neither old nor beyond what we sent
    // (Linux tcp_ack with FLAG_UPDATE_TS_RECENT).
    if (!seqGt(seg.ack, this.sndNxt) && !seqLt(seg.ack, this.sndUna)) this.updateTsRecent(nowUs, seg);
    // The peer is alive: zero-window probes start counting again (Linux tcp_ack, icsk_probes_out = 0).
    this.probesOut = 0;
    this.takeSackBlocks(nowUs, seg);
    if (this.state === 'SYN-RECEIVED') {
      // An ACK outside (SND.UNA, SND.NXT] is answered <SEQ=SEG.ACK><CTL=RST> and the half-open
      // connection stays (completeHandshake; Linux tcp_check_req hands the segment to the
      // listener, whose tcp_rcv_state_process answers an ACK with a reset).
      if (!this.completeHandshake(nowUs, seg)) return;
    } else {
      if (seqGt(seg.ack, this.sndUna)) this.ackAdvanced(nowUs, seg.ack);
      if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, seg.ack))) {
        this.takePeerWindow(seg, seg.seq, seg.ack);
      }
    }

    const ourFinAcked = this.finSeq >= 0 && seqGt(this.sndUna, this.finSeq);
    switch (this.state) {
      case 'FIN-WAIT-1':
        if (ourFinAcked) {
          this.setState('FIN-WAIT-2', 'rcv ACK of FIN');
          if (this.orphaned) this.armFinWait2(nowUs);
        }
        break;
      case 'CLOSING':
        if (ourFinAcked) {
          this.enterTimeWait(nowUs, 'rcv ACK of FIN');
          return;
        }
        break;
      case 'LAST-ACK':
        if (ourFinAcked) {
          this.becomeClosed('rcv ACK of FIN');
          return;
        }
        break;
      default:
        break;
    }

    // Seventh and eighth: segment text and FIN.
    const hasText = seg.payload.length > 0 || (flags & FIN) !== 0;
    if (!hasText) {
      // The crossed SYN,ACK's SYN is a sequence number received already: Linux tcp_data_queue
      // ACKs such a duplicate at once (quick ACK; its DSACK block is not modelled).
      if (crossedSynAck) this.sendAck(nowUs);
      this.output(nowUs);
      return;
    }
    switch (this.state) {
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
        this.receiveText(nowUs, seg, window);
        break;
      default:
        // CLOSE-WAIT, CLOSING, LAST-ACK: the peer's FIN came already. A retransmitted FIN
        // (our ACK was lost) is answered with an ACK.
        if (seqLt(seg.seq, this.rcvNxt)) this.sendAck(nowUs);
        break;
    }
    this.output(nowUs);
  }

  /**
   * RFC 9293 §3.5 (figure 8): in a simultaneous open, the SYN,ACK that answers our SYN-RECEIVED's
   * SYN,ACK completes the handshake. Linux 6.10+ tcp_validate_incoming lets exactly this one pass
   * the SYN check on an active opener: SYN,ACK, nothing else in it, SEG.SEQ+1 = RCV.NXT and
   * SEG.ACK = SND.NXT. Before that, Linux challenge-ACKed it and waited for a bare ACK (a crossed
   * simultaneous open under loss could then time out on one side). Seen on this machine's 6.18.44:
   * the SYN,ACK made the socket ESTABLISHED with one ACK, and no SYN,ACK was resent.
   */
  private isCrossedSynAck(seg: Segment): boolean {
    return this.state === 'SYN-RECEIVED' && !this.passive && (seg.flags & (SYN | ACK | FIN | RST)) === (SYN | ACK) && seg.payload.length === 0 &&
      seqAdd(seg.seq, 1) === this.rcvNxt && seg.ack === this.sndNxt;
  }

  /**
   * RFC 9293 §3.10.7.4 first check: the four cases of segment acceptability, with one Linux
   * choice: a segment without data may sit exactly on the right edge (tcp_sequence tests
   * `!after(seq, rcv_nxt + window)`). A peer never sends past the window it was offered, so a
   * RST it sends at its SND.NXT is then always in the window and gets a challenge ACK; with the
   * RFC's strict edge a RST at a full window's end is dropped and the connection is left
   * half-open for good (found by the reuse-linger suite with a 256 B receive buffer).
   */
  protected acceptable(seq: number, len: number, window: number): boolean {
    const rcvNxt = this.rcvNxt;
    if (len === 0) {
      if (window === 0) return seq === rcvNxt;
      return seqLe(rcvNxt, seq) && seqLe(seq, seqAdd(rcvNxt, window));
    }
    // With a zero window, RFC 9293 allows the ACK of a segment at RCV.NXT to be processed;
    // its text is then trimmed away.
    if (window === 0) return seq === rcvNxt;
    const windowEnd = seqAdd(rcvNxt, window);
    const last = seqAdd(seq, len - 1);
    return (seqLe(rcvNxt, seq) && seqLt(seq, windowEnd)) || (seqLe(rcvNxt, last) && seqLt(last, windowEnd));
  }

  /** Seventh (text) and eighth (FIN) checks for ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2. */
  protected receiveText(nowUs: number, seg: Segment, window: number): void {
    // Linux tcp_data_queue: new data sets the delayed-ACK timeout (tcp_event_data_recv), and so
    // does data that is out of order or already received (tcp_enter_quickack_mode).
    if (seg.payload.length > 0) this.dataReceived = true;
    let seq = seg.seq;
    let payload = seg.payload;
    let fin = (seg.flags & FIN) !== 0;
    // Trim what we already have off the front.
    const old = seqDiff(this.rcvNxt, seq);
    if (old > 0) {
      payload = payload.subarray(Math.min(old, payload.length));
      seq = this.rcvNxt;
    }
    // Trim what falls beyond the window; a FIN beyond it is dropped too.
    const room = seqDiff(seqAdd(this.rcvNxt, window), seq);
    if (payload.length > room) {
      payload = payload.subarray(0, Math.max(0, room));
      fin = false;
    }
    if (payload.length > 0 && (this.orphaned || (this.readShutdown && this.state !== 'ESTABLISHED'))) {
      // Linux tcp_rcv_state_process (FIN-WAIT-1/2 with RCV_SHUTDOWN, set by close() or by
      // shutdown(SHUT_RD)): new data cannot be delivered (RFC 1122 §4.2.2.13 says reset). The
      // connection is dropped (tcp_reset: ECONNRESET for a socket still open) and the segment
      // answered as §3.10.7.1 answers one for a closed connection, <SEQ=SEG.ACK><CTL=RST>
      // (tcp_v4_send_reset), not with the <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> of an abort.
      // In ESTABLISHED, SHUT_RD alone does not stop data: it is ACKed and queued (tcp_data_queue).
      this.env.transmit(this.self, this.fields(seg.ack, RST, EMPTY, false));
      if (this.orphaned) {
        this.clearSendQueue();
        this.becomeClosed('data after close');
      } else {
        this.fail('ECONNRESET', 'data after shutdown(SHUT_RD)');
      }
      return;
    }
    if (seq !== this.rcvNxt) {
      // Out of order: keep it for reassembly and send a duplicate ACK at once (RFC 5681 §4.2).
      if (payload.length > 0 || fin) {
        this.insertOutOfOrder(seq, payload, fin);
        this.sackRecordOutOfOrder(seq, seqAdd(seq, payload.length + (fin ? 1 : 0)));
      }
      this.sendAck(nowUs);
      return;
    }
    const hadOutOfOrder = this.outOfOrder.length > 0;
    let finInOrder = this.deliverInOrder(payload, fin, nowUs);
    if (payload.length > 0 && this.options.rcvBufBytes !== null) this.dataArrived(payload.length);
    finInOrder = this.drainOutOfOrder(nowUs) || finInOrder;
    if (hadOutOfOrder) this.sackForgetBelow(this.rcvNxt);
    if (payload.length > 0 || hadOutOfOrder) this.env.wake(this.self);
    if (finInOrder) {
      this.receiveFin(nowUs);
      // RFC 5681 §4.2 (Linux ICSK_ACK_NOW): a segment that fills the gap is ACKed at once, also
      // when it completes a FIN that waited out of order; ping-pong mode must not delay it.
      if (hadOutOfOrder && this.ackPending) this.sendAck(nowUs);
      return;
    }
    if (hadOutOfOrder) this.sendAck(nowUs);
    else this.scheduleAck(nowUs);
  }

  /**
   * In-order data arrived at a socket whose SO_RCVBUF locked its buffer, and was queued (Linux
   * tcp_event_data_recv): the first data starts quick-ACK mode for rcv_wnd / (2·rcv_mss)
   * segments, at least 2 and at most 16 (tcp_incr_quickack); the MSS estimate and scaling
   * ratio follow (tcp_measure_rcv_mss, tcb-options.ts); then tcp_grow_window: while the free
   * space allows, rcv_ssthresh rises towards the clamp by max(2·advmss, 2·len), for a segment
   * whose truesize fits (tcp_win_from_space(truesize) ≤ len), and growing it adds a quick ACK
   * (icsk_ack.quick |= 1).
   */
  protected dataArrived(len: number): void {
    this.measureRcvMss(len);
    if (!this.lockedDataSeen) {
      this.lockedDataSeen = true;
      const quickAcks = Math.floor(this.lastAdvertisedWindow / (2 * this.rcvMss)) || 2;
      this.quickAcksLeft = Math.min(quickAcks, this.config.quickAcks);
    }
    if (len < 128) return;
    const room = Math.min(this.windowClamp, this.freeSpace()) - this.rcvSsthresh;
    if (room <= 0) return;
    if (this.winFromSpace(len + SKB_OVERHEAD_BYTES) > len) return;
    this.rcvSsthresh += Math.min(room, Math.max(2 * this.advMss(), 2 * len));
    this.quickAcksLeft |= 1;
  }

  /** Data has arrived on a locked buffer (Linux icsk_ack.ato set: the delayed-ACK engine started). */
  private lockedDataSeen = false;

  protected deliverInOrder(payload: Uint8Array, fin: boolean, nowUs: number): boolean {
    if (payload.length > 0) {
      this.receiveQueue.push(payload);
      if (this.options.rcvBufBytes !== null) this.chargeQueued(payload.length, nowUs);
      this.rcvNxt = seqAdd(this.rcvNxt, payload.length);
    }
    return fin;
  }

  protected insertOutOfOrder(seq: number, payload: Uint8Array, fin: boolean): void {
    const queue = this.outOfOrder;
    let index = queue.length;
    while (index > 0 && seqGt(queue[index - 1]!.seq, seq)) index--;
    queue.splice(index, 0, { seq, payload, fin });
  }

  /** Move queued out-of-order text that now starts at or before RCV.NXT. Returns true on an in-order FIN. */
  protected drainOutOfOrder(nowUs: number): boolean {
    const queue = this.outOfOrder;
    while (queue.length > 0) {
      const head = queue[0]!;
      const overlap = seqDiff(this.rcvNxt, head.seq);
      if (overlap < 0) break;
      queue.shift();
      const end = seqAdd(head.seq, head.payload.length);
      if (seqLt(end, this.rcvNxt) || (end === this.rcvNxt && !head.fin && head.payload.length > 0 && overlap >= head.payload.length)) continue;
      const fresh = head.payload.subarray(Math.min(overlap, head.payload.length));
      if (this.deliverInOrder(fresh, head.fin, nowUs)) {
        queue.length = 0;
        return true;
      }
    }
    return false;
  }

  /** Eighth check: the FIN. It takes one sequence number (C4) and means end-of-file (C5). */
  protected receiveFin(nowUs: number): void {
    this.rcvNxt = seqAdd(this.rcvNxt, this.finSpace);
    this.peerFinReceived = true;
    this.env.wake(this.self);
    switch (this.state) {
      case 'ESTABLISHED':
        // Linux tcp_fin: CLOSE-WAIT, schedule the ACK and enter ping-pong mode, so the ACK waits
        // for the delayed-ACK timer (40 ms once data has arrived, the next tick before: see
        // scheduleAck). A program that closes within it sends FIN and ACK in one segment: the
        // three-way close of C7.
        this.setState('CLOSE-WAIT', 'rcv FIN');
        this.pingpong = true;
        this.scheduleAck(nowUs);
        return;
      case 'FIN-WAIT-1':
        // Simultaneous close: our FIN is not yet acknowledged (else the ACK check had moved us on).
        this.sendAck(nowUs);
        this.setState('CLOSING', 'rcv FIN');
        return;
      case 'FIN-WAIT-2':
        this.sendAck(nowUs);
        this.enterTimeWait(nowUs, 'rcv FIN');
        return;
      default:
        throw new Error(`FIN processed in ${this.state}`);
    }
  }

  /**
   * Answer an unacceptable segment, or challenge one (RFC 5961), with an ACK — at most one per
   * `invalidRateLimitUs` for segments that carry no data, as Linux's tcp_oow_rate_limited does
   * (tcp_invalid_ratelimit, 500 ms). Without the limit two endpoints that disagree about the
   * sequence space (a TIME-WAIT and a new incarnation, say) answer each other's ACKs forever.
   * Data and FINs are always answered: a retransmission must get its ACK (C9).
   */
  protected sendOutOfWindowAck(nowUs: number, seg: Segment, challenge: boolean): void {
    const limited = challenge || segLen(seg) === 0 || (seg.flags & SYN) !== 0;
    if (limited) {
      if (nowUs - this.lastOutOfWindowAckUs < this.config.invalidRateLimitUs) return;
      this.lastOutOfWindowAckUs = nowUs;
    }
    this.sendAck(nowUs);
  }

  /**
   * Decide when to ACK received data or a FIN (Linux __tcp_ack_snd_check, then
   * tcp_send_delayed_ack). Before any data has arrived the delayed-ACK timeout (`icsk_ack.ato`)
   * is 0 — tcp_event_data_recv first sets it to TCP_ATO_MIN — so tcp_send_delayed_ack arms its
   * timer for the current jiffy and it fires at the next timer tick (`jiffyUs`). A FIN on a
   * connection that received no data is so ACKed within a tick, even in ping-pong mode: an
   * application that closes inside that tick still puts the ACK on its FIN (three segments, as a
   * packetdrill `close()` at +0 shows on Linux 6.18), one that closes later than the tick gives
   * four, however far inside the 40 ms it comes (C5; checked with `timewait kernel`: the pure ACK
   * left 0.8 ms after the FIN, the server's FIN 10 ms after that).
   */
  protected scheduleAck(nowUs: number): void {
    const unacked = seqDiff(this.rcvNxt, this.lastAckedRcvNxt);
    // With SO_RCVBUF, Linux's rule exactly: more than one full segment unacknowledged and a
    // window that would not shrink (`__tcp_select_window(sk) >= tp->rcv_wnd`), or quick-ACK mode.
    const fullSegments = this.options.rcvBufBytes !== null ? unacked > this.rcvMss && this.rawSelectWindow() >= this.lastAdvertisedWindow : unacked > Math.min(this.peerMss, this.config.mss);
    const quick = this.quickAcksLeft > 0 && !this.pingpong;
    if (this.config.delayedAckUs === 0 || quick || fullSegments) {
      if (quick) this.quickAcksLeft--;
      this.sendAck(nowUs);
      return;
    }
    this.ackPending = true;
    if (isArmed(this.timerHandles[TimerKind.DelayedAck])) return;
    const jiffyUs = this.config.jiffyUs;
    const atUs = this.dataReceived ? nowUs + this.config.delayedAckUs : (Math.floor(nowUs / jiffyUs) + 1) * jiffyUs;
    this.env.setTimer(this.self, TimerKind.DelayedAck, atUs);
  }

  /**
   * After a read, announce the larger window at once only when it matters (Linux
   * tcp_cleanup_rbuf): the window the peer has left is at most half the buffer and the new one
   * is at least twice that. So a read that frees a little room behind a wide-open window sends
   * nothing (a tcpdump of Linux shows no such ACK), while one that reopens a zero or nearly
   * closed window does. RFC 9293 §3.8.6.2.2 receiver SWS avoidance: never for less than
   * min(RCV.BUFF/2, MSS).
   */
  protected maybeSendWindowUpdate(nowUs: number): void {
    if (!(this.state === 'ESTABLISHED' || this.state === 'FIN-WAIT-1' || this.state === 'FIN-WAIT-2')) return;
    const windowLeft = Math.max(0, this.lastAdvertisedWindow - seqDiff(this.rcvNxt, this.lastAckedRcvNxt));
    if (this.options.rcvBufBytes !== null) {
      // tcp_cleanup_rbuf exactly: `2 * rcv_window_now <= window_clamp`, then a new window that is
      // not zero and at least twice what is left.
      if (2 * windowLeft > this.windowClamp) return;
      const next = this.rawSelectWindow();
      if (next > 0 && next >= 2 * windowLeft) this.sendAck(nowUs);
      return;
    }
    if (2 * windowLeft > this.config.receiveBufferBytes) return;
    const window = this.receiveWindow();
    const threshold = Math.min(this.config.receiveBufferBytes >> 1, this.config.mss);
    if (window >= threshold && window >= 2 * windowLeft) this.sendAck(nowUs);
  }

  /** This part's fields as a new connection has them (TcbBase.resetState). */
  protected override resetState(options: TcbOptions): void {
    super.resetState(options);
    this.lockedDataSeen = false;
  }
}
