/**
 * The seam between the harness and a TCP implementation. A host drives its connections only
 * through `Connection`, and creates them only through an `Endpoint`, so a user can plug in their
 * own implementation, or a deliberately broken variant (the mutant zoo), and run the same
 * scenarios and properties against it.
 */
import type { StackConfig } from './config.js';
import type { StackFactory } from './stack.js';
import type { Segment } from './segment.js';
import type { TcpState } from './state.js';
import { Tcb, type Errno, type TcbEnv, type TcbIdentity, type TcbOptions, type TimerKind } from './tcb.js';

/** One endpoint of one connection, as the host sees it. */
export interface Connection {
  readonly id: TcbIdentity;
  readonly state: TcpState;
  readonly passive: boolean;
  incarnation: number;
  readonly options: TcbOptions;
  /** Opaque timer slots the environment owns, one per `TimerKind`. */
  readonly timerHandles: unknown[];
  /**
   * Opaque slot the host owns (its table entry for the connection), so it finds the socket and
   * listener of a connection without a map keyed by connections. Start it at null; never touch it.
   */
  hostEntry: unknown;
  /** close() was called: no more reads. */
  orphaned: boolean;
  /** The error the application sees next (SO_ERROR). */
  error: Errno | null;
  readonly sndNxt: number;
  readonly retransmissions: number;

  connect(nowUs: number, iss: number): void;
  acceptSyn(nowUs: number, seg: Segment, iss: number): void;
  send(nowUs: number, data: Uint8Array): number | Errno;
  recv(nowUs: number, maxBytes: number): Uint8Array | 'eof' | Errno;
  shutdownWrite(nowUs: number): void;
  /** shutdown(SHUT_RD): nothing more will be read (Linux RCV_SHUTDOWN). Optional for endpoints that do not track it. */
  shutdownRead?(): void;
  close(nowUs: number): void;
  abort(nowUs: number, cause: string): void;
  input(nowUs: number, seg: Segment): void;
  timeWaitInput(nowUs: number, seg: Segment): 'handled' | 'new-syn';
  onTimer(nowUs: number, kind: TimerKind): void;
  setState(next: TcpState, cause: string): void;
  /**
   * Optional: once in TIME-WAIT with its socket closed, a smaller connection that behaves the
   * same for the rest of TIME-WAIT, which the host keeps instead (Linux's inet_timewait_sock);
   * null to stay as it is. See time-wait.ts. `spare` is a record of a connection whose
   * TIME-WAIT is over, which nothing refers to any more: made over rather than a new one made
   * when it is of the kind this connection would make (the host's free list); null when none.
   */
  compactForTimeWait?(spare: Connection | null): Connection | null;
  /**
   * Optional: in TIME-WAIT with timestamps in use, what a connect() that reuses the 4-tuple
   * takes over (Linux tcp_twsk_unique); null otherwise. Absent: never reused.
   */
  timeWaitReuse?(): TimeWaitReuse | null;
  /** Optional: a connection that reuses a TIME-WAIT 4-tuple starts with its TS.Recent (tcp_twsk_unique). */
  inheritTsRecent?(tsRecent: number, stampUs: number): void;
}

/** What a TIME-WAIT connection hands to the connect() that reuses its 4-tuple. */
export interface TimeWaitReuse {
  readonly sndNxt: number;
  readonly tsRecent: number;
  readonly tsRecentStampUs: number;
  /** When it entered TIME-WAIT (Linux tw_entry_stamp). */
  readonly enteredUs: number;
}

/** The Linux bind rule's inputs for one other owner of the port (see Host.bindConflict). */
export interface BindCandidate {
  readonly newReuseAddr: boolean;
  readonly otherReuseAddr: boolean;
  readonly otherListening: boolean;
  readonly otherTimeWait: boolean;
  /** The check is listen()'s (inet_csk_listen_start), not bind()'s: Linux applies the same rule. */
  readonly atListen: boolean;
}

export interface Endpoint {
  readonly name: string;
  readonly description: string;
  /**
   * A whole-host stack to run instead of the reference Host (an external stack, src/stack/):
   * with it, `createConnection` and `bindConflicts` are never called. Lets the CLI name an
   * external stack wherever it names an endpoint (`--endpoint 'stack:CMD'`, `--stack CMD`).
   */
  readonly stackFactory?: StackFactory;
  /**
   * A new connection. `spare`, when given, is one of this endpoint's connections that has left
   * the host's tables and that nothing refers to any more (the host's free list): one that
   * reached CLOSED, or a TCB swapped for its TIME-WAIT record (still in TIME-WAIT). Made over, it
   * spares an allocation. An endpoint may ignore it.
   */
  createConnection(id: TcbIdentity, config: StackConfig, env: TcbEnv, options: TcbOptions, spare?: Connection | null): Connection;
  /** True when `candidate` stops the bind. */
  bindConflicts(candidate: BindCandidate): boolean;
  /**
   * Optional: the reset a host sends for a segment that finds no connection and no listener
   * (RFC 9293 §3.10.7.1), or null to send none. Absent: the RFC's rule (Host.closedInput). A
   * seam for variants of the host's own resets, such as the mutant zoo's.
   */
  readonly resetFor?: (cause: Segment) => { readonly seq: number; readonly ack: number; readonly flags: number } | null;
  /** Optional: the host's own settings (ephemeral port range, …) from the run's; absent: the run's. */
  readonly hostConfig?: (config: StackConfig) => StackConfig;
  /**
   * Optional, a seam for the mutant zoo only (`ephemeral-port-over-time-wait`): connect()'s port
   * search counts a 4-tuple held by a TIME-WAIT as free, and connect() opens the new connection
   * over it, as if Linux's __inet_check_established did not look in the TIME-WAIT hash. Absent or
   * false: Linux's search (Host.findConnectPort). The host reads it once, when it is made.
   */
  readonly portSearchIgnoresTimeWait?: boolean;
  /**
   * Optional, a seam for the mutant zoo only (`connect-ignores-bound-port`): connect() on a socket
   * bound to a port gives the port up and autobinds an ephemeral one, as if Linux's
   * __inet_hash_connect did not take inet_sk(sk)->inet_num when it is set. Absent or false: the
   * bound port is used. The host reads it once, when it is made.
   */
  readonly connectIgnoresBoundPort?: boolean;
}

/**
 * Linux inet_csk_bind_conflict with relax = true: another owner of the port conflicts unless
 * both have SO_REUSEADDR and the other is not listening. A TIME-WAIT connection keeps the
 * SO_REUSEADDR of the socket it came from, so the old and the new socket both need it (C11, C13).
 */
export function linuxBindConflicts(candidate: BindCandidate): boolean {
  return !(candidate.newReuseAddr && candidate.otherReuseAddr && !candidate.otherListening);
}

/** The reference endpoint: RFC 9293 with Linux's defaults. */
export const REFERENCE_ENDPOINT: Endpoint = {
  name: 'reference',
  description: 'RFC 9293 with Linux defaults',
  createConnection: (id, config, env, options, spare) => (spare instanceof Tcb ? spare.remake(id, config, env, options) : null) ?? new Tcb(id, config, env, options),
  bindConflicts: linuxBindConflicts,
};
