/** Monitors of closing and of the byte stream: C5–C7, C14, C15. */
import { RST } from '../tcp/segment.js';
import type { TcpState } from '../tcp/state.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { BaseMonitor, type MonitorInterest } from './monitor.js';

interface CloseWatch {
  readonly active: ConnInfo;
  readonly passive: ConnInfo;
  /** When the active closer's FIN reached the passive side (it entered CLOSE-WAIT). */
  readonly finArrivedUs: number;
  /** Segments of the close so far, the active closer's FIN included. */
  segments: number;
  passiveSentData: boolean;
  passiveClosedUs: number;
  spoiled: boolean;
  activeDone: boolean;
  passiveDone: boolean;
}

/**
 * `close-shape` (C5, C7): on a clean network, a passive closer that closes at once (before its
 * delayed-ACK timer fires, sending nothing first) gives the three-segment close — FIN, FIN+ACK,
 * ACK; one that waits or still sends data gives four or more. Simultaneous closes and resets
 * are not this monitor's business.
 */
export class CloseShapeMonitor extends BaseMonitor {
  readonly name = 'close-shape';
  readonly claims = ['C5', 'C7'];
  readonly description = 'clean link: prompt passive close takes 3 segments, otherwise 4 or more (close phases from state changes)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['state', 'segment-sent'];
  private readonly activeSince = new Map<number, number>();
  private readonly watches = new Map<number, CloseWatch>();

  onEvent(event: TraceEvent, index: number): void {
    if (!this.context.cleanNetwork) return;
    this.track(event);
    if (event.type === 'state') {
      this.onState(event.conn, event.from, event.to, event.atUs, index);
      return;
    }
    if (event.type !== 'segment' || event.fate !== 'sent') return;
    const seg = event.seg;
    const watch = this.watches.get(seg.connId);
    if (watch === undefined || watch.spoiled) return;
    if (seg.flags & RST) {
      watch.spoiled = true;
      return;
    }
    watch.segments++;
    if (seg.connId === watch.passive.connId && seg.payload.length > 0 && watch.passiveClosedUs < 0) watch.passiveSentData = true;
  }

  private onState(conn: ConnInfo, from: TcpState, to: TcpState, atUs: number, index: number): void {
    const id = conn.connId;
    if (to === 'FIN-WAIT-1') this.activeSince.set(id, atUs);
    if (from === 'ESTABLISHED' && to === 'CLOSE-WAIT') {
      const active = this.book.peerOf(conn);
      if (active === undefined || !this.activeSince.has(active.connId)) return;
      const watch: CloseWatch = {
        active,
        passive: conn,
        finArrivedUs: atUs,
        segments: 1,
        passiveSentData: false,
        passiveClosedUs: -1,
        spoiled: false,
        activeDone: false,
        passiveDone: false,
      };
      this.watches.set(active.connId, watch);
      this.watches.set(id, watch);
      return;
    }
    const watch = this.watches.get(id);
    if (watch === undefined || watch.spoiled) return;
    if (id === watch.passive.connId) {
      if (from === 'CLOSE-WAIT' && to === 'LAST-ACK') watch.passiveClosedUs = atUs;
      else if (from === 'LAST-ACK' && to === 'CLOSED') watch.passiveDone = true;
      else watch.spoiled = true;
    } else {
      if (to === 'TIME-WAIT') watch.activeDone = true;
      else if (to !== 'FIN-WAIT-2') watch.spoiled = true;
    }
    if (watch.activeDone && watch.passiveDone) this.judge(watch, atUs, index);
  }

  private judge(watch: CloseWatch, atUs: number, index: number): void {
    this.watches.delete(watch.active.connId);
    this.watches.delete(watch.passive.connId);
    const delayUs = this.context.delayedAckUs;
    const prompt = !watch.passiveSentData && delayUs > 0 && watch.passiveClosedUs - watch.finArrivedUs < delayUs;
    if (prompt && watch.segments !== 3) {
      this.report(atUs, index, watch.passive, `passive closer closed ${watch.passiveClosedUs - watch.finArrivedUs} us after the FIN (delayed ACK ${delayUs} us): expected the 3-segment close, saw ${watch.segments} segments`);
    } else if (!prompt && watch.segments < 4) {
      this.report(atUs, index, watch.passive, `passive closer ${watch.passiveSentData ? 'sent data' : 'waited'} before closing: expected 4 or more segments, saw ${watch.segments}`);
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
        return;
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
