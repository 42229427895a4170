/** Monitors of RFC 7323 timestamps, read off the wire. */
import { ACK, RST } from '../tcp/segment.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { BaseMonitor, TupleMap, type MonitorInterest } from './monitor.js';

/**
 * `timestamps` (RFC 7323 §3.2, §4.3, §5.4; Linux tcp_options_write): within one connection's
 * life, the TSvals it sends never go backwards (modulo 2^32, compared as RFC 7323 §5.2 does),
 * and the TSecr of every segment with ACK echoes a TSval the peer really sent on that 4-tuple
 * (TS.Recent is always a TSval that arrived; after tcp_tw_reuse it may be the previous
 * incarnation's). Resets are left out: Linux's tcp_v4_send_reset carries no timestamps.
 * Black-box: the segments a connection sends, keyed by the connection that sent them (one per
 * incarnation), and the 4-tuple.
 */
export class TimestampsMonitor extends BaseMonitor {
  readonly name = 'timestamps';
  readonly claims = ['RFC 7323 §3.2', 'RFC 7323 §5.2'];
  readonly description = 'TSval never goes backwards within a connection (mod 2^32), and TSecr echoes a TSval the peer sent on the 4-tuple';
  readonly blackBox = true;
  readonly interests: readonly MonitorInterest[] = ['segment-sent', 'state'];
  /** connId -> the newest TSval it sent. */
  private readonly newestTsVal = new Map<number, number>();
  /** Every TSval sent from a 4-tuple's source end (local = sender), any incarnation. */
  private readonly sentTsVals = new TupleMap<TsValSet>();

  /** The addresses of the hosts whose stacks are judged; every sender when the context names none. */
  private readonly judgedIps: ReadonlySet<number> | null = this.context.hostIps !== undefined ? new Set(this.context.hostIps.values()) : null;

  /**
   * Past judging (ConnBook), with every connection of its 4-tuple: no endpoint keeps a TSval of
   * theirs any more (a take-over that inherits TS.Recent keeps the 4-tuple from going quiet), so
   * the TSvals sent on it, both ways, are forgotten with them.
   */
  forgetConnection(conn: ConnInfo): void {
    this.newestTsVal.delete(conn.connId);
    this.sentTsVals.delete(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
    this.sentTsVals.delete(conn.remoteIp, conn.remotePort, conn.localIp, conn.localPort);
  }

  private judged(ip: number): boolean {
    return this.judgedIps === null || this.judgedIps.has(ip);
  }

  onEvent(event: TraceEvent, index: number): void {
    if (event.type === 'state') {
      if (event.to === 'CLOSED') this.newestTsVal.delete(event.conn.connId);
      return;
    }
    if (event.type !== 'segment' || event.fate !== 'sent') return;
    const seg = event.seg;
    if (seg.tsVal < 0 || seg.flags & RST) return;
    // Judge the hosts' stacks only: a scripted peer's segments (packetdrill's injected packets,
    // which may echo any TSecr a test wants) are input, not behaviour under test.
    if (seg.flags & ACK && this.judged(seg.srcIp)) {
      const peerSent = this.sentTsVals.get(seg.dstIp, seg.dstPort, seg.srcIp, seg.srcPort);
      if (peerSent === undefined || !peerSent.has(seg.tsEcr)) {
        this.report(event.atUs, index, null, `segment #${seg.id} from port ${seg.srcPort} echoes TSecr ${seg.tsEcr}, which the peer never sent as a TSval`);
        return;
      }
    }
    let sent = this.sentTsVals.get(seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort);
    if (sent === undefined) {
      sent = new TsValSet();
      this.sentTsVals.set(seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort, sent);
    }
    sent.add(seg.tsVal);
    if (seg.connId < 0) return;
    const newest = this.newestTsVal.get(seg.connId);
    if (newest !== undefined && ((seg.tsVal - newest) | 0) < 0) {
      this.report(event.atUs, index, null, `segment #${seg.id} from port ${seg.srcPort} has TSval ${seg.tsVal}, older than the ${newest} the connection sent before`);
      return;
    }
    if (newest === undefined || seg.tsVal !== newest) this.newestTsVal.set(seg.connId, seg.tsVal);
  }
}

/**
 * The TSvals one end sent: a short array while there are few (most connections send a handful
 * of distinct TSvals; a Set per 4-tuple was most of this monitor's memory), a Set past that.
 */
class TsValSet {
  private few: number[] = [];
  private many: Set<number> | null = null;

  has(tsVal: number): boolean {
    if (this.many !== null) return this.many.has(tsVal);
    const few = this.few;
    for (let i = 0; i < few.length; i++) if (few[i] === tsVal) return true;
    return false;
  }

  add(tsVal: number): void {
    if (this.many !== null) {
      this.many.add(tsVal);
    } else if (!this.has(tsVal)) {
      if (this.few.length < TS_VALS_IN_ARRAY) this.few.push(tsVal);
      else {
        this.many = new Set(this.few);
        this.many.add(tsVal);
        this.few = [];
      }
    }
  }
}

/** Up to this many TSvals are kept in an array (a bounded scan); more go to a Set. */
const TS_VALS_IN_ARRAY = 8;
