/**
 * The timers (RFC 9293 §3.8, RFC 6298, Linux tcp_timer.c): retransmission, delayed ACK,
 * zero-window probe (persist), TIME-WAIT's 2·MSL and the orphaned FIN-WAIT-2 timeout.
 * gVisor's timer.go and the timer handlers of snd.go.
 */
import type { StackConfig } from './config.js';
import { ACK } from './segment.js';
import { seqAdd } from './seq.js';
import { EMPTY, TIME_WAIT_OVERFLOW_CAUSE, TimerKind } from './tcb-base.js';
import { TcbHandshakePart } from './tcb-handshake.js';

export abstract class TcbTimersPart extends TcbHandshakePart {
  onTimer(nowUs: number, kind: TimerKind): void {
    switch (kind) {
      case TimerKind.Retransmit:
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

  /** RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged segment, back off, re-arm. */
  protected onRetransmitTimeout(nowUs: number): void {
    if (this.sndUna === this.sndNxt) return;
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
    this.env.setTimer(this.self, TimerKind.Retransmit, nowUs + this.rtoUs);
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
    this.sendQueue.clear();
    this.outOfOrder.length = 0;
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
