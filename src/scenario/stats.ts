/**
 * Statistics of one run, read off the trace: what the CSV export writes, one row per run
 * (and per connection with --per-connection).
 */
import { RST } from '../tcp/segment.js';
import { TIME_WAIT_OVERFLOW_CAUSE } from '../tcp/tcb.js';
import type { TraceEvent, TraceListener } from '../world/trace.js';

/** State-change causes (src/tcp) of a close that resets the connection instead of closing it. */
const ABORT_CAUSES: ReadonlySet<string> = new Set(['close with SO_LINGER{on,0}', 'close with unread data', 'data after close', 'listener closed']);

export type CloseKind = 'three-segment' | 'four-segment' | 'simultaneous' | 'abort' | 'other';

export interface ConnectionStats {
  connId: number;
  host: string;
  localPort: number;
  remotePort: number;
  incarnation: number;
  passive: boolean;
  segmentsSent: number;
  retransmissions: number;
  rstsSent: number;
  bytesDelivered: number;
  timeWaitEntries: number;
  timeWaitUs: number;
  finalState: string;
  closeKind: CloseKind;
}

export interface RunStats {
  events: number;
  virtualUs: number;
  connections: number;
  segmentsSent: number;
  segmentsDelivered: number;
  segmentsLost: number;
  segmentsDuplicated: number;
  segmentsReordered: number;
  segmentsExpired: number;
  retransmissions: number;
  rsts: number;
  closesThreeSegment: number;
  closesFourSegment: number;
  closesSimultaneous: number;
  closesAbort: number;
  timeWaitEntries: number;
  timeWaitTotalUs: number;
  /** Closes that found no TIME-WAIT bucket (tcp_max_tw_buckets): Linux's TCPTimeWaitOverflow. */
  timeWaitOverflows: number;
  bytesDelivered: number;
}

export class StatsCollector implements TraceListener {
  readonly run: RunStats = {
    events: 0,
    virtualUs: 0,
    connections: 0,
    segmentsSent: 0,
    segmentsDelivered: 0,
    segmentsLost: 0,
    segmentsDuplicated: 0,
    segmentsReordered: 0,
    segmentsExpired: 0,
    retransmissions: 0,
    rsts: 0,
    closesThreeSegment: 0,
    closesFourSegment: 0,
    closesSimultaneous: 0,
    closesAbort: 0,
    timeWaitEntries: 0,
    timeWaitTotalUs: 0,
    timeWaitOverflows: 0,
    bytesDelivered: 0,
  };
  readonly perConnection = new Map<number, ConnectionStats>();
  private readonly timeWaitSince = new Map<number, number>();
  /** Both ends of a close in progress -> segments since the active closer's FIN arrived (FIN included). */
  private readonly closeWatchOf = new Map<number, { count: number }>();
  private readonly peerByDirection = new Map<string, number>();

  onEvent(event: TraceEvent): void {
    const run = this.run;
    run.events++;
    run.virtualUs = event.atUs;
    switch (event.type) {
      case 'segment': {
        const seg = event.seg;
        if (event.fate === 'sent') {
          run.segmentsSent++;
          if (seg.retransmission) run.retransmissions++;
          if (seg.flags & RST) run.rsts++;
          const conn = this.perConnection.get(seg.connId);
          if (conn !== undefined) {
            conn.segmentsSent++;
            if (seg.retransmission) conn.retransmissions++;
            if (seg.flags & RST) conn.rstsSent++;
          }
          const watch = this.closeWatchOf.get(seg.connId);
          if (watch !== undefined) watch.count++;
        } else if (event.fate === 'delivered') run.segmentsDelivered++;
        else if (event.fate === 'dropped') {
          if (event.reason === 'msl-expired') run.segmentsExpired++;
          else run.segmentsLost++;
        } else if (event.fate === 'duplicated') run.segmentsDuplicated++;
        else if (event.fate === 'delayed' && event.why === 'reorder') run.segmentsReordered++;
        return;
      }
      case 'state': {
        const c = event.conn;
        let conn = this.perConnection.get(c.connId);
        if (conn === undefined) {
          run.connections++;
          conn = {
            connId: c.connId,
            host: c.host,
            localPort: c.localPort,
            remotePort: c.remotePort,
            incarnation: c.incarnation,
            passive: c.passive,
            segmentsSent: 0,
            retransmissions: 0,
            rstsSent: 0,
            bytesDelivered: 0,
            timeWaitEntries: 0,
            timeWaitUs: 0,
            finalState: event.to,
            closeKind: 'other',
          };
          this.perConnection.set(c.connId, conn);
          this.peerByDirection.set(`${c.localIp}:${c.localPort}>${c.remoteIp}:${c.remotePort}#${c.incarnation}`, c.connId);
        }
        conn.finalState = event.to;
        if (event.to === 'TIME-WAIT') {
          run.timeWaitEntries++;
          conn.timeWaitEntries++;
          this.timeWaitSince.set(c.connId, event.atUs);
        }
        if (event.to === 'CLOSED' && event.cause === TIME_WAIT_OVERFLOW_CAUSE) run.timeWaitOverflows++;
        if (event.from === 'TIME-WAIT') {
          const spentUs = event.atUs - (this.timeWaitSince.get(c.connId) ?? event.atUs);
          run.timeWaitTotalUs += spentUs;
          conn.timeWaitUs += spentUs;
        }
        if (event.to === 'CLOSING' && conn.closeKind !== 'abort') conn.closeKind = 'simultaneous';
        // An abort is a close that resets instead of FIN (C14, RFC 2525 §2.17), not any RST:
        // a SYN-SENT answering a stray ACK with RST closes nothing.
        if (event.to === 'CLOSED' && ABORT_CAUSES.has(event.cause)) conn.closeKind = 'abort';
        if (event.from === 'ESTABLISHED' && event.to === 'CLOSE-WAIT') {
          const peerId = this.peerByDirection.get(`${c.remoteIp}:${c.remotePort}>${c.localIp}:${c.localPort}#${c.incarnation}`) ?? -1;
          const watch = { count: 1 };
          this.closeWatchOf.set(c.connId, watch);
          this.closeWatchOf.set(peerId, watch);
        }
        if (event.from === 'LAST-ACK' && event.to === 'CLOSED') {
          const watch = this.closeWatchOf.get(c.connId);
          if (watch !== undefined && conn.closeKind === 'other') {
            conn.closeKind = watch.count === 3 ? 'three-segment' : 'four-segment';
          }
        }
        if (event.to === 'CLOSED') this.closeWatchOf.delete(c.connId);
        return;
      }
      case 'call':
        if (event.data !== undefined && event.result.startsWith('recv')) {
          run.bytesDelivered += event.data.length;
          const conn = this.perConnection.get(event.connId);
          if (conn !== undefined) conn.bytesDelivered += event.data.length;
        }
        return;
      default:
        return;
    }
  }

  /** Count each close once, by the passive closer's kind (or either side's for simultaneous/abort). */
  finish(): RunStats {
    const run = this.run;
    const counted = new Set<string>();
    for (const conn of this.perConnection.values()) {
      const key = `${Math.min(conn.localPort, conn.remotePort)}-${Math.max(conn.localPort, conn.remotePort)}#${conn.incarnation}`;
      if (conn.closeKind === 'other' || counted.has(key)) continue;
      counted.add(key);
      if (conn.closeKind === 'three-segment') run.closesThreeSegment++;
      else if (conn.closeKind === 'four-segment') run.closesFourSegment++;
      else if (conn.closeKind === 'simultaneous') run.closesSimultaneous++;
      else run.closesAbort++;
    }
    return run;
  }
}
