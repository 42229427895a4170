/**
 * Monitors watch a run's trace, event by event (safety) and once it has gone quiet (liveness),
 * and report the first violation of the promise they check. They read only the trace, never
 * TCP internals, so they judge any endpoint the same way (TigerBeetle's state checker).
 */
import type { TcpState } from '../tcp/state.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { PairTable } from './tuple-table.js';

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
  /**
   * Optional: `conn` is past judging (ConnBook.forgetting says when): drop what is kept for it.
   * A MonitorSet calls it after every monitor has seen the event that made it so.
   */
  forgetConnection?(conn: ConnInfo): void;
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
 *
 * With `forgetting` on (a MonitorSet turns it on), the book also finds connections that can no
 * longer be judged, so that the monitors can drop what they keep for them (issue #13: a run of
 * 10^5 lifecycles kept every one). A 4-tuple's connections, every incarnation since the last
 * time, are past judging together once all three hold:
 * - each is CLOSED (or, a passive child, back to LISTEN): no state, timer or segment of its own follows;
 * - the application has closed each one's descriptor (a `close` call that succeeded), or its
 *   host crashed: no call reads or writes it any more (a connection can outlive its TCB for the
 *   program: TIME-WAIT expires under a socket that still has data to read, a reset child can
 *   still be accepted);
 * - no segment of the 4-tuple, either way, is in flight (every one sent or duplicated has been
 *   delivered or dropped): nothing old can arrive and be judged against them.
 * After that, events of the 4-tuple can only come from a new connection, which has a new id
 * and a new incarnation, and which inherits nothing from them: tcp_tw_reuse's take-over (which
 * carries TS.Recent over) needs a TIME-WAIT still there. To be sure of that, they are forgotten
 * only once their instant is over, and only if the 4-tuple is still quiet then (a take-over by
 * connect() ends the TIME-WAIT and starts the new connection at one instant). Connections that never meet all three (a child never accepted, a
 * connection whose descriptor got a new connection by a second connect) are kept, as before.
 */
export class ConnBook {
  /** One record per connection (who, state, peer, forgetting): one map entry each, not four. */
  private readonly records = new Map<number, ConnRecord>();
  /** Connections by id. */
  readonly byId: ConnView<ConnInfo> = new ConnView(this.records, (record) => record.conn);
  /** The latest state of each connection, in the order they were first seen. */
  readonly stateOf: ConnView<TcpState> = new ConnView(this.records, (record) => record.state);
  /**
   * Direction (4-tuple) -> the first connection id of each incarnation, as pairs in one array
   * (incarnation, id, incarnation, id…; most directions have one): integer keys, no string per
   * lookup, no map per direction.
   */
  private readonly byDirection = new TupleMap<number[]>();
  /** Off: nothing is ever forgotten (a monitor on its own keeps its own book). */
  private forgets = false;
  private nowUs = 0;
  /** 4-tuples (lower endpoint first) with a connection or a segment in flight, while forgetting. */
  private readonly tuples = new TupleMap<TupleLife>();
  /** 4-tuples found past judging, to forget once their instant is over. */
  private quiet: TupleLife[] = [];

  /** Start finding connections past judging; `forgetQuiet` then drops them. */
  startForgetting(): void {
    this.forgets = true;
  }

  /** Feed every event; returns nothing. */
  observe(event: TraceEvent): void {
    this.nowUs = event.atUs;
    if (event.type === 'state') {
      const conn = event.conn;
      let record = this.records.get(conn.connId);
      if (record === undefined) {
        record = { conn, state: event.to, peerId: -1, tuple: null, ended: false, released: false, inFlight: 0 };
        this.records.set(conn.connId, record);
        // Keep the first connection of a direction and incarnation: a listener child made by an
        // old duplicate SYN shares both with the connection that SYN belonged to.
        const byIncarnation = this.byDirection.get(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
        if (byIncarnation === undefined) this.byDirection.set(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort, [conn.incarnation, conn.connId]);
        else if (firstOfIncarnation(byIncarnation, conn.incarnation) === undefined) byIncarnation.push(conn.incarnation, conn.connId);
      }
      record.state = event.to;
      if (this.forgets) this.onState(record, event.to);
      return;
    }
    if (!this.forgets) return;
    if (event.type === 'segment') {
      const seg = event.seg;
      const fate = event.fate;
      const adds = fate === 'sent' || fate === 'duplicated';
      if (!adds && fate !== 'delivered' && fate !== 'dropped') return;
      // Counted on the sender's record when it has one (one lookup by id), else on the 4-tuple.
      const sender = seg.connId >= 0 ? this.records.get(seg.connId) : undefined;
      if (sender !== undefined && sender.tuple !== null) {
        if (adds) {
          sender.inFlight++;
          sender.tuple.inFlight++;
        } else if (sender.inFlight > 0) {
          sender.inFlight--;
          sender.tuple.inFlight--;
          this.check(sender.tuple);
        }
        return;
      }
      if (adds) {
        this.tupleOf(seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort, true)!.inFlight++;
        return;
      }
      const tuple = this.tupleOf(seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort, false);
      if (tuple !== undefined && tuple.inFlight > 0) {
        tuple.inFlight--;
        this.check(tuple);
      }
    } else if (event.type === 'call') {
      if (event.connId >= 0 && event.call.op === 'close' && event.result === 'ok') {
        const record = this.records.get(event.connId);
        if (record !== undefined) this.release(record);
      }
    } else if (event.type === 'host' && event.event === 'crash') {
      // Every descriptor of the host is gone (its connections' CLOSED came just before).
      for (const record of this.records.values()) if (record.conn.host === event.host) this.release(record);
    }
  }

  private onState(record: ConnRecord, to: TcpState): void {
    const conn = record.conn;
    let tuple = record.tuple;
    if (tuple === null) {
      tuple = this.tupleOf(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort, true)!;
      record.tuple = tuple;
      tuple.conns.push(conn);
      tuple.live++;
      tuple.unreleased++;
    }
    const ended = to === 'CLOSED' || (to === 'LISTEN' && conn.passive);
    if (ended === record.ended) return;
    record.ended = ended;
    tuple.live += ended ? -1 : 1;
    this.check(tuple);
  }

  private release(record: ConnRecord): void {
    if (record.tuple === null || record.released) return;
    record.released = true;
    record.tuple.unreleased--;
    this.check(record.tuple);
  }

  private check(tuple: TupleLife): void {
    if (tuple.live > 0 || tuple.unreleased > 0 || tuple.inFlight > 0 || tuple.queued) return;
    if (tuple.conns.length === 0) {
      this.tuples.delete(tuple.lowIp, tuple.lowPort, tuple.highIp, tuple.highPort);
      return;
    }
    tuple.queued = true;
    tuple.quietAtUs = this.nowUs;
    this.quiet.push(tuple);
  }

  /** True when connections found past judging before `nowUs` wait to be forgotten. */
  hasQuietBefore(nowUs: number): boolean {
    return this.quiet.length > 0 && this.quiet[0]!.quietAtUs < nowUs;
  }

  /**
   * Tell `monitors` to forget the connections found past judging before `nowUs` whose 4-tuple
   * is still quiet, then forget them here too. Call it after every monitor has seen the event at
   * `nowUs`.
   */
  forgetQuiet(monitors: readonly Monitor[], nowUs: number): void {
    const later: TupleLife[] = [];
    for (const tuple of this.quiet) {
      if (tuple.quietAtUs >= nowUs) {
        later.push(tuple);
        continue;
      }
      tuple.queued = false;
      // Something joined it in the meantime: it is judged on until it is quiet again.
      if (tuple.live > 0 || tuple.unreleased > 0 || tuple.inFlight > 0) continue;
      this.tuples.delete(tuple.lowIp, tuple.lowPort, tuple.highIp, tuple.highPort);
      for (const conn of tuple.conns) {
        for (let i = 0; i < monitors.length; i++) monitors[i]!.forgetConnection!(conn);
        const id = conn.connId;
        this.records.delete(id);
        const byIncarnation = this.byDirection.get(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
        if (byIncarnation !== undefined) {
          for (let i = 0; i < byIncarnation.length; i += 2) {
            if (byIncarnation[i] !== conn.incarnation || byIncarnation[i + 1] !== id) continue;
            byIncarnation.splice(i, 2);
            break;
          }
          if (byIncarnation.length === 0) this.byDirection.delete(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
        }
      }
    }
    this.quiet = later;
  }

  /** The life of an undirected 4-tuple (found from either direction); made when `create`. */
  private tupleOf(ipA: number, portA: number, ipB: number, portB: number, create: boolean): TupleLife | undefined {
    const aFirst = ipA < ipB || (ipA === ipB && portA <= portB);
    const lowIp = aFirst ? ipA : ipB;
    const lowPort = aFirst ? portA : portB;
    const highIp = aFirst ? ipB : ipA;
    const highPort = aFirst ? portB : portA;
    let tuple = this.tuples.get(lowIp, lowPort, highIp, highPort);
    if (tuple === undefined && create) {
      tuple = { lowIp, lowPort, highIp, highPort, conns: [], live: 0, unreleased: 0, inFlight: 0, queued: false, quietAtUs: -1 };
      this.tuples.set(lowIp, lowPort, highIp, highPort, tuple);
    }
    return tuple;
  }

  peerOf(conn: ConnInfo): ConnInfo | undefined {
    const record = this.records.get(conn.connId);
    if (record !== undefined && record.peerId >= 0) return this.records.get(record.peerId)?.conn;
    // The first connection of the reverse direction and incarnation (byDirection keeps the
    // first), so the answer, once found, stands; until then each call looks again.
    const byIncarnation = this.byDirection.get(conn.remoteIp, conn.remotePort, conn.localIp, conn.localPort);
    const id = byIncarnation === undefined ? undefined : firstOfIncarnation(byIncarnation, conn.incarnation);
    if (id === undefined) return undefined;
    if (record !== undefined) record.peerId = id;
    return this.records.get(id)?.conn;
  }
}

/** The connection id paired with `incarnation` in (incarnation, id…) pairs; a direction has a few at most. */
function firstOfIncarnation(pairs: readonly number[], incarnation: number): number | undefined {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === incarnation) return pairs[i + 1];
  return undefined;
}

/** What the book knows of one connection. */
interface ConnRecord {
  readonly conn: ConnInfo;
  state: TcpState;
  /** Its peer once found (a peer, once known, never changes), or -1. */
  peerId: number;
  /** Its 4-tuple, while forgetting (null until its first state with forgetting on). */
  tuple: TupleLife | null;
  /** CLOSED, or a passive child back to LISTEN. */
  ended: boolean;
  /** Its descriptor was closed (or its host crashed). */
  released: boolean;
  /** Its segments counted in its 4-tuple's `inFlight`. */
  inFlight: number;
}

/** A read-only view of one field of the book's records, by connection id, in the order first seen. */
export class ConnView<T> {
  constructor(
    private readonly records: ReadonlyMap<number, ConnRecord>,
    private readonly field: (record: ConnRecord) => T,
  ) {}

  get size(): number {
    return this.records.size;
  }

  get(connId: number): T | undefined {
    const record = this.records.get(connId);
    return record === undefined ? undefined : this.field(record);
  }

  has(connId: number): boolean {
    return this.records.has(connId);
  }

  *[Symbol.iterator](): Generator<[number, T]> {
    for (const [id, record] of this.records) yield [id, this.field(record)];
  }
}

/** One undirected 4-tuple: its connections since it was last forgotten, and what keeps them. */
interface TupleLife {
  readonly lowIp: number;
  readonly lowPort: number;
  readonly highIp: number;
  readonly highPort: number;
  readonly conns: ConnInfo[];
  /** Connections not ended. */
  live: number;
  /** Connections whose descriptor is still open. */
  unreleased: number;
  /** Segments of the 4-tuple sent or duplicated and not yet delivered or dropped. */
  inFlight: number;
  /** Waiting in `quiet`, since `quietAtUs`. */
  queued: boolean;
  quietAtUs: number;
}

/**
 * Values by directed 4-tuple (local ip:port, remote ip:port) in one flat table: no string per
 * lookup, and no inner map per local endpoint (at 10^5 connections in TIME-WAIT those inner maps
 * were most of a monitored run's memory). An address becomes a 10-bit index (the first 1,024
 * addresses a thread meets; the index only names, it orders nothing), so each end is a 26-bit
 * integer and the pair a key of `PairTable` (tuple-table.ts). Past 1,024 addresses a string key
 * takes over. No iteration: for values in a fixed order use `GroupedTupleMap`.
 */
export class TupleMap<T> {
  private readonly byPair = new PairTable<T>();
  private byText: Map<string, T> | null = null;

  get size(): number {
    return this.byPair.size + (this.byText?.size ?? 0);
  }

  get(localIp: number, localPort: number, remoteIp: number, remotePort: number): T | undefined {
    const local = endIndex(localIp, localPort);
    const remote = endIndex(remoteIp, remotePort);
    return local >= 0 && remote >= 0 ? this.byPair.get(local, remote) : this.byText?.get(tupleText(localIp, localPort, remoteIp, remotePort));
  }

  set(localIp: number, localPort: number, remoteIp: number, remotePort: number, value: T): void {
    const local = endIndex(localIp, localPort);
    const remote = endIndex(remoteIp, remotePort);
    if (local >= 0 && remote >= 0) this.byPair.set(local, remote, value);
    else (this.byText ??= new Map()).set(tupleText(localIp, localPort, remoteIp, remotePort), value);
  }

  delete(localIp: number, localPort: number, remoteIp: number, remotePort: number): void {
    const local = endIndex(localIp, localPort);
    const remote = endIndex(remoteIp, remotePort);
    if (local >= 0 && remote >= 0) this.byPair.delete(local, remote);
    else this.byText?.delete(tupleText(localIp, localPort, remoteIp, remotePort));
  }
}

/** Address -> 10-bit index, for the whole thread (an index only names an address). */
const ADDRESS_INDEX = new Map<number, number>();
const ADDRESS_INDEXES = 1024;
/** The last two addresses looked up: a run's segments go between a few hosts, mostly two. */
let lastIp = -1;
let lastIndex = -1;
let otherIp = -1;
let otherIndex = -1;

function addressIndex(ip: number): number {
  if (ip === lastIp) return lastIndex;
  if (ip === otherIp) {
    const index = otherIndex;
    otherIp = lastIp;
    otherIndex = lastIndex;
    lastIp = ip;
    lastIndex = index;
    return index;
  }
  const index = lookUpAddressIndex(ip);
  if (index >= 0) {
    otherIp = lastIp;
    otherIndex = lastIndex;
    lastIp = ip;
    lastIndex = index;
  }
  return index;
}

function lookUpAddressIndex(ip: number): number {
  let index = ADDRESS_INDEX.get(ip);
  if (index === undefined) {
    if (ADDRESS_INDEX.size >= ADDRESS_INDEXES) return -1;
    index = ADDRESS_INDEX.size;
    ADDRESS_INDEX.set(ip, index);
  }
  return index;
}

/** The 52-bit key of a directed 4-tuple, or -1 when an address has no index. */
/** One end as a 26-bit integer (its address's index, its port), or -1 past 1,024 addresses. */
function endIndex(ip: number, port: number): number {
  const index = addressIndex(ip);
  return index < 0 ? -1 : index * 65536 + port;
}

function tupleText(localIp: number, localPort: number, remoteIp: number, remotePort: number): string {
  return `${localIp}:${localPort}>${remoteIp}:${remotePort}`;
}

/**
 * Values by directed 4-tuple, iterated grouped by local endpoint (in the order the endpoints
 * were first seen), then by remote endpoint: an inner map per local endpoint. For the monitors
 * whose end-of-run report depends on that order.
 */
export class GroupedTupleMap<T> {
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
