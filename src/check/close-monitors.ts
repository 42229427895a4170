/** Monitors of closing and of the byte stream: C5–C7, C14, C15. */
import { LINUX_DEFAULTS } from '../tcp/config.js';
import { ACK, FIN, RST, SYN, type Segment } from '../tcp/segment.js';
import { seqAdd, seqLt } from '../tcp/seq.js';
import type { TcpState } from '../tcp/state.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { BaseMonitor, TupleMap, type EndOfRun, type MonitorInterest } from './monitor.js';

/** Linux's tick at HZ 250, when the context gives none. */
const DEFAULT_JIFFY_US = 4_000;

/** What the wire has shown of one connection, as far as close-shape needs it. */
interface WireSide {
  /** A segment with data reached this side (Linux then sets its delayed-ACK timeout). */
  dataArrived: boolean;
  /** This side has sent a FIN. */
  finSent: boolean;
}

interface CloseWatch {
  readonly active: ConnInfo;
  readonly passive: ConnInfo;
  /** When the active closer's FIN reached the passive side. */
  readonly finArrivedUs: number;
  /** No data reached the passive side before or with the FIN: Linux ACKs the FIN at once. */
  readonly noDataBeforeFin: boolean;
  /** Segments of the close so far, the active closer's FIN included. */
  segments: number;
  passiveSentData: boolean;
  passiveClosedUs: number;
  /** The passive closer's FIN: the ACK of it (seq + length + 1) ends the close; -1 until sent. */
  passiveFinAck: number;
}

/**
 * `close-shape` (C5, C7), judged from the wire and the application's calls: on a clean network, a
 * passive closer that closes before its delayed-ACK timer fires, sending nothing first, gives
 * the three-segment close — FIN, FIN+ACK, ACK; one that closes later or still sends data gives
 * four or more. When the timer fires depends on what reached the passive closer before the FIN
 * (Linux tcp_send_delayed_ack): after data, the delayed-ACK timeout (40 ms); before any data
 * `icsk_ack.ato` is still 0 (tcp_event_data_recv sets it), so the timer fires at the next timer
 * tick (`jiffyUs`) — a close a few milliseconds after such a FIN takes four segments. A close at
 * the very tick could go either way and is not judged. The close runs from the active closer's
 * FIN reaching its peer to the active closer's ACK of the passive closer's FIN. Simultaneous
 * closes and resets are not this monitor's business.
 */
export class CloseShapeMonitor extends BaseMonitor {
  readonly name = 'close-shape';
  readonly claims = ['C5', 'C7'];
  readonly description = 'clean link: a passive close before the delayed-ACK timer (40 ms after data, the next tick before any) takes 3 segments, a later one 4 or more (from the wire and the close calls)';
  readonly blackBox = true;
  readonly interests: readonly MonitorInterest[] = ['segment', 'call'];
  private readonly sides = new Map<number, WireSide>();
  /** Watches by connection id, both the active and the passive closer's. */
  private readonly watches = new Map<number, CloseWatch>();
  /** Connections whose close this monitor no longer judges (a reset, a simultaneous close). */
  private readonly spoiled = new Set<number>();

  /** Past judging (ConnBook): drop what is kept for it. */
  forgetConnection(conn: ConnInfo): void {
    this.sides.delete(conn.connId);
    this.watches.delete(conn.connId);
    this.spoiled.delete(conn.connId);
  }

  onEvent(event: TraceEvent, index: number): void {
    if (!this.context.cleanNetwork) return;
    this.track(event);
    if (event.type === 'call') {
      this.onCall(event);
      return;
    }
    if (event.type !== 'segment') return;
    if (event.fate === 'delivered') this.onDelivered(event.seg, event.atUs);
    else if (event.fate === 'sent') this.onSent(event.seg, event.atUs, index);
  }

  private side(connId: number): WireSide {
    let side = this.sides.get(connId);
    if (side === undefined) {
      side = { dataArrived: false, finSent: false };
      this.sides.set(connId, side);
    }
    return side;
  }

  private onDelivered(seg: Segment, atUs: number): void {
    if (seg.connId < 0 || this.spoiled.has(seg.connId)) return;
    const sender = this.book.byId.get(seg.connId);
    const receiver = sender === undefined ? undefined : this.book.peerOf(sender);
    if (sender === undefined || receiver === undefined) return;
    const side = this.side(receiver.connId);
    const hadData = side.dataArrived;
    if (seg.payload.length > 0) side.dataArrived = true;
    if (!(seg.flags & FIN) || this.watches.has(seg.connId) || this.spoiled.has(receiver.connId)) return;
    // The first FIN of the pair reaching the other side; a peer that sent its own FIN already
    // is closing simultaneously.
    if (side.finSent) {
      this.spoil(sender, receiver);
      return;
    }
    const watch: CloseWatch = {
      active: sender,
      passive: receiver,
      finArrivedUs: atUs,
      noDataBeforeFin: !hadData && seg.payload.length === 0,
      segments: 1,
      passiveSentData: false,
      passiveClosedUs: -1,
      passiveFinAck: -1,
    };
    this.watches.set(sender.connId, watch);
    this.watches.set(receiver.connId, watch);
  }

  private onSent(seg: Segment, atUs: number, index: number): void {
    if (seg.connId < 0) return;
    const id = seg.connId;
    if (seg.flags & FIN) this.side(id).finSent = true;
    const watch = this.watches.get(id);
    if (watch === undefined) return;
    if (seg.flags & RST) {
      this.spoil(watch.active, watch.passive);
      return;
    }
    watch.segments++;
    if (id === watch.passive.connId) {
      if (seg.payload.length > 0 && watch.passiveClosedUs < 0) watch.passiveSentData = true;
      if (seg.flags & FIN && watch.passiveFinAck < 0) watch.passiveFinAck = seqAdd(seg.seq, seg.payload.length + 1);
      return;
    }
    if (watch.passiveFinAck >= 0 && seg.flags & ACK && seg.ack === watch.passiveFinAck) this.judge(watch, atUs, index);
  }

  private onCall(event: Extract<TraceEvent, { type: 'call' }>): void {
    if (event.connId < 0 || event.result !== 'ok') return;
    const call = event.call;
    const closing = call.op === 'close' || (call.op === 'shutdown' && call.how !== 'SHUT_RD');
    if (!closing) return;
    const watch = this.watches.get(event.connId);
    if (watch !== undefined && event.connId === watch.passive.connId && watch.passiveClosedUs < 0) watch.passiveClosedUs = event.atUs;
  }

  private spoil(a: ConnInfo, b: ConnInfo): void {
    this.spoiled.add(a.connId);
    this.spoiled.add(b.connId);
    this.watches.delete(a.connId);
    this.watches.delete(b.connId);
  }

  private judge(watch: CloseWatch, atUs: number, index: number): void {
    this.watches.delete(watch.active.connId);
    this.watches.delete(watch.passive.connId);
    this.sides.delete(watch.active.connId);
    this.sides.delete(watch.passive.connId);
    // Without the close call (a capture, `timewait check`) the close's time is unknown: the
    // FIN's departure bounds it only from above, which cannot tell a prompt close from a slow one.
    if (watch.passiveClosedUs < 0) return;
    const closedUs = watch.passiveClosedUs;
    const delayUs = this.context.delayedAckUs;
    const jiffyUs = this.context.jiffyUs ?? DEFAULT_JIFFY_US;
    // When the FIN's ACK leaves on its own: 40 ms after the FIN, or at the next tick before any data.
    const ackDueUs = watch.noDataBeforeFin ? (Math.floor(watch.finArrivedUs / jiffyUs) + 1) * jiffyUs : watch.finArrivedUs + delayUs;
    if (delayUs > 0 && closedUs === ackDueUs) return;
    const closedAfterUs = closedUs - watch.finArrivedUs;
    const prompt = !watch.passiveSentData && delayUs > 0 && closedUs < ackDueUs;
    const timer = watch.noDataBeforeFin ? `no data before it: ACK due at the next tick, ${ackDueUs - watch.finArrivedUs} us` : `delayed ACK ${delayUs} us`;
    if (prompt && watch.segments !== 3) {
      this.report(atUs, index, watch.passive, `passive closer closed ${closedAfterUs} us after the FIN (${timer}): expected the 3-segment close, saw ${watch.segments} segments`);
    } else if (!prompt && watch.segments < 4) {
      const why = watch.passiveSentData ? 'sent data before closing' : `closed ${closedAfterUs} us after the FIN (${timer})`;
      this.report(atUs, index, watch.passive, `passive closer ${why}: expected 4 or more segments, saw ${watch.segments}`);
    }
  }
}

const NO_BYTES = new Uint8Array(0);

/** A growable byte buffer for what an application sent. */
class SentBytes {
  /** Allocated by the first append, at its size: most connections send once. */
  bytes = NO_BYTES;
  length = 0;
  append(data: Uint8Array): void {
    if (this.length + data.length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + data.length));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(data, this.length);
    this.length += data.length;
  }
}

/**
 * `stream` (C6): each application receives exactly the bytes its peer's application sent, in
 * order, once — whatever the faults, half-close data included. Every read must match the
 * peer's bytes at that offset; end-of-file must come after all of them.
 */
export class StreamMonitor extends BaseMonitor {
  readonly name = 'stream';
  readonly claims = ['C5', 'C6'];
  readonly description = 'each application receives exactly the bytes its peer sent, in order, once';
  readonly blackBox = true;
  readonly interests: readonly MonitorInterest[] = ['call'];
  private readonly sent = new Map<number, SentBytes>();
  private readonly received = new Map<number, number>();
  /** Connections a call has reported broken (reset, timed out): a later read of 0 is no end of stream. */
  private readonly broken = new Set<number>();

  /** Past judging (ConnBook): drop what is kept for it. */
  forgetConnection(conn: ConnInfo): void {
    this.sent.delete(conn.connId);
    this.received.delete(conn.connId);
    this.broken.delete(conn.connId);
  }

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (event.type !== 'call' || event.connId < 0) return;
    const id = event.connId;
    if (event.result === 'ECONNRESET' || event.result === 'ETIMEDOUT' || event.result === 'EPIPE') {
      this.broken.add(id);
      return;
    }
    if (event.data !== undefined && event.result.startsWith('sent')) {
      let sent = this.sent.get(id);
      if (sent === undefined) {
        sent = new SentBytes();
        this.sent.set(id, sent);
      }
      sent.append(event.data);
      return;
    }
    const receiving = event.data !== undefined && event.result.startsWith('recv');
    if (!receiving && event.result !== 'eof') return;
    const conn = this.book.byId.get(id);
    const peer = conn && this.book.peerOf(conn);
    if (conn === undefined || peer === undefined) return;
    const peerSent = this.sent.get(peer.connId);
    const offset = this.received.get(id) ?? 0;
    const peerLength = peerSent?.length ?? 0;
    if (!receiving) {
      // Linux: once the error is reported, read() returns 0 on a reset connection.
      if (offset !== peerLength && !this.broken.has(id)) this.report(event.atUs, index, conn, `end-of-file after ${offset} bytes, but the peer's application sent ${peerLength}`);
      return;
    }
    const data = event.data!;
    for (let i = 0; i < data.length; i++) {
      if (offset + i >= peerLength) {
        this.report(event.atUs, index, conn, `received byte ${offset + i}, but the peer's application sent only ${peerLength}`);
        return;
      }
      if (data[i] !== peerSent!.bytes[offset + i]) {
        this.report(event.atUs, index, conn, `byte ${offset + i} is ${data[i]}, the peer sent ${peerSent!.bytes[offset + i]}`);
        break; // the count goes on: a wrong byte is not a missing one
      }
    }
    this.received.set(id, offset + data.length);
  }
}

/** States in which an SO_LINGER{on,0} close must reset (Linux tcp_disconnect, tcp_need_reset). */
const RESET_ON_ABORT: ReadonlySet<TcpState> = new Set(['SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT']);

/**
 * `abort` (C14, C15): close() with SO_LINGER{on,0} — set on the socket, or inherited from the
 * listener — sends RST instead of FIN, discards unsent data (nothing more leaves that
 * connection), and neither side enters TIME-WAIT.
 *
 * The linger in force is the monitor's own, from the program's calls: the setsockopt calls on
 * each descriptor, and for an accepted one the listener's at accept() (Linux clones the
 * listener's sk_lingertime into the child, C15), never the options the endpoint reports. Not
 * black-box: the state at close() (does it call for a RST?) and TIME-WAIT come from state changes.
 */
export class AbortMonitor extends BaseMonitor {
  readonly name = 'abort';
  readonly claims = ['C14', 'C15'];
  readonly description = 'SO_LINGER{on,0} close (linger from the program\'s setsockopt calls, inherited by accept) sends RST, discards unsent data, no TIME-WAIT either side (states from state changes)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['state', 'segment-sent', 'call'];
  /** `host/fd` -> SO_LINGER seconds (null: off), from setsockopt calls and accept's inheritance. */
  private readonly lingerOfFd = new Map<string, number | null>();
  /** `host/program/sock` -> the descriptor a program's socket name stands for. */
  private readonly fdOfName = new Map<string, number>();
  private readonly previousState = new Map<number, { state: TcpState; untilUs: number; index: number }>();
  /** connId -> index of the last call event on it: a state change before it was not close()'s doing. */
  private readonly lastCallIndex = new Map<number, number>();
  private readonly lastSent = new Map<number, { atUs: number; flags: number }>();
  /** Connections closed with SO_LINGER{on,0}. */
  private readonly abortedConns = new Set<number>();
  /** Those and their peers: neither may enter TIME-WAIT afterwards. */
  private readonly noTimeWait = new Set<number>();

  /**
   * Past judging (ConnBook). `abortedConns` and `noTimeWait` stay: they judge what an aborted
   * connection does after CLOSED, which only a broken endpoint does.
   */
  forgetConnection(conn: ConnInfo): void {
    this.previousState.delete(conn.connId);
    this.lastCallIndex.delete(conn.connId);
    this.lastSent.delete(conn.connId);
  }

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    switch (event.type) {
      case 'state': {
        const id = event.conn.connId;
        // Updated in place: one record per connection, not one per event.
        const previous = this.previousState.get(id);
        if (previous === undefined) {
          this.previousState.set(id, { state: event.from, untilUs: event.atUs, index });
        } else {
          previous.state = event.from;
          previous.untilUs = event.atUs;
          previous.index = index;
        }
        if (event.to === 'TIME-WAIT' && this.noTimeWait.has(id)) {
          this.report(event.atUs, index, event.conn, `entered TIME-WAIT after the connection was aborted with SO_LINGER{on,0}`);
        }
        return;
      }
      case 'segment': {
        if (event.fate !== 'sent' || event.seg.connId < 0) return;
        const id = event.seg.connId;
        if (this.abortedConns.has(id)) {
          // Unsent data is discarded and no FIN follows: an aborted connection sends nothing more.
          this.report(event.atUs, index, this.book.byId.get(id) ?? null, `aborted connection sent another segment (flags ${event.seg.flags}, ${event.seg.payload.length} bytes)`);
          return;
        }
        const last = this.lastSent.get(id);
        if (last === undefined) {
          this.lastSent.set(id, { atUs: event.atUs, flags: event.seg.flags });
        } else {
          last.atUs = event.atUs;
          last.flags = event.seg.flags;
        }
        return;
      }
      case 'call':
        this.onCall(event, index);
        if (event.connId >= 0) this.lastCallIndex.set(event.connId, index);
        return;
      default:
        return;
    }
  }

  private onCall(event: Extract<TraceEvent, { type: 'call' }>, index: number): void {
    const call = event.call;
    const fdKey = `${event.host}/${event.fd}`;
    switch (call.op) {
      case 'socket':
        if (event.fd < 0) return;
        this.fdOfName.set(`${event.host}/${event.program}/${call.sock}`, event.fd);
        this.lingerOfFd.set(fdKey, null);
        return;
      case 'accept': {
        if (event.fd < 0 || event.result !== 'ok') return;
        this.fdOfName.set(`${event.host}/${event.program}/${call.as}`, event.fd);
        const listenerFd = this.fdOfName.get(`${event.host}/${event.program}/${call.sock}`);
        this.lingerOfFd.set(fdKey, listenerFd === undefined ? null : (this.lingerOfFd.get(`${event.host}/${listenerFd}`) ?? null));
        return;
      }
      case 'setsockopt':
        if (call.option === 'SO_LINGER' && event.result === 'ok') this.lingerOfFd.set(fdKey, call.onoff ? call.lingerSec : null);
        return;
      case 'close':
        this.onClose(event, index, this.lingerOfFd.get(fdKey) ?? null);
        // The descriptor is gone: a new socket() that gets its number sets its linger afresh.
        if (event.result === 'ok') this.lingerOfFd.delete(fdKey);
        return;
      default:
        return;
    }
  }

  private onClose(event: Extract<TraceEvent, { type: 'call' }>, index: number, lingerSec: number | null): void {
    if (event.connId < 0 || event.result !== 'ok' || lingerSec !== 0) return;
    const id = event.connId;
    const conn = this.book.byId.get(id) ?? null;
    const current = this.book.stateOf.get(id);
    const previous = this.previousState.get(id);
    // close() itself moves the connection (to CLOSED, on the RST it sends) before its call event;
    // a change before an earlier call (a RST that arrived, reported by recv) was not close()'s.
    const byClose = previous !== undefined && previous.untilUs === event.atUs && (this.lastCallIndex.get(id) ?? -1) < previous.index;
    const stateAtClose = byClose ? previous.state : current;
    if (stateAtClose === undefined || !RESET_ON_ABORT.has(stateAtClose)) return;
    const last = this.lastSent.get(id);
    if (last === undefined || last.atUs !== event.atUs || !(last.flags & RST)) {
      this.report(event.atUs, index, conn, `close() with SO_LINGER{on,0} in ${stateAtClose} did not send RST`);
      return;
    }
    if (current !== 'CLOSED') {
      this.report(event.atUs, index, conn, `close() with SO_LINGER{on,0} left the connection in ${current}, not CLOSED`);
      return;
    }
    this.abortedConns.add(id);
    this.noTimeWait.add(id);
    const peer = conn === null ? undefined : this.book.peerOf(conn);
    if (peer !== undefined) this.noTimeWait.add(peer.connId);
  }
}

/** What the orphan monitor knows of one connection that sent a FIN or was closed. */
interface OrphanSide {
  readonly conn: ConnInfo;
  /** The ACK that covers our FIN (its seq + length + 1); -1 until the FIN is sent. */
  finAck: number;
  /** When an ACK of our FIN arrived; -1 until then. */
  finAckedUs: number;
  /** When the application called close(); -1 until then. */
  closeUs: number;
  /** Nothing more to judge: reset, aborted, the peer's FIN came, or the timeout was seen. */
  done: boolean;
  /**
   * The peer's FIN reached the orphan under a TIME-WAIT bucket limit: it may have found no bucket
   * (Linux tcp_time_wait: gone at once, TCPTimeWaitOverflow), so a host reset from here on may
   * answer a later segment, not one the orphan had to answer.
   */
  finMayOverflow: boolean;
}

/** A segment that reached an orphan (or its 4-tuple) at the current instant, and what must answer it. */
interface AwaitedAnswer {
  readonly side: OrphanSide;
  readonly cause: Segment;
  /** Past the timeout: the host's bare RST, and nothing from the connection; before it: no reset. */
  readonly expired: boolean;
  readonly sinceUs: number;
  answered: boolean;
}

/**
 * `orphan-fin-wait-2` (C5, Linux tcp_fin_timeout), judged from the wire and the close calls: a
 * connection whose application has called close() and whose FIN the peer has ACKed is an orphan
 * in FIN-WAIT-2 (Linux tcp_close / tcp_rcv_state_process hand it to tcp_time_wait with the
 * TCP_FIN_WAIT2 substate). It waits `tcp_fin_timeout` from the later of the two for the peer's FIN:
 * until then a pure ACK or a FIN from the peer is never answered with a reset; after it the
 * connection is gone without a word, so anything from the peer is answered by the host's bare
 * reset (RFC 9293 §3.10.7.1: `<SEQ=SEG.ACK><CTL=RST>`) and nothing else leaves the connection.
 * Segments at the very instant of the timeout are not judged. Linux's floor on the timeout
 * (tcp_fin_time: 3.5 RTOs) is not modelled; it matters only with tcp_fin_timeout below a few seconds.
 */
export class OrphanFinWait2Monitor extends BaseMonitor {
  readonly name = 'orphan-fin-wait-2';
  readonly claims = ['C5'];
  readonly description = 'an orphaned FIN-WAIT-2 (closed, FIN ACKed) lasts exactly tcp_fin_timeout: no reset before, the host\'s bare RST for anything after (from the wire and the close calls)';
  readonly blackBox = true;
  readonly interests: readonly MonitorInterest[] = ['segment', 'call', 'host'];
  private readonly sides = new Map<number, OrphanSide>();
  /** The same, by 4-tuple (local, remote): a host's reset carries no connection. */
  private readonly sidesByTuple = new TupleMap<OrphanSide>();
  /** Connections the peer's FIN has reached: they close from CLOSE-WAIT (or CLOSING), never as an orphan in FIN-WAIT-2. */
  private readonly finReceived = new Set<number>();

  /** Past judging (ConnBook): drop what is kept for it. */
  forgetConnection(conn: ConnInfo): void {
    const side = this.sides.get(conn.connId);
    if (side !== undefined) {
      this.sides.delete(conn.connId);
      if (this.sidesByTuple.get(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort) === side) this.sidesByTuple.delete(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
    }
    this.finReceived.delete(conn.connId);
  }
  private readonly awaited: AwaitedAnswer[] = [];
  private awaitedAtUs = -1;

  onEvent(event: TraceEvent, index: number): void {
    const timeoutUs = this.context.finWait2TimeoutUs;
    if (timeoutUs === undefined) return;
    this.track(event);
    if (event.atUs !== this.awaitedAtUs) this.newInstant(event.atUs, index);
    switch (event.type) {
      case 'call':
        if (event.call.op === 'close' && event.result === 'ok' && event.connId >= 0) {
          const side = this.sideOf(event.connId);
          if (side !== undefined && side.closeUs < 0) side.closeUs = event.atUs;
        }
        return;
      case 'host':
        if (event.event !== 'crash') return;
        for (const side of this.sides.values()) if (side.conn.host === event.host) side.done = true;
        return;
      case 'segment':
        if (event.fate === 'sent') this.onSent(event.seg, event.atUs, index);
        else if (event.fate === 'delivered') this.onDelivered(event.seg, event.atUs, timeoutUs);
        return;
      default:
        return;
    }
  }

  override atEnd(end: EndOfRun): void {
    this.newInstant(end.atUs, -1);
  }

  private sideOf(connId: number): OrphanSide | undefined {
    let side = this.sides.get(connId);
    if (side === undefined) {
      const conn = this.book.byId.get(connId);
      if (conn === undefined) return undefined;
      side = { conn, finAck: -1, finAckedUs: -1, closeUs: -1, done: this.finReceived.has(connId), finMayOverflow: false };
      this.sides.set(connId, side);
      this.sidesByTuple.set(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort, side);
    }
    return side;
  }

  private onSent(seg: Segment, atUs: number, index: number): void {
    if (seg.connId < 0) {
      // A host's reset: does it answer a segment that reached an orphan's 4-tuple just now?
      if (!(seg.flags & RST)) return;
      for (const awaited of this.awaited) {
        const cause = awaited.cause;
        if (awaited.answered || cause.srcIp !== seg.dstIp || cause.srcPort !== seg.dstPort || cause.dstIp !== seg.srcIp || cause.dstPort !== seg.srcPort) continue;
        if (!awaited.expired && awaited.side.finMayOverflow) continue; // it may answer a later segment
        awaited.answered = true;
        if (!awaited.expired) {
          this.report(atUs, index, awaited.side.conn, `the orphaned FIN-WAIT-2 was gone ${atUs - awaited.sinceUs} us after it began, before tcp_fin_timeout (${this.context.finWait2TimeoutUs} us): seg #${cause.id} got a reset`);
        } else if ((cause.flags & ACK && (seg.flags !== RST || seg.seq !== cause.ack)) || (!(cause.flags & ACK) && !(seg.flags & ACK))) {
          this.report(atUs, index, awaited.side.conn, `after tcp_fin_timeout, seg #${cause.id} was answered with flags ${seg.flags} seq ${seg.seq}, not the bare <SEQ=SEG.ACK><CTL=RST>`);
        }
      }
      return;
    }
    if (seg.flags & (FIN | RST)) {
      const side = this.sideOf(seg.connId);
      if (side === undefined) return;
      if (seg.flags & RST) side.done = true;
      else if (side.finAck < 0) side.finAck = seqAdd(seg.seq, seg.payload.length + 1);
    }
    for (const awaited of this.awaited) {
      if (awaited.side.conn.connId !== seg.connId || !awaited.expired || awaited.answered) continue;
      awaited.answered = true;
      this.report(atUs, index, awaited.side.conn, `the orphaned FIN-WAIT-2 outlived tcp_fin_timeout (${this.context.finWait2TimeoutUs} us): it answered seg #${awaited.cause.id} ${atUs - awaited.sinceUs} us after it began`);
    }
  }

  private onDelivered(seg: Segment, atUs: number, timeoutUs: number): void {
    if (seg.connId < 0) {
      // A host's reset (the peer's connection was gone) ends whatever it reaches.
      const side = seg.flags & RST ? this.sidesByTuple.get(seg.dstIp, seg.dstPort, seg.srcIp, seg.srcPort) : undefined;
      if (side !== undefined) side.done = true;
      return;
    }
    const sender = this.book.byId.get(seg.connId);
    const receiver = sender === undefined ? undefined : this.book.peerOf(sender);
    if (receiver === undefined) return;
    const side = this.sides.get(receiver.connId);
    if (seg.flags & FIN && side === undefined) this.finReceived.add(receiver.connId);
    if (side === undefined || side.done) return;
    if (seg.flags & RST) {
      side.done = true;
      return;
    }
    if (side.finAck >= 0 && side.finAckedUs < 0 && seg.flags & ACK && !seqLt(seg.ack, side.finAck)) side.finAckedUs = atUs;
    if (side.closeUs < 0 || side.finAckedUs < 0) {
      // Not an orphan in FIN-WAIT-2 (yet): the peer's FIN now ends the watch.
      if (seg.flags & FIN) side.done = true;
      return;
    }
    const sinceUs = Math.max(side.closeUs, side.finAckedUs);
    const deadlineUs = sinceUs + timeoutUs;
    if (atUs === deadlineUs || (atUs < deadlineUs && (seg.payload.length > 0 || seg.flags & SYN))) {
      // At the timeout's own instant either answer is right; new data or a SYN is reset anyway.
      side.done = true;
      return;
    }
    const expired = atUs > deadlineUs;
    if (expired || seg.flags & FIN) side.done = true;
    // With a TIME-WAIT bucket limit the FIN may find no bucket, and a copy of it (or any later
    // segment of this instant) then draws a host reset that the wire cannot tell from an early one.
    // A reset sent before the FIN arrived is still judged.
    if (!expired && seg.flags & FIN && (this.context.maxTwBuckets ?? LINUX_DEFAULTS.maxTwBuckets) < LINUX_DEFAULTS.maxTwBuckets) {
      side.finMayOverflow = true;
      return;
    }
    this.awaited.push({ side, cause: seg, expired, sinceUs, answered: false });
  }

  /** A new instant: every segment that reached an expired orphan must have had its reset. */
  private newInstant(atUs: number, index: number): void {
    for (const awaited of this.awaited) {
      if (awaited.expired && !awaited.answered) {
        this.report(this.awaitedAtUs, index, awaited.side.conn, `after tcp_fin_timeout (${this.context.finWait2TimeoutUs} us), seg #${awaited.cause.id} from the peer got no reset`);
      }
    }
    this.awaited.length = 0;
    this.awaitedAtUs = atUs;
  }
}
