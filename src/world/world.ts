/**
 * A simulated world: one scheduler, one fabric, many hosts, one trace. This is where the
 * clock-free TCP code meets time: its timers become scheduler events, its segments fabric
 * datagrams, and its state changes trace events.
 */
import { hostIp } from '../net/address.js';
import { Fabric, type DelayReason, type DropReason, type FabricObserver } from '../net/fabric.js';
import type { LinkFaults } from '../net/faults.js';
import { rngStream } from '../sim/rng.js';
import { Scheduler, SimEvent, type EventHandler, type RunEnd, type RunLimits } from '../sim/scheduler.js';
import { stackConfig, type StackConfig } from '../tcp/config.js';
import { cloneSegment, EMPTY_PAYLOAD, type Segment, type SegmentToFill } from '../tcp/segment.js';
import type { TcpState } from '../tcp/state.js';
import type { Endpoint } from '../tcp/endpoint.js';
import { Host } from '../tcp/host.js';
import { referenceStack } from '../tcp/reference-stack.js';
import type { ConnectionView as Tcb, Stack, StackEnv, StackFactory } from '../tcp/stack.js';
import type { TimerKind } from '../tcp/tcb.js';
import { timerNameOf, type ConnInfo, type TraceEvent, type TraceListener } from './trace.js';
import { ScriptedPeer } from './scripted-peer.js';

export interface WorldOptions {
  readonly seed: number;
  /** Stack settings for every host (per-host overrides in `addHost`). */
  readonly stack?: Partial<StackConfig>;
  /** Segments never outlive MSL unless this is false (to show what then breaks, C10). */
  readonly enforceMsl?: boolean;
  readonly defaultFaults?: LinkFaults;
  /** Random link faults stop for segments sent from this time on. */
  readonly faultsEndUs?: number;
  /** The TCP implementation every host runs unless `addHost` names another. */
  readonly endpoint?: Endpoint;
  /**
   * The whole-host stack every host runs (src/tcp/stack.ts): the reference Host with `endpoint`
   * unless this names another, such as an external stack (src/stack/).
   */
  readonly stackFactory?: StackFactory;
  /**
   * Keep every connection ever made in its host's `allTcbs` (default true). Runs of 10^5
   * connections turn it off so closed connections can be freed.
   */
  readonly keepClosedConnections?: boolean;
  /**
   * Swap a TIME-WAIT connection whose socket is closed for its small record (default true; see
   * src/tcp/time-wait.ts). Off only to check that the swap changes nothing.
   */
  readonly compactTimeWait?: boolean;
}

export const DEFAULT_LIMITS: RunLimits = { maxEvents: 5_000_000, maxTimeUs: 24 * 3600 * 1_000_000 };

export class World implements StackEnv, EventHandler<Tcb> {
  readonly scheduler = new Scheduler();
  readonly fabric: Fabric<Segment>;
  readonly hosts: Stack[] = [];
  readonly seed: number;
  readonly stack: StackConfig;
  private readonly hostByName = new Map<string, Stack>();
  private readonly listeners: TraceListener[] = [];
  private tracing = false;
  private segmentIds = 0;
  private connIds = 0;
  /** Latest incarnation per 4-tuple: lower ip -> higher ip -> ports of the lower, higher end -> number. */
  private readonly incarnations = new Map<number, Map<number, Map<number, number>>>();
  /**
   * Trace identities by connection, made on a connection's first event. Weak: a strong map kept
   * every closed TCB of a traced run alive (31 MB at K=10^4 in the lifecycle benchmark).
   */
  private readonly connInfo = new WeakMap<Tcb, ConnInfo>();
  private readonly hostByIp = new Map<number, Stack>();
  private readonly stackFactory: StackFactory;
  /**
   * Timer events of connections that reached CLOSED, by kind, for the next connection's timers:
   * a free list, so that 10^5 lifecycles do not make 10^5 × 3 events. Only events not pending
   * are taken back (`seq` is given at scheduling, so a reused event orders exactly as a new one).
   */
  private readonly spareTimerEvents: SimEvent<Tcb>[][] = [[], [], [], [], []];
  /** Host-level timers (StackEnv.setHostTimer), one event per host that asked for one. */
  private readonly hostTimers = new Map<Stack, SimEvent<Stack>>();
  private readonly hostTimerHandler: EventHandler<Stack> = { onEvent: (event, nowUs) => event.payload.onHostTimer?.(nowUs) };
  private readonly peerNames = new Set<string>();
  /**
   * Segments the network is done with, for hosts to fill in again (`spareSegment`): about nine
   * per lifecycle were a third of what an untraced run allocated. Only while nothing may keep a
   * segment: no trace, no scripted peer (it records what arrives), only reference hosts (which
   * read a segment while it is delivered and keep none of it but its payload).
   */
  private readonly spareSegments: SegmentToFill[] = [];
  private segmentsReusable = true;
  /** Hand finished segments back to hosts (above); off only to check that doing so changes nothing. */
  reuseSegments = true;
  /** How many segments were sent in a spare rather than a new object (for that check). */
  segmentsReused = 0;
  private readonly peerIps: number[] = [];

  constructor(readonly options: WorldOptions) {
    this.seed = options.seed;
    this.stack = stackConfig(options.stack ?? {});
    this.stackFactory = options.stackFactory ?? options.endpoint?.stackFactory ?? referenceStack(options.endpoint);
    this.fabric = new Fabric<Segment>(this.scheduler, {
      rootSeed: options.seed,
      mslUs: this.stack.mslUs,
      enforceMsl: options.enforceMsl ?? true,
      ...(options.defaultFaults !== undefined ? { defaultFaults: options.defaultFaults } : {}),
      ...(options.faultsEndUs !== undefined ? { faultsEndUs: options.faultsEndUs } : {}),
      clone: (seg) => cloneSegment(seg, this.nextSegmentId()),
      finished: (seg) => this.segmentFinished(seg),
    });
  }

  get nowUs(): number {
    return this.scheduler.nowUs;
  }

  /**
   * Add a host running the reference stack (with the world's or the given endpoint), at
   * 10.0.0.(n+1) unless an address is given. For tests and benchmarks that reach into the Host;
   * everything else adds hosts with `addStack`.
   */
  addHost(name: string, options: { ip?: number; stack?: Partial<StackConfig>; endpoint?: Endpoint } = {}): Host {
    const factory = options.endpoint !== undefined || this.options.stackFactory === undefined ? referenceStack(options.endpoint ?? this.options.endpoint) : this.options.stackFactory;
    const host = this.addStack(name, { ...options, stackFactory: factory });
    if (!(host instanceof Host)) throw new Error(`host "${name}" runs ${factory.name}, not the reference stack`);
    return host;
  }

  /** Add a host running the world's stack (or the one given), at 10.0.0.(n+1) unless an address is given. */
  addStack(name: string, options: { ip?: number; stack?: Partial<StackConfig>; endpoint?: Endpoint; stackFactory?: StackFactory } = {}): Stack {
    if (this.hostByName.has(name)) throw new Error(`host "${name}" already exists`);
    const ip = options.ip ?? hostIp(this.hosts.length);
    const config = options.stack === undefined ? this.stack : stackConfig({ ...this.options.stack, ...options.stack });
    const factory = options.stackFactory ?? (options.endpoint !== undefined ? (options.endpoint.stackFactory ?? referenceStack(options.endpoint)) : this.stackFactory);
    const params = { seed: this.seed, name, ip, config, keepClosedConnections: this.options.keepClosedConnections ?? true, compactTimeWait: this.options.compactTimeWait ?? true };
    const host = factory.create(params, this);
    if (!(host instanceof Host)) this.segmentsReusable = false;
    this.hosts.push(host);
    this.hostByName.set(name, host);
    this.hostByIp.set(ip, host);
    this.fabric.attach(ip, host);
    for (const peerIp of this.peerIps) this.directLinks(peerIp, ip);
    return host;
  }

  /**
   * Attach a scripted peer (src/world/scripted-peer.ts): a remote end with no TCP that sends
   * what it is told and records what it receives. Its link to every host is clean with no
   * delay unless configured otherwise (`fabric.configureLink`), as a tun device is.
   */
  attachPeer(name: string, ip: number): ScriptedPeer {
    if (this.hostByName.has(name) || this.peerNames.has(name)) throw new Error(`host "${name}" already exists`);
    const peer = new ScriptedPeer(this, name, ip);
    this.segmentsReusable = false;
    this.fabric.attach(ip, peer);
    this.peerNames.add(name);
    this.peerIps.push(ip);
    for (const host of this.hosts) this.directLinks(ip, host.ip);
    return peer;
  }

  /** A peer and a host are wired back to back: no link delay either way (other faults kept). */
  private directLinks(peerIp: number, hostAddress: number): void {
    this.fabric.configureLink(peerIp, hostAddress, { ...this.fabric.faultsOf(peerIp, hostAddress), delayUs: 0 });
    this.fabric.configureLink(hostAddress, peerIp, { ...this.fabric.faultsOf(hostAddress, peerIp), delayUs: 0 });
  }

  /**
   * Run `callback` at virtual time `atUs`, after everything already scheduled for that instant.
   * The returned handle cancels it.
   */
  at(atUs: number, callback: () => void): { cancel(): void } {
    const event = new SimEvent<() => void>(CALLBACKS, 0, callback);
    this.scheduler.schedule(event, atUs);
    return { cancel: () => this.scheduler.cancel(event) };
  }

  /**
   * Fire every event due up to and including `atUs`, then move the clock to `atUs` even if
   * nothing was pending (a quiet stretch still takes its time). Stops early on the event budget.
   */
  runUntil(atUs: number, maxEvents: number = DEFAULT_LIMITS.maxEvents): RunEnd {
    const end = this.scheduler.run({ maxEvents, maxTimeUs: atUs });
    if (end.stoppedBy === 'idle' || end.stoppedBy === 'time-budget') this.scheduler.advanceTo(atUs);
    return end;
  }

  host(name: string): Stack {
    const host = this.hostByName.get(name);
    if (host === undefined) throw new Error(`no host "${name}"`);
    return host;
  }

  hostOf(tcb: Tcb): Stack {
    return this.hostByIp.get(tcb.id.localIp)!;
  }

  /** Subscribe to the trace. Tracing costs nothing until the first listener. */
  addListener(listener: TraceListener): void {
    this.listeners.push(listener);
    if (!this.tracing) {
      this.tracing = true;
      this.fabric.observer = new FabricTracer(this);
    }
  }

  emit(event: TraceEvent): void {
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!.onEvent(event);
  }

  get isTracing(): boolean {
    return this.tracing;
  }

  /** StackEnv: a segment the network is done with, while segments may be reused (above). */
  spareSegment(): SegmentToFill | null {
    const spare = this.spareSegments.pop();
    if (spare === undefined) return null;
    this.segmentsReused++;
    return spare;
  }

  /** Only a host's own segments, not the network's copies (made by a spread, of another shape). */
  private segmentFinished(seg: Segment): void {
    if (this.tracing || !this.segmentsReusable || !this.reuseSegments || seg.copyOf !== -1 || this.spareSegments.length >= SPARE_SEGMENTS_MAX) return;
    const spare = seg as SegmentToFill;
    // A payload is a view into a 64 KiB slab (byte-queue.ts): a spare holding on to one keeps the slab.
    spare.payload = EMPTY_PAYLOAD;
    this.spareSegments.push(spare);
  }

  /** StackEnv: trace listeners keep connection identities (`connInfo`) and monitors keep state by connection. */
  get observesConnections(): boolean {
    return this.tracing;
  }

  run(limits: RunLimits = DEFAULT_LIMITS): RunEnd {
    return this.scheduler.run(limits);
  }

  connInfoOf(tcb: Tcb): ConnInfo {
    let info = this.connInfo.get(tcb);
    if (info === undefined) {
      info = {
        connId: tcb.id.connId,
        host: this.hostOf(tcb).name,
        localIp: tcb.id.localIp,
        localPort: tcb.id.localPort,
        remoteIp: tcb.id.remoteIp,
        remotePort: tcb.id.remotePort,
        incarnation: tcb.incarnation,
        passive: tcb.passive,
        reuseAddr: tcb.options.reuseAddr,
        lingerSec: tcb.options.lingerSec,
      };
      this.connInfo.set(tcb, info);
    }
    return info;
  }

  // HostEnv -------------------------------------------------------------------------------

  sendSegment(seg: Segment): void {
    this.fabric.send(seg);
  }

  setTimer(tcb: Tcb, kind: TimerKind, atUs: number): void {
    let event = tcb.timerHandles[kind] as SimEvent<Tcb> | null;
    if (event === null) {
      const spare = this.spareTimerEvents[kind]?.pop();
      if (spare === undefined) event = new SimEvent<Tcb>(this, kind, tcb);
      else {
        event = spare;
        event.payload = tcb;
      }
      tcb.timerHandles[kind] = event;
    }
    this.scheduler.schedule(event, atUs);
  }

  clearTimer(tcb: Tcb, kind: TimerKind): void {
    const event = tcb.timerHandles[kind] as SimEvent<Tcb> | null;
    if (event !== null) this.scheduler.cancel(event);
  }

  onEvent(event: SimEvent<Tcb>, nowUs: number): void {
    const tcb = event.payload;
    if (this.tracing) this.emit({ type: 'timer', atUs: nowUs, conn: this.connInfoOf(tcb), timer: timerNameOf(event.kind, tcb.lossProbePending === true) });
    tcb.onTimer(nowUs, event.kind as TimerKind);
  }

  nextSegmentId(): number {
    return ++this.segmentIds;
  }

  nextConnId(): number {
    return ++this.connIds;
  }

  /**
   * Incarnations are numbered per 4-tuple across the whole world, so both ends of one
   * connection agree. A simultaneous open shares the peer's number.
   */
  newIncarnation(localIp: number, localPort: number, remoteIp: number, remotePort: number): number {
    const byPorts = this.incarnationsOf(localIp, localPort, remoteIp, remotePort);
    const key = unorderedPortsKey(localIp, localPort, remoteIp, remotePort);
    const latest = byPorts.get(key) ?? 0;
    const peer = this.hostByIp.get(remoteIp)?.lookup(localIp, localPort, remotePort);
    if (peer !== undefined && peer.state === 'SYN-SENT' && peer.incarnation === latest) return latest;
    byPorts.set(key, latest + 1);
    return latest + 1;
  }

  /**
   * The incarnation counters of the address pair of a 4-tuple, by ports. Nested maps with
   * number keys rather than one map keyed by a string: a connect then builds no string, and
   * 10^5 counters cost 10^5 small map entries, not 10^5 strings.
   */
  private incarnationsOf(ipA: number, portA: number, ipB: number, portB: number): Map<number, number> {
    const aFirst = ipA < ipB || (ipA === ipB && portA <= portB);
    const lowIp = aFirst ? ipA : ipB;
    const highIp = aFirst ? ipB : ipA;
    let byHigh = this.incarnations.get(lowIp);
    if (byHigh === undefined) {
      byHigh = new Map();
      this.incarnations.set(lowIp, byHigh);
    }
    let byPorts = byHigh.get(highIp);
    if (byPorts === undefined) {
      byPorts = new Map();
      byHigh.set(highIp, byPorts);
    }
    return byPorts;
  }

  stateChanged(tcb: Tcb, from: TcpState, to: TcpState, cause: string): void {
    if (this.tracing) this.emit({ type: 'state', atUs: this.nowUs, conn: this.connInfoOf(tcb), from, to, cause });
    if (to === 'CLOSED') this.takeBackTimerEvents(tcb);
  }

  /** A CLOSED connection's idle timer events go to the free list (one that still sets a timer gets another). */
  private takeBackTimerEvents(tcb: Tcb): void {
    const handles = tcb.timerHandles;
    for (let kind = 0; kind < handles.length; kind++) {
      const event = handles[kind] as SimEvent<Tcb> | null;
      if (event === null || event.pending) continue;
      handles[kind] = null;
      this.spareTimerEvent(kind, event);
    }
  }

  private spareTimerEvent(kind: number, event: SimEvent<Tcb>): void {
    const spare = this.spareTimerEvents[kind];
    if (spare === undefined || spare.length >= SPARE_TIMER_EVENTS_MAX) return;
    event.payload = NO_TCB;
    spare.push(event);
  }

  timeWaitRestarted(tcb: Tcb, cause: string): void {
    if (this.tracing) this.emit({ type: 'time-wait-restart', atUs: this.nowUs, conn: this.connInfoOf(tcb), cause });
  }

  segmentAccepted(tcb: Tcb, seg: Segment): void {
    if (this.tracing) this.emit({ type: 'accepted', atUs: this.nowUs, conn: this.connInfoOf(tcb), seg });
  }

  connectionReplaced(from: Tcb, to: Tcb): void {
    // The pending TIME-WAIT timer moves as it is, keeping its time and its place among ties.
    for (let kind = 0; kind < from.timerHandles.length; kind++) {
      const event = from.timerHandles[kind] as SimEvent<Tcb> | null;
      if (event === null) continue;
      from.timerHandles[kind] = null;
      if (!event.pending) {
        // The TCB's idle timers (its last retransmission, delayed ACK) are for the free list.
        this.spareTimerEvent(kind, event);
        continue;
      }
      event.payload = to;
      to.timerHandles[kind] = event;
    }
    const info = this.connInfo.get(from);
    if (info !== undefined) {
      this.connInfo.delete(from);
      this.connInfo.set(to, info);
    }
  }

  socketClosedListener(host: Stack, port: number, from: TcpState, to: TcpState): void {
    if (this.tracing) this.emit({ type: 'listen', atUs: this.nowUs, host: host.name, port, from, to });
  }

  setHostTimer(host: Stack, atUs: number): void {
    let event = this.hostTimers.get(host);
    if (event === undefined) {
      event = new SimEvent<Stack>(this.hostTimerHandler, 0, host);
      this.hostTimers.set(host, event);
    }
    this.scheduler.schedule(event, atUs);
  }
}

/** Spare timer events kept per kind: enough for the connections that close at one time. */
const SPARE_TIMER_EVENTS_MAX = 4096;
const SPARE_SEGMENTS_MAX = 4096;
/** What a spare timer event points at, so it keeps no closed connection alive. */
const NO_TCB = null as unknown as Tcb;

/** Runs the callbacks of `World.at`. */
const CALLBACKS: EventHandler<() => void> = {
  onEvent(event: SimEvent<() => void>): void {
    event.payload();
  },
};

/**
 * The ports of a 4-tuple in the same order as its addresses (lower end first, as
 * `incarnationsOf` orders them): both ends of a connection get the same key. 32 bits, kept
 * signed so V8 stores it as a small integer.
 */
function unorderedPortsKey(ipA: number, portA: number, ipB: number, portB: number): number {
  return ipA < ipB || (ipA === ipB && portA <= portB) ? (portA << 16) | portB : (portB << 16) | portA;
}

class FabricTracer implements FabricObserver<Segment> {
  constructor(private readonly world: World) {}
  sent(seg: Segment, nowUs: number): void {
    this.world.emit({ type: 'segment', atUs: nowUs, fate: 'sent', seg });
  }
  delivered(seg: Segment, nowUs: number): void {
    this.world.emit({ type: 'segment', atUs: nowUs, fate: 'delivered', seg });
  }
  dropped(seg: Segment, nowUs: number, reason: DropReason): void {
    this.world.emit({ type: 'segment', atUs: nowUs, fate: 'dropped', seg, reason });
  }
  duplicated(seg: Segment, copy: Segment, nowUs: number, why: 'duplicate' | 'old-duplicate'): void {
    this.world.emit({ type: 'segment', atUs: nowUs, fate: 'duplicated', seg, copy, why });
  }
  delayed(seg: Segment, nowUs: number, extraUs: number, why: DelayReason): void {
    this.world.emit({ type: 'segment', atUs: nowUs, fate: 'delayed', seg, extraUs, why });
  }
}

