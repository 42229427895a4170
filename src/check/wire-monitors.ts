/**
 * Monitors of promises read off the wire and the application's calls: what connect() returns
 * (C1–C3), the resets a host sends with no connection (RFC 9293 §3.10.7.1), a SYN that finds
 * TIME-WAIT (C10), listen() on a port another socket listens on (C13), and the ports connect()
 * picks (C12).
 */
import { ACK, FIN, RST, SYN, segLen, type Segment } from '../tcp/segment.js';
import { seqAdd, seqGt } from '../tcp/seq.js';
import type { TcpState } from '../tcp/state.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { BaseMonitor, TupleMap, type EndOfRun, type MonitorContext, type MonitorInterest } from './monitor.js';

type CallEvent = Extract<TraceEvent, { type: 'call' }>;

/** Linux's ip_local_port_range default, when the context does not give the stack's. */
const EPHEMERAL_MIN = 32768;
const EPHEMERAL_MAX = 60999;

/** A connect as the wire shows it: its SYN, and what came back. */
interface Opening {
  readonly connId: number;
  readonly iss: number;
  synsSent: number;
  /** A SYN,ACK acknowledging the SYN (or the peer's own SYN: simultaneous open) arrived. */
  answered: boolean;
  /** A segment acknowledging the SYN (ISN+1) arrived: a simultaneous open's bare SYN is no acknowledgment. */
  acked: boolean;
  /** A RST,ACK acknowledging the SYN arrived first. */
  refused: boolean;
}

/**
 * `connect-result` (C1–C3, RFC 9293 §3.10.7.3): connect() returns success only after a SYN,ACK
 * acknowledging its SYN (ISN+1) arrived, or the peer's SYN of a simultaneous open;
 * ECONNREFUSED exactly when a RST whose ACK acknowledges the SYN arrived first; ETIMEDOUT only
 * when nothing acceptable came back and the SYN went out as often as Linux's SYN timers send it
 * (tcp_syn_retries + tcp_syn_linear_timeouts and the time limit: unansweredSynSchedule in src/tcp/tcb-timers.ts);
 * EADDRNOTAVAIL from an unbound socket only when every port of ip_local_port_range was used
 * toward that destination (every 4-tuple taken, as when all are in TIME-WAIT). A non-blocking
 * connect() is judged by the call that gives its outcome (the connect() after EINPROGRESS and
 * any EALREADY).
 */
export class ConnectResultMonitor extends BaseMonitor {
  readonly name = 'connect-result';
  readonly claims = ['C1', 'C2', 'C3', 'RFC 9293 §3.10.7.3'];
  readonly description = 'connect() succeeds only after a SYN,ACK acking ISN+1, fails ECONNREFUSED exactly after a RST,ACK acking the SYN, ETIMEDOUT only after as many unanswered SYNs as Linux sends (11 with tcp_syn_retries 6 and tcp_syn_linear_timeouts 4), EADDRNOTAVAIL only once every ephemeral port was used toward the destination';
  readonly blackBox = true;
  readonly interests: readonly MonitorInterest[] = ['segment', 'call'];
  private readonly byConn = new Map<number, Opening>();
  /** Openings by the SYN's 4-tuple (local = its source), for what comes back. */
  private readonly byTuple = new TupleMap<Opening>();
  /** Source ports each host has opened a connection from (its SYN or SYN,ACK), by source ip and destination ip:port (the local port slot unused: 0). */
  private readonly portsToward = new TupleMap<number | Set<number>>();
  /** `host` -> ports its sockets were ever bound to (Linux's connect() search skips ports bound with bind()). */
  private readonly everBound = new Map<string, Set<number>>();
  /** `host/fd` of sockets bound with bind() (connect() then takes their port, no search). */
  private readonly boundFds = new Set<string>();

  /** Past judging (ConnBook): drop what is kept for it. */
  forgetConnection(conn: ConnInfo): void {
    const opening = this.byConn.get(conn.connId);
    if (opening === undefined) return;
    this.byConn.delete(conn.connId);
    if (this.byTuple.get(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort) === opening) this.byTuple.delete(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
  }

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (event.type === 'segment') {
      if (event.fate === 'sent') this.onSent(event.seg);
      else if (event.fate === 'delivered' && this.byTuple.size > 0) this.onDelivered(event.seg);
      return;
    }
    if (event.type !== 'call') return;
    this.noteBinding(event);
    if (event.call.op === 'connect' && event.connId >= 0) this.onConnectResult(event, index);
    else if (event.call.op === 'connect' && event.result === 'EADDRNOTAVAIL') this.onNoPort(event, index);
  }

  private noteBinding(event: CallEvent): void {
    const call = event.call;
    const key = `${event.host}/${event.fd}`;
    if (call.op === 'socket') this.boundFds.delete(key);
    else if (call.op === 'bind' && event.result === 'ok') {
      this.boundFds.add(key);
      let ports = this.everBound.get(event.host);
      if (ports === undefined) {
        ports = new Set();
        this.everBound.set(event.host, ports);
      }
      ports.add(call.port);
    }
  }

  /**
   * EADDRNOTAVAIL from connect() on a socket never bound (Linux __inet_hash_connect): only when
   * every port of ip_local_port_range is taken toward that destination, so a port the host never
   * opened a connection from toward it, and never bound, proves the error wrong. (Which ports are
   * still held — TIME-WAIT, tcp_tw_reuse — the wire cannot tell; a port never used it can.)
   */
  private onNoPort(event: CallEvent, index: number): void {
    const call = event.call;
    if (call.op !== 'connect' || this.boundFds.has(`${event.host}/${event.fd}`)) return;
    const srcIp = this.context.hostIps?.get(event.host);
    const dstIp = this.context.hostIps?.get(call.host);
    if (srcIp === undefined || dstIp === undefined) return;
    const used = this.portsToward.get(srcIp, 0, dstIp, call.port);
    const bound = this.everBound.get(event.host);
    const min = this.context.ephemeralPortMin ?? EPHEMERAL_MIN;
    const max = this.context.ephemeralPortMax ?? EPHEMERAL_MAX;
    for (let port = min; port <= max; port++) {
      if (!(typeof used === 'number' ? used === port : used?.has(port) === true) && bound?.has(port) !== true) {
        this.report(event.atUs, index, null, `${event.host}: connect() to ${call.host}:${call.port} returned EADDRNOTAVAIL, but port ${port} of ip_local_port_range ${min}-${max} was never used toward it`);
        return;
      }
    }
  }

  private onSent(seg: Segment): void {
    if (seg.flags & SYN && !(seg.flags & RST)) {
      // One port alone is kept as a number (a server answers each client port once), more in a Set.
      const ports = this.portsToward.get(seg.srcIp, 0, seg.dstIp, seg.dstPort);
      if (ports === undefined) this.portsToward.set(seg.srcIp, 0, seg.dstIp, seg.dstPort, seg.srcPort);
      else if (typeof ports !== 'number') ports.add(seg.srcPort);
      else if (ports !== seg.srcPort) this.portsToward.set(seg.srcIp, 0, seg.dstIp, seg.dstPort, new Set([ports, seg.srcPort]));
    }
    if ((seg.flags & (SYN | ACK | RST)) !== SYN || seg.connId < 0) return;
    const known = this.byConn.get(seg.connId);
    if (known !== undefined && known.iss === seg.seq) {
      known.synsSent++;
      return;
    }
    const opening: Opening = { connId: seg.connId, iss: seg.seq, synsSent: 1, answered: false, acked: false, refused: false };
    this.byConn.set(seg.connId, opening);
    this.byTuple.set(seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort, opening);
  }

  private onDelivered(seg: Segment): void {
    const opening = this.byTuple.get(seg.dstIp, seg.dstPort, seg.srcIp, seg.srcPort);
    if (opening === undefined || opening.refused || (opening.acked && opening.answered)) return;
    const acksSyn = (seg.flags & ACK) !== 0 && seg.ack === seqAdd(opening.iss, 1);
    if (seg.flags & RST) {
      if (acksSyn && !opening.answered) opening.refused = true;
      return;
    }
    if (acksSyn) opening.acked = true;
    if (seg.flags & SYN && (acksSyn || !(seg.flags & ACK))) opening.answered = true;
  }

  private onConnectResult(event: CallEvent, index: number): void {
    const opening = this.byConn.get(event.connId);
    if (opening === undefined) return;
    // A non-blocking connect() still under way (Linux __inet_stream_connect): the outcome comes
    // with a later connect() on the socket, which is judged against the same SYN.
    if (event.result === 'EINPROGRESS' || event.result === 'EALREADY') return;
    this.byConn.delete(event.connId);
    const conn = this.book.byId.get(event.connId) ?? null;
    if (conn !== null && this.byTuple.get(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort) === opening) {
      this.byTuple.delete(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
    }
    const result = event.result;
    if (result === 'ok') {
      if (!opening.answered) this.report(event.atUs, index, conn, `connect() returned ok, but no SYN,ACK acknowledging its SYN (ISN ${opening.iss}) arrived`);
    } else if (opening.refused) {
      if (result !== 'ECONNREFUSED') this.report(event.atUs, index, conn, `a RST,ACK acknowledging the SYN arrived, but connect() returned ${result}, not ECONNREFUSED`);
    } else if (result === 'ECONNREFUSED') {
      this.report(event.atUs, index, conn, `connect() returned ECONNREFUSED, but no RST acknowledging its SYN arrived`);
    } else if (result === 'ETIMEDOUT') {
      const expected = this.context.synsBeforeTimeout ?? (this.context.synRetries === undefined ? opening.synsSent : this.context.synRetries + 1);
      // After a simultaneous open's bare SYN the connection still waits for its SYN to be acknowledged (SYN-RECEIVED), and may time out.
      if (opening.acked) this.report(event.atUs, index, conn, `connect() returned ETIMEDOUT after its SYN was acknowledged`);
      // Answered by a bare SYN, it went on to resend SYN,ACKs (Linux counts those too), so the SYN count says nothing.
      else if (!opening.answered && opening.synsSent !== expected) this.report(event.atUs, index, conn, `connect() returned ETIMEDOUT after ${opening.synsSent} SYNs; tcp_syn_retries gives ${expected}`);
    }
  }
}

/**
 * `host-reset` (RFC 9293 §3.10.7.1, Linux tcp_v4_send_reset): a reset a host sends with no
 * connection answers a segment that just arrived for that 4-tuple, never a RST; if that segment
 * had ACK the reset is `<SEQ=SEG.ACK><CTL=RST>`, otherwise `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`;
 * it carries no data and window 0. And a SYN to a port that no socket or connection of the
 * host has ever used is answered with that reset at once (ports from the calls and the wire).
 */
export class HostResetMonitor extends BaseMonitor {
  readonly name = 'host-reset';
  readonly claims = ['RFC 9293 §3.10.7.1', 'C1'];
  readonly description = 'a host\'s reset with no connection answers a segment that just arrived, never a RST, with RFC 9293 §3.10.7.1\'s fields; a SYN to a port never used gets one';
  readonly blackBox = true;
  readonly interests: readonly MonitorInterest[] = ['segment', 'call', 'host'];
  /** Segments delivered at `recentAtUs`, in order. */
  private readonly recent: Segment[] = [];
  private recentAtUs = -1;
  /** ip -> ports its sockets or connections have used. */
  private readonly usedPorts = new Map<number, Set<number>>();
  /** SYNs to unused ports awaiting their reset, all delivered at `recentAtUs`. */
  private readonly awaitingReset: Segment[] = [];
  private readonly downHosts = new Set<string>();
  /** ip -> host name, from the context. */
  private readonly hostOfIp = new Map<number, string>();

  constructor(context: MonitorContext) {
    super(context);
    for (const [host, ip] of context.hostIps ?? []) this.hostOfIp.set(ip, host);
  }

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (event.atUs !== this.recentAtUs) this.newInstant(event.atUs, index);
    switch (event.type) {
      case 'segment':
        if (event.fate === 'sent') this.onSent(event.seg, event.atUs, index);
        else if (event.fate === 'delivered') this.onDelivered(event.seg);
        return;
      case 'call':
        this.onCall(event);
        return;
      case 'host':
        if (event.event === 'crash') this.downHosts.add(event.host);
        else this.downHosts.delete(event.host);
        return;
      default:
        return;
    }
  }

  override atEnd(end: EndOfRun): void {
    this.newInstant(end.atUs, -1);
  }

  private newInstant(atUs: number, index: number): void {
    const missing = this.awaitingReset[0];
    if (missing !== undefined) {
      this.report(this.recentAtUs, index, null, `a SYN to port ${missing.dstPort}, which no socket of its host ever used, got no RST,ACK (seg #${missing.id})`);
    }
    this.awaitingReset.length = 0;
    this.recent.length = 0;
    this.recentAtUs = atUs;
  }

  private portsOf(ip: number): Set<number> {
    let ports = this.usedPorts.get(ip);
    if (ports === undefined) {
      ports = new Set();
      this.usedPorts.set(ip, ports);
    }
    return ports;
  }

  private onCall(event: CallEvent): void {
    const ip = this.context.hostIps?.get(event.host);
    if (ip === undefined) return;
    // Ports given to bind(); autobound ones show on the wire when they are used.
    if (event.call.op === 'bind' && event.call.port > 0) this.portsOf(ip).add(event.call.port);
  }

  private onDelivered(seg: Segment): void {
    this.recent.push(seg);
    if ((seg.flags & (SYN | ACK | RST)) !== SYN) return;
    const host = this.hostOfIp.get(seg.dstIp);
    if (host === undefined || this.downHosts.has(host)) return;
    if (!this.portsOf(seg.dstIp).has(seg.dstPort)) this.awaitingReset.push(seg);
  }

  private onSent(seg: Segment, atUs: number, index: number): void {
    this.portsOf(seg.srcIp).add(seg.srcPort);
    // A scripted peer (src/world/scripted-peer.ts) sends with no connection on purpose; only
    // the hosts named in the context are judged once the context names them.
    if (seg.connId >= 0 || (this.hostOfIp.size > 0 && !this.hostOfIp.has(seg.srcIp))) return;
    if (!(seg.flags & RST)) {
      this.report(atUs, index, null, `a host sent a segment with no connection that is not a RST (flags ${seg.flags})`);
      return;
    }
    let cause: Segment | undefined;
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const r = this.recent[i]!;
      if (r.srcIp === seg.dstIp && r.srcPort === seg.dstPort && r.dstIp === seg.srcIp && r.dstPort === seg.srcPort) {
        cause = r;
        break;
      }
    }
    if (cause === undefined) {
      this.report(atUs, index, null, `a host sent a RST (seq ${seg.seq}) to port ${seg.dstPort} that answers no segment arriving from there`);
      return;
    }
    const waiting = this.awaitingReset.indexOf(cause);
    if (waiting >= 0) this.awaitingReset.splice(waiting, 1);
    if (cause.flags & RST) {
      this.report(atUs, index, null, `a host answered a RST (seg #${cause.id}) with a RST; a reset is never answered`);
      return;
    }
    const problem = resetFieldProblem(seg, cause);
    if (problem !== null) this.report(atUs, index, null, `host RST answering seg #${cause.id}: ${problem}`);
  }
}

/** What is wrong with a reset's fields as an answer to `cause` (RFC 9293 §3.10.7.1), or null. */
function resetFieldProblem(rst: Segment, cause: Segment): string | null {
  if (cause.flags & ACK) {
    if (rst.flags !== RST) return `flags ${rst.flags}, expected RST alone (the segment had ACK)`;
    if (rst.seq !== cause.ack) return `seq ${rst.seq}, expected SEG.ACK ${cause.ack}`;
  } else {
    const ack = seqAdd(cause.seq, segLen(cause));
    if (rst.flags !== (RST | ACK)) return `flags ${rst.flags}, expected RST,ACK (the segment had no ACK)`;
    if (rst.seq !== 0) return `seq ${rst.seq}, expected 0`;
    if (rst.ack !== ack) return `ack ${rst.ack}, expected SEG.SEQ+SEG.LEN ${ack}`;
  }
  if (rst.payload.length !== 0) return `${rst.payload.length} data bytes`;
  if (rst.window !== 0) return `window ${rst.window}, Linux sends 0`;
  return null;
}

interface TimeWaitView {
  readonly conn: ConnInfo;
  /** RCV.NXT and SND.NXT as the holder's own segments show them, or -1 before any. */
  rcvNxt: number;
  sndNxt: number;
}

/** A SYN that found TIME-WAIT, and what must follow it at the same instant. */
interface SynVerdict {
  readonly syn: Segment;
  readonly atUs: number;
  /** True: a SYN,ACK of a new incarnation must answer it; false: none may. */
  readonly mustOpen: boolean;
  readonly oldSndNxt: number;
  readonly conn: ConnInfo;
  answered: Segment | null;
}

/**
 * `time-wait-syn` (C10; Linux tcp_timewait_state_process, TCP_TW_SYN): a SYN whose sequence
 * number is above the TIME-WAIT's RCV.NXT (mod 2^32, across the whole space), arriving on a
 * port that has a listener, opens the new incarnation at once: a SYN,ACK acknowledging it whose
 * ISN is the old SND.NXT + 65537. A SYN at or below RCV.NXT opens nothing. RCV.NXT and SND.NXT
 * are read from the holder's own segments; listeners from the program's calls. Not black-box:
 * which 4-tuples are in TIME-WAIT comes from state changes.
 *
 * With timestamps (RFC 7323) Linux also opens the new incarnation when the SYN's TSval is newer
 * than TS.Recent, and a SYN that fails PAWS opens nothing. The wire bounds TS.Recent from above
 * by the newest TSval delivered to the holder: a SYN newer than that must open; one not newer
 * may go either way, and is not judged.
 */
export class TimeWaitSynMonitor extends BaseMonitor {
  readonly name = 'time-wait-syn';
  readonly claims = ['C10', 'RFC 9293 §3.10.7.4'];
  readonly description = 'a SYN above a TIME-WAIT\'s RCV.NXT (mod 2^32) on a listening port opens the new incarnation with ISN = old SND.NXT + 65537; one at or below opens nothing (TIME-WAIT from state changes)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['state', 'segment', 'call', 'host'];
  private readonly held = new TupleMap<TimeWaitView>();
  /** connId -> RCV.NXT and SND.NXT from its last ACK-bearing segment, for connections about to enter TIME-WAIT. */
  private readonly lastSeen = new Map<number, { rcvNxt: number; sndNxt: number }>();
  private readonly listening = new ListenerModel();
  /** By the receiving end's 4-tuple (local, remote): the newest TSval (RFC 7323) delivered to it from its peer, an upper bound on its TS.Recent. */
  private readonly tsSeen = new TupleMap<number>();
  private readonly verdicts: SynVerdict[] = [];

  /**
   * Past judging (ConnBook), with every connection of its 4-tuple: no endpoint keeps a TS.Recent
   * from them any more, so the bound on it goes too, both ways.
   */
  forgetConnection(conn: ConnInfo): void {
    this.lastSeen.delete(conn.connId);
    this.tsSeen.delete(conn.localIp, conn.localPort, conn.remoteIp, conn.remotePort);
    this.tsSeen.delete(conn.remoteIp, conn.remotePort, conn.localIp, conn.localPort);
  }

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (this.verdicts.length > 0 && event.atUs !== this.verdicts[0]!.atUs) this.judge(index);
    switch (event.type) {
      case 'state': {
        const c = event.conn;
        if (event.to === 'TIME-WAIT') {
          const seen = this.lastSeen.get(c.connId);
          this.held.set(c.localIp, c.localPort, c.remoteIp, c.remotePort, { conn: c, rcvNxt: seen?.rcvNxt ?? -1, sndNxt: seen?.sndNxt ?? -1 });
        } else if (event.from === 'TIME-WAIT') {
          const held = this.held.get(c.localIp, c.localPort, c.remoteIp, c.remotePort);
          if (held?.conn.connId === c.connId) this.held.delete(c.localIp, c.localPort, c.remoteIp, c.remotePort);
        }
        if (event.to === 'CLOSED') this.lastSeen.delete(c.connId);
        return;
      }
      case 'segment':
        if (event.fate === 'sent') this.onSent(event.seg);
        else if (event.fate === 'delivered') {
          if (this.held.size > 0) this.onDelivered(event.seg, event.atUs);
          this.noteTimestamp(event.seg);
        }
        return;
      case 'call':
        this.listening.onCall(event);
        return;
      case 'host':
        if (event.event === 'crash') this.listening.crash(event.host);
        return;
      default:
        return;
    }
  }

  override atEnd(_end: EndOfRun): void {
    this.judge(-1);
  }

  private onSent(seg: Segment): void {
    if (seg.flags & RST) return;
    // A SYN,ACK answers the latest SYN of its 4-tuple in this instant: with two SYNs at once
    // (one below RCV.NXT, answered with an ACK, then one above it) only the second opened it.
    // (Found by `timewait packetdrill --fuzz`, duplicating a SYN.)
    for (let i = this.verdicts.length - 1; i >= 0; i--) {
      const verdict = this.verdicts[i]!;
      const s = verdict.syn;
      if (seg.srcIp === s.dstIp && seg.srcPort === s.dstPort && seg.dstIp === s.srcIp && seg.dstPort === s.srcPort && seg.flags & SYN && seg.flags & ACK) {
        verdict.answered = seg;
        break;
      }
    }
    if (seg.connId < 0 || !(seg.flags & ACK)) return;
    const sndNxt = seqAdd(seg.seq, segLen(seg));
    const held = this.held.get(seg.srcIp, seg.srcPort, seg.dstIp, seg.dstPort);
    if (held !== undefined && held.conn.connId === seg.connId) {
      held.rcvNxt = seg.ack;
      held.sndNxt = sndNxt;
      return;
    }
    // Updated in place: one record per connection, not one per segment.
    const seen = this.lastSeen.get(seg.connId);
    if (seen === undefined) {
      this.lastSeen.set(seg.connId, { rcvNxt: seg.ack, sndNxt });
    } else {
      seen.rcvNxt = seg.ack;
      seen.sndNxt = sndNxt;
    }
  }

  private onDelivered(seg: Segment, atUs: number): void {
    if ((seg.flags & (SYN | ACK | RST)) !== SYN) return;
    const held = this.held.get(seg.dstIp, seg.dstPort, seg.srcIp, seg.srcPort);
    if (held === undefined || held.rcvNxt < 0) return;
    const seenTsVal = this.tsSeen.get(seg.dstIp, seg.dstPort, seg.srcIp, seg.srcPort);
    let mustOpen = seqGt(seg.seq, held.rcvNxt);
    if (seenTsVal !== undefined && seg.tsVal >= 0) {
      // Timestamps in use: newer than anything delivered means newer than TS.Recent.
      if (((seg.tsVal - seenTsVal) | 0) > 0) mustOpen = true;
      else return;
    }
    if (mustOpen && !this.listening.listens(held.conn.host, held.conn.localPort)) return;
    this.verdicts.push({ syn: seg, atUs, mustOpen, oldSndNxt: held.sndNxt, conn: held.conn, answered: null });
  }

  /**
   * A RST's TSval becomes TS.Recent only where the RST leaves TIME-WAIT standing: under
   * tcp_rfc1337, at RCV.NXT (tcp_timewait_state_process); elsewhere it is dropped, or ends the
   * connection and its TS.Recent with it.
   */
  private resetKeepsTimeWait(rst: Segment): boolean {
    if (this.context.rfc1337 !== true) return false;
    const held = this.held.get(rst.dstIp, rst.dstPort, rst.srcIp, rst.srcPort);
    return held !== undefined && rst.seq === held.rcvNxt;
  }

  /** Every delivered segment with timestamps raises the bound on its receiver's TS.Recent (a RST only as above). */
  private noteTimestamp(seg: Segment): void {
    if (seg.tsVal < 0 || (seg.flags & RST && !this.resetKeepsTimeWait(seg))) return;
    const seenTsVal = this.tsSeen.get(seg.dstIp, seg.dstPort, seg.srcIp, seg.srcPort);
    if (seenTsVal === undefined || ((seg.tsVal - seenTsVal) | 0) > 0) this.tsSeen.set(seg.dstIp, seg.dstPort, seg.srcIp, seg.srcPort, seg.tsVal);
  }

  private judge(index: number): void {
    for (const v of this.verdicts) {
      const answered = v.answered;
      if (v.mustOpen && answered === null) {
        this.report(v.atUs, index, v.conn, `SYN seq ${v.syn.seq} above TIME-WAIT's RCV.NXT on a listening port opened no new incarnation (no SYN,ACK)`);
      } else if (v.mustOpen && answered !== null && answered.ack !== seqAdd(v.syn.seq, 1)) {
        this.report(v.atUs, index, v.conn, `the new incarnation's SYN,ACK acks ${answered.ack}, expected SYN seq + 1 = ${seqAdd(v.syn.seq, 1)}`);
      } else if (v.mustOpen && answered !== null && v.oldSndNxt >= 0 && answered.seq !== seqAdd(v.oldSndNxt, 65537)) {
        this.report(v.atUs, index, v.conn, `the new incarnation's ISN is ${answered.seq}, expected the old SND.NXT + 65537 = ${seqAdd(v.oldSndNxt, 65537)} (Linux tcp_timewait_state_process)`);
      } else if (!v.mustOpen && answered !== null) {
        this.report(v.atUs, index, v.conn, `SYN seq ${v.syn.seq}, not above TIME-WAIT's RCV.NXT, opened a new incarnation (SYN,ACK seq ${answered.seq})`);
      }
    }
    this.verdicts.length = 0;
  }
}

/** Which ports each host listens on, from the program's calls (bind, listen, close, crash). */
class ListenerModel {
  /** `host/fd` -> bound port. */
  private readonly portOfFd = new Map<string, number>();
  /** `host/fd` of listening sockets -> port. */
  private readonly listeners = new Map<string, number>();

  onCall(event: CallEvent): void {
    const key = `${event.host}/${event.fd}`;
    const call = event.call;
    if (call.op === 'socket') {
      this.portOfFd.delete(key);
      this.listeners.delete(key);
    } else if (call.op === 'bind' && event.result === 'ok') {
      this.portOfFd.set(key, call.port);
    } else if (call.op === 'listen' && event.result === 'ok') {
      const port = this.portOfFd.get(key);
      if (port !== undefined) this.listeners.set(key, port);
    } else if (call.op === 'close') {
      // connect() on a listener fails (Linux __inet_stream_connect: EISCONN) and it goes on listening.
      this.listeners.delete(key);
      this.portOfFd.delete(key);
    }
  }

  crash(host: string): void {
    for (const key of [...this.listeners.keys()]) if (key.startsWith(`${host}/`)) this.listeners.delete(key);
    for (const key of [...this.portOfFd.keys()]) if (key.startsWith(`${host}/`)) this.portOfFd.delete(key);
  }

  /** The descriptor of another socket listening on `port`, or -1. */
  listenerOn(host: string, port: number, exceptKey: string): string | null {
    for (const [key, p] of this.listeners) if (p === port && key !== exceptKey && key.startsWith(`${host}/`)) return key;
    return null;
  }

  listens(host: string, port: number): boolean {
    return this.listenerOn(host, port, '') !== null;
  }

  portOf(host: string, fd: number): number | undefined {
    return this.portOfFd.get(`${host}/${fd}`);
  }
}

/**
 * `listen-conflict` (C13; Linux inet_csk_get_port at listen): listen() on a port another socket
 * of the host listens on fails with EADDRINUSE — two SO_REUSEADDR sockets may both bind a port,
 * but only one may listen on it — and fails with EADDRINUSE only then. Listeners from the calls.
 */
export class ListenConflictMonitor extends BaseMonitor {
  readonly name = 'listen-conflict';
  readonly claims = ['C13'];
  readonly description = 'listen() fails with EADDRINUSE exactly when another socket of the host listens on its port';
  readonly blackBox = true;
  readonly interests: readonly MonitorInterest[] = ['call', 'host'];
  private readonly listening = new ListenerModel();

  onEvent(event: TraceEvent, index: number): void {
    if (event.type === 'host') {
      if (event.event === 'crash') this.listening.crash(event.host);
      return;
    }
    if (event.type !== 'call') return;
    if (event.call.op === 'listen') {
      const port = this.listening.portOf(event.host, event.fd);
      if (port !== undefined) {
        const other = this.listening.listenerOn(event.host, port, `${event.host}/${event.fd}`);
        if (other !== null && event.result === 'ok') {
          this.report(event.atUs, index, null, `${event.host}: listen() on port ${port} succeeded while socket ${other.split('/')[1]} listens on it (Linux: EADDRINUSE)`);
        } else if (other === null && event.result === 'EADDRINUSE') {
          this.report(event.atUs, index, null, `${event.host}: listen() on port ${port} failed with EADDRINUSE, but no other socket listens on it`);
        }
      }
    }
    this.listening.onCall(event);
  }
}

/**
 * `ephemeral-port` (C12; Linux __inet_hash_connect): connect() on a socket bound to a port sends
 * its SYN from that port; on one never bound, from a port of ip_local_port_range whose 4-tuple
 * no other connection of the host holds, TIME-WAIT included. Not black-box: which 4-tuples are
 * held comes from state changes.
 */
export class EphemeralPortMonitor extends BaseMonitor {
  readonly name = 'ephemeral-port';
  readonly claims = ['C12'];
  readonly description = 'connect() sends its SYN from the bound port, or from an ephemeral port whose 4-tuple no live connection (TIME-WAIT included) holds (held 4-tuples from state changes)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['segment-sent', 'call', 'state'];
  /** `host/fd` -> port given to bind(). */
  private readonly boundPort = new Map<string, number>();
  /** connId -> source port of its first SYN. */
  private readonly firstSynPort = new Map<number, number>();
  /** Live connections by 4-tuple (the latest one), from state changes. */
  private readonly live = new TupleMap<number>();
  /** An actively opened connection -> the live connection that held its 4-tuple when it opened. */
  private readonly clashWith = new Map<number, number>();

  /** Past judging (ConnBook): drop what is kept for it. */
  forgetConnection(conn: ConnInfo): void {
    this.firstSynPort.delete(conn.connId);
    this.clashWith.delete(conn.connId);
  }

  onEvent(event: TraceEvent, index: number): void {
    this.track(event);
    if (event.type === 'segment') {
      const seg = event.seg;
      if ((seg.flags & (SYN | ACK | RST)) !== SYN || seg.connId < 0 || this.firstSynPort.has(seg.connId)) return;
      this.firstSynPort.set(seg.connId, seg.srcPort);
      return;
    }
    if (event.type === 'state') {
      this.onState(event.conn, event.from, event.to);
      return;
    }
    if (event.type !== 'call') return;
    const call = event.call;
    const key = `${event.host}/${event.fd}`;
    if (call.op === 'socket') this.boundPort.delete(key);
    else if (call.op === 'bind' && event.result === 'ok') this.boundPort.set(key, call.port);
    if (call.op !== 'connect' || event.connId < 0) return;
    const synPort = this.firstSynPort.get(event.connId);
    if (synPort === undefined) return;
    const clash = this.clashWith.get(event.connId) ?? -1;
    this.clashWith.delete(event.connId);
    const conn = this.book.byId.get(event.connId) ?? null;
    const bound = this.boundPort.get(key);
    const min = this.context.ephemeralPortMin ?? EPHEMERAL_MIN;
    const max = this.context.ephemeralPortMax ?? EPHEMERAL_MAX;
    if (bound !== undefined && bound > 0) {
      if (synPort !== bound) this.report(event.atUs, index, conn, `connect() on a socket bound to port ${bound} sent its SYN from port ${synPort}`);
    } else if (synPort < min || synPort > max) {
      this.report(event.atUs, index, conn, `connect() picked port ${synPort}, outside the ephemeral range ${min}-${max}`);
    } else if (clash >= 0) {
      this.report(event.atUs, index, conn, `connect() picked port ${synPort}, whose 4-tuple connection #${clash} still holds`);
    }
  }

  private onState(c: ConnInfo, from: TcpState, to: TcpState): void {
    const holder = this.live.get(c.localIp, c.localPort, c.remoteIp, c.remotePort);
    if (to === 'CLOSED' || (to === 'LISTEN' && c.passive)) {
      this.firstSynPort.delete(c.connId);
      if (holder === c.connId) this.live.delete(c.localIp, c.localPort, c.remoteIp, c.remotePort);
      return;
    }
    if (from === 'CLOSED' && to === 'SYN-SENT' && holder !== undefined && holder !== c.connId) this.clashWith.set(c.connId, holder);
    if (holder !== c.connId) this.live.set(c.localIp, c.localPort, c.remoteIp, c.remotePort, c.connId);
  }

}
