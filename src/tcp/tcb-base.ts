/**
 * What every part of the TCB shares: its identity, the world it talks to (`TcbEnv`), the
 * receive-side variables and delayed-ACK bookkeeping that every part reads, and the few
 * operations all of them use — change state, emit a segment, close.
 *
 * The TCB is split by concern the way gVisor's tcpip/transport/tcp is (connect.go, snd.go,
 * rcv.go, timer.go), as a chain of classes, each in its own file and each adding one concern:
 *
 *   TcbBase (this file) → TcbOptionsPart (tcb-options.ts: TCP options) → TcbSendPart
 *   (tcb-send.ts: sending and retransmission) → TcbHandshakePart (tcb-handshake.ts) →
 *   TcbTimersPart (tcb-timers.ts) → TcbReceivePart (tcb-receive.ts: acceptability, reassembly,
 *   FIN) → Tcb (tcb.ts: the socket calls and segment dispatch).
 *
 * Each part calls only itself and the parts before it, so a reader can stop at any file. Every
 * method stays an overridable member of `Tcb`, which the mutant zoo (src/check/mutants.ts)
 * relies on.
 */
import { ByteQueue } from './byte-queue.js';
import type { StackConfig } from './config.js';
import type { Connection } from './endpoint.js';
import { ACK, EMPTY_PAYLOAD, SYN, type Segment } from './segment.js';
import type { TcpState } from './state.js';

/** ACKs remembered for receive coalescing (tcb-options.ts): more than one window's worth of segments. */
const ACK_RING = 16;

export type Errno =
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EAGAIN'
  | 'EALREADY'
  | 'EBADF'
  | 'ECONNABORTED'
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
  /**
   * Send a segment with these fields. Read them before returning and never keep the object: a
   * reference TCB hands every segment over in one reused object (`fields`), which spares an
   * object per segment.
   */
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
  /** The connection's TSval offset (Linux secure_tcp_ts_off: a keyed hash of the 4-tuple). */
  timestampOffset(tcb: Connection): number;
  /** The connection may enter TIME-WAIT: fewer than tcp_max_tw_buckets are in it (Linux inet_twsk_alloc). */
  admitTimeWait(tcb: Connection): boolean;
}

/** The cause of the state change when tcp_max_tw_buckets turns a connection away from TIME-WAIT (Linux TCPTimeWaitOverflow). */
export const TIME_WAIT_OVERFLOW_CAUSE = 'TIME-WAIT bucket overflow';

/** A segment as the TCB builds it; the host adds addresses, ids and send time. */
export interface SegmentFields {
  seq: number;
  ack: number;
  flags: number;
  window: number;
  mss: number;
  /** Window scale option, -1 when absent. */
  wscale: number;
  /** SACK-permitted option (SYN and SYN,ACK). */
  sackOk: boolean;
  /** SACK blocks, edge pairs (RFC 2018 §3); empty when none. */
  sackBlocks: readonly number[];
  /** TSval, -1 when the segment carries no timestamps. */
  tsVal: number;
  tsEcr: number;
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
  /** sk_rcvbuf as SO_RCVBUF set it (already doubled, host.ts); null: the stack's default, not locked. */
  rcvBufBytes?: number | null;
  /** sk_sndbuf as SO_SNDBUF set it (already doubled); null: the stack's `sendBufferBytes`. */
  sndBufBytes?: number | null;
}

/** A TCB's options with the buffer sizes filled in (null: the stack's default). */
export type TcbSocketOptions = TcbOptions & { rcvBufBytes: number | null; sndBufBytes: number | null };

export const EMPTY = EMPTY_PAYLOAD;

function socketOptions(options: TcbOptions): TcbSocketOptions {
  return { ...options, rcvBufBytes: options.rcvBufBytes ?? null, sndBufBytes: options.sndBufBytes ?? null };
}

/** The SACK blocks of a segment that carries none (shared: never written to). */
export const NO_SACK_BLOCKS: readonly number[] = Object.freeze([]);

/** The segment fields every reference TCB fills and hands to `TcbEnv.transmit` (read at once, never kept). */
const OUTGOING: SegmentFields = { seq: 0, ack: 0, flags: 0, window: 0, mss: 0, wscale: -1, sackOk: false, sackBlocks: NO_SACK_BLOCKS, tsVal: -1, tsEcr: 0, payload: EMPTY_PAYLOAD, retransmission: false };

export abstract class TcbBase {
  state: TcpState = 'CLOSED';
  /** True when created by a listener (passive open). */
  passive = false;
  incarnation = 0;
  options: TcbSocketOptions;
  /** Opaque slots for the environment's timer handles. */
  readonly timerHandles: unknown[] = [null, null, null, null, null];
  /** Opaque slot for the host's entry (Connection.hostEntry). */
  hostEntry: unknown = null;

  // Receive sequence space (RFC 9293 §3.3.1).
  irs = 0;
  rcvNxt = 0;
  protected lastAdvertisedWindow = 0;
  protected readonly receiveQueue = new ByteQueue();
  protected readonly outOfOrder: { seq: number; payload: Uint8Array; fin: boolean }[] = [];
  /** The peer's FIN has been processed: reads return EOF once the queue is drained. */
  peerFinReceived = false;
  /** close() was called: nothing more will be read (Linux RCV_SHUTDOWN + orphan). */
  orphaned = false;
  /**
   * shutdown(SHUT_RD) was called (Linux RCV_SHUTDOWN without the orphan): reads return what is
   * queued, then end-of-file; data still arriving in ESTABLISHED is ACKed and queued (tcp_shutdown
   * acts only on the send side), but in FIN-WAIT-1/2 it resets the connection (tcb-receive.ts).
   */
  readShutdown = false;

  // Delayed ACK (Linux quick-ACK and ping-pong modes).
  protected ackPending = false;
  protected quickAcksLeft: number;
  protected pingpong = false;
  /**
   * Data has arrived on this connection (in order, out of order or again). Until then Linux's
   * delayed-ACK timeout `icsk_ack.ato` is 0: tcp_event_data_recv (or tcp_enter_quickack_mode)
   * first sets it to TCP_ATO_MIN, so an ACK that must wait before any data waits no time.
   */
  protected dataReceived = false;
  /** RCV.NXT as our last ACK carried it. */
  protected lastAckedRcvNxt = 0;

  /** Sequence numbers a SYN and a FIN occupy (RFC 9293 §3.4, C4): 1. Mutants change them. */
  protected synSpace: number = 1;
  protected finSpace: number = 1;

  /** When the last rate-limited out-of-window or challenge ACK went out. */
  protected lastOutOfWindowAckUs = -Infinity;

  /** The error the application will see next (SO_ERROR); null when none. */
  error: Errno | null = null;
  timeWaitEnteredUs = -1;

  constructor(
    readonly id: TcbIdentity,
    readonly config: StackConfig,
    protected readonly env: TcbEnv,
    options: TcbOptions,
  ) {
    this.options = socketOptions(options);
    this.quickAcksLeft = config.quickAcks;
  }

  /** The connection as the environment sees it: `Tcb` implements `Connection`, each part is one. */
  protected get self(): Connection {
    return this as unknown as Connection;
  }

  /**
   * The receive window segments are accepted into: what is free of the stack's buffer, or,
   * with SO_RCVBUF, what is left of the window last advertised (Linux tcp_receive_window).
   */
  receiveWindow(): number {
    if (this.options.rcvBufBytes !== null) return Math.max(0, this.lastAdvertisedWindow - ((this.rcvNxt - this.lastAckedRcvNxt) | 0));
    return Math.max(0, this.config.receiveBufferBytes - this.receiveQueue.length);
  }

  /** Every segment we emit from a connection goes through here: ACK bookkeeping and delayed-ACK cancel. */
  protected emit(nowUs: number, seq: number, flags: number, payload: Uint8Array, retransmission: boolean): void {
    const fields = this.fields(seq, flags, payload, retransmission);
    this.addTimestamps(nowUs, fields);
    if (flags & ACK) this.addSackBlocks(fields);
    this.env.transmit(this.self, fields);
    this.afterSend(flags);
    if (flags & ACK) this.noteAckSent(nowUs);
  }

  // What the peer has surely taken of our ACKs (tcb-options.ts, receive coalescing): the last
  // ACK of an earlier instant, and the ACKs of the current one with the right edges they
  // offered (a ring of the last ACK_RING), since data past an edge was sent after its ACK arrived.
  private ackInstantUs = -1;
  private ackedInInstant = 0;
  private ackedBeforeInstant = 0;
  private ackedBeforeKnown = false;
  // Made at the first ACK of a socket whose SO_RCVBUF was set: most connections never need them.
  private ackRingSeq: number[] | null = null;
  private ackRingEdge: number[] | null = null;
  private ackRingCount = 0;

  /** An ACK (or SYN,ACK) left with RCV.NXT and the window just advertised. */
  protected noteAckSent(nowUs: number): void {
    if (this.options.rcvBufBytes === null) return;
    if (nowUs > this.ackInstantUs) {
      if (this.ackInstantUs >= 0) {
        this.ackedBeforeInstant = this.ackedInInstant;
        this.ackedBeforeKnown = true;
      }
      this.ackInstantUs = nowUs;
    }
    this.ackedInInstant = this.rcvNxt;
    if (this.ackRingSeq === null || this.ackRingEdge === null) {
      this.ackRingSeq = new Array<number>(ACK_RING).fill(0);
      this.ackRingEdge = new Array<number>(ACK_RING).fill(0);
    }
    const slot = this.ackRingCount++ % ACK_RING;
    this.ackRingSeq[slot] = this.rcvNxt;
    this.ackRingEdge[slot] = (this.rcvNxt + this.lastAdvertisedWindow) >>> 0;
  }

  /**
   * The highest RCV.NXT the peer has surely taken from our ACKs when data ending at `endSeq`
   * arrives at `nowUs`: an ACK sent at an earlier instant (no link delay, as on loopback), or
   * the first ACK whose right edge reaches `endSeq` (the peer sent past the edges before it only
   * after that ACK came); null when neither says.
   */
  protected ackedByPeer(nowUs: number, endSeq: number): number | null {
    let best: number | null = null;
    if (this.ackInstantUs >= 0 && nowUs > this.ackInstantUs) best = this.ackedInInstant;
    else if (this.ackedBeforeKnown) best = this.ackedBeforeInstant;
    const ringSeq = this.ackRingSeq;
    const ringEdge = this.ackRingEdge;
    if (ringSeq === null || ringEdge === null) return best;
    const oldest = Math.max(0, this.ackRingCount - ACK_RING);
    for (let i = oldest; i < this.ackRingCount; i++) {
      const slot = i % ACK_RING;
      if (((ringEdge[slot]! - endSeq) | 0) >= 0) {
        const seq = ringSeq[slot]!;
        if (best === null || ((seq - best) | 0) > 0) best = seq;
        break;
      }
    }
    return best;
  }

  /** Timestamps on a segment of the connection (tcb-options.ts). */
  protected abstract addTimestamps(nowUs: number, fields: SegmentFields): void;
  /** SACK blocks on a segment with ACK, once SACK is in effect (tcb-options.ts). */
  protected abstract addSackBlocks(fields: SegmentFields): void;
  /** The window field of a segment with these flags (tcb-options.ts). */
  protected abstract windowField(flags: number): number;
  /** The shift of the windows we advertise (tcb-options.ts). */
  abstract rcvWscale: number;

  protected afterSend(flags: number): void {
    if (flags & ACK) {
      this.lastAckedRcvNxt = this.rcvNxt;
      if (this.ackPending) {
        this.ackPending = false;
        this.env.clearTimer(this.self, TimerKind.DelayedAck);
      }
    }
  }

  /**
   * The fields of a segment to send, filled in the one object every reference TCB reuses (see
   * `TcbEnv.transmit`): options are added to it, then it is handed to `env.transmit` at once.
   */
  protected fields(seq: number, flags: number, payload: Uint8Array, retransmission: boolean): SegmentFields {
    const window = flags & ACK || flags & SYN ? this.windowField(flags) : 0;
    if (flags & ACK) this.lastAdvertisedWindow = flags & SYN ? window : window * 2 ** this.rcvWscale;
    const f = OUTGOING;
    f.seq = seq;
    f.ack = flags & ACK ? this.rcvNxt : 0;
    f.flags = flags;
    f.window = window;
    f.mss = 0;
    f.wscale = -1;
    f.sackOk = false;
    f.sackBlocks = NO_SACK_BLOCKS;
    f.tsVal = -1;
    f.tsEcr = 0;
    f.payload = payload;
    f.retransmission = retransmission;
    return f;
  }

  protected becomeClosed(cause: string): void {
    this.releaseTimers();
    this.outOfOrder.length = 0;
    if (this.orphaned) this.receiveQueue.clear();
    this.setState('CLOSED', cause);
    this.env.wake(this.self);
  }

  protected releaseTimers(): void {
    for (let kind = 0; kind < TIMER_COUNT; kind++) this.env.clearTimer(this.self, kind as TimerKind);
    this.ackPending = false;
  }

  protected takeError(): Errno {
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
    this.env.stateChanged(this.self, previous, next, cause);
  }

  protected assertState(expected: TcpState): void {
    if (this.state !== expected) throw new Error(`TCB ${this.id.connId} is ${this.state}, expected ${expected}`);
  }

  /**
   * Every field of this part back to what its declaration gives a new TCB, for `Tcb.remake`,
   * which makes a closed TCB over for another connection (the host's free list) rather than
   * allocate one; each part resets its own fields, containers emptied rather than replaced.
   * The values are written twice, here and where each field is declared, on purpose: V8 keeps
   * inside the object only the fields a constructor or a field initialiser sets. Set from one
   * method the constructor called instead, 60 of the 86 went to a separate property array (one
   * more load to reach each, 64 bytes more a TCB). `tcb-remake.test.ts` fails when the two
   * disagree or a field is left out here.
   */
  protected resetState(options: TcbOptions): void {
    this.state = 'CLOSED';
    this.passive = false;
    this.incarnation = 0;
    this.options = socketOptions(options);
    this.timerHandles.fill(null);
    this.hostEntry = null;
    this.irs = 0;
    this.rcvNxt = 0;
    this.lastAdvertisedWindow = 0;
    this.receiveQueue.clear();
    this.outOfOrder.length = 0;
    this.peerFinReceived = false;
    this.orphaned = false;
    this.readShutdown = false;
    this.ackPending = false;
    this.quickAcksLeft = this.config.quickAcks;
    this.pingpong = false;
    this.dataReceived = false;
    this.lastAckedRcvNxt = 0;
    this.synSpace = 1;
    this.finSpace = 1;
    this.lastOutOfWindowAckUs = -Infinity;
    this.error = null;
    this.timeWaitEnteredUs = -1;
    this.ackInstantUs = -1;
    this.ackedInInstant = 0;
    this.ackedBeforeInstant = 0;
    this.ackedBeforeKnown = false;
    this.ackRingSeq = null;
    this.ackRingEdge = null;
    this.ackRingCount = 0;
  }
}

export function isArmed(handle: unknown): boolean {
  return handle !== null && (handle as { pending: boolean }).pending;
}
