/** Monitors of TIME-WAIT and incarnations: C8–C11. */
import { ACK, FIN, RST, SYN, segLen, type Segment } from '../tcp/segment.js';
import { seqGt } from '../tcp/seq.js';
import type { TcpState } from '../tcp/state.js';
import { TIME_WAIT_OVERFLOW_CAUSE } from '../tcp/tcb.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { BaseMonitor, GroupedTupleMap, type EndOfRun, type MonitorInterest } from './monitor.js';

/** A TIME-WAIT as the monitor sees it from the wire: its own 2·MSL clock, restarted by what arrives. */
interface HeldTimeWait {
  readonly conn: ConnInfo;
  /** The last (re)start of 2·MSL the wire justifies. */
  restartedUs: number;
  /** RCV.NXT, as the holder's own ACKs say it (the ack of its last ACK-bearing segment). */
  rcvNxt: number;
  /** A time at which a segment that arrived lets TIME-WAIT end early (an RST, a new incarnation's SYN), or -1. */
  earlyExitUs: number;
  /**
   * With timestamps, what a segment does can hang on TS.Recent, which the wire does not show
   * exactly (PAWS, RFC 7323 §5; a SYN with a newer TSval): the last arrival that may have
   * restarted 2·MSL, or -1. The monitor then accepts either reading.
   */
  maybeRestartedUs: number;
  /** Segments of the 4-tuple carried timestamps, so a connect() may take it over (Linux tcp_twsk_unique). */
  timestamps: boolean;
}

/** A TIME-WAIT that ended, waiting for its instant to be over. */
interface TimeWaitExit {
  readonly held: HeldTimeWait;
  readonly to: TcpState;
  readonly atUs: number;
  readonly index: number;
  readonly cause: string;
  /** A SYN left its 4-tuple in the same instant (a connect() took it over). */
  synSeen?: boolean;
}

/** State-change causes (src/tcp) of a TIME-WAIT taken over by connect() under tcp_tw_reuse or a port from bind(). */
const REUSE_CAUSE = 'TIME-WAIT reused by connect (tcp_twsk_unique)';

/**
 * `time-wait-2msl` (C8, C9): every TIME-WAIT lasts exactly 2·MSL from its last (re)start, then
 * the connection is CLOSED, and nothing from its 4-tuple is a RST while it lasts.
 *
 * The restarts are the monitor's own, from the segments delivered to the 4-tuple (Linux
 * tcp_timewait_state_process): a segment with ACK and without RST restarts 2·MSL, as does a bare
 * segment at RCV.NXT; an in-window RST (with RFC 1337 protection off) or a SYN above RCV.NXT may
 * end it at once; a crash of its host ends it. The endpoint's restart events are checked
 * against that view, never used. Not black-box: when TIME-WAIT begins and ends is read from the
 * endpoint's state changes (a capture alone cannot tell when the holder entered it).
 */
export class TimeWait2MslMonitor extends BaseMonitor {
  readonly name = 'time-wait-2msl';
  readonly claims = ['C8', 'C9'];
  readonly description = 'TIME-WAIT lasts exactly 2·MSL from its last restart by a segment that arrived (derived from the wire), then CLOSED; no RST from its 4-tuple meanwhile (entry and exit from state changes)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['state', 'segment', 'time-wait-restart', 'host'];
  /** Held TIME-WAITs by the holder's 4-tuple (local, remote); atEnd reports the first past 2·MSL in its order. */
  private readonly held = new GroupedTupleMap<HeldTimeWait>();
  /** connId -> the ack of the last ACK-bearing segment it sent: RCV.NXT as the wire shows it. */
  private readonly lastAckSent = new Map<number, number>();
  /** Connections that sent timestamps. */
  private readonly timestampsSent = new Set<number>();
  /** TIME-WAITs that ended in the current instant, judged when it is over. */
  private readonly exits: TimeWaitExit[] = [];

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (this.exits.length > 0 && event.atUs !== this.exits[0]!.atUs) this.judgeExits();
    switch (event.type) {
      case 'segment':
        if (event.fate === 'sent') this.onSent(event.seg, event.atUs, index);
        else if (event.fate === 'delivered' && this.held.size > 0) this.onDelivered(event.seg, event.atUs);
        return;
      case 'time-wait-restart': {
        // The endpoint says it restarted 2·MSL: only a segment that arrived just now may make it.
        const held = this.held.get(event.conn.localIp, event.conn.localPort, event.conn.remoteIp, event.conn.remotePort);
        if (held !== undefined && held.restartedUs !== event.atUs && held.maybeRestartedUs !== event.atUs) {
          this.report(event.atUs, index, event.conn, `TIME-WAIT restarted (${event.cause}) with no segment arriving to restart it`);
        }
        return;
      }
      case 'host':
        if (event.event === 'crash') {
          for (const held of [...this.held.values()]) if (held.conn.host === event.host) this.forget(held.conn);
          for (let i = this.exits.length - 1; i >= 0; i--) if (this.exits[i]!.held.conn.host === event.host) this.exits.splice(i, 1);
        }
        return;
      case 'state':
        this.onState(event.conn, event.from, event.to, event.atUs, index, event.cause);
        return;
      default:
        return;
    }
  }

  private onSent(seg: Segment, atUs: number, index: number): void {
    if (this.exits.length > 0 && (seg.flags & (SYN | ACK | RST)) === SYN) {
      for (const exit of this.exits) {
        const c = exit.held.conn;
        if (c.localIp === seg.srcIp && c.localPort === seg.srcPort && c.remoteIp === seg.dstIp && c.remotePort === seg.dstPort) exit.synSeen = true;
      }
    }
    if (seg.connId >= 0 && seg.flags & ACK && !(seg.flags & RST)) this.lastAckSent.set(seg.connId, seg.ack);
    if (seg.connId >= 0 && seg.tsVal >= 0) this.timestampsSent.add(seg.connId);
    if (this.held.size === 0) return;
    const held = this.held.get(seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort);
    if (held === undefined) return;
    if (seg.flags & RST) {
      // C9: what still arrives — a retransmitted FIN above all — is answered with an ACK, never a RST, by the connection or its host.
      this.report(atUs, index, held.conn, `a RST (seq ${seg.seq}) left the 4-tuple while it is in TIME-WAIT (last restart at ${held.restartedUs} us); it must answer with an ACK`);
      return;
    }
    if (seg.flags & ACK) held.rcvNxt = seg.ack;
  }

  /** Linux tcp_timewait_state_process, as the monitor's own model of what restarts or ends TIME-WAIT. */
  private onDelivered(seg: Segment, atUs: number): void {
    const held = this.held.get(seg.dstIp, seg.dstPort, seg.srcIp, seg.srcPort);
    if (held === undefined) return;
    const flags = seg.flags;
    const ts = seg.tsVal >= 0;
    if (ts) held.timestamps = true;
    if (seg.seq === held.rcvNxt && (segLen(seg) === 0 || flags & RST)) {
      // With timestamps, PAWS may reject it (then a non-RST is answered and restarts 2·MSL).
      if (!(flags & RST)) held.restartedUs = atUs;
      else if (this.context.rfc1337 !== true) held.earlyExitUs = atUs;
      else if (ts) held.maybeRestartedUs = atUs;
      else held.restartedUs = atUs; // tcp_rfc1337: the in-window RST reschedules TIME-WAIT.
      return;
    }
    if ((flags & (SYN | RST | ACK)) === SYN) {
      // A SYN above RCV.NXT, or with a TSval newer than TS.Recent, may open a new incarnation;
      // one whose TSval fails PAWS restarts 2·MSL.
      if (seqGt(seg.seq, held.rcvNxt) || ts) held.earlyExitUs = atUs;
      if (ts) held.maybeRestartedUs = atUs;
      return;
    }
    if (!(flags & RST) && flags & ACK) held.restartedUs = atUs;
  }

  private onState(conn: ConnInfo, from: TcpState, to: TcpState, atUs: number, index: number, cause: string): void {
    if (to === 'TIME-WAIT') {
      this.held.set(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort, {
        conn,
        restartedUs: atUs,
        rcvNxt: this.lastAckSent.get(conn.connId) ?? -1,
        earlyExitUs: -1,
        maybeRestartedUs: -1,
        timestamps: this.timestampsSent.has(conn.connId),
      });
      return;
    }
    if (to === 'CLOSED') {
      this.lastAckSent.delete(conn.connId);
      this.timestampsSent.delete(conn.connId);
    }
    if (from !== 'TIME-WAIT') return;
    const held = this.held.get(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
    if (held === undefined || held.conn.connId !== conn.connId) return;
    this.forget(conn);
    // Judged once the instant is over: a host crash ends its TIME-WAITs (their state changes
    // come just before the crash event), and a take-over by connect() shows as its SYN.
    this.exits.push({ held, to, atUs, index, cause });
  }

  private judgeExit(exit: TimeWaitExit): void {
    const { held, to, atUs, index, cause } = exit;
    const conn = held.conn;
    const lastedUs = atUs - held.restartedUs;
    if (to !== 'CLOSED') {
      this.report(atUs, index, conn, `TIME-WAIT left for ${to}, not CLOSED`);
    } else if (cause === REUSE_CAUSE) {
      // tcp_tw_reuse (or connect from a port from bind()): only a TIME-WAIT that used timestamps,
      // and only for a connect() whose SYN leaves the 4-tuple at once (the wire's evidence).
      if (!held.timestamps) this.report(atUs, index, conn, 'TIME-WAIT without timestamps taken over by connect(); Linux tcp_twsk_unique allows it only with timestamps');
      else if (!exit.synSeen) this.report(atUs, index, conn, 'TIME-WAIT ended as taken over by connect(), but no SYN left its 4-tuple');
    } else if (held.earlyExitUs !== atUs && lastedUs !== this.context.expectedTimeWaitUs && atUs - held.maybeRestartedUs !== this.context.expectedTimeWaitUs) {
      this.report(atUs, index, conn, `TIME-WAIT lasted ${lastedUs} us since the last segment that restarted it, expected 2·MSL = ${this.context.expectedTimeWaitUs} us`);
    }
  }

  /** The instant is over: judge the TIME-WAITs that ended in it. */
  private judgeExits(): void {
    for (const exit of this.exits) this.judgeExit(exit);
    this.exits.length = 0;
  }

  private forget(conn: ConnInfo): void {
    this.held.delete(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
    this.lastAckSent.delete(conn.connId);
  }

  override atEnd(end: EndOfRun): void {
    this.judgeExits();
    for (const held of this.held.values()) {
      if (end.atUs - held.restartedUs > this.context.expectedTimeWaitUs) {
        this.report(end.atUs, -1, held.conn, `TIME-WAIT last restarted at ${held.restartedUs} us still held at ${end.atUs} us, past 2·MSL`);
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
  readonly description = 'only the active closer enters TIME-WAIT; both after a simultaneous close (from state changes and accepted segments)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['state', 'segment-sent', 'accepted', 'host'];
  private readonly activeClosers = new Set<number>();
  /** connId -> the last segment it accepted, with when. */
  private readonly lastAccepted = new Map<number, { atUs: number; flags: number }>();
  /** connId -> when it last sent a reset (an abort, e.g. data after close, is no TIME-WAIT case). */
  private readonly lastResetUs = new Map<number, number>();
  /** host -> its connections in TIME-WAIT now (tcp_max_tw_buckets counts them). */
  private readonly timeWaitsOf = new Map<string, number>();

  /** Past judging (ConnBook): drop what is kept for it. */
  forgetConnection(conn: ConnInfo): void {
    this.activeClosers.delete(conn.connId);
    this.lastAccepted.delete(conn.connId);
    this.lastResetUs.delete(conn.connId);
  }

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
    if (event.type === 'host') {
      if (event.event === 'crash') this.timeWaitsOf.delete(event.host);
      return;
    }
    if (event.type !== 'state') return;
    const id = event.conn.connId;
    const host = event.conn.host;
    if (event.to === 'TIME-WAIT') this.timeWaitsOf.set(host, (this.timeWaitsOf.get(host) ?? 0) + 1);
    else if (event.from === 'TIME-WAIT' && (this.timeWaitsOf.get(host) ?? 0) > 0) this.timeWaitsOf.set(host, this.timeWaitsOf.get(host)! - 1);
    if (event.to === 'FIN-WAIT-1') this.activeClosers.add(id);
    if (event.to === 'TIME-WAIT' && !this.activeClosers.has(id)) {
      this.report(event.atUs, index, event.conn, `passive closer entered TIME-WAIT (from ${event.from}); only the side that closed first may`);
      return;
    }
    // tcp_max_tw_buckets: with every TIME-WAIT bucket in use the closer skips TIME-WAIT (Linux
    // TCPTimeWaitOverflow). The endpoint's word for it is checked against the host's own count.
    const inUse = this.timeWaitsOf.get(host) ?? 0;
    const overflow = event.cause === TIME_WAIT_OVERFLOW_CAUSE && (this.context.maxTwBuckets === undefined || inUse >= this.context.maxTwBuckets);
    if (event.cause === TIME_WAIT_OVERFLOW_CAUSE && !overflow) {
      this.report(event.atUs, index, event.conn, `active closer skipped TIME-WAIT for a full tcp_max_tw_buckets, but only ${inUse} of ${this.context.maxTwBuckets} are in use on ${host}`);
      return;
    }
    if (event.to === 'CLOSED' && !overflow && (event.from === 'FIN-WAIT-2' || event.from === 'CLOSING' || event.from === 'FIN-WAIT-1')) {
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
  readonly description = 'no segment of an earlier incarnation is accepted by a later one (from the endpoint\'s accepted-segment reports)';
  readonly blackBox = false;
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
