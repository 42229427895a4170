/** Monitors of TIME-WAIT and incarnations: C8–C11. */
import { FIN, RST, SYN } from '../tcp/segment.js';
import type { TraceEvent } from '../world/trace.js';
import { BaseMonitor, type EndOfRun, type MonitorInterest } from './monitor.js';

/** Ways out of TIME-WAIT other than its timer, all of them Linux's: RFC 1337 assassination, a new incarnation's SYN, a crash. */
const EARLY_TIME_WAIT_EXITS = new Set(['rcv RST in TIME-WAIT', 'SYN for a new incarnation', 'host crash']);

/**
 * `time-wait-2msl` (C8, C9): every TIME-WAIT lasts exactly 2·MSL from its last (re)start, then
 * the connection is CLOSED; a retransmitted FIN restarts it.
 */
export class TimeWait2MslMonitor extends BaseMonitor {
  readonly name = 'time-wait-2msl';
  readonly claims = ['C8', 'C9'];
  readonly description = 'TIME-WAIT lasts exactly 2·MSL from its last (re)start, then CLOSED, and never answers with RST';
  readonly interests: readonly MonitorInterest[] = ['state', 'segment-sent', 'time-wait-restart'];
  private readonly startedUs = new Map<number, number>();

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (event.type === 'segment' && event.fate === 'sent' && event.seg.flags & RST && this.startedUs.has(event.seg.connId)) {
      // C9: the side in TIME-WAIT answers what still arrives — a retransmitted FIN above all — with an ACK, never a RST.
      this.report(event.atUs, index, this.book.byId.get(event.seg.connId) ?? null, `TIME-WAIT sent a RST (seq ${event.seg.seq}); it must answer with an ACK`);
      return;
    }
    if (event.type === 'time-wait-restart') {
      this.startedUs.set(event.conn.connId, event.atUs);
      return;
    }
    if (event.type !== 'state') return;
    const id = event.conn.connId;
    if (event.to === 'TIME-WAIT') {
      this.startedUs.set(id, event.atUs);
      return;
    }
    if (event.from !== 'TIME-WAIT') return;
    const startedUs = this.startedUs.get(id)!;
    this.startedUs.delete(id);
    const lastedUs = event.atUs - startedUs;
    if (event.to !== 'CLOSED') {
      this.report(event.atUs, index, event.conn, `TIME-WAIT left for ${event.to}, not CLOSED`);
    } else if (!EARLY_TIME_WAIT_EXITS.has(event.cause) && lastedUs !== this.context.expectedTimeWaitUs) {
      this.report(event.atUs, index, event.conn, `TIME-WAIT lasted ${lastedUs} us since its last (re)start, expected 2·MSL = ${this.context.expectedTimeWaitUs} us`);
    }
  }

  override atEnd(end: EndOfRun): void {
    for (const [id, startedUs] of this.startedUs) {
      if (end.atUs - startedUs > this.context.expectedTimeWaitUs) {
        this.report(end.atUs, -1, this.book.byId.get(id) ?? null, `TIME-WAIT started at ${startedUs} us still held at ${end.atUs} us, past 2·MSL`);
      }
    }
  }
}

/**
 * `time-wait-side` (C8, C11): only the active closer — a connection that sent its FIN before
 * taking the peer's (it went through FIN-WAIT-1) — enters TIME-WAIT; after a simultaneous close
 * both do. And an active closer whose close completes on a segment enters TIME-WAIT rather
 * than going straight to CLOSED.
 */
export class TimeWaitSideMonitor extends BaseMonitor {
  readonly name = 'time-wait-side';
  readonly claims = ['C8', 'C11'];
  readonly description = 'only the active closer enters TIME-WAIT; both after a simultaneous close';
  readonly interests: readonly MonitorInterest[] = ['state', 'segment-sent', 'accepted'];
  private readonly activeClosers = new Set<number>();
  /** connId -> the last segment it accepted, with when. */
  private readonly lastAccepted = new Map<number, { atUs: number; flags: number }>();
  /** connId -> when it last sent a reset (an abort, e.g. data after close, is no TIME-WAIT case). */
  private readonly lastResetUs = new Map<number, number>();

  onEvent(event: TraceEvent, index: number): void {
    if (event.type === 'segment' && event.fate === 'sent' && event.seg.flags & RST) {
      this.lastResetUs.set(event.seg.connId, event.atUs);
      return;
    }
    if (event.type === 'accepted') {
      // Updated in place: one record per connection, not one per segment.
      const last = this.lastAccepted.get(event.conn.connId);
      if (last === undefined) {
        this.lastAccepted.set(event.conn.connId, { atUs: event.atUs, flags: event.seg.flags });
      } else {
        last.atUs = event.atUs;
        last.flags = event.seg.flags;
      }
      return;
    }
    if (event.type !== 'state') return;
    const id = event.conn.connId;
    if (event.to === 'FIN-WAIT-1') this.activeClosers.add(id);
    if (event.to === 'TIME-WAIT' && !this.activeClosers.has(id)) {
      this.report(event.atUs, index, event.conn, `passive closer entered TIME-WAIT (from ${event.from}); only the side that closed first may`);
      return;
    }
    if (event.to === 'CLOSED' && (event.from === 'FIN-WAIT-2' || event.from === 'CLOSING' || event.from === 'FIN-WAIT-1')) {
      const last = this.lastAccepted.get(id);
      const aborted = this.lastResetUs.get(id) === event.atUs;
      if (last !== undefined && last.atUs === event.atUs && !(last.flags & RST) && !aborted) {
        this.report(event.atUs, index, event.conn, `active closer went ${event.from} -> CLOSED on a segment without TIME-WAIT`);
      }
    }
  }
}

/**
 * `no-stale-segment` (C10): no segment sent by an earlier incarnation of a 4-tuple is accepted
 * by a later one. It must hold when TIME-WAIT is honoured and segments live at most MSL; the
 * hazard demos run it where those protections are removed, to find the counterexample.
 */
export class NoStaleSegmentMonitor extends BaseMonitor {
  readonly name = 'no-stale-segment';
  readonly claims = ['C10', 'C14'];
  readonly description = 'no segment of an earlier incarnation is accepted by a later one';
  readonly interests: readonly MonitorInterest[] = ['accepted'];

  onEvent(event: TraceEvent, index: number): void {
    if (event.type !== 'accepted') return;
    if (event.seg.incarnation < event.conn.incarnation) {
      const flags = event.seg.flags;
      const what = flags & RST ? 'RST' : flags & SYN ? 'SYN' : flags & FIN ? 'FIN' : event.seg.payload.length > 0 ? `${event.seg.payload.length} data bytes` : 'ACK';
      this.report(
        event.atUs,
        index,
        event.conn,
        `incarnation ${event.conn.incarnation} accepted segment #${event.seg.id} (${what}, seq ${event.seg.seq}) sent by incarnation ${event.seg.incarnation} at ${event.seg.sentAtUs} us`,
      );
    }
  }
}
