/**
 * The host-level seam: one host's whole TCP, as the world sees it. A real stack owns its own
 * demultiplexing, bind table and TIME-WAIT list, so the seam sits at the host, not at the TCB
 * (`Endpoint`, one connection at a time, is the finer seam the reference Host offers for the
 * mutant zoo, and stays as it is).
 *
 * Behind it sit the reference Host (src/tcp/host.ts, with any Endpoint) and external stacks
 * (src/stack/external.ts: a child process speaking docs/external-stack.md). Like the TCB, a
 * stack is clock-free: time is handed in with every call, timers are asked of the world, and
 * state changes are reported to it; the world turns those into scheduler events and trace
 * events, so every monitor judges every stack from the same trace.
 */
import type { StackConfig } from './config.js';
import type { Segment, SegmentToFill } from './segment.js';
import type { TcpState } from './state.js';
import type { Errno, TcbIdentity, TcbOptions, TimerKind } from './tcb.js';

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errno: Errno };

export type SocketOption =
  | { readonly name: 'SO_REUSEADDR'; readonly value: boolean }
  | { readonly name: 'SO_LINGER'; readonly value: { readonly onoff: boolean; readonly lingerSec: number } }
  /** The buffer size asked for; the stack doubles it as Linux's sock_setsockopt does (getsockopt reads the doubled value). */
  | { readonly name: 'SO_RCVBUF' | 'SO_SNDBUF'; readonly value: number };

export type ShutdownHow = 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR';

/** Options getsockopt(2) reads. */
export type SocketOptionName = 'SO_ERROR' | 'SO_REUSEADDR' | 'SO_LINGER' | 'SO_SNDBUF' | 'SO_RCVBUF' | 'SO_TYPE';

/** What getsockopt returns: a number (SO_ERROR: 0 or the pending errno's name), or SO_LINGER's pair. */
export type SocketOptionValue = number | Errno | { readonly onoff: boolean; readonly lingerSec: number };

/**
 * What the world knows of one connection of a stack: who it is (for trace events), its state
 * (for the incarnation count of a simultaneous open and for end-of-run checks), and the slots the
 * world keeps its timer events in. The reference's TCBs are views of themselves; an external
 * stack keeps one view per connection it reports.
 */
export interface ConnectionView {
  readonly id: TcbIdentity;
  readonly state: TcpState;
  readonly passive: boolean;
  incarnation: number;
  readonly options: TcbOptions;
  /** Opaque timer slots the world owns, one per `TimerKind`. */
  readonly timerHandles: unknown[];
  /** The world's timer `kind` on this connection fired. */
  onTimer(nowUs: number, kind: TimerKind): void;
  /**
   * The retransmission timer is armed for a tail-loss probe (Linux ICSK_TIME_LOSS_PROBE shares
   * the slot of ICSK_TIME_RETRANS), so the trace names it `loss-probe`. Optional.
   */
  readonly lossProbePending?: boolean;
}

/** One host's TCP: the BSD socket calls (never blocking), segments in, and its connections. */
export interface Stack {
  readonly ip: number;
  readonly name: string;
  readonly config: StackConfig;
  /** False while the host is down (crashed). */
  readonly up: boolean;

  socket(): number;
  setsockopt(fd: number, option: SocketOption): Result<void>;
  getsockopt(fd: number, name: SocketOptionName): Result<SocketOptionValue>;
  /** fcntl O_NONBLOCK: only what connect returns (EINPROGRESS) and whether the program waits depend on it. */
  setNonBlocking(fd: number, nonBlocking: boolean): Result<void>;
  isNonBlocking(fd: number): boolean;
  /** `address` is ANY_ADDRESS (0, the wildcard) or one of the host's addresses. */
  bind(fd: number, port: number, address?: number): Result<number>;
  listen(fd: number, backlog: number): Result<void>;
  /** EAGAIN when no connection is waiting. */
  accept(fd: number): Result<number>;
  /** Starts the handshake; `connectResult` says how it ended (null while under way). */
  connect(fd: number, remoteIp: number, remotePort: number): Result<void>;
  connectResult(fd: number): Result<void> | null;
  /** Bytes taken (possibly fewer than offered), or EAGAIN when none fit. */
  send(fd: number, data: Uint8Array): Result<number>;
  /** Bytes, an empty array for end-of-file, or EAGAIN. */
  recv(fd: number, maxBytes: number): Result<Uint8Array>;
  shutdown(fd: number, how: ShutdownHow): Result<void>;
  close(fd: number): Result<void>;
  /** Every connection vanishes without a segment, every descriptor is gone. */
  crash(): void;
  restart(): void;

  /** A segment delivered to this host by the network. */
  receive(seg: Segment, nowUs: number): void;

  /** Run `callback` once, the next time something changes on `fd`; false when there is no such descriptor. */
  onWake(fd: number, callback: () => void): boolean;
  /** The connection `fd` reaches, or -1. */
  connIdOf(fd: number): number;
  /** The live connection of a 4-tuple, TIME-WAIT included. */
  lookup(remoteIp: number, remotePort: number, localPort: number): ConnectionView | undefined;
  /** Every connection ever made (while the world keeps them), for end-of-run checks. */
  readonly allTcbs: readonly ConnectionView[];
  /** Every live connection, TIME-WAIT included. */
  liveTcbs(): Iterable<ConnectionView>;
  /** The host timer asked for with `StackEnv.setHostTimer` fired. */
  onHostTimer?(nowUs: number): void;
}

/** What a stack needs from the world: time, ids, timers, incarnations, and the trace. */
export interface StackEnv {
  readonly nowUs: number;
  sendSegment(seg: Segment): void;
  setTimer(tcb: ConnectionView, kind: TimerKind, atUs: number): void;
  clearTimer(tcb: ConnectionView, kind: TimerKind): void;
  nextSegmentId(): number;
  nextConnId(): number;
  /** Incarnation number for a new active open of this 4-tuple. */
  newIncarnation(localIp: number, localPort: number, remoteIp: number, remotePort: number): number;
  stateChanged(tcb: ConnectionView, from: TcpState, to: TcpState, cause: string): void;
  timeWaitRestarted(tcb: ConnectionView, cause: string): void;
  segmentAccepted(tcb: ConnectionView, seg: Segment): void;
  /** A listening socket opened or closed (traced as a `listen` event). */
  socketClosedListener(host: Stack, port: number, from: TcpState, to: TcpState): void;
  /** `to` stands in for `from` from now on: its timers and trace identity move over. */
  connectionReplaced(from: ConnectionView, to: ConnectionView): void;
  /** A timer of the whole host (not traced), as a stack driven by ticks wants (lwIP's tcp_tmr); one per host. */
  setHostTimer(host: Stack, atUs: number): void;
  /**
   * Something outside the host may hold a connection object past its end (a trace listener, a
   * protocol's handle table): the host then never makes a finished connection's objects over for
   * another (Host's spare TIME-WAIT records). Read when a connection ends, so it may turn true mid-run.
   */
  readonly observesConnections: boolean;
  /**
   * A segment the network is done with, to fill in and send rather than make a new one; null
   * when there is none (always, while anything may keep segments: a trace, a scripted peer,
   * a stack of another kind).
   */
  spareSegment(): SegmentToFill | null;
}

/** Where a host sits and how it is set up, for a factory to build its stack. */
export interface StackParams {
  readonly seed: number;
  readonly name: string;
  readonly ip: number;
  readonly config: StackConfig;
  /** Keep every connection ever made in `allTcbs`. */
  readonly keepClosedConnections: boolean;
  /** The reference's TIME-WAIT records (src/tcp/time-wait.ts); other stacks may ignore it. */
  readonly compactTimeWait: boolean;
}

/** Builds one host's stack. The reference factory builds a Host; src/stack builds external ones. */
export interface StackFactory {
  readonly name: string;
  readonly description: string;
  create(params: StackParams, env: StackEnv): Stack;
}
