/** Monitors of the whole lifecycle: the state diagram, termination, and the bind table (C11–C13). */
import { formatIpv4 } from '../net/address.js';
import { LEGAL_EDGES, type TcpState } from '../tcp/state.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { BaseMonitor, type EndOfRun, type MonitorContext, type MonitorInterest } from './monitor.js';

/** `legal-transitions` (RFC 9293 Figure 5): every state change is an edge of the diagram, or a reset/abort/timeout edge its text allows. */
export class LegalTransitionsMonitor extends BaseMonitor {
  readonly name = 'legal-transitions';
  readonly claims = ['RFC 9293 §3.3.2'];
  readonly description = 'every state change is an edge of RFC 9293\'s diagram (the endpoint\'s state changes, by nature)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['state'];

  onEvent(event: TraceEvent, index: number): void {
    if (event.type !== 'state') return;
    if (LEGAL_TARGETS.get(event.from)?.has(event.to) === true) return;
    this.report(event.atUs, index, event.conn, `illegal transition ${event.from}=>${event.to} (${event.cause})`);
  }
}

/** LEGAL_EDGES by source state, so checking an edge builds no string. */
const LEGAL_TARGETS: ReadonlyMap<TcpState, ReadonlySet<TcpState>> = (() => {
  const targets = new Map<TcpState, Set<TcpState>>();
  for (const edge of LEGAL_EDGES) {
    const [from, to] = edge.split('=>') as [TcpState, TcpState];
    let set = targets.get(from);
    if (set === undefined) {
      set = new Set();
      targets.set(from, set);
    }
    set.add(to);
  }
  return targets;
})();

/**
 * `termination`: once faults stop, every connection reaches CLOSED (a passive child that was
 * reset returns to LISTEN) within the run's derived time bound, and the run never exhausts its
 * event budget. The bound is `terminationBoundUs` in src/scenario/execute.ts.
 */
export class TerminationMonitor extends BaseMonitor {
  readonly name = 'termination';
  readonly claims = ['RFC 9293 §3.8.3', 'C8'];
  readonly description = 'once faults stop, every connection reaches CLOSED within the derived bound, but one left half-open by its peer\'s crash with nothing to resend (from state changes)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['state', 'host'];
  /** connId -> when it was first seen (its first state change). */
  private readonly openedUs = new Map<number, number>();
  /** host -> when it last crashed. */
  private readonly crashedUs = new Map<string, number>();
  /** ip -> host name, from the context. */
  private readonly hostOfIp = new Map<number, string>();

  constructor(context: MonitorContext) {
    super(context);
    for (const [host, ip] of context.hostIps ?? []) this.hostOfIp.set(ip, host);
  }

  onEvent(event: TraceEvent): void {
    this.track(event);
    if (event.type === 'state' && !this.openedUs.has(event.conn.connId)) this.openedUs.set(event.conn.connId, event.atUs);
    else if (event.type === 'host' && event.event === 'crash') this.crashedUs.set(event.host, event.atUs);
  }

  /**
   * RFC 9293 §3.5.2: a connection whose peer crashed is half-open, and stays so until it sends
   * something. One with nothing left to retransmit when the run goes quiet (ESTABLISHED,
   * CLOSE-WAIT, or FIN-WAIT-2 with its FIN acknowledged), whose peer's host crashed after it
   * opened, may stay.
   */
  private halfOpen(conn: ConnInfo, state: TcpState): boolean {
    if (state !== 'ESTABLISHED' && state !== 'CLOSE-WAIT' && state !== 'FIN-WAIT-2') return false;
    const peerHost = this.hostOfIp.get(conn.remoteIp);
    const crashedUs = peerHost === undefined ? undefined : this.crashedUs.get(peerHost);
    return crashedUs !== undefined && crashedUs >= (this.openedUs.get(conn.connId) ?? 0);
  }

  /** Past judging (ConnBook): it is CLOSED, so atEnd skips it. */
  forgetConnection(conn: ConnInfo): void {
    this.openedUs.delete(conn.connId);
  }

  override atEnd(end: EndOfRun): void {
    if (end.stoppedBy === 'event-budget') {
      this.report(end.atUs, -1, null, `the run used up its event budget (${end.eventCount} events) at ${end.atUs} us: a livelock`);
      return;
    }
    for (const [id, state] of this.book.stateOf) {
      const conn = this.book.byId.get(id)!;
      if (state === 'CLOSED' || (state === 'LISTEN' && conn.passive) || this.halfOpen(conn, state)) continue;
      this.report(end.atUs, -1, conn, `connection still ${state} when the run ended (${end.stoppedBy}) at ${end.atUs} us`);
      return;
    }
  }
}

interface FdModel {
  /** bind's address as dotted text; '' for the wildcard. */
  address: string;
  reuseAddr: boolean;
  port: number;
  listening: boolean;
}

/**
 * `bind-in-use` (C11–C13): bind() on a port fails with EADDRINUSE exactly when Linux's rule
 * says so. The monitor keeps its own model of each host's bind table from the trace: sockets
 * bound or listening (from calls) and live connections, TIME-WAIT included (from state
 * events), each with its SO_REUSEADDR. Another owner conflicts unless both have SO_REUSEADDR
 * and the other is not listening (Linux inet_csk_bind_conflict).
 */
export class BindInUseMonitor extends BaseMonitor {
  readonly name = 'bind-in-use';
  readonly claims = ['C11', 'C12', 'C13'];
  readonly description = 'bind on a port held by TIME-WAIT succeeds or fails exactly by Linux\'s SO_REUSEADDR rule (live connections from state changes)';
  readonly blackBox = false;
  readonly interests: readonly MonitorInterest[] = ['state', 'host', 'call'];
  /** host -> fd -> what the socket holds. */
  private readonly fds = new Map<string, Map<number, FdModel>>();
  /** host -> live connections. */
  private readonly conns = new Map<string, Map<number, ConnInfo>>();
  private readonly connReuse = new Map<number, boolean>();

  /** Past judging (ConnBook): CLOSED, so no longer among `conns`. */
  forgetConnection(conn: ConnInfo): void {
    this.connReuse.delete(conn.connId);
  }

  onEvent(event: TraceEvent, index: number): void {
    if (event.type === 'state') {
      this.onState(event.conn, event.to);
      return;
    }
    if (event.type === 'host' && event.event === 'crash') {
      this.fds.delete(event.host);
      this.conns.delete(event.host);
      return;
    }
    if (event.type !== 'call') return;
    const call = event.call;
    const fds = this.fdsOf(event.host);
    switch (call.op) {
      case 'socket':
        fds.set(event.fd, { address: '', reuseAddr: false, port: 0, listening: false });
        return;
      case 'setsockopt':
        if (call.option === 'SO_REUSEADDR' && event.result === 'ok') {
          const model = fds.get(event.fd);
          if (model !== undefined) model.reuseAddr = call.value;
          if (event.connId >= 0) this.connReuse.set(event.connId, call.value);
        }
        return;
      case 'bind': {
        const model = fds.get(event.fd);
        if (model === undefined || model.port !== 0 || call.port === 0) return;
        const address = call.address === undefined || call.address === '0.0.0.0' ? '' : call.address;
        const blocker = this.blocker(event.host, event.fd, model.reuseAddr, call.port, address);
        if (blocker !== null && event.result === 'ok') {
          this.report(event.atUs, index, null, `${event.host}: bind to port ${call.port} succeeded, but ${blocker} holds it (Linux: EADDRINUSE)`);
        } else if (blocker === null && event.result === 'EADDRINUSE') {
          this.report(event.atUs, index, null, `${event.host}: bind to port ${call.port} failed with EADDRINUSE, but no owner of the port conflicts (SO_REUSEADDR ${model.reuseAddr})`);
        }
        if (event.result === 'ok') {
          model.port = call.port;
          model.address = address;
        }
        return;
      }
      case 'listen': {
        const model = fds.get(event.fd);
        if (model !== undefined && event.result === 'ok') model.listening = true;
        return;
      }
      case 'connect':
      case 'close':
        // A connected socket's port is held by its connection from now on; a closed one's by nothing.
        fds.delete(event.fd);
        return;
      default:
        return;
    }
  }

  private onState(conn: ConnInfo, to: TcpState): void {
    let conns = this.conns.get(conn.host);
    if (conns === undefined) {
      conns = new Map();
      this.conns.set(conn.host, conns);
    }
    if (!this.connReuse.has(conn.connId)) this.connReuse.set(conn.connId, conn.reuseAddr);
    if (to === 'CLOSED' || (to === 'LISTEN' && conn.passive)) conns.delete(conn.connId);
    else conns.set(conn.connId, conn);
  }

  /** A description of the first owner of `port` that stops the bind, or null. */
  private blocker(host: string, fd: number, reuseAddr: boolean, port: number, address: string): string | null {
    // Linux inet_rcv_saddr_equal: two different specific addresses never overlap.
    const overlaps = (other: string) => address === '' || other === '' || other === address;
    for (const [otherFd, other] of this.fdsOf(host)) {
      if (otherFd === fd || other.port !== port || !overlaps(other.address)) continue;
      if (!(reuseAddr && other.reuseAddr && !other.listening)) return `socket ${otherFd}${other.listening ? ' (listening)' : ''}`;
    }
    for (const conn of this.conns.get(host)?.values() ?? []) {
      if (conn.localPort !== port || !overlaps(formatIpv4(conn.localIp))) continue;
      if (!(reuseAddr && this.connReuse.get(conn.connId)!)) return `connection #${conn.connId}`;
    }
    return null;
  }

  private fdsOf(host: string): Map<number, FdModel> {
    let fds = this.fds.get(host);
    if (fds === undefined) {
      fds = new Map();
      this.fds.set(host, fds);
    }
    return fds;
  }
}
