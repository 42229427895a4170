/**
 * Monitors watch a run's trace, event by event (safety) and once it has gone quiet (liveness),
 * and report the first violation of the promise they check. They read only the trace, never
 * TCP internals, so they judge any endpoint the same way (TigerBeetle's state checker).
 */
import type { TcpState } from '../tcp/state.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';

export interface Violation {
  readonly monitor: string;
  readonly claims: readonly string[];
  readonly atUs: number;
  /** Index of the event in the trace at which it was seen (-1 when found at the end). */
  readonly eventIndex: number;
  readonly connId: number;
  readonly incarnation: number;
  readonly message: string;
}

/** What monitors need to know about the run beyond its trace. */
export interface MonitorContext {
  /** The network's MSL: TIME-WAIT must last exactly `expectedTimeWaitUs`. */
  readonly mslUs: number;
  readonly expectedTimeWaitUs: number;
  /** Linux's delayed-ACK timeout in force (0 = none): decides the expected close shape (C7). */
  readonly delayedAckUs: number;
  /**
   * Linux's timer tick (1 s / CONFIG_HZ; 4 ms, HZ 250, when absent): a FIN that came before any
   * data is ACKed at the next tick (close-shape). Ticks fall on multiples of it in virtual time.
   */
  readonly jiffyUs?: number;
  /** Linux tcp_fin_timeout: how long an orphaned FIN-WAIT-2 lasts (orphan-fin-wait-2); unchecked when absent. */
  readonly finWait2TimeoutUs?: number;
  /** True when no link ever loses, duplicates, delays unevenly or reorders: close-shape applies. */
  readonly cleanNetwork: boolean;
  /** True when TIME-WAIT is honoured (no abort, crash or RFC 1337 assassination) and segments live at most MSL: no-stale-segment must hold. */
  readonly staleSegmentsImpossible: boolean;
  /** RFC 1337 protection (Linux tcp_rfc1337): an in-window RST is no way out of TIME-WAIT. Default false, Linux's. */
  readonly rfc1337?: boolean;
  /** SYN retransmissions before connect() gives up with ETIMEDOUT (Linux tcp_syn_retries); unchecked when absent. */
  readonly synRetries?: number;
  /**
   * The SYNs connect() sends before ETIMEDOUT (Linux tcp_syn_retries with tcp_syn_linear_timeouts
   * and the time limit: src/tcp/tcb-timers.ts unansweredSynSchedule); when absent, 1 + synRetries.
   */
  readonly synsBeforeTimeout?: number;
  /** Each host's IP address, by name: lets a monitor relate calls (named hosts) to the wire (addresses). */
  readonly hostIps?: ReadonlyMap<string, number>;
  /** The stack's ip_local_port_range (Linux's 32768-60999 when absent). */
  readonly ephemeralPortMin?: number;
  readonly ephemeralPortMax?: number;
  /** The stack's tcp_max_tw_buckets: only with this many TIME-WAITs on the host may a closer skip it (unchecked when absent). */
  readonly maxTwBuckets?: number;
}

export interface EndOfRun {
  readonly atUs: number;
  /** Why the run stopped: liveness is judged only when it went idle or hit the derived bound. */
  readonly stoppedBy: string;
  readonly eventCount: number;
}

/**
 * Trace events a monitor reads, by type; `segment-sent` for segments put on the wire only (not
 * their delivery, loss, …). A MonitorSet hands a monitor only these; one without a list gets all.
 */
export type MonitorInterest = TraceEvent['type'] | 'segment-sent';

export interface Monitor {
  readonly name: string;
  /** Claim ids (C1…) or RFC rules this monitor checks. */
  readonly claims: readonly string[];
  readonly description: string;
  /**
   * True when the monitor judges only what can be observed from outside — segments on the wire
   * and the results of the application's calls — and would judge an external stack (one that
   * reports no states) the same way. False when it still reads the endpoint's own reports
   * (state changes, accepted segments); its description says which.
   */
  readonly blackBox: boolean;
  onEvent(event: TraceEvent, index: number): void;
  atEnd(end: EndOfRun): void;
  /** The first violation seen, or null. */
  readonly violation: Violation | null;
  /** Optional: read connections from `book`, which the caller feeds every event first. */
  shareBook?(book: ConnBook): void;
  /** Optional: the events the monitor reads (all when absent); in a MonitorSet it gets no others. */
  readonly interests?: readonly MonitorInterest[];
}

/** Shared plumbing: remember only the first violation. */
export abstract class BaseMonitor implements Monitor {
  abstract readonly name: string;
  abstract readonly claims: readonly string[];
  abstract readonly description: string;
  abstract readonly blackBox: boolean;
  violation: Violation | null = null;
  private bookValue: ConnBook | null = null;
  private ownBook = true;

  constructor(protected readonly context: MonitorContext) {}

  /**
   * Connections seen so far. A monitor on its own keeps one and feeds it in `track`; in a
   * MonitorSet every monitor reads one shared book that the set feeds once per event, before
   * any monitor sees the event (eight books fed the same events were a sixth of a monitored run).
   */
  protected get book(): ConnBook {
    return (this.bookValue ??= new ConnBook());
  }

  shareBook(book: ConnBook): void {
    this.bookValue = book;
    this.ownBook = false;
  }

  /** Bring `book` up to date with `event`: the first thing a monitor that reads it does. */
  protected track(event: TraceEvent): void {
    if (this.ownBook) this.book.observe(event);
  }

  abstract onEvent(event: TraceEvent, index: number): void;
  atEnd(_end: EndOfRun): void {}

  protected report(atUs: number, eventIndex: number, conn: ConnInfo | null, message: string): void {
    if (this.violation !== null) return;
    this.violation = {
      monitor: this.name,
      claims: this.claims,
      atUs,
      eventIndex,
      connId: conn?.connId ?? -1,
      incarnation: conn?.incarnation ?? -1,
      message,
    };
  }
}

/**
 * Connections by id and by direction, from state events: which connection a segment came
 * from, and which is its peer (same 4-tuple reversed, same incarnation).
 */
export class ConnBook {
  readonly byId = new Map<number, ConnInfo>();
  readonly stateOf = new Map<number, TcpState>();
  /** Direction (4-tuple) -> incarnation -> first connection id: integer keys, no string per lookup. */
  private readonly byDirection = new TupleMap<Map<number, number>>();
  /** Peers found so far: a connection's peer, once known, never changes. */
  private readonly peerIdOf = new Map<number, number>();

  /** Feed every event; returns nothing. */
  observe(event: TraceEvent): void {
    if (event.type !== 'state') return;
    const conn = event.conn;
    if (!this.byId.has(conn.connId)) {
      this.byId.set(conn.connId, conn);
      // Keep the first connection of a direction and incarnation: a listener child made by an
      // old duplicate SYN shares both with the connection that SYN belonged to.
      let byIncarnation = this.byDirection.get(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
      if (byIncarnation === undefined) {
        byIncarnation = new Map();
        this.byDirection.set(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort, byIncarnation);
      }
      if (!byIncarnation.has(conn.incarnation)) byIncarnation.set(conn.incarnation, conn.connId);
    }
    this.stateOf.set(conn.connId, event.to);
  }

  peerOf(conn: ConnInfo): ConnInfo | undefined {
    const known = this.peerIdOf.get(conn.connId);
    if (known !== undefined) return this.byId.get(known);
    // The first connection of the reverse direction and incarnation (byDirection keeps the
    // first), so the answer, once found, stands; until then each call looks again.
    const id = this.byDirection.get(conn.remoteIp, conn.remotePort, conn.localIp, conn.localPort)?.get(conn.incarnation);
    if (id === undefined) return undefined;
    this.peerIdOf.set(conn.connId, id);
    return this.byId.get(id);
  }

}

/**
 * Values by directed 4-tuple (local ip:port, remote ip:port), without building a string per
 * lookup: an ip (32 bits) and a port (16 bits) make one exact integer below 2^48.
 */
export class TupleMap<T> {
  private readonly byLocal = new Map<number, Map<number, T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(localIp: number, localPort: number, remoteIp: number, remotePort: number): T | undefined {
    return this.byLocal.get(endpointKey(localIp, localPort))?.get(endpointKey(remoteIp, remotePort));
  }

  set(localIp: number, localPort: number, remoteIp: number, remotePort: number, value: T): void {
    const local = endpointKey(localIp, localPort);
    let remotes = this.byLocal.get(local);
    if (remotes === undefined) {
      remotes = new Map();
      this.byLocal.set(local, remotes);
    }
    const remote = endpointKey(remoteIp, remotePort);
    if (!remotes.has(remote)) this.count++;
    remotes.set(remote, value);
  }

  delete(localIp: number, localPort: number, remoteIp: number, remotePort: number): void {
    const local = endpointKey(localIp, localPort);
    const remotes = this.byLocal.get(local);
    if (remotes === undefined || !remotes.delete(endpointKey(remoteIp, remotePort))) return;
    this.count--;
    if (remotes.size === 0) this.byLocal.delete(local);
  }

  *values(): Generator<T> {
    for (const remotes of this.byLocal.values()) yield* remotes.values();
  }
}

function endpointKey(ip: number, port: number): number {
  return (ip >>> 0) * 65536 + port;
}
