/**
 * The transmission control block: one endpoint of one connection, as RFC 9293 §3.10 describes
 * it, with Linux's choices where the RFC leaves room.
 *
 * The TCB is clock-free (turmoil-net): it is handed `nowUs` and reports what must happen
 * through `TcbEnv` (segments to send, timers to arm, state changes). It never schedules
 * anything itself, so it can be driven by the simulator or directly by a unit test.
 *
 * It is split by concern, one file each (see tcb-base.ts for the chain): TCP options
 * (tcb-options.ts), sending and retransmission (tcb-send.ts), the handshake
 * (tcb-handshake.ts), timers (tcb-timers.ts) and receiving (tcb-receive.ts). This file holds
 * what composes them: the socket calls (§3.10.1–§3.10.6), the dispatch of an arriving segment
 * by state, and TIME-WAIT.
 *
 * Deliberately left out, and why:
 * - Congestion control, SACK-based recovery, RACK, fast retransmit: they change how fast bytes
 *   move, not how connections open and close, which is what this project checks. Revisit when a
 *   claim depends on throughput. (SACK itself is negotiated and its blocks sent with the `sack`
 *   setting, off by default, tcb-options.ts; the blocks received only gate the tail-loss probe.)
 * - SYN cookies (tcp_syncookies) and the pruning of old half-open requests.
 * - Nagle's algorithm: with it, exact segment sequences depend on ACK timing of tiny writes;
 *   sockets here behave as with TCP_NODELAY.
 * - Urgent data, keep-alives, ICMP.
 */
import type { Connection, TimeWaitReuse } from './endpoint.js';
import { ACK, RST, type Segment } from './segment.js';
import { EMPTY, type Errno, type TcbEnv, type TcbIdentity, type TcbOptions } from './tcb-base.js';
import type { StackConfig } from './config.js';
import { TcbReceivePart } from './tcb-receive.js';
import { TimeWaitConnection, timeWaitEffect, type TimeWaitHandover } from './time-wait.js';

export { TIME_WAIT_OVERFLOW_CAUSE, TIMER_COUNT, TimerKind, type Errno, type SegmentFields, type TcbEnv, type TcbIdentity, type TcbOptions } from './tcb-base.js';

export class Tcb extends TcbReceivePart implements Connection {
  /**
   * This TCB, CLOSED and let go by its host, made over for another connection as the
   * constructor would make it (the host's free list, `Host.spareTcbs`). Only the reference class
   * is made over: a subclass may keep fields of its own.
   */
  remake(id: TcbIdentity, config: StackConfig, env: TcbEnv, options: TcbOptions): Tcb | null {
    if (this.constructor !== Tcb) return null;
    // The constructor's three, readonly to everything else.
    const self = this as unknown as { id: TcbIdentity; config: StackConfig; env: TcbEnv };
    self.id = id;
    self.config = config;
    self.env = env;
    this.resetState(options);
    return this;
  }

  /** §3.10.2 SEND. Returns how many bytes were queued. */
  send(nowUs: number, data: Uint8Array): number | Errno {
    if (this.error !== null) return this.takeError();
    switch (this.state) {
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
        break;
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        return 'EAGAIN';
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        // §3.10.2: "connection closing"; a program sees EPIPE after shutdown(SHUT_WR).
        return 'EPIPE';
      case 'CLOSED':
        // Linux tcp_sendmsg: a connection that is gone (reset, timed out, refused; the error
        // already reported) gives EPIPE, as after shutdown(SHUT_WR) — not ENOTCONN.
        return 'EPIPE';
      case 'LISTEN':
        return 'ENOTCONN';
    }
    if (this.finQueued) return 'EPIPE';
    const accepted = this.queueForSending(data);
    if (accepted === 0 && data.length > 0) return 'EAGAIN';
    this.output(nowUs);
    return accepted;
  }

  /** §3.10.3 RECEIVE. Returns bytes, `'eof'`, or an errno (EAGAIN when nothing is there yet). */
  recv(nowUs: number, maxBytes: number): Uint8Array | 'eof' | Errno {
    if (this.receiveQueue.length > 0) {
      const bytes = this.receiveQueue.shift(maxBytes);
      if (this.options.rcvBufBytes !== null) this.releaseRead(bytes.length);
      this.maybeSendWindowUpdate(nowUs);
      return bytes;
    }
    // Linux tcp_recvmsg checks in this order: the peer's FIN (SOCK_DONE) reads as EOF before a
    // pending error, so a reset in CLOSE-WAIT is reported by the next send, not by recv.
    if (this.peerFinReceived) return 'eof';
    if (this.error !== null) return this.takeError();
    switch (this.state) {
      case 'CLOSED':
        // Linux tcp_done sets RCV_SHUTDOWN: once the error is reported, a dead connection reads EOF.
        return 'eof';
      case 'LISTEN':
        return 'ENOTCONN';
      case 'TIME-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
        return 'eof';
      default:
        return 'EAGAIN';
    }
  }

  get readableBytes(): number {
    return this.receiveQueue.length;
  }

  /** shutdown(SHUT_RD): Linux sets RCV_SHUTDOWN and sends nothing (tcp_shutdown acts on SEND_SHUTDOWN only). */
  shutdownRead(): void {
    this.readShutdown = true;
  }

  /** shutdown(SHUT_WR): §3.10.4 CLOSE of the sending half only (C6 half-close). */
  shutdownWrite(nowUs: number): void {
    switch (this.state) {
      case 'SYN-SENT':
        // Linux tcp_close_state: SYN-SENT -> CLOSE, nothing sent.
        this.becomeClosed('close in SYN-SENT');
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.finQueued = true;
        this.setState('FIN-WAIT-1', 'close');
        this.output(nowUs);
        return;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.setState('LAST-ACK', 'close');
        this.output(nowUs);
        return;
      default:
        // Already closing, or closed: §3.10.4 "connection closing" — nothing more to do.
        return;
    }
  }

  /**
   * close(): §3.10.4 CLOSE, as Linux's tcp_close does it. Unread data, or SO_LINGER{on,0},
   * turns the close into an abort with RST (C14, C15); otherwise a FIN follows queued data.
   */
  close(nowUs: number): void {
    if (this.orphaned) return;
    this.orphaned = true;
    if (this.state === 'CLOSED' || this.state === 'TIME-WAIT') return;
    if (this.receiveQueue.length > 0) {
      // Linux tcp_close: data the application never read is lost, so tell the peer with RST
      // (RFC 2525 §2.17) rather than pretend a graceful close.
      this.abort(nowUs, 'close with unread data');
      return;
    }
    if (this.options.lingerSec === 0) {
      this.abort(nowUs, 'close with SO_LINGER{on,0}');
      return;
    }
    this.shutdownWrite(nowUs);
    if (this.state === 'FIN-WAIT-2') this.armFinWait2(nowUs);
  }

  /**
   * §3.10.5 ABORT (Linux tcp_disconnect): RST in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and
   * CLOSE-WAIT; the send queue is discarded and no TIME-WAIT follows on either side (C14).
   */
  abort(nowUs: number, cause: string): void {
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        // Linux tcp_send_active_reset: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>.
        this.emit(nowUs, this.sndNxt, RST | ACK, EMPTY, false);
        break;
      case 'CLOSING':
      case 'LAST-ACK':
        if (this.sendQueue.length > 0 || this.finSeq < 0) this.emit(nowUs, this.sndNxt, RST | ACK, EMPTY, false);
        break;
      default:
        break;
    }
    this.clearSendQueue();
    this.becomeClosed(cause);
  }

  // ---------------------------------------------------------------------------------------
  // Segment arrival (RFC 9293 §3.10.7)
  // ---------------------------------------------------------------------------------------

  /** §3.10.7: an arriving segment, by state. TIME-WAIT has its own entry, `timeWaitInput`. */
  input(nowUs: number, seg: Segment): void {
    switch (this.state) {
      case 'SYN-SENT':
        this.inputSynSent(nowUs, seg);
        return;
      case 'TIME-WAIT':
        throw new Error('TIME-WAIT input goes through timeWaitInput');
      case 'CLOSED':
      case 'LISTEN':
        return;
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
        this.inputOtherStates(nowUs, seg);
        return;
    }
  }



  /**
   * TIME-WAIT input, as Linux's tcp_timewait_state_process does it (RFC 9293 §3.10.7.4 leaves
   * the details open; RFC 1122 §4.2.2.13 and RFC 6191 describe the choices).
   * Returns `'new-syn'` when a SYN may open a new incarnation of this 4-tuple: its sequence
   * number is above everything the old one received (Linux TCP_TW_SYN).
   */
  timeWaitInput(nowUs: number, seg: Segment): 'handled' | 'new-syn' {
    // The rules are timeWaitEffect's (time-wait.ts), shared with the TIME-WAIT record.
    const effect = timeWaitEffect(seg, this.rcvNxt, this.config.rfc1337, this.tsRecent, this.tsOk ? this.tsRecentStampUs : -1, nowUs);
    if (effect.newSyn) return 'new-syn';
    if (effect.takeTsVal && this.tsOk && seg.tsVal >= 0) {
      this.tsRecent = seg.tsVal;
      this.tsRecentStampUs = nowUs;
    }
    if (effect.accept) this.env.segmentAccepted(this, seg);
    if (effect.closeCause !== null) this.becomeClosed(effect.closeCause);
    if (effect.restartCause !== null) this.restartTimeWait(nowUs, effect.restartCause);
    if (effect.answer) this.sendOutOfWindowAck(nowUs, seg, false);
    return 'handled';
  }

  /**
   * Once its socket is closed, a connection in TIME-WAIT needs none of this object's buffers
   * and counters: the host swaps it for a small record that behaves the same (time-wait.ts,
   * Linux's inet_timewait_sock). Null when it cannot be swapped: not TIME-WAIT, the socket
   * still open, or a subclass, which may have changed how TIME-WAIT behaves.
   */
  timeWaitReuse(): TimeWaitReuse | null {
    if (this.state !== 'TIME-WAIT' || !this.tsOk) return null;
    return { sndNxt: this.sndNxt, tsRecent: this.tsRecent, tsRecentStampUs: this.tsRecentStampUs, enteredUs: this.timeWaitEnteredUs };
  }

  inheritTsRecent(tsRecent: number, stampUs: number): void {
    this.tsRecent = tsRecent >>> 0;
    this.tsRecentStampUs = stampUs;
  }

  compactForTimeWait(spare: Connection | null = null): Connection | null {
    if (this.constructor !== Tcb || this.state !== 'TIME-WAIT' || !this.orphaned) return null;
    const handover: TimeWaitHandover = {
      id: this.id,
      config: this.config,
      env: this.env,
      options: this.options,
      passive: this.passive,
      incarnation: this.incarnation,
      retransmissions: this.retransmissions,
      sndNxt: this.sndNxt,
      rcvNxt: this.rcvNxt,
      window: this.windowField(ACK),
      tsOk: this.tsOk,
      tsRecent: this.tsRecent,
      tsRecentStampUs: this.tsRecentStampUs,
      tsOffset: this.tsOffset,
      lastOutOfWindowAckUs: this.lastOutOfWindowAckUs,
      timeWaitEnteredUs: this.timeWaitEnteredUs,
    };
    if (spare instanceof TimeWaitConnection) {
      spare.takeOver(handover);
      return spare;
    }
    return new TimeWaitConnection(handover);
  }
}
