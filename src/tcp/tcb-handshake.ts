/**
 * The three-way handshake (RFC 9293 §3.5, §3.10.1, §3.10.7.2–§3.10.7.4 for SYN-RECEIVED):
 * active and passive open, SYN-SENT input, the SYN and SYN,ACK we send. gVisor's connect.go.
 */
import { ACK, RST, SYN, type Segment } from './segment.js';
import { seqAdd, seqGt, seqLe, seqLt } from './seq.js';
import { EMPTY, TimerKind, type TcbOptions } from './tcb-base.js';
import { TcbSendPart } from './tcb-send.js';

export abstract class TcbHandshakePart extends TcbSendPart {
  /** When connect() sent the first SYN (Linux retrans_stamp in SYN-SENT): the SYN time limit counts from it. */
  protected synStartUs = -1;

  /** §3.10.1 OPEN, active: send SYN with our ISN and MSS option (C1). */
  connect(nowUs: number, iss: number): void {
    this.assertState('CLOSED');
    this.initSendSpace(iss);
    this.initTimestamps();
    this.setState('SYN-SENT', 'connect');
    this.synStartUs = nowUs;
    this.sendSyn(nowUs, false);
  }

  /** A listener's child: LISTEN -> SYN-RECEIVED on a SYN (§3.10.7.2), answering SYN,ACK (C2). */
  acceptSyn(nowUs: number, seg: Segment, iss: number): void {
    this.assertState('CLOSED');
    this.passive = true;
    this.state = 'LISTEN';
    this.initSendSpace(iss);
    this.initTimestamps();
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, this.synSpace);
    this.takePeerWindow(seg, seg.seq, 0);
    this.takeSynOptions(nowUs, seg);
    this.env.segmentAccepted(this.self, seg);
    this.setState('SYN-RECEIVED', 'rcv SYN');
    this.sendSyn(nowUs, false);
  }

  /** §3.10.7.3 SYN-SENT. */
  protected inputSynSent(nowUs: number, seg: Segment): void {
    const flags = seg.flags;
    // First: check the ACK bit. An ACK outside (ISS, SND.NXT] gets a reset unless it is one.
    if (flags & ACK) {
      if (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndNxt)) {
        if (!(flags & RST)) this.env.transmit(this.self, this.fields(seg.ack, RST, EMPTY, false));
        return;
      }
    }
    // Second: RST. Only with an acceptable ACK; then the peer refused us (ECONNREFUSED).
    if (flags & RST) {
      if (flags & ACK) {
        this.env.segmentAccepted(this.self, seg);
        this.fail('ECONNREFUSED', 'rcv RST in SYN-SENT');
      }
      return;
    }
    // Fourth: SYN.
    if (!(flags & SYN)) return;
    this.env.segmentAccepted(this.self, seg);
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, this.synSpace);
    this.takeSynOptions(nowUs, seg);
    if (flags & ACK) this.ackAdvanced(nowUs, seg.ack);
    if (seqGt(this.sndUna, this.iss)) {
      // C2/C3: our SYN is acknowledged; ESTABLISHED, and ACK theirs (ACK K+1) at once, as Linux does.
      this.takePeerWindow(seg, seg.seq, seg.ack);
      this.setState('ESTABLISHED', 'rcv SYN,ACK');
      this.sendAck(nowUs);
      this.env.wake(this.self);
      this.output(nowUs);
    } else {
      // Simultaneous open: SYN-RECEIVED, answer <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
      this.takePeerWindow(seg, seg.seq, this.iss);
      this.setState('SYN-RECEIVED', 'rcv SYN (simultaneous open)');
      this.sendSyn(nowUs, false);
    }
  }

  /**
   * Linux tcp_check_req: a retransmitted SYN to a half-open connection gets the SYN,ACK again.
   * True when `seg` was such a SYN (and has been answered).
   */
  protected answerRepeatedSyn(nowUs: number, seg: Segment): boolean {
    if (this.state === 'SYN-RECEIVED' && (seg.flags & (SYN | ACK | RST)) === SYN && seg.seq === this.irs) {
      // At most one such SYN,ACK per tcp_invalid_ratelimit (tcp_oow_rate_limited, last_oow_ack_time).
      if (nowUs - this.lastOutOfWindowAckUs < this.config.invalidRateLimitUs) return true;
      this.lastOutOfWindowAckUs = nowUs;
      this.sendSyn(nowUs, true);
      return true;
    }
    return false;
  }

  /**
   * §3.10.7.4 fifth check in SYN-RECEIVED: an ACK of our SYN completes the handshake (C3).
   * False when the segment is finished with: an unacceptable ACK (answered with RST) or a full
   * accept queue (Linux drops the ACK).
   */
  protected completeHandshake(nowUs: number, seg: Segment): boolean {
    if (!(seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndNxt))) {
      this.env.transmit(this.self, this.fields(seg.ack, RST, EMPTY, false));
      return false;
    }
    if (this.passive && !this.env.offerToListener(this.self)) {
      // The accept queue is full (Linux tcp_check_req, listen_overflow). With
      // tcp_abort_on_overflow = 0 the ACK is ignored and the request stays (inet_rsk(req)->acked):
      // the SYN,ACK timer goes on, and the ACK its next SYN,ACK draws may find room. With 1 the
      // request is dropped and the ACK answered as if no connection existed, <SEQ=SEG.ACK><CTL=RST>
      // (embryonic_reset, tcp_v4_send_reset).
      if (this.config.abortOnOverflow) {
        this.env.transmit(this.self, this.fields(seg.ack, RST, EMPTY, false));
        this.releaseTimers();
        this.setState('LISTEN', 'accept queue overflow (tcp_abort_on_overflow)');
      }
      return false;
    }
    this.ackAdvanced(nowUs, seg.ack);
    this.takePeerWindow(seg, seg.seq, seg.ack);
    this.setState('ESTABLISHED', 'rcv ACK of SYN');
    this.env.wake(this.self);
    return true;
  }

  protected sendSyn(nowUs: number, retransmission: boolean): void {
    // C1/C2: the SYN carries the ISN and the MSS option (with timestamps and window scale,
    // tcb-options.ts), and occupies one sequence number.
    const flags = this.state === 'SYN-SENT' ? SYN : SYN | ACK;
    if (retransmission) {
      this.retransmissions++;
      // Karn's algorithm, also for a SYN,ACK resent because the peer's SYN came again (Linux
      // tcp_synack_rtt_meas takes no sample once the SYN,ACK was retransmitted).
      this.rttStartUs = -1;
    }
    const fields = this.fields(this.iss, flags, EMPTY, retransmission);
    this.addSynOptions(nowUs, fields, (flags & ACK) !== 0);
    this.env.transmit(this.self, fields);
    this.afterSend(flags);
    if (flags & ACK) this.noteAckSent(nowUs);
    this.sndNxt = seqAdd(this.iss, 1);
    if (!retransmission && this.rttStartUs < 0) {
      this.rttStartUs = nowUs;
      this.rttSeq = this.sndNxt;
    }
    // Every SYN or SYN,ACK sent (re)arms the timer with the current, backed-off RTO. A SYN,ACK
    // resent for a duplicate SYN does too, as Linux's tcp_check_req re-arms the request timer.
    this.armRto(nowUs + this.rtoUs);
  }

  /** This part's fields as a new connection has them (TcbBase.resetState). */
  protected override resetState(options: TcbOptions): void {
    super.resetState(options);
    this.synStartUs = -1;
  }
}
