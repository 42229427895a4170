/**
 * Sending (RFC 9293 §3.8.6, §3.10.2) and retransmission (RFC 6298): the send sequence space,
 * the send queue, what the peer's window allows, the ACK's effect on what we sent, and the RTT
 * estimator that sets the RTO. gVisor's snd.go.
 */
import { ByteQueue } from './byte-queue.js';
import { ACK, FIN, PSH, type Segment } from './segment.js';
import { seqAdd, seqDiff, seqGe, seqLt } from './seq.js';
import { EMPTY, TimerKind, isArmed, type Errno, type TcbOptions } from './tcb-base.js';
import { SKB_OVERHEAD_BYTES, TcbOptionsPart } from './tcb-options.js';

export abstract class TcbSendPart extends TcbOptionsPart {
  // Send sequence space (RFC 9293 §3.3.1).
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Sequence number of the first byte in `sendQueue`. */
  protected sendQueueSeq = 0;
  protected readonly sendQueue = new ByteQueue();
  /**
   * The send queue as Linux's skbs (tcp_sendmsg_locked): each one's payload length, oldest
   * first from `sendSkbHead`, which holds the byte at `sendQueueSeq`. Without GSO (as on the
   * kernel runs' loopback, gso_max_segs 1) Linux's size goal is the MSS, so an skb holds at most
   * one segment's bytes; each is charged its payload plus SKB_OVERHEAD_BYTES to sk_wmem_queued.
   */
  protected readonly sendSkbLengths: number[] = [];
  protected sendSkbHead = 0;
  /** Set by close()/shutdown(SHUT_WR): a FIN follows the queued data. */
  finQueued = false;
  /** Sequence number our FIN occupies, once sent. */
  finSeq = -1;

  // Retransmission (RFC 6298).
  protected srttUs = -1;
  protected rttvarUs = 0;
  protected rtoUs = this.config.rtoInitialUs;
  protected retries = 0;
  protected rttSeq = 0;
  protected rttStartUs = -1;
  /** After a timeout, everything below this is resent one segment per ACK (go-back-N). */
  protected recoverSeq = 0;
  protected persistBackoff = 0;
  /** Zero-window probes sent since an ACK last came back (Linux icsk_probes_out). */
  protected probesOut = 0;
  /** When the retransmission timeout is due; the timer may be armed earlier for a loss probe. */
  protected rtoDueUs = -1;
  /** The retransmission timer is armed for a tail-loss probe, not an RTO (Linux ICSK_TIME_LOSS_PROBE). */
  protected lossProbeArmed = false;

  get lossProbePending(): boolean {
    return this.lossProbeArmed;
  }
  /** A loss probe is out and not yet acknowledged (Linux tlp_high_seq != 0); SND.NXT when it went. */
  protected tlpOutstanding = false;
  protected tlpHighSeq = 0;
  /** While a loss probe sends new data, output() schedules no further probe (tcp_write_xmit push_one 2). */
  protected sendingLossProbe = false;
  /** Sequence number of the newest segment sent: what a loss probe resends. */
  protected lastSegmentSeq = 0;
  /** The highest right edge of a SACK block the peer sent above SND.UNA; meaningful while `peerSacked`. */
  protected sackedHighSeq = 0;
  protected peerSacked = false;
  /** Counters for statistics. */
  retransmissions = 0;

  get unsentOrUnackedBytes(): number {
    return this.sendQueue.length;
  }

  /**
   * sk_sndbuf: SO_SNDBUF's (doubled) value, or the stack's `sendBufferBytes` (Linux's autotuned
   * default, tcp_sndbuf_expand, is not modelled; without SO_SNDBUF, bytes are counted).
   */
  protected sendBufferLimit(): number {
    return this.options.sndBufBytes ?? this.config.sendBufferBytes;
  }

  /** sk_wmem_queued: the truesize of every skb not yet acknowledged (payload + SKB_OVERHEAD_BYTES each). */
  get sendMemoryQueuedBytes(): number {
    return this.sendQueue.length + (this.sendSkbLengths.length - this.sendSkbHead) * SKB_OVERHEAD_BYTES;
  }

  /**
   * Queue what send() may of `data`; returns how much. With SO_SNDBUF (SOCK_SNDBUF_LOCK) as
   * Linux's tcp_sendmsg_locked does: bytes first top up the last skb while it is unsent and
   * shorter than the size goal (the MSS: tcp_xmit_size_goal without GSO), with no check; a new
   * skb is allocated only while sk_wmem_queued < sk_sndbuf (sk_stream_memory_free), so the last
   * skb may take the queue past sk_sndbuf. Without SO_SNDBUF, bytes up to sendBufferBytes.
   */
  protected queueForSending(data: Uint8Array): number {
    const locked = this.options.sndBufBytes !== null;
    const limit = this.sendBufferLimit();
    const wanted = locked ? data.length : Math.max(0, Math.min(limit - this.sendQueue.length, data.length));
    const sizeGoal = Math.max(1, this.sendMss());
    const lengths = this.sendSkbLengths;
    let accepted = 0;
    while (accepted < wanted) {
      const tail = lengths.length - 1;
      const tailLen = tail >= this.sendSkbHead ? lengths[tail]! : 0;
      const tailStart = seqAdd(this.sendQueueSeq, this.sendQueue.length + accepted - tailLen);
      if (tailLen > 0 && tailLen < sizeGoal && seqGe(tailStart, this.sndNxt)) {
        const copy = Math.min(sizeGoal - tailLen, wanted - accepted);
        lengths[tail] = tailLen + copy;
        accepted += copy;
        continue;
      }
      if (locked && this.sendQueue.length + accepted + (lengths.length - this.sendSkbHead) * SKB_OVERHEAD_BYTES >= limit) break;
      const copy = Math.min(sizeGoal, wanted - accepted);
      lengths.push(copy);
      accepted += copy;
    }
    if (accepted > 0) this.sendQueue.push(accepted === data.length ? data : data.subarray(0, accepted));
    return accepted;
  }

  /** Acknowledged bytes leave the skbs: whole ones are freed, a partly acknowledged one is trimmed (tcp_clean_rtx_queue, tcp_trim_head). */
  private releaseSentSkbs(bytes: number): void {
    const lengths = this.sendSkbLengths;
    let left = bytes;
    while (left > 0 && this.sendSkbHead < lengths.length) {
      const len = lengths[this.sendSkbHead]!;
      if (len > left) {
        lengths[this.sendSkbHead] = len - left;
        break;
      }
      left -= len;
      this.sendSkbHead++;
    }
    if (this.sendSkbHead === lengths.length) {
      lengths.length = 0;
      this.sendSkbHead = 0;
    } else if (this.sendSkbHead >= 1024) {
      lengths.splice(0, this.sendSkbHead);
      this.sendSkbHead = 0;
    }
  }

  /** Everything queued for sending is gone (a reset, TIME-WAIT, an abort). */
  protected clearSendQueue(): void {
    this.sendQueue.clear();
    this.sendSkbLengths.length = 0;
    this.sendSkbHead = 0;
  }

  /**
   * poll()'s EPOLLOUT (Linux __sk_stream_is_writeable): with SO_SNDBUF, free space at least half
   * the truesize queued; without, room left in the stack's buffer, as send() counts it.
   */
  get writableForPoll(): boolean {
    if (this.options.sndBufBytes === null) return this.sendQueue.length < this.sendBufferLimit();
    return this.sendSpaceWakes() && this.sendMemoryQueuedBytes < this.options.sndBufBytes;
  }

  /**
   * Freed send space wakes a blocked writer (Linux tcp_new_space → sk_stream_write_space): with
   * SO_SNDBUF, only once the free space is at least half what is queued, in truesize
   * (sk_stream_wspace ≥ sk_stream_min_wspace), so a writer resumes in large steps.
   */
  protected sendSpaceWakes(): boolean {
    if (this.options.sndBufBytes === null) return true;
    const queued = this.sendMemoryQueuedBytes;
    return this.options.sndBufBytes - queued >= queued >> 1;
  }

  /** Send what the window allows, then a FIN once all queued data has gone. */
  protected output(nowUs: number): void {
    if (this.state === 'CLOSED' || this.state === 'LISTEN' || this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED' || this.state === 'TIME-WAIT') return;
    const sndNxtBefore = this.sndNxt;
    const mss = this.sendMss();
    for (;;) {
      const unsent = this.unsentBytes();
      const usable = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      if (unsent > 0 && usable > 0) {
        const len = Math.min(mss, unsent, usable);
        const offset = seqDiff(this.sndNxt, this.sendQueueSeq);
        const payload = this.sendQueue.peek(offset, len);
        // The FIN rides on the last data only if its sequence number fits in the window too.
        const withFin = this.finQueued && len === unsent && len < usable;
        this.sendNew(nowUs, payload, withFin);
        continue;
      }
      // Linux tcp_snd_wnd_test counts the FIN's sequence number: a FIN does not go into a zero
      // (or used-up) window; it waits, and the persist timer probes, as for data.
      if (unsent === 0 && this.finPending() && usable > 0) {
        this.sendNew(nowUs, EMPTY, true);
      }
      break;
    }
    if ((this.unsentBytes() > 0 || this.finPending()) && this.sndWnd === 0 && this.sndUna === this.sndNxt) {
      const handle = this.timerHandles[TimerKind.Persist];
      if (!isArmed(handle)) this.env.setTimer(this.self, TimerKind.Persist, nowUs + this.rtoUs);
    }
    // Linux tcp_write_xmit: new segments went out, so a tail-loss probe may be due (tcb-timers.ts).
    if (this.sndNxt !== sndNxtBefore && !this.sendingLossProbe) this.scheduleLossProbe(nowUs, false);
  }

  /** Arm the retransmission timer for an RTO at `atUs` (RFC 6298 §5.1), replacing a pending loss probe. */
  protected armRto(atUs: number): void {
    this.rtoDueUs = atUs;
    this.lossProbeArmed = false;
    this.env.setTimer(this.self, TimerKind.Retransmit, atUs);
  }

  /** Arm a tail-loss probe instead of the RTO when one is due (tcb-timers.ts); false when none is. */
  protected abstract scheduleLossProbe(nowUs: number, advancingRto: boolean): boolean;

  protected sendNew(nowUs: number, payload: Uint8Array, fin: boolean): void {
    const seq = this.sndNxt;
    let flags = ACK;
    if (payload.length > 0) flags |= PSH;
    if (fin) {
      flags |= FIN;
      this.finSeq = seqAdd(seq, payload.length);
    }
    this.emit(nowUs, seq, flags, payload, false);
    this.lastSegmentSeq = seq;
    this.sndNxt = seqAdd(seq, payload.length + (fin ? 1 : 0));
    if (this.rttStartUs < 0) {
      this.rttStartUs = nowUs;
      this.rttSeq = this.sndNxt;
    }
    if (!isArmed(this.timerHandles[TimerKind.Retransmit])) this.armRto(nowUs + this.rtoUs);
  }

  /**
   * Resend the newest segment, as a tail-loss probe does (Linux tcp_send_loss_probe: the last
   * skb of the retransmission queue, its last MSS if it is longer): what was not acknowledged of
   * it, data, FIN or both.
   */
  protected retransmitLast(nowUs: number): void {
    const dataEnd = this.finSeq >= 0 ? this.finSeq : this.sndNxt;
    let start = seqLt(this.lastSegmentSeq, this.sndUna) ? this.sndUna : this.lastSegmentSeq;
    const mss = this.sendMss();
    if (seqDiff(dataEnd, start) > mss) start = seqAdd(dataEnd, -mss);
    const len = Math.max(0, seqDiff(dataEnd, start));
    const payload = len > 0 ? this.sendQueue.peek(seqDiff(start, this.sendQueueSeq), len) : EMPTY;
    const fin = this.finSeq >= 0 && seqAdd(start, len) === this.finSeq;
    let flags = ACK;
    if (len > 0) flags |= PSH;
    if (fin) flags |= FIN;
    this.retransmissions++;
    this.emit(nowUs, start, flags, payload, true);
  }

  /** Resend the first unacknowledged segment (data, FIN, or both). */
  protected retransmitHead(nowUs: number): void {
    const mss = this.sendMss();
    const offset = seqDiff(this.sndUna, this.sendQueueSeq);
    const sentData = seqDiff(this.finSeq >= 0 ? this.finSeq : this.sndNxt, this.sndUna);
    const len = Math.max(0, Math.min(mss, sentData));
    const payload = len > 0 ? this.sendQueue.peek(offset, len) : EMPTY;
    const fin = this.finSeq >= 0 && seqAdd(this.sndUna, len) === this.finSeq;
    let flags = ACK;
    if (len > 0) flags |= PSH;
    if (fin) flags |= FIN;
    this.retransmissions++;
    this.emit(nowUs, this.sndUna, flags, payload, true);
  }

  protected sendAck(nowUs: number): void {
    this.emit(nowUs, this.sndNxt, ACK, EMPTY, false);
  }

  /** close()/shutdown(SHUT_WR) queued a FIN that has not been sent yet. */
  protected finPending(): boolean {
    return this.finQueued && this.finSeq < 0;
  }

  protected unsentBytes(): number {
    if (this.sndNxt === this.iss) return 0;
    const sent = seqDiff(this.finSeq >= 0 ? this.finSeq : this.sndNxt, this.sendQueueSeq);
    return Math.max(0, this.sendQueue.length - sent);
  }

  /** Everything up to `ack` is acknowledged: free it, take an RTT sample, re-arm or stop the timer. */
  protected ackAdvanced(nowUs: number, ack: number): void {
    const acked = seqDiff(ack, this.sndUna);
    if (acked <= 0) return;
    // Free acknowledged bytes (the SYN and FIN take sequence numbers but no buffer space).
    const dataAcked = Math.max(0, Math.min(seqDiff(ack, this.sendQueueSeq), this.sendQueue.length));
    if (dataAcked > 0) {
      this.sendQueue.drop(dataAcked);
      this.releaseSentSkbs(dataAcked);
      this.sendQueueSeq = seqAdd(this.sendQueueSeq, dataAcked);
      if (this.sendSpaceWakes()) this.env.wake(this.self);
    }
    this.sndUna = ack;
    if (this.rttStartUs >= 0 && seqGe(ack, this.rttSeq)) {
      this.updateRto(nowUs - this.rttStartUs);
      this.rttStartUs = -1;
    } else if (this.srttUs >= 0) {
      // New data acknowledged after a backoff: Linux resets the backoff to the smoothed RTO.
      this.rtoUs = this.computedRto();
    }
    this.retries = 0;
    this.persistBackoff = 0;
    // Linux tcp_process_tlp_ack: an ACK that reaches SND.NXT as it was when the probe left ends its episode.
    if (this.tlpOutstanding && seqGe(ack, this.tlpHighSeq)) this.tlpOutstanding = false;
    if (this.sndUna === this.sndNxt) {
      this.lossProbeArmed = false;
      this.env.clearTimer(this.self, TimerKind.Retransmit);
    } else {
      // RFC 6298 §5.3: restart the timer when new data is acknowledged; Linux tcp_set_xmit_timer
      // arms a tail-loss probe instead when one is due.
      if (this.scheduleLossProbe(nowUs, true)) this.rtoDueUs = nowUs + this.rtoUs;
      else this.armRto(nowUs + this.rtoUs);
      if (seqLt(this.sndUna, this.recoverSeq) && this.state !== 'SYN-SENT' && this.state !== 'SYN-RECEIVED') this.retransmitHead(nowUs);
    }
  }

  /** RFC 6298 §2.2–2.3. */
  protected updateRto(sampleUs: number): void {
    if (this.srttUs < 0) {
      this.srttUs = sampleUs;
      this.rttvarUs = sampleUs / 2;
    } else {
      this.rttvarUs = 0.75 * this.rttvarUs + 0.25 * Math.abs(this.srttUs - sampleUs);
      this.srttUs = 0.875 * this.srttUs + 0.125 * sampleUs;
    }
    this.rtoUs = this.computedRto();
  }

  /**
   * RFC 6298 §2.3 gives SRTT + max(G, 4·RTTVAR), then §2.4 rounds up to a minimum. Linux
   * (tcp_rtt_estimator, __tcp_set_rto) applies its minimum to the variance term instead:
   * SRTT + max(4·RTTVAR, TCP_RTO_MIN). On a 2 ms path that is 202 ms, not 200 ms, and the
   * retransmission times in a tcpdump of Linux show it.
   */
  protected computedRto(): number {
    const rto = Math.round(this.srttUs + Math.max(this.config.rtoMinUs, 4 * this.rttvarUs));
    return Math.min(Math.max(rto, this.config.rtoMinUs), this.config.rtoMaxUs);
  }

  /** RFC 9293 §3.10.7.4 fifth check: take the peer's window (SND.WND, SND.WL1, SND.WL2). */
  protected takePeerWindow(seg: Segment, wl1: number, wl2: number): void {
    const wasZero = this.sndWnd === 0;
    this.sndWnd = this.peerWindowBytes(seg);
    this.sndWl1 = wl1;
    this.sndWl2 = wl2;
    if (wasZero && this.sndWnd > 0) {
      this.persistBackoff = 0;
      this.env.clearTimer(this.self, TimerKind.Persist);
    }
  }

  protected initSendSpace(iss: number): void {
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sendQueueSeq = seqAdd(this.iss, 1);
    this.recoverSeq = this.iss;
    this.lastSegmentSeq = this.iss;
  }

  /** The connection is gone with an error the application will see (§3.10.7 "connection reset"). */
  protected fail(errno: Errno, cause: string): void {
    this.error = errno;
    this.clearSendQueue();
    this.becomeClosed(cause);
  }

  /** This part's fields as a new connection has them (TcbBase.resetState). */
  protected override resetState(options: TcbOptions): void {
    super.resetState(options);
    this.iss = 0;
    this.sndUna = 0;
    this.sndNxt = 0;
    this.sndWnd = 0;
    this.sndWl1 = 0;
    this.sndWl2 = 0;
    this.sendQueueSeq = 0;
    this.sendQueue.clear();
    this.sendSkbLengths.length = 0;
    this.sendSkbHead = 0;
    this.finQueued = false;
    this.finSeq = -1;
    this.srttUs = -1;
    this.rttvarUs = 0;
    this.rtoUs = this.config.rtoInitialUs;
    this.retries = 0;
    this.rttSeq = 0;
    this.rttStartUs = -1;
    this.recoverSeq = 0;
    this.persistBackoff = 0;
    this.probesOut = 0;
    this.rtoDueUs = -1;
    this.lossProbeArmed = false;
    this.tlpOutstanding = false;
    this.tlpHighSeq = 0;
    this.sendingLossProbe = false;
    this.lastSegmentSeq = 0;
    this.sackedHighSeq = 0;
    this.peerSacked = false;
    this.retransmissions = 0;
  }
}
