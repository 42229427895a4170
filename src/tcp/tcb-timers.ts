/**
 * The timers (RFC 9293 §3.8, RFC 6298, Linux tcp_timer.c): retransmission, delayed ACK,
 * zero-window probe (persist), TIME-WAIT's 2·MSL and the orphaned FIN-WAIT-2 timeout.
 * gVisor's timer.go and the timer handlers of snd.go.
 */
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
    const limit =
      this.state === 'SYN-SENT' ? this.config.synRetries : this.state === 'SYN-RECEIVED' ? this.config.synAckRetries : this.config.dataRetries;
    if (this.sndUna === this.sndNxt) return;
    if (this.retries >= limit) {
      // RFC 9293 §3.8.3 R2: give up; the application sees ETIMEDOUT (Linux tcp_write_err).
      if (this.state === 'SYN-RECEIVED' && this.passive) {
        this.setState('LISTEN', 'SYN,ACK retries exhausted');
        this.releaseTimers();
        return;
      }
      this.fail('ETIMEDOUT', 'retransmission limit');
      return;
    }
    this.retries++;
    this.rtoUs = Math.min(this.rtoUs * 2, this.config.rtoMaxUs);
    this.rttStartUs = -1; // Karn's algorithm: no RTT sample from a retransmitted segment.
    if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') {
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
