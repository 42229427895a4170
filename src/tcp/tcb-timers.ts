/**
 * The timers (RFC 9293 §3.8, RFC 6298, Linux tcp_timer.c): retransmission, delayed ACK,
 * zero-window probe (persist), TIME-WAIT's 2·MSL and the orphaned FIN-WAIT-2 timeout.
 * gVisor's timer.go and the timer handlers of snd.go.
 *
 * As Linux 6.x has them:
 * - SYN (tcp_retransmit_timer, tcp_write_timeout): 1 s apart for tcp_syn_linear_timeouts
 *   timeouts, then doubling; ETIMEDOUT after tcp_syn_retries + tcp_syn_linear_timeouts
 *   retransmissions, or sooner by retransmits_timed_out's time limit (synExpired).
 * - SYN,ACK of a half-open connection (reqsk_timer_handler): doubling from 1 s, dropped silently
 *   after tcp_synack_retries.
 * - Tail-loss probe (RFC 8985 §7; tcp_schedule_loss_probe, tcp_send_loss_probe) on the same
 *   timer, as Linux arms ICSK_TIME_LOSS_PROBE in place of ICSK_TIME_RETRANS: see scheduleLossProbe.
 */
import type { StackConfig } from './config.js';
import { ACK, type Segment } from './segment.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqLt } from './seq.js';
import { EMPTY, TIME_WAIT_OVERFLOW_CAUSE, TimerKind } from './tcb-base.js';
import { TcbHandshakePart } from './tcb-handshake.js';

/** Linux TCP_TIMEOUT_MIN_US: what a loss probe adds to 2·SRTT when several segments are in flight. */
const TCP_TIMEOUT_MIN_US = 2000;

export abstract class TcbTimersPart extends TcbHandshakePart {
  onTimer(nowUs: number, kind: TimerKind): void {
    switch (kind) {
      case TimerKind.Retransmit:
        if (this.lossProbeArmed) {
          this.lossProbeArmed = false;
          this.sendLossProbe(nowUs);
          return;
        }
        this.onRetransmitTimeout(nowUs);
        return;
      case TimerKind.DelayedAck:
        if (this.ackPending) this.sendAck(nowUs);
        return;
      case TimerKind.Persist:
        this.onPersistTimeout(nowUs);
        return;
      case TimerKind.TimeWait:
        // RFC 9293 §3.10.8: "If the time-wait timeout expires ... enter the CLOSED state" (C8).
        this.becomeClosed('2MSL timeout');
        return;
      case TimerKind.FinWait2:
        // Linux tcp_fin_timeout: an orphaned FIN-WAIT-2 does not wait for ever.
        if (this.state === 'FIN-WAIT-2') this.becomeClosed('FIN-WAIT-2 timeout');
        return;
    }
  }

  /**
   * RFC 8985 §7.2 as Linux's tcp_schedule_loss_probe does it: on a SACK connection
   * (tcp_is_sack) with tcp_early_retrans 3 or 4, not recovering from a timeout, arm the probe
   * timeout PTO = 2·SRTT plus tcp_rto_min when one segment is in flight (plus 2 ms,
   * TCP_TIMEOUT_MIN, when several are), or 1 s with no RTT sample yet; but no later than the
   * RTO would fire: the full RTO when an ACK just advanced, else what is left of the RTO of the
   * oldest segment. Returns false when no probe is armed (the caller arms the RTO).
   */
  protected scheduleLossProbe(nowUs: number, advancingRto: boolean): boolean {
    if (this.config.earlyRetrans !== 3 && this.config.earlyRetrans !== 4) return false;
    if (!this.sackOk || this.sndUna === this.sndNxt) return false;
    if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') return false;
    // Linux icsk_ca_state must be Open: after an RTO (TCP_CA_Loss) until everything then
    // outstanding is acknowledged, no probe; nor while the peer has SACKed data above SND.UNA
    // (TCP_CA_Disorder, where Linux's RACK takes over: left out, so the RTO resends).
    if (seqLt(this.sndUna, this.recoverSeq) || this.inDisorder()) return false;
    let timeoutUs: number;
    if (this.srttUs >= 0) {
      const oneSegmentOut = seqGe(this.sndUna, this.lastSegmentSeq);
      timeoutUs = Math.round(2 * this.srttUs) + (oneSegmentOut ? this.config.rtoMinUs : TCP_TIMEOUT_MIN_US);
    } else {
      timeoutUs = this.config.rtoInitialUs;
    }
    const rtoLeftUs = advancingRto ? this.rtoUs : this.rtoDueUs - nowUs;
    if (rtoLeftUs > 0) timeoutUs = Math.min(timeoutUs, rtoLeftUs);
    this.lossProbeArmed = true;
    this.env.setTimer(this.self, TimerKind.Retransmit, nowUs + timeoutUs);
    return true;
  }

  /**
   * The SACK blocks of an ACK that arrived. They retransmit nothing here (no RFC 6675 recovery,
   * no RACK), but a block above SND.UNA puts Linux's sender in TCP_CA_Disorder, where no loss
   * probe is armed, and its RACK reordering timer takes the timer's place; here the RTO does.
   * Blocks at or below SND.UNA are D-SACKs (RFC 2883) and change nothing.
   */
  protected takeSackBlocks(nowUs: number, seg: Segment): void {
    const blocks = seg.sackBlocks;
    if (!this.sackOk || blocks === undefined || blocks.length === 0) return;
    for (let i = 1; i < blocks.length; i += 2) {
      const right = blocks[i]!;
      if (!seqGt(right, this.sndUna) || seqGt(right, this.sndNxt)) continue;
      if (!this.peerSacked || seqGt(right, this.sackedHighSeq)) this.sackedHighSeq = right;
      this.peerSacked = true;
    }
    if (this.lossProbeArmed && this.inDisorder()) this.armRto(Math.max(this.rtoDueUs, nowUs + 1));
  }

  /** Linux TCP_CA_Disorder, as far as it matters here: SACKed data above SND.UNA. */
  protected inDisorder(): boolean {
    if (this.peerSacked && !seqLt(this.sndUna, this.sackedHighSeq)) this.peerSacked = false;
    return this.peerSacked;
  }

  /**
   * Linux tcp_send_loss_probe: at most one probe out at a time; new data if the window lets it
   * go, else the newest segment again. Then the RTO counts from now, with no backoff: it is the
   * RTO after it that backs off.
   */
  protected sendLossProbe(nowUs: number): void {
    if (this.sndUna === this.sndNxt) return;
    if (this.tlpOutstanding) {
      this.armRto(Math.max(this.rtoDueUs, nowUs + 1));
      return;
    }
    const usable = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
    if ((this.unsentBytes() > 0 || this.finPending()) && usable > 0) {
      const sndNxtBefore = this.sndNxt;
      this.sendingLossProbe = true;
      this.output(nowUs);
      this.sendingLossProbe = false;
      if (this.sndNxt === sndNxtBefore) {
        this.armRto(Math.max(this.rtoDueUs, nowUs + 1));
        return;
      }
    } else {
      this.rttStartUs = -1; // Karn's algorithm: the probe may be what the next ACK acknowledges.
      this.retransmitLast(nowUs);
    }
    this.tlpOutstanding = true;
    this.tlpHighSeq = this.sndNxt;
    this.armRto(nowUs + this.rtoUs);
  }

  /** RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged segment, back off, re-arm. */
  protected onRetransmitTimeout(nowUs: number): void {
    if (this.sndUna === this.sndNxt) return;
    this.tlpOutstanding = false; // Linux tcp_retransmit_timer: tlp_high_seq = 0.
    if (this.state === 'SYN-SENT' || (this.state === 'SYN-RECEIVED' && !this.passive)) {
      // Linux tcp_write_timeout for an active open: a count and a time limit (synExpired).
      if (synExpired(this.config, this.state, this.retries, nowUs - this.synStartUs)) {
        this.fail('ETIMEDOUT', 'retransmission limit');
        return;
      }
      this.retries++;
      // Linux tcp_retransmit_timer: in SYN-SENT the first tcp_syn_linear_timeouts timeouts keep
      // the RTO; after that, and in every other state, it doubles.
      if (this.state !== 'SYN-SENT' || this.retries > this.config.synLinearTimeouts) this.rtoUs = Math.min(this.rtoUs * 2, this.config.rtoMaxUs);
      this.rttStartUs = -1; // Karn's algorithm: no RTT sample from a retransmitted segment.
      this.sendSyn(nowUs, true);
      return;
    }
    const limit = this.state === 'SYN-RECEIVED' ? this.config.synAckRetries : this.config.dataRetries;
    if (this.retries >= limit) {
      // A half-open child whose SYN,ACK went unanswered tcp_synack_retries times is dropped
      // silently (Linux reqsk_timer_handler: num_timeout >= max_syn_ack_retries).
      if (this.state === 'SYN-RECEIVED') {
        this.setState('LISTEN', 'SYN,ACK retries exhausted');
        this.releaseTimers();
        return;
      }
      // RFC 9293 §3.8.3 R2: give up; the application sees ETIMEDOUT (Linux tcp_write_err).
      this.fail('ETIMEDOUT', 'retransmission limit');
      return;
    }
    this.retries++;
    // Exponential backoff (RFC 6298 §5.5); for a SYN,ACK, Linux reqsk_timeout: 1 s << num_timeout.
    this.rtoUs = Math.min(this.rtoUs * 2, this.config.rtoMaxUs);
    this.rttStartUs = -1; // Karn's algorithm: no RTT sample from a retransmitted segment.
    if (this.state === 'SYN-RECEIVED') {
      this.sendSyn(nowUs, true);
      return;
    }
    this.recoverSeq = this.sndNxt;
    this.retransmitHead(nowUs);
    this.armRto(nowUs + this.rtoUs);
  }

  /**
   * Zero-window probe, Linux style (tcp_probe_timer, tcp_xmit_probe_skb): an ACK one below
   * SND.UNA, which the peer must answer; RFC 9293 §3.8.6.1 keeps probing while the peer answers.
   * Probes nobody answers give up like retransmissions, after `dataRetries` (tcp_retries2) —
   * else a vanished peer keeps the connection, and the run, alive for ever.
   */
  protected onPersistTimeout(nowUs: number): void {
    if (this.sndWnd > 0 || (this.unsentBytes() === 0 && !this.finPending()) || this.state === 'CLOSED') return;
    if (this.probesOut >= this.config.dataRetries) {
      this.fail('ETIMEDOUT', 'zero-window probes unanswered');
      return;
    }
    this.emit(nowUs, seqAdd(this.sndUna, -1), ACK, EMPTY, false);
    this.probesOut++;
    this.persistBackoff = Math.min(this.persistBackoff + 1, 10);
    // Multiply, not shift: a backed-off RTO << 10 overflows 32 bits and would arm the timer in the past.
    this.env.setTimer(this.self, TimerKind.Persist, nowUs + Math.min(this.rtoUs * 2 ** this.persistBackoff, this.config.rtoMaxUs));
  }

  protected armFinWait2(nowUs: number): void {
    this.env.setTimer(this.self, TimerKind.FinWait2, nowUs + this.config.finWait2TimeoutUs);
  }

  /**
   * RFC 9293 §3.10.7.4: enter TIME-WAIT and start the 2·MSL timer (C8). Linux tcp_time_wait:
   * with tcp_max_tw_buckets connections in TIME-WAIT already, there is no TIME-WAIT bucket for
   * this one; it is counted (TCPTimeWaitOverflow) and closed at once (tcp_done).
   */
  protected enterTimeWait(nowUs: number, cause: string): void {
    this.releaseTimers();
    this.clearSendQueue();
    this.outOfOrder.length = 0;
    if (this.sackRanges !== null) this.sackRanges.length = 0;
    if (!this.env.admitTimeWait(this.self)) {
      this.becomeClosed(TIME_WAIT_OVERFLOW_CAUSE);
      return;
    }
    this.timeWaitEnteredUs = nowUs;
    this.setState('TIME-WAIT', cause);
    this.env.setTimer(this.self, TimerKind.TimeWait, nowUs + this.config.timeWaitUs);
  }

  protected restartTimeWait(nowUs: number, cause: string): void {
    this.env.setTimer(this.self, TimerKind.TimeWait, nowUs + this.config.timeWaitUs);
    this.env.timeWaitRestarted(this.self, cause);
  }
}

/**
 * Linux tcp_model_timeout: how long `boundary` retransmissions take when the timeout doubles from
 * `rtoBaseUs` up to `rtoMaxUs` (the time limit of retransmits_timed_out).
 */
export function modelTimeoutUs(boundary: number, rtoBaseUs: number, rtoMaxUs: number): number {
  const linearBackoffThreshold = Math.floor(Math.log2(rtoMaxUs / rtoBaseUs));
  if (boundary <= linearBackoffThreshold) return (2 ** (boundary + 1) - 1) * rtoBaseUs;
  return (2 ** (linearBackoffThreshold + 1) - 1) * rtoBaseUs + (boundary - linearBackoffThreshold) * rtoMaxUs;
}

/**
 * Linux tcp_write_timeout for an active open, checked when the SYN's timer fires after
 * `retries` retransmissions, `elapsedUs` after the first SYN (retrans_stamp): give up when
 * tcp_syn_retries (+ tcp_syn_linear_timeouts in SYN-SENT) retransmissions went out, or when
 * at least one did and the time tcp_syn_retries doubling timeouts from the initial RTO would take
 * has passed (retransmits_timed_out with tcp_timeout_init as its base). With few retries the
 * time limit comes first: tcp_syn_retries 2 gives up at 7 s, after 6 SYNs, not 7.
 */
export function synExpired(config: StackConfig, state: 'SYN-SENT' | 'SYN-RECEIVED', retries: number, elapsedUs: number): boolean {
  const maxRetransmits = config.synRetries + (state === 'SYN-SENT' ? config.synLinearTimeouts : 0);
  if (retries >= maxRetransmits) return true;
  return retries > 0 && elapsedUs >= modelTimeoutUs(config.synRetries, config.rtoInitialUs, config.rtoMaxUs);
}

/**
 * The SYNs connect() sends before it fails with ETIMEDOUT when nothing answers, and when it
 * fails (µs after the first SYN): the schedule the rules above make, for monitors and tests.
 */
export function unansweredSynSchedule(config: StackConfig): { readonly synTimesUs: readonly number[]; readonly timeoutUs: number } {
  const synTimesUs = [0];
  let rtoUs = config.rtoInitialUs;
  let nowUs = rtoUs;
  for (let retries = 0; ; retries++) {
    if (synExpired(config, 'SYN-SENT', retries, nowUs)) return { synTimesUs, timeoutUs: nowUs };
    synTimesUs.push(nowUs);
    if (retries + 1 > config.synLinearTimeouts) rtoUs = Math.min(rtoUs * 2, config.rtoMaxUs);
    nowUs += rtoUs;
  }
}
