/**
 * The transmission control block: one endpoint of one connection, as RFC 9293 §3.10 describes
 * it, with Linux's choices where the RFC leaves room.
 *
 * The TCB is clock-free (turmoil-net): it is handed `nowUs` and reports what must happen
 * through `TcbEnv` (segments to send, timers to arm, state changes). It never schedules
 * anything itself, so it can be driven by the simulator or directly by a unit test.
 *
 * Deliberately left out, and why:
 * - Congestion control, SACK, fast retransmit, window scaling, timestamps/PAWS: they change how
 *   fast bytes move, not how connections open and close, which is what this project checks.
 *   Revisit when a claim depends on throughput or on PAWS (RFC 7323 would change TIME-WAIT SYN
 *   handling: Linux then compares timestamps instead of sequence numbers).
 * - Nagle's algorithm: with it, exact segment sequences depend on ACK timing of tiny writes;
 *   sockets here behave as with TCP_NODELAY.
 * - Urgent data, keep-alives, ICMP, and Linux's out-of-window ACK rate limit (tcp_invalid_ratelimit).
 */
import { ByteQueue } from './byte-queue.js';
import type { StackConfig } from './config.js';
import { ACK, FIN, PSH, RST, SYN, segLen, type Segment } from './segment.js';
import { seqAdd, seqDiff, seqGt, seqGe, seqLe, seqLt } from './seq.js';
import type { TcpState } from './state.js';
import type { Connection } from './endpoint.js';
import { TimeWaitConnection, timeWaitEffect } from './time-wait.js';

export type Errno =
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EAGAIN'
  | 'EALREADY'
  | 'EBADF'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'EINPROGRESS'
  | 'EINVAL'
  | 'EISCONN'
  | 'ENOPROTOOPT'
  | 'ENOTCONN'
  | 'EOPNOTSUPP'
  | 'EPIPE'
  | 'ETIMEDOUT';

export const enum TimerKind {
  Retransmit = 0,
  DelayedAck = 1,
  Persist = 2,
  TimeWait = 3,
  FinWait2 = 4,
}
export const TIMER_COUNT = 5;

/** What a TCB (or the TIME-WAIT record that replaces it, time-wait.ts) asks of the world around it. */
export interface TcbEnv {
  transmit(tcb: Connection, seg: SegmentFields): void;
  /** Arm (or re-arm) a timer at an absolute time. */
  setTimer(tcb: Connection, kind: TimerKind, atUs: number): void;
  clearTimer(tcb: Connection, kind: TimerKind): void;
  stateChanged(tcb: Connection, from: TcpState, to: TcpState, cause: string): void;
  /** TIME-WAIT's 2·MSL timer started again (C9). */
  timeWaitRestarted(tcb: Connection, cause: string): void;
  /** A segment passed the acceptability test and was acted on (for the C10 check). */
  segmentAccepted(tcb: Connection, seg: Segment): void;
  /** Something the application may be waiting for changed. */
  wake(tcb: Connection): void;
  /** A passive-open TCB reached ESTABLISHED and may join its listener's accept queue; false when the queue is full. */
  offerToListener(tcb: Connection): boolean;
}

/** A segment as the TCB builds it; the host adds addresses, ids and send time. */
export interface SegmentFields {
  seq: number;
  ack: number;
  flags: number;
  window: number;
  mss: number;
  payload: Uint8Array;
  retransmission: boolean;
}

export interface TcbIdentity {
  readonly connId: number;
  readonly localIp: number;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
}

export interface TcbOptions {
  reuseAddr: boolean;
  /** SO_LINGER: null when off; otherwise the linger time in seconds. */
  lingerSec: number | null;
}

const EMPTY = new Uint8Array(0);

export class Tcb implements Connection {
  state: TcpState = 'CLOSED';
  /** True when created by a listener (passive open). */
  passive = false;
  incarnation = 0;
  readonly options: TcbOptions;
  /** Opaque slots for the environment's timer handles. */
  readonly timerHandles: unknown[] = [null, null, null, null, null];
  /** Opaque slot for the host's entry (Connection.hostEntry). */
  hostEntry: unknown = null;

  // Send sequence space (RFC 9293 §3.3.1).
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  peerMss = 536;
  /** Sequence number of the first byte in `sendQueue`. */
  private sendQueueSeq = 0;
  private readonly sendQueue = new ByteQueue();
  /** Set by close()/shutdown(SHUT_WR): a FIN follows the queued data. */
  finQueued = false;
  /** Sequence number our FIN occupies, once sent. */
  finSeq = -1;

  // Receive sequence space.
  irs = 0;
  rcvNxt = 0;
  private lastAdvertisedWindow = 0;
  protected readonly receiveQueue = new ByteQueue();
  private readonly outOfOrder: { seq: number; payload: Uint8Array; fin: boolean }[] = [];
  /** The peer's FIN has been processed: reads return EOF once the queue is drained. */
  peerFinReceived = false;
  /** close() was called: nothing more will be read (Linux RCV_SHUTDOWN + orphan). */
  orphaned = false;

  // Retransmission (RFC 6298).
  private srttUs = -1;
  private rttvarUs = 0;
  private rtoUs: number;
  private retries = 0;
  private rttSeq = 0;
  private rttStartUs = -1;
  /** After a timeout, everything below this is resent one segment per ACK (go-back-N). */
  private recoverSeq = 0;
  private persistBackoff = 0;
  /** Zero-window probes sent since an ACK last came back (Linux icsk_probes_out). */
  private probesOut = 0;

  // Delayed ACK (Linux quick-ACK and ping-pong modes).
  private ackPending = false;
  private quickAcksLeft: number;
  private pingpong = false;

  /** Sequence numbers a SYN and a FIN occupy (RFC 9293 §3.4, C4): 1. Mutants change them. */
  protected readonly synSpace: number = 1;
  protected readonly finSpace: number = 1;

  /** When the last rate-limited out-of-window or challenge ACK went out. */
  private lastOutOfWindowAckUs = -Infinity;

  /** The error the application will see next (SO_ERROR); null when none. */
  error: Errno | null = null;
  /** Counters for statistics. */
  retransmissions = 0;
  timeWaitEnteredUs = -1;

  constructor(
    readonly id: TcbIdentity,
    readonly config: StackConfig,
    protected readonly env: TcbEnv,
    options: TcbOptions,
  ) {
    this.options = { ...options };
    this.rtoUs = config.rtoInitialUs;
    this.quickAcksLeft = config.quickAcks;
  }

  // ---------------------------------------------------------------------------------------
  // User calls (RFC 9293 §3.10.1–§3.10.6)
  // ---------------------------------------------------------------------------------------

  /** §3.10.1 OPEN, active: send SYN with our ISN and MSS option (C1). */
  connect(nowUs: number, iss: number): void {
    this.assertState('CLOSED');
    this.initSendSpace(iss);
    this.setState('SYN-SENT', 'connect');
    this.sendSyn(nowUs, false);
  }

  /** A listener's child: LISTEN -> SYN-RECEIVED on a SYN (§3.10.7.2), answering SYN,ACK (C2). */
  acceptSyn(nowUs: number, seg: Segment, iss: number): void {
    this.assertState('CLOSED');
    this.passive = true;
    this.state = 'LISTEN';
    this.initSendSpace(iss);
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, this.synSpace);
    this.takePeerWindow(seg, seg.seq, 0);
    if (seg.mss > 0) this.peerMss = seg.mss;
    this.env.segmentAccepted(this, seg);
    this.setState('SYN-RECEIVED', 'rcv SYN');
    this.sendSyn(nowUs, false);
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
    const room = this.config.sendBufferBytes - this.sendQueue.length;
    if (room <= 0) return 'EAGAIN';
    const accepted = data.length <= room ? data : data.subarray(0, room);
    this.sendQueue.push(accepted);
    this.output(nowUs);
    return accepted.length;
  }

  /** §3.10.3 RECEIVE. Returns bytes, `'eof'`, or an errno (EAGAIN when nothing is there yet). */
  recv(nowUs: number, maxBytes: number): Uint8Array | 'eof' | Errno {
    if (this.receiveQueue.length > 0) {
      const bytes = this.receiveQueue.shift(maxBytes);
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

  get unsentOrUnackedBytes(): number {
    return this.sendQueue.length;
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
    this.sendQueue.clear();
    this.becomeClosed(cause);
  }

  // ---------------------------------------------------------------------------------------
  // Segment arrival (RFC 9293 §3.10.7)
  // ---------------------------------------------------------------------------------------

  /** Returns true when the segment was for an old TIME-WAIT and a new connection may take it (Linux TCP_TW_SYN). */
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

  /** §3.10.7.3 SYN-SENT. */
  protected inputSynSent(nowUs: number, seg: Segment): void {
    const flags = seg.flags;
    // First: check the ACK bit. An ACK outside (ISS, SND.NXT] gets a reset unless it is one.
    if (flags & ACK) {
      if (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndNxt)) {
        if (!(flags & RST)) this.env.transmit(this, this.fields(seg.ack, RST, EMPTY, false));
        return;
      }
    }
    // Second: RST. Only with an acceptable ACK; then the peer refused us (ECONNREFUSED).
    if (flags & RST) {
      if (flags & ACK) {
        this.env.segmentAccepted(this, seg);
        this.fail('ECONNREFUSED', 'rcv RST in SYN-SENT');
      }
      return;
    }
    // Fourth: SYN.
    if (!(flags & SYN)) return;
    this.env.segmentAccepted(this, seg);
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, this.synSpace);
    if (seg.mss > 0) this.peerMss = seg.mss;
    if (flags & ACK) this.ackAdvanced(nowUs, seg.ack);
    if (seqGt(this.sndUna, this.iss)) {
      // C2/C3: our SYN is acknowledged; ESTABLISHED, and ACK theirs (ACK K+1) at once, as Linux does.
      this.takePeerWindow(seg, seg.seq, seg.ack);
      this.setState('ESTABLISHED', 'rcv SYN,ACK');
      this.sendAck(nowUs);
      this.env.wake(this);
      this.output(nowUs);
    } else {
      // Simultaneous open: SYN-RECEIVED, answer <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
      this.takePeerWindow(seg, seg.seq, this.iss);
      this.setState('SYN-RECEIVED', 'rcv SYN (simultaneous open)');
      this.sendSyn(nowUs, false);
    }
  }

  /** §3.10.7.4 SYN-RECEIVED through LAST-ACK. */
  protected inputOtherStates(nowUs: number, seg: Segment): void {
    const flags = seg.flags;
    const len = segLen(seg);

    // Linux tcp_check_req: a retransmitted SYN to a half-open connection gets the SYN,ACK again.
    if (this.state === 'SYN-RECEIVED' && (flags & (SYN | ACK | RST)) === SYN && seg.seq === this.irs) {
      this.sendSyn(nowUs, true);
      return;
    }

    // First: the sequence number test, four cases.
    const window = this.receiveWindow();
    if (!this.acceptable(seg.seq, len, window)) {
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
      this.env.segmentAccepted(this, seg);
      switch (this.state) {
        case 'SYN-RECEIVED':
          if (this.passive) {
            this.sendQueue.clear();
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

    // Fourth: a SYN in a synchronized state gets a challenge ACK (RFC 5961 §4).
    if (flags & SYN) {
      this.sendOutOfWindowAck(nowUs, seg, true);
      return;
    }

    // Fifth: the ACK field.
    if (!(flags & ACK)) return;
    this.env.segmentAccepted(this, seg);
    // The peer is alive: zero-window probes start counting again (Linux tcp_ack, icsk_probes_out = 0).
    this.probesOut = 0;
    if (this.state === 'SYN-RECEIVED') {
      if (!(seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndNxt))) {
        this.env.transmit(this, this.fields(seg.ack, RST, EMPTY, false));
        return;
      }
      if (this.passive && !this.env.offerToListener(this)) return; // Linux: accept queue full, drop the ACK.
      this.ackAdvanced(nowUs, seg.ack);
      this.takePeerWindow(seg, seg.seq, seg.ack);
      this.setState('ESTABLISHED', 'rcv ACK of SYN');
      this.env.wake(this);
    } else if (seqGt(seg.ack, this.sndNxt)) {
      // Acknowledges something not yet sent: ACK (rate-limited, as Linux's challenge ACK), drop.
      this.sendOutOfWindowAck(nowUs, seg, true);
      return;
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

  /** RFC 9293 §3.10.7.4 first check: the four cases of segment acceptability. */
  protected acceptable(seq: number, len: number, window: number): boolean {
    const rcvNxt = this.rcvNxt;
    if (len === 0) {
      if (window === 0) return seq === rcvNxt;
      return seqLe(rcvNxt, seq) && seqLt(seq, seqAdd(rcvNxt, window));
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
    if (payload.length > 0 && this.orphaned) {
      // Linux tcp_rcv_state_process (FIN-WAIT-1/2 with RCV_SHUTDOWN): new data after close()
      // cannot be delivered. The connection is dropped and the segment answered as §3.10.7.1
      // answers one for a closed connection, <SEQ=SEG.ACK><CTL=RST> (tcp_v4_send_reset), not
      // with the <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> of an abort.
      this.env.transmit(this, this.fields(seg.ack, RST, EMPTY, false));
      this.sendQueue.clear();
      this.becomeClosed('data after close');
      return;
    }
    if (seq !== this.rcvNxt) {
      // Out of order: keep it for reassembly and send a duplicate ACK at once (RFC 5681 §4.2).
      if (payload.length > 0 || fin) this.insertOutOfOrder(seq, payload, fin);
      this.sendAck(nowUs);
      return;
    }
    const hadOutOfOrder = this.outOfOrder.length > 0;
    let finInOrder = this.deliverInOrder(payload, fin);
    finInOrder = this.drainOutOfOrder() || finInOrder;
    if (payload.length > 0 || hadOutOfOrder) this.env.wake(this);
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

  protected deliverInOrder(payload: Uint8Array, fin: boolean): boolean {
    if (payload.length > 0) {
      this.receiveQueue.push(payload);
      this.rcvNxt = seqAdd(this.rcvNxt, payload.length);
    }
    return fin;
  }

  private insertOutOfOrder(seq: number, payload: Uint8Array, fin: boolean): void {
    const queue = this.outOfOrder;
    let index = queue.length;
    while (index > 0 && seqGt(queue[index - 1]!.seq, seq)) index--;
    queue.splice(index, 0, { seq, payload, fin });
  }

  /** Move queued out-of-order text that now starts at or before RCV.NXT. Returns true on an in-order FIN. */
  private drainOutOfOrder(): boolean {
    const queue = this.outOfOrder;
    while (queue.length > 0) {
      const head = queue[0]!;
      const overlap = seqDiff(this.rcvNxt, head.seq);
      if (overlap < 0) break;
      queue.shift();
      const end = seqAdd(head.seq, head.payload.length);
      if (seqLt(end, this.rcvNxt) || (end === this.rcvNxt && !head.fin && head.payload.length > 0 && overlap >= head.payload.length)) continue;
      const fresh = head.payload.subarray(Math.min(overlap, head.payload.length));
      if (this.deliverInOrder(fresh, head.fin)) {
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
    this.env.wake(this);
    switch (this.state) {
      case 'ESTABLISHED':
        // Linux tcp_fin: CLOSE-WAIT, schedule the ACK and enter ping-pong mode, so the ACK waits
        // for the delayed-ACK timer. A program that closes within it sends FIN and ACK in one
        // segment: the three-way close of C7.
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
   * TIME-WAIT input, as Linux's tcp_timewait_state_process does it (RFC 9293 §3.10.7.4 leaves
   * the details open; RFC 1122 §4.2.2.13 and RFC 6191 describe the choices).
   * Returns `'new-syn'` when a SYN may open a new incarnation of this 4-tuple: its sequence
   * number is above everything the old one received (Linux TCP_TW_SYN).
   */
  timeWaitInput(nowUs: number, seg: Segment): 'handled' | 'new-syn' {
    // The rules are timeWaitEffect's (time-wait.ts), shared with the TIME-WAIT record.
    const effect = timeWaitEffect(seg, this.rcvNxt, this.config.rfc1337);
    if (effect.newSyn) return 'new-syn';
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
  compactForTimeWait(): Connection | null {
    if (this.constructor !== Tcb || this.state !== 'TIME-WAIT' || !this.orphaned) return null;
    return new TimeWaitConnection({
      id: this.id,
      config: this.config,
      env: this.env,
      options: this.options,
      passive: this.passive,
      incarnation: this.incarnation,
      retransmissions: this.retransmissions,
      sndNxt: this.sndNxt,
      rcvNxt: this.rcvNxt,
      window: this.receiveWindow(),
      lastOutOfWindowAckUs: this.lastOutOfWindowAckUs,
    });
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

  // ---------------------------------------------------------------------------------------
  // Timers
  // ---------------------------------------------------------------------------------------

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
    this.env.setTimer(this, TimerKind.Retransmit, nowUs + this.rtoUs);
  }

  /**
   * Zero-window probe, Linux style (tcp_probe_timer, tcp_xmit_probe_skb): an ACK one below
   * SND.UNA, which the peer must answer; RFC 9293 §3.8.6.1 keeps probing while the peer answers.
   * Probes nobody answers give up like retransmissions, after `dataRetries` (tcp_retries2) —
   * else a vanished peer keeps the connection, and the run, alive for ever.
   */
  private onPersistTimeout(nowUs: number): void {
    if (this.sndWnd > 0 || (this.unsentBytes() === 0 && !this.finPending()) || this.state === 'CLOSED') return;
    if (this.probesOut >= this.config.dataRetries) {
      this.fail('ETIMEDOUT', 'zero-window probes unanswered');
      return;
    }
    this.emit(nowUs, seqAdd(this.sndUna, -1), ACK, EMPTY, false);
    this.probesOut++;
    this.persistBackoff = Math.min(this.persistBackoff + 1, 10);
    // Multiply, not shift: a backed-off RTO << 10 overflows 32 bits and would arm the timer in the past.
    this.env.setTimer(this, TimerKind.Persist, nowUs + Math.min(this.rtoUs * 2 ** this.persistBackoff, this.config.rtoMaxUs));
  }

  /** close()/shutdown(SHUT_WR) queued a FIN that has not been sent yet. */
  private finPending(): boolean {
    return this.finQueued && this.finSeq < 0;
  }

  // ---------------------------------------------------------------------------------------
  // Sending
  // ---------------------------------------------------------------------------------------

  /** Send what the window allows, then a FIN once all queued data has gone. */
  protected output(nowUs: number): void {
    if (this.state === 'CLOSED' || this.state === 'LISTEN' || this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED' || this.state === 'TIME-WAIT') return;
    const mss = Math.min(this.peerMss, this.config.mss);
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
      if (!isArmed(handle)) this.env.setTimer(this, TimerKind.Persist, nowUs + this.rtoUs);
    }
  }

  private sendNew(nowUs: number, payload: Uint8Array, fin: boolean): void {
    const seq = this.sndNxt;
    let flags = ACK;
    if (payload.length > 0) flags |= PSH;
    if (fin) {
      flags |= FIN;
      this.finSeq = seqAdd(seq, payload.length);
    }
    this.emit(nowUs, seq, flags, payload, false);
    this.sndNxt = seqAdd(seq, payload.length + (fin ? 1 : 0));
    if (this.rttStartUs < 0) {
      this.rttStartUs = nowUs;
      this.rttSeq = this.sndNxt;
    }
    if (!isArmed(this.timerHandles[TimerKind.Retransmit])) this.env.setTimer(this, TimerKind.Retransmit, nowUs + this.rtoUs);
  }

  /** Resend the first unacknowledged segment (data, FIN, or both). */
  protected retransmitHead(nowUs: number): void {
    const mss = Math.min(this.peerMss, this.config.mss);
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

  private sendSyn(nowUs: number, retransmission: boolean): void {
    // C1/C2: the SYN carries the ISN and the MSS option, and occupies one sequence number.
    const flags = this.state === 'SYN-SENT' ? SYN : SYN | ACK;
    if (retransmission) {
      this.retransmissions++;
      // Karn's algorithm, also for a SYN,ACK resent because the peer's SYN came again (Linux
      // tcp_synack_rtt_meas takes no sample once the SYN,ACK was retransmitted).
      this.rttStartUs = -1;
    }
    const fields = this.fields(this.iss, flags, EMPTY, retransmission);
    fields.mss = this.config.mss;
    this.env.transmit(this, fields);
    this.afterSend(flags);
    this.sndNxt = seqAdd(this.iss, 1);
    if (!retransmission && this.rttStartUs < 0) {
      this.rttStartUs = nowUs;
      this.rttSeq = this.sndNxt;
    }
    // Every SYN or SYN,ACK sent (re)arms the timer with the current, backed-off RTO. A SYN,ACK
    // resent for a duplicate SYN does too, as Linux's tcp_check_req re-arms the request timer.
    this.env.setTimer(this, TimerKind.Retransmit, nowUs + this.rtoUs);
  }

  protected sendAck(nowUs: number): void {
    this.emit(nowUs, this.sndNxt, ACK, EMPTY, false);
  }

  /** Decide when to ACK received data (Linux __tcp_ack_snd_check). */
  protected scheduleAck(nowUs: number): void {
    const unacked = seqDiff(this.rcvNxt, this.lastAckedRcvNxt);
    const quick = this.quickAcksLeft > 0 && !this.pingpong;
    if (this.config.delayedAckUs === 0 || quick || unacked > Math.min(this.peerMss, this.config.mss)) {
      if (quick) this.quickAcksLeft--;
      this.sendAck(nowUs);
      return;
    }
    this.ackPending = true;
    if (!isArmed(this.timerHandles[TimerKind.DelayedAck])) this.env.setTimer(this, TimerKind.DelayedAck, nowUs + this.config.delayedAckUs);
  }

  private lastAckedRcvNxt = 0;

  /**
   * After a read, announce the larger window at once only when it matters (Linux
   * tcp_cleanup_rbuf): the window the peer has left is at most half the buffer and the new one
   * is at least twice that. So a read that frees a little room behind a wide-open window sends
   * nothing (a tcpdump of Linux shows no such ACK), while one that reopens a zero or nearly
   * closed window does. RFC 9293 §3.8.6.2.2 receiver SWS avoidance: never for less than
   * min(RCV.BUFF/2, MSS).
   */
  private maybeSendWindowUpdate(nowUs: number): void {
    if (!(this.state === 'ESTABLISHED' || this.state === 'FIN-WAIT-1' || this.state === 'FIN-WAIT-2')) return;
    const windowLeft = Math.max(0, this.lastAdvertisedWindow - seqDiff(this.rcvNxt, this.lastAckedRcvNxt));
    if (2 * windowLeft > this.config.receiveBufferBytes) return;
    const window = this.receiveWindow();
    const threshold = Math.min(this.config.receiveBufferBytes >> 1, this.config.mss);
    if (window >= threshold && window >= 2 * windowLeft) this.sendAck(nowUs);
  }

  /** Every segment we emit from a connection goes through here: ACK bookkeeping and delayed-ACK cancel. */
  protected emit(nowUs: number, seq: number, flags: number, payload: Uint8Array, retransmission: boolean): void {
    void nowUs;
    this.env.transmit(this, this.fields(seq, flags, payload, retransmission));
    this.afterSend(flags);
  }

  private afterSend(flags: number): void {
    if (flags & ACK) {
      this.lastAckedRcvNxt = this.rcvNxt;
      if (this.ackPending) {
        this.ackPending = false;
        this.env.clearTimer(this, TimerKind.DelayedAck);
      }
    }
  }

  private fields(seq: number, flags: number, payload: Uint8Array, retransmission: boolean): SegmentFields {
    const window = flags & ACK || flags & SYN ? this.receiveWindow() : 0;
    if (flags & ACK) this.lastAdvertisedWindow = window;
    return { seq, ack: flags & ACK ? this.rcvNxt : 0, flags, window, mss: 0, payload, retransmission };
  }

  // ---------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------

  /** Everything up to `ack` is acknowledged: free it, take an RTT sample, re-arm or stop the timer. */
  private ackAdvanced(nowUs: number, ack: number): void {
    const acked = seqDiff(ack, this.sndUna);
    if (acked <= 0) return;
    // Free acknowledged bytes (the SYN and FIN take sequence numbers but no buffer space).
    const dataAcked = Math.max(0, Math.min(seqDiff(ack, this.sendQueueSeq), this.sendQueue.length));
    if (dataAcked > 0) {
      this.sendQueue.drop(dataAcked);
      this.sendQueueSeq = seqAdd(this.sendQueueSeq, dataAcked);
      this.env.wake(this);
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
    if (this.sndUna === this.sndNxt) {
      this.env.clearTimer(this, TimerKind.Retransmit);
    } else {
      // RFC 6298 §5.3: restart the timer when new data is acknowledged.
      this.env.setTimer(this, TimerKind.Retransmit, nowUs + this.rtoUs);
      if (seqLt(this.sndUna, this.recoverSeq) && this.state !== 'SYN-SENT' && this.state !== 'SYN-RECEIVED') this.retransmitHead(nowUs);
    }
  }

  /** RFC 6298 §2.2–2.3. */
  private updateRto(sampleUs: number): void {
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
  private computedRto(): number {
    const rto = Math.round(this.srttUs + Math.max(this.config.rtoMinUs, 4 * this.rttvarUs));
    return Math.min(Math.max(rto, this.config.rtoMinUs), this.config.rtoMaxUs);
  }

  private takePeerWindow(seg: Segment, wl1: number, wl2: number): void {
    const wasZero = this.sndWnd === 0;
    this.sndWnd = seg.window;
    this.sndWl1 = wl1;
    this.sndWl2 = wl2;
    if (wasZero && seg.window > 0) {
      this.persistBackoff = 0;
      this.env.clearTimer(this, TimerKind.Persist);
    }
  }

  private initSendSpace(iss: number): void {
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sendQueueSeq = seqAdd(this.iss, 1);
    this.recoverSeq = this.iss;
  }

  receiveWindow(): number {
    return Math.max(0, this.config.receiveBufferBytes - this.receiveQueue.length);
  }

  private unsentBytes(): number {
    if (this.sndNxt === this.iss) return 0;
    const sent = seqDiff(this.finSeq >= 0 ? this.finSeq : this.sndNxt, this.sendQueueSeq);
    return Math.max(0, this.sendQueue.length - sent);
  }

  private armFinWait2(nowUs: number): void {
    this.env.setTimer(this, TimerKind.FinWait2, nowUs + this.config.finWait2TimeoutUs);
  }

  /** RFC 9293 §3.10.7.4: enter TIME-WAIT and start the 2·MSL timer (C8). */
  protected enterTimeWait(nowUs: number, cause: string): void {
    this.releaseTimers();
    this.sendQueue.clear();
    this.outOfOrder.length = 0;
    this.timeWaitEnteredUs = nowUs;
    this.setState('TIME-WAIT', cause);
    this.env.setTimer(this, TimerKind.TimeWait, nowUs + this.config.timeWaitUs);
  }

  protected restartTimeWait(nowUs: number, cause: string): void {
    this.env.setTimer(this, TimerKind.TimeWait, nowUs + this.config.timeWaitUs);
    this.env.timeWaitRestarted(this, cause);
  }

  /** The connection is gone with an error the application will see (§3.10.7 "connection reset"). */
  private fail(errno: Errno, cause: string): void {
    this.error = errno;
    this.sendQueue.clear();
    this.becomeClosed(cause);
  }

  protected becomeClosed(cause: string): void {
    this.releaseTimers();
    this.outOfOrder.length = 0;
    if (this.orphaned) this.receiveQueue.clear();
    this.setState('CLOSED', cause);
    this.env.wake(this);
  }

  private releaseTimers(): void {
    for (let kind = 0; kind < TIMER_COUNT; kind++) this.env.clearTimer(this, kind as TimerKind);
    this.ackPending = false;
  }

  private takeError(): Errno {
    const errno = this.error!;
    // Linux sock_error: the error is reported once; later calls on the dead (CLOSED) connection
    // see EPIPE from send and EOF from recv.
    this.error = null;
    return errno;
  }

  /** Change state in one place, so every change is a trace event (smoltcp's set_state). */
  setState(next: TcpState, cause: string): void {
    const previous = this.state;
    if (previous === next) return;
    this.state = next;
    this.env.stateChanged(this, previous, next, cause);
  }

  private assertState(expected: TcpState): void {
    if (this.state !== expected) throw new Error(`TCB ${this.id.connId} is ${this.state}, expected ${expected}`);
  }
}

function isArmed(handle: unknown): boolean {
  return handle !== null && (handle as { pending: boolean }).pending;
}
