/**
 * Runs a parsed packetdrill script against one simulated host, in virtual time, with the
 * semantics of ../shared/packetdrill-subset.md (packetdrill's run.c, run_packet.c and
 * run_system_call.c, summarised there):
 *
 * - one clock; each inbound packet, call or command runs exactly at its time, after everything
 *   the host already had scheduled for that instant;
 * - an outbound line takes the next segment the host sent (nothing is skipped; consecutive
 *   segments are joined up to the expected length, as packetdrill does without
 *   --strict_segments) and checks flags, sequence, length, ack, window and options, then its
 *   time within packetdrill's tolerance (`max(tolerance, 12.5 % of the gap)`, or 0 with --exact);
 * - a `T...E` call blocks in the background and is checked when it returns; a call without
 *   `...` that blocks holds the script until it returns;
 * - everything the host sends and does is traced, and the monitors judge the run.
 *
 * With a perturbation (fuzz.ts), inbound packets are shifted, duplicated, swapped or held back,
 * and every expectation becomes advisory: only the monitors decide.
 */
import { createMonitors, MonitorSet, type Violation } from '../check/index.js';
import { parseIpv4 } from '../net/address.js';
import type { StackConfig } from '../tcp/config.js';
import { ACK, FIN, PSH, RST, SYN, tcpdumpFlags, type Segment } from '../tcp/segment.js';
import type { Endpoint } from '../tcp/endpoint.js';
import { Host } from '../tcp/host.js';
import { unansweredSynSchedule } from '../tcp/tcb-timers.js';
import type { Stack } from '../tcp/stack.js';
import { monitorInProfile } from '../check/profiles.js';
import type { Errno } from '../tcp/tcb.js';
import type { Call } from '../world/program.js';
import type { ScriptedPeer } from '../world/scripted-peer.js';
import { TraceRecorder, type TraceEvent } from '../world/trace.js';
import { World } from '../world/world.js';
import type { Expr, PacketSpec, Script, ScriptEvent, SyscallSpec, TcpOptionSpec } from './ast.js';
import { applyCommand, applyHeaderOption, newSettings, SettingsError, type ScriptSettings } from './settings.js';
import { ScriptSockets, type ScriptSocket } from './sockets.js';
import { POLL_BITS, pollEvents } from './poll.js';

export const HOST_IP = parseIpv4('192.168.0.1');
export const PEER_IP = parseIpv4('192.0.2.1');
/** `bind(fd, ..., ...)` binds this port; `connect(fd, ..., ...)` connects to the peer's. */
export const SCRIPT_PORT = 8080;
/** The peer's port for connections it opens (packetdrill picks one; any free port will do). */
export const PEER_PORT = 40_000;

/** How long an outbound line waits past its expected time before "timed out" (packetdrill: 2 s). */
const OUTBOUND_WAIT_US = 2_000_000;
/** `*` waits without a timing check; still, not forever. */
const ANY_TIME_WAIT_US = 600_000_000;
/** A blocking call gets this long to return at the end of the script, or to let a later call in. */
const BLOCKING_GRACE_US = 1_000_000;
/** After the last line the host runs on (no one answers it) so the monitors see what follows. */
const DRAIN_US = 300_000_000;
const MAX_EVENTS = 2_000_000;

/**
 * Options a segment carries (src/tcp/segment.ts): the runner injects them and checks them, kind
 * by kind in wire order, as packetdrill's verify_outbound_live_tcp_options does. SACK blocks
 * and options by other names (FO, md5…) are refused by name.
 */
const SACK_NOT_OFFERED = 'option sackOK not modelled: the stack does not offer SACK (its sack setting, Linux tcp_sack, is off; tcb-options.ts)';

/** One change to the injected packets (fuzz.ts draws and shrinks them). Indexes count inbound lines. */
export type Perturbation =
  | { readonly kind: 'shift'; readonly index: number; readonly us: number }
  | { readonly kind: 'duplicate'; readonly index: number }
  | { readonly kind: 'swap'; readonly index: number }
  | { readonly kind: 'hold'; readonly index: number };

export interface RunScriptOptions {
  readonly file?: string;
  readonly endpoint?: Endpoint;
  /** Tolerance 0: every event at exactly its virtual time. */
  readonly exact?: boolean;
  /** Skip what is not modelled (and say so) instead of stopping the script there. */
  readonly lenient?: boolean;
  /** Fuzz mode: these perturbations, and expectations only advisory. */
  readonly perturbations?: readonly Perturbation[];
  /** Seed of the world (ISNs, ports); scripts do not depend on it. */
  readonly seed?: number;
}

export interface ScriptFailure {
  readonly line: number;
  /** The script line as written. */
  readonly source: string;
  /** packetdrill's kind of message: what differed, expected vs actual. */
  readonly message: string;
  readonly atUs: number;
}

export type ScriptStatus = 'pass' | 'fail' | 'refused';

export interface ScriptResult {
  readonly file: string;
  readonly status: ScriptStatus;
  /** The first difference (or what could not be run, for 'refused'). */
  readonly failure: ScriptFailure | null;
  /** Monitors' violations: any fails the script. */
  readonly violations: readonly Violation[];
  /** Differences that did not fail the run (fuzz mode: every expectation is advisory). */
  readonly advisories: readonly ScriptFailure[];
  /** What was read and not checked or not modelled (options, sysctls). */
  readonly notes: readonly string[];
  /** With --lenient: the lines skipped, and why. */
  readonly skipped: readonly string[];
  readonly events: readonly TraceEvent[];
  readonly endUs: number;
  readonly settings: { readonly toleranceUs: number; readonly stack: Partial<StackConfig> };
}

/** Thrown inside the runner to stop at the first difference. */
class Stop extends Error {
  constructor(
    readonly failure: ScriptFailure,
    readonly refused: boolean,
  ) {
    super(failure.message);
  }
}

interface BlockedCall {
  readonly event: ScriptEvent;
  readonly startUs: number;
  readonly expectedReturnUs: number | null;
  done: { readonly result: CallOutcome; readonly atUs: number } | null;
}

/** A call's outcome as packetdrill compares it: a number, or -1 and an errno; `mismatch` when what it filled in (poll's revents) differs from the script's. */
type CallOutcome = { readonly value: number; readonly errno?: Errno; readonly mismatch?: string };

/** Run one script. Never throws for a script problem: the result says what happened. */
export function runScript(script: Script, options: RunScriptOptions = {}): ScriptResult {
  return new ScriptRun(script, options).run();
}

class ScriptRun {
  private readonly file: string;
  private readonly settings: ScriptSettings = newSettings();
  private readonly notes: string[] = [];
  private readonly skipped: string[] = [];
  private readonly advisories: ScriptFailure[] = [];
  private world!: World;
  private host!: Stack;
  private peer!: ScriptedPeer;
  private monitors!: MonitorSet;
  private readonly recorder = new TraceRecorder();
  /** Segments the host sent, not yet matched by an outbound line. */
  private readonly outbound: { seg: Segment; atUs: number }[] = [];
  private stopOnOutbound = false;
  /** Script time "now": when the previous event finished (µs). */
  private nowUs = 0;
  /** The previous event's script time, for tolerances and for inbound anchoring. */
  private lastScriptUs = 0;
  private lastWasInbound = false;
  private readonly fds = new Map<number, number>();
  private readonly nonBlockingFds = new Set<number>();
  private blocked: BlockedCall | null = null;
  // Sequence-number and TS val mapping, one per socket as packetdrill keeps it (sockets.ts).
  private readonly sockets = new ScriptSockets();
  // The connection the script talks about.
  private peerPort = PEER_PORT;
  private hostPort = SCRIPT_PORT;
  private inboundIndex = 0;
  private readonly fuzzing: boolean;
  private readonly perturbations: readonly Perturbation[];
  private readonly dropped = new Set<number>();

  constructor(
    private readonly script: Script,
    private readonly options: RunScriptOptions,
  ) {
    this.file = options.file ?? 'script';
    this.perturbations = options.perturbations ?? [];
    this.fuzzing = options.perturbations !== undefined;
  }

  run(): ScriptResult {
    let failure: ScriptFailure | null = null;
    let refused = false;
    try {
      this.setUp();
      const events = this.plannedEvents();
      for (let i = 0; i < events.length; i++) this.runEvent(events[i]!, i);
      this.finish();
    } catch (error) {
      if (!(error instanceof Stop)) throw error;
      failure = error.failure;
      refused = error.refused;
    }
    if (this.world !== undefined) this.drain();
    const violations = this.monitors?.violations() ?? [];
    const status: ScriptStatus = refused ? 'refused' : failure !== null || violations.length > 0 ? 'fail' : 'pass';
    return {
      file: this.file,
      status,
      failure,
      violations,
      advisories: this.advisories,
      notes: [...this.settings.notes, ...this.notes],
      skipped: this.skipped,
      events: this.recorder.events,
      endUs: this.world?.nowUs ?? 0,
      settings: { toleranceUs: this.settings.toleranceUs, stack: this.settings.stack },
    };
  }

  // -------------------------------------------------------------------------------------
  // Set-up
  // -------------------------------------------------------------------------------------

  private setUp(): void {
    const first = this.script.events[0]!;
    for (const option of this.script.options) {
      try {
        applyHeaderOption(this.settings, option.name, option.value);
      } catch (error) {
        if (!(error instanceof SettingsError)) throw error;
        this.unmodelled({ line: option.line, source: `--${option.name}`, atUs: 0 }, error.message);
      }
    }
    for (const command of this.script.initCommands) {
      const problem = applyCommand(this.settings, command.text);
      if (problem !== null) this.unmodelled({ line: command.line, source: `\`${command.text}\``, atUs: 0 }, problem);
    }
    if (first.time.kind === 'point' && (first.time.at.relative ? first.time.at.us : first.time.at.us) !== 0 && !first.time.at.relative) {
      this.stop(first, 'the first event must be at time 0', false);
    }
    this.world = new World({ seed: this.options.seed ?? 1, stack: this.settings.stack, ...(this.options.endpoint !== undefined ? { endpoint: this.options.endpoint } : {}) });
    // addStack: an endpoint named stack:CMD carries an external stack's factory (--stack).
    this.host = this.world.addStack('host', { ip: HOST_IP });
    this.peer = this.world.attachPeer('peer', PEER_IP);
    const stack = this.world.stack;
    this.monitors = new MonitorSet(
      createMonitors({
        mslUs: stack.mslUs,
        expectedTimeWaitUs: 2 * stack.mslUs,
        delayedAckUs: stack.delayedAckUs,
        jiffyUs: stack.jiffyUs,
        finWait2TimeoutUs: stack.finWait2TimeoutUs,
        cleanNetwork: !this.fuzzing,
        staleSegmentsImpossible: false,
        rfc1337: stack.rfc1337,
        synRetries: stack.synRetries,
        synsBeforeTimeout: unansweredSynSchedule(stack).synTimesUs.length,
        hostIps: new Map([['host', HOST_IP]]),
        ephemeralPortMin: stack.ephemeralPortMin,
        ephemeralPortMax: stack.ephemeralPortMax,
      }).filter((m) => m.name !== 'termination' && monitorInProfile(m.name, this.options.endpoint?.stackFactory !== undefined ? 'rfc' : 'linux')),
    );
    this.world.addListener(this.monitors);
    this.world.addListener(this.recorder);
    this.peer.onSegment((seg, atUs) => {
      this.sockets.segmentSent({ syn: (seg.flags & SYN) !== 0, ack: (seg.flags & ACK) !== 0 }, seg.seq);
      this.outbound.push({ seg, atUs });
      if (this.stopOnOutbound) this.world.scheduler.requestStop();
    });
    this.peerPort = this.settings.remotePort;
    this.hostPort = this.settings.bindPort;
    this.notes.push(`the host is 192.168.0.1, the peer 192.0.2.1; bind(..., ...) is port ${this.settings.bindPort}, connect(..., ...) goes to port ${this.settings.connectPort}`);
  }

  /**
   * The script's events in the order they run, with the fuzz perturbations that move inbound
   * packets: a swap exchanges an inbound packet with the next event when that is inbound too; a
   * hold moves it past the next inbound packet.
   */
  private plannedEvents(): ScriptEvent[] {
    const events = [...this.script.events];
    const inboundPositions = (): number[] => events.flatMap((e, i) => (isInbound(e) ? [i] : []));
    for (const p of this.perturbations) {
      if (p.kind !== 'swap' && p.kind !== 'hold') continue;
      const positions = inboundPositions();
      const at = positions[p.index % Math.max(1, positions.length)];
      if (at === undefined) continue;
      if (p.kind === 'swap') {
        if (at + 1 < events.length && isInbound(events[at + 1]!)) [events[at], events[at + 1]] = [events[at + 1]!, events[at]!];
      } else {
        const next = positions.find((q) => q > at);
        if (next !== undefined) {
          const [moved] = events.splice(at, 1);
          events.splice(next, 0, moved!);
        }
      }
    }
    return events;
  }

  // -------------------------------------------------------------------------------------
  // Events
  // -------------------------------------------------------------------------------------

  private runEvent(event: ScriptEvent, _position: number): void {
    const action = event.action;
    const inbound = action.kind === 'packet' && action.packet.direction === 'inbound';
    const window = this.expectedWindow(event, inbound);
    switch (action.kind) {
      case 'packet':
        if (action.packet.direction === 'inbound') this.inbound(event, action.packet, window);
        else this.outboundLine(event, action.packet, window);
        break;
      case 'syscall':
        this.syscall(event, action.call, window);
        break;
      case 'command': {
        this.advanceTo(window.startUs);
        const problem = applyCommand(this.settings, action.text);
        if (problem !== null) this.unmodelled(this.where(event), problem);
        else this.notes.push(`line ${event.line}: command \`${action.text}\` read for its sysctls only (they apply to new connections of a fresh run)`);
        this.finishEvent(window.startUs, window.startUs);
        break;
      }
      case 'code':
        this.unmodelled(this.where(event), 'python code blocks (%{ }%) not evaluated');
        this.finishEvent(window.startUs, window.startUs);
        break;
    }
    this.lastWasInbound = inbound;
  }

  /** The event's expected time window in script µs; null bounds for `*`. */
  private expectedWindow(event: ScriptEvent, inbound: boolean): { startUs: number; endUs: number; any: boolean } {
    const time = event.time;
    if (time.kind === 'any') return { startUs: this.nowUs, endUs: this.nowUs, any: true };
    // Two inbound packets in a row keep to the script's own times (run.c: no drift).
    const base = inbound && this.lastWasInbound ? this.lastScriptUs : this.nowUs;
    const startUs = time.at.relative ? base + time.at.us : time.at.us;
    const endUs = time.until === undefined ? startUs : time.until.relative ? base + time.until.us : time.until.us;
    if (endUs < startUs) this.stop(event, `a time range whose end (${seconds(endUs)}) is before its start (${seconds(startUs)})`, false);
    return { startUs, endUs, any: false };
  }

  private finishEvent(scriptUs: number, actualUs: number): void {
    this.lastScriptUs = scriptUs;
    this.nowUs = actualUs;
  }

  private inbound(event: ScriptEvent, packet: PacketSpec, window: { startUs: number }): void {
    const index = this.inboundIndex++;
    let atUs = Math.max(window.startUs, this.world.nowUs);
    for (const p of this.perturbations) {
      if (p.kind === 'shift' && p.index === index) atUs = Math.max(this.world.nowUs, atUs + p.us);
    }
    this.advanceTo(atUs);
    const fields = this.inboundFields(event, packet);
    if (fields !== null) {
      this.peer.send(fields);
      if (this.perturbations.some((p) => p.kind === 'duplicate' && p.index === index)) this.peer.send(fields);
    }
    this.finishEvent(window.startUs, atUs);
  }

  private inboundFields(event: ScriptEvent, packet: PacketSpec): Parameters<ScriptedPeer['send']>[0] | null {
    if (packet.unmodelled.length > 0) {
      this.unmodelled(this.where(event), `${packet.unmodelled[0]} not modelled`);
      return null;
    }
    const flags = this.flagBits(event, packet);
    if (flags === null) return null;
    if (packet.window === undefined) this.stop(event, 'an inbound packet needs a window (win N)', false);
    if (packet.options === 'any') this.stop(event, 'an inbound packet cannot have <...> options', false);
    const options = this.inboundOptions(event, packet, flags, this.sockets.underTest);
    if (packet.urgent !== undefined) this.unmodelled(this.where(event), 'urgent data (urg) not modelled');
    const syn = (flags & SYN) !== 0;
    const socket = this.sockets.inboundLine({ syn, ack: (flags & ACK) !== 0 }, packet.seqStart);
    const seq = socket.inboundSeq(packet.seqStart, syn);
    const ackOffset = socket.localScriptToLive(syn);
    const ack = packet.ack === undefined ? socket.liveLocalIsn : packet.ack + ackOffset;
    return {
      srcPort: this.peerPort,
      dstIp: HOST_IP,
      dstPort: this.hostPort,
      seq: seq >>> 0,
      ack: ack >>> 0,
      flags,
      // The field as written: the host scales it by the peer's wscale once both SYNs carried one (tcb-options.ts).
      window: packet.window!,
      ...options,
      payload: new Uint8Array(packet.payloadBytes),
    };
  }

  /**
   * The options of an inbound line, carried on the segment. nop and eol are padding (a Segment
   * keeps options as fields; the pcap writes them in Linux's order). TS val is the peer's own
   * clock and goes as written; TS ecr on a segment with ACK names one of the host's TSvals in
   * script space and is mapped to the live one (packetdrill map_inbound_packet): exactly, when an
   * outbound line showed that script TSval, else, with --tcp_ts_ecr_scaled, by the offset of the
   * first outbound TS; otherwise packetdrill gives up, and so do we.
   */
  private inboundOptions(event: ScriptEvent, packet: PacketSpec, flags: number, socket: ScriptSocket): { mss: number; wscale: number; sackOk: boolean; tsVal: number; tsEcr: number; sackBlocks?: number[] } {
    const out: { mss: number; wscale: number; sackOk: boolean; tsVal: number; tsEcr: number; sackBlocks?: number[] } = { mss: 0, wscale: -1, sackOk: false, tsVal: -1, tsEcr: 0 };
    for (const option of packet.options === 'any' ? [] : (packet.options ?? [])) {
      switch (option.kind) {
        case 'mss':
          out.mss = option.value;
          break;
        case 'wscale':
          out.wscale = option.value;
          break;
        case 'sackOK':
          // RFC 2018 §2: SACK is in effect only if the host offers sackOK too (its sack setting).
          out.sackOk = true;
          break;
        case 'TS': {
          out.tsVal = option.val >>> 0;
          out.tsEcr = option.ecr >>> 0;
          if (flags & ACK) out.tsEcr = this.liveTsEcr(event, option.ecr >>> 0, socket);
          break;
        }
        case 'sack':
          // Blocks name the host's sequence space: mapped as the ACK is (run_packet.c offset_sack_blocks).
          out.sackBlocks = option.blocks.flatMap(([left, right]) => [(left + socket.localScriptToLive(false)) >>> 0, (right + socket.localScriptToLive(false)) >>> 0]);
          break;
        case 'other':
          this.unmodelled(this.where(event), `option ${option.name} not modelled`);
          break;
        case 'nop':
        case 'eol':
          break;
      }
    }
    return out;
  }

  private liveTsEcr(event: ScriptEvent, scriptEcr: number, socket: ScriptSocket): number {
    const exact = socket.tsValLive.get(scriptEcr);
    if (exact !== undefined) return exact;
    if (this.settings.tsEcrScaled && socket.firstTs !== null) return (scriptEcr - socket.firstTs.script + socket.firstTs.live) >>> 0;
    this.stop(event, `unable to infer live TS ecr for script TS ecr ${scriptEcr}; no matching or preceding outbound TS val`, false);
  }

  private outboundLine(event: ScriptEvent, packet: PacketSpec, window: { startUs: number; endUs: number; any: boolean }): void {
    // The script's host ISN is read before the host's segment is (do_outbound_script_packet).
    this.sockets.outboundLine({ syn: packet.flagText.includes('S'), ack: packet.flagText.includes('.') }, packet.seqStart);
    const deadlineUs = window.any ? this.world.nowUs + ANY_TIME_WAIT_US : window.endUs + OUTBOUND_WAIT_US;
    const first = this.nextOutbound(deadlineUs);
    if (first === null) {
      this.expectation(event, `timed out waiting for packet ${event.source.replace(/^\S+\s+/, '')}`, deadlineUs);
      this.finishEvent(window.startUs, Math.max(this.world.nowUs, window.startUs));
      return;
    }
    this.outbound.shift();
    // Join consecutive segments up to the expected length (packetdrill without --strict_segments).
    let joined = { ...first.seg };
    let lastAtUs = first.atUs;
    while (joined.payload.length < packet.payloadBytes) {
      const next = this.outbound[0] ?? (this.world.nowUs <= first.atUs ? this.nextOutbound(first.atUs) : null);
      if (next === undefined || next === null) break;
      const seg = next.seg;
      const continues = seg.seq === ((joined.seq + joined.payload.length) >>> 0) && seg.ack === joined.ack && seg.window === joined.window && (seg.flags & ~(FIN | PSH)) === (joined.flags & ~(FIN | PSH));
      if (!continues || joined.flags & FIN) break;
      this.outbound.shift();
      const payload = new Uint8Array(joined.payload.length + seg.payload.length);
      payload.set(joined.payload);
      payload.set(seg.payload, joined.payload.length);
      joined = { ...joined, payload, flags: seg.flags };
      lastAtUs = next.atUs;
    }
    this.learnFromOutbound(joined, packet);
    const difference = this.compareOutbound(event, packet, joined, window.startUs);
    if (difference !== null) this.expectation(event, `${difference}\n  script packet: ${seconds(window.startUs)} ${describeScriptPacket(packet)}\n  actual packet: ${seconds(first.atUs)} ${this.describeLive(joined)}`, first.atUs);
    else if (!window.any) this.checkTime(event, 'outbound packet', window.startUs, window.endUs, first.atUs);
    this.finishEvent(window.startUs, Math.max(lastAtUs, this.world.nowUs > lastAtUs ? lastAtUs : this.world.nowUs));
  }

  /** The next segment the host sends, waiting in virtual time up to `deadlineUs`. */
  private nextOutbound(deadlineUs: number): { seg: Segment; atUs: number } | null {
    if (this.outbound.length > 0) return this.outbound[0]!;
    this.stopOnOutbound = true;
    try {
      while (this.outbound.length === 0 && this.world.nowUs < deadlineUs) {
        const end = this.world.runUntil(deadlineUs, MAX_EVENTS);
        if (end.stoppedBy === 'event-budget') throw this.budgetStop();
        if (end.stoppedBy !== 'stop-requested') break;
      }
      // A segment sent exactly at the deadline still counts.
      if (this.outbound.length === 0) this.world.runUntil(deadlineUs, MAX_EVENTS);
    } finally {
      this.stopOnOutbound = false;
    }
    return this.outbound[0] ?? null;
  }

  /** The TS val mapping and the connection's ports, from the host's segments. */
  private learnFromOutbound(seg: Segment, packet: PacketSpec): void {
    // The TS val mapping, remembered before the line is checked (map_outbound_live_packet).
    const socket = this.sockets.underTest;
    const scriptTs = packet.options === 'any' ? undefined : packet.options?.find((o) => o.kind === 'TS');
    if (scriptTs !== undefined && scriptTs.kind === 'TS' && seg.tsVal >= 0) {
      socket.tsValLive.set(scriptTs.val >>> 0, seg.tsVal);
      if (socket.firstTs === null) socket.firstTs = { script: scriptTs.val >>> 0, live: seg.tsVal };
    }
    if (seg.dstIp === PEER_IP && !(seg.flags & RST)) {
      this.peerPort = seg.dstPort;
      this.hostPort = seg.srcPort;
    }
  }

  /** null when the live segment matches the line; else packetdrill's kind of message. */
  private compareOutbound(event: ScriptEvent, packet: PacketSpec, seg: Segment, expectedUs: number): string | null {
    if (packet.unmodelled.length > 0) return `${packet.unmodelled[0]} expected, but the simulator never sends it`;
    const expectedFlags = this.flagBits(event, packet, true);
    if (expectedFlags === null) return `flags ${packet.flagText} expected, but the simulator never sets ${packet.flagText.replace(/[SFRP.-]/g, '')}`;
    if (seg.flags !== expectedFlags) return `live packet field tcp flags: expected: ${flagText(expectedFlags)} vs actual: ${flagText(seg.flags)}`;
    const syn = (seg.flags & SYN) !== 0;
    const socket = this.sockets.underTest;
    const scriptSeq = socket.outboundSeq(seg.seq, syn);
    if (scriptSeq !== packet.seqStart >>> 0) return `live packet field tcp_seq: expected: ${packet.seqStart} vs actual: ${scriptSeq}`;
    if (seg.payload.length !== packet.payloadBytes) return `live packet payload: expected ${packet.payloadBytes} bytes vs actual ${seg.payload.length} bytes`;
    if (expectedFlags & ACK) {
      const scriptAck = socket.outboundAck(seg.ack, syn);
      if (packet.ack === undefined) return 'the script expects ACK but gives no ack number';
      if (scriptAck !== packet.ack >>> 0) return `live packet field tcp_ack_seq: expected: ${packet.ack} vs actual: ${scriptAck}`;
    }
    if (packet.window !== undefined && seg.window !== packet.window) return `live packet field tcp_window: expected: ${packet.window} vs actual: ${seg.window}`;
    return this.compareOptions(event, packet, seg, expectedUs);
  }

  /**
   * packetdrill's verify_outbound_live_tcp_options: `<...>` checks nothing; otherwise the live
   * options and the script's go kind by kind in order, nop and eol by kind only, mss and wscale
   * by value, TS val (in script space: the first outbound TS is the baseline) only with
   * --tcp_ts_tick_usecs and within max(tolerance, 12.5 % of the time since the script began);
   * TS ecr is never checked on outbound packets. No option list means no options.
   */
  private compareOptions(event: ScriptEvent, packet: PacketSpec, seg: Segment, expectedUs: number): string | null {
    if (packet.options === 'any') return null;
    let live = liveOptionsOf(seg);
    let expected = packet.options ?? [];
    const other = expected.find((o) => o.kind === 'other');
    if (other !== undefined && other.kind === 'other') this.unmodelled(this.where(event), `option ${other.name} not modelled`);
    if (expected.some((o) => o.kind === 'sackOK') && !seg.sackOk && !this.world.stack.sack) {
      // The host never offers SACK: a line that expects sackOK is refused, or, with --lenient,
      // checked without sackOK and without the nops that pad it (Linux writes nop,nop before TS
      // without SACK, sackOK beside it with).
      this.unmodelled(this.where(event), SACK_NOT_OFFERED, '; the rest of the line is checked without sackOK and its nop padding');
      const kept = (o: TcpOptionSpec) => o.kind !== 'sackOK' && o.kind !== 'nop' && o.kind !== 'eol';
      expected = expected.filter(kept);
      live = live.filter(kept);
    }
    const text = (list: readonly TcpOptionSpec[]) => (list.length === 0 ? 'none' : `<${list.map(describeOption).join(',')}>`);
    const mismatch = `live packet tcp options: expected: ${text(expected)} vs actual: ${text(live.map((o) => this.inScriptSpace(o)))}`;
    if (expected.length !== live.length) return mismatch;
    for (let i = 0; i < expected.length; i++) {
      const want = expected[i]!;
      const got = live[i]!;
      if (want.kind !== got.kind) return mismatch;
      if ((want.kind === 'mss' || want.kind === 'wscale') && want.value !== (got as { value: number }).value) return mismatch;
      if (want.kind === 'sack' && describeOption(want) !== describeOption(this.inScriptSpace(got))) return mismatch;
      if (want.kind === 'TS' && got.kind === 'TS' && this.settings.tsTickUs > 0) {
        const scriptVal = (this.inScriptSpace(got) as { val: number }).val;
        const deltaUs = Math.abs((scriptVal - want.val) | 0) * this.settings.tsTickUs;
        const sinceStartUs = expectedUs;
        const toleranceUs = this.options.exact === true ? 0 : Math.max(this.settings.toleranceUs, Math.floor(0.125 * sinceStartUs));
        if (deltaUs > toleranceUs) return `bad outbound TCP timestamp value, tolerance ${toleranceUs}: expected TS val ${want.val} vs actual ${scriptVal}`;
      }
    }
    return null;
  }

  /** A live TS option as the script would write it: TSval relative to the first outbound TS (map_outbound_live_packet). */
  private inScriptSpace(option: TcpOptionSpec): TcpOptionSpec {
    // SACK blocks name the peer's sequence space, relative to its ISN as the ACK is.
    const socket = this.sockets.underTest;
    if (option.kind === 'sack') return { kind: 'sack', blocks: option.blocks.map(([left, right]) => [socket.outboundAck(left, false), socket.outboundAck(right, false)] as const) };
    const firstTs = socket.firstTs;
    if (option.kind !== 'TS' || firstTs === null) return option;
    return { kind: 'TS', val: (firstTs.script + (option.val - firstTs.live)) >>> 0, ecr: option.ecr };
  }

  // -------------------------------------------------------------------------------------
  // System calls
  // -------------------------------------------------------------------------------------

  private syscall(event: ScriptEvent, call: SyscallSpec, window: { startUs: number; endUs: number; any: boolean }): void {
    this.advanceTo(window.startUs);
    // A call issued while a blocking one runs waits for it, up to 1 s (run_system_call.c).
    if (this.blocked !== null && this.blocked.done === null) this.waitForBlocked(this.world.nowUs + BLOCKING_GRACE_US);
    this.checkBlockedDone();
    const time = event.time;
    const startUs = this.world.nowUs;
    const blocking = time.kind === 'point' && time.blockingEnd !== undefined;
    let expectedReturnUs: number | null = null;
    if (time.kind === 'point' && time.blockingEnd !== undefined) {
      // E is absolute; when T is relative, E counts from the same base as T.
      const base = time.at.relative ? window.startUs - time.at.us : 0;
      expectedReturnUs = time.at.relative ? base + time.blockingEnd.us : time.blockingEnd.us;
    }
    if (blocking && this.blocked !== null && this.blocked.done === null) this.stop(event, 'a second blocking call while one is still blocked', false);
    const executor = new CallExecutor(this, event, call);
    const record: BlockedCall = { event, startUs, expectedReturnUs, done: null };
    executor.start((result) => {
      record.done = { result, atUs: this.world.nowUs };
    });
    if (record.done === null && !blocking) {
      // Not written as blocking, but it blocks: the script waits for it (later events are late).
      this.blocked = record;
      this.waitForBlocked(this.world.nowUs + ANY_TIME_WAIT_US);
      this.blocked = null;
      if (record.done === null) this.stop(event, `${call.name} blocked and never returned`, false);
    }
    if (record.done !== null) {
      this.judgeCall(record);
      this.finishEvent(window.startUs, blocking ? startUs : record.done.atUs);
      return;
    }
    this.blocked = record;
    this.finishEvent(window.startUs, startUs);
  }

  private waitForBlocked(untilUs: number): void {
    const blocked = this.blocked;
    if (blocked === null) return;
    while (blocked.done === null && this.world.nowUs < untilUs) {
      const next = Math.min(untilUs, this.world.scheduler.peekTimeUs());
      const end = this.world.runUntil(next === Infinity ? untilUs : next, MAX_EVENTS);
      if (end.stoppedBy === 'event-budget') throw this.budgetStop();
    }
  }

  /** A background call that has returned is judged as soon as the script notices. */
  private checkBlockedDone(): void {
    if (this.blocked?.done == null) return;
    const record = this.blocked;
    this.blocked = null;
    this.judgeCall(record);
  }

  private judgeCall(record: BlockedCall): void {
    const { event } = record;
    const call = (event.action as { call: SyscallSpec }).call;
    const done = record.done!;
    if (done.result.mismatch !== undefined) {
      this.expectation(event, done.result.mismatch, done.atUs);
      return;
    }
    const expected = this.expectedOutcome(event, call);
    if (expected !== null && (expected.value !== done.result.value || (expected.errno ?? null) !== (done.result.errno ?? null))) {
      this.expectation(event, `${call.name}() returned ${describeOutcome(done.result)}, expected ${describeOutcome(expected)}`, done.atUs);
      return;
    }
    if (record.expectedReturnUs !== null) this.checkTime(event, `${call.name}() return`, record.expectedReturnUs, record.expectedReturnUs, done.atUs, record.expectedReturnUs - record.startUs);
  }

  private expectedOutcome(event: ScriptEvent, call: SyscallSpec): CallOutcome | null {
    const result = call.result;
    if (result.kind === 'ellipsis') return null;
    if (result.kind !== 'number') this.stop(event, `a numeric result (= N or = -1 ERRNO), got ${describeExpr(result)}`, false);
    if (result.value === -1 && call.errno !== undefined) return { value: -1, errno: call.errno as Errno };
    // socket() and accept() return a descriptor: the script's number is mapped, not compared.
    if ((call.name === 'socket' || call.name === 'accept') && result.value >= 0) return null;
    return { value: result.value };
  }

  // Used by CallExecutor ----------------------------------------------------------------

  get hostUnderTest(): Stack {
    return this.host;
  }

  get scriptSockets(): ScriptSockets {
    return this.sockets;
  }

  get simWorld(): World {
    return this.world;
  }

  liveFd(event: ScriptEvent, expr: Expr | undefined): number {
    if (expr?.kind !== 'number') this.stop(event, 'a file descriptor number', false);
    const live = this.fds.get(expr.value);
    return live ?? -1;
  }

  mapFd(scriptFd: Expr, liveFd: number): void {
    if (scriptFd.kind === 'number' && scriptFd.value >= 0) this.fds.set(scriptFd.value, liveFd);
  }

  setNonBlocking(liveFd: number, on: boolean): void {
    if (on) this.nonBlockingFds.add(liveFd);
    else this.nonBlockingFds.delete(liveFd);
  }

  get bindPort(): number {
    return this.settings.bindPort;
  }

  get connectPort(): number {
    return this.settings.connectPort;
  }

  connectStarted(): void {
    this.peerPort = this.settings.connectPort;
  }

  bound(port: number): void {
    this.hostPort = port;
    this.peerPort = this.settings.remotePort;
  }

  traceCall(call: Call, fd: number, result: string, data?: Uint8Array, connId?: number): void {
    if (!this.world.isTracing) return;
    this.world.emit({
      type: 'call',
      atUs: this.world.nowUs,
      host: 'host',
      program: 0,
      step: 0,
      call,
      text: callText(call),
      result,
      fd,
      connId: connId ?? this.host.connIdOf(fd),
      ...(data !== undefined ? { data } : {}),
    });
  }

  refuse(event: ScriptEvent, reason: string): void {
    this.unmodelled(this.where(event), reason);
  }

  fail(event: ScriptEvent, message: string): never {
    this.stop(event, message, false);
  }

  // -------------------------------------------------------------------------------------
  // Timing, ending, messages
  // -------------------------------------------------------------------------------------

  private checkTime(event: ScriptEvent, what: string, startUs: number, endUs: number, actualUs: number, durationUs?: number): void {
    const gapUs = durationUs ?? startUs - this.lastScriptUs;
    const toleranceUs = this.options.exact === true ? 0 : Math.max(this.settings.toleranceUs, Math.floor(0.125 * Math.max(0, gapUs)));
    if (actualUs >= startUs - toleranceUs && actualUs <= endUs + toleranceUs) return;
    const expected = startUs === endUs ? `at ${seconds(startUs)} sec` : `in ${seconds(startUs)}~${seconds(endUs)} sec`;
    this.expectation(event, `timing error: expected ${what} ${expected} but happened at ${seconds(actualUs)} sec; tolerance ${seconds(toleranceUs)} sec`, actualUs);
  }

  private advanceTo(atUs: number): void {
    if (atUs <= this.world.nowUs) {
      // Same instant: still let everything already due run first.
      const end = this.world.runUntil(this.world.nowUs, MAX_EVENTS);
      if (end.stoppedBy === 'event-budget') throw this.budgetStop();
    } else {
      const end = this.world.runUntil(atUs, MAX_EVENTS);
      if (end.stoppedBy === 'event-budget') throw this.budgetStop();
    }
    this.checkBlockedDone();
  }

  private finish(): void {
    if (this.blocked !== null && this.blocked.done === null) {
      this.waitForBlocked(this.world.nowUs + BLOCKING_GRACE_US);
      if (this.blocked.done === null) this.stop(this.blocked.event, 'the blocking call was still blocked 1 s after the end of the script', false);
    }
    this.checkBlockedDone();
  }

  private drain(): void {
    const end = this.world.runUntil(this.world.nowUs + DRAIN_US, MAX_EVENTS);
    this.monitors.atEnd({ atUs: this.world.nowUs, stoppedBy: end.stoppedBy === 'event-budget' ? 'event-budget' : 'script-end', eventCount: end.events });
  }

  private budgetStop(): Stop {
    return new Stop({ line: 0, source: '', message: `the run used up its event budget (${MAX_EVENTS} events): a livelock`, atUs: this.world.nowUs }, false);
  }

  /** An expectation that failed: the run's failure, or an advisory in fuzz mode. */
  private expectation(event: ScriptEvent, message: string, atUs: number): void {
    const failure = { line: event.line, source: event.source, message, atUs };
    if (this.fuzzing) {
      this.advisories.push(failure);
      return;
    }
    throw new Stop(failure, false);
  }

  private stop(event: ScriptEvent, message: string, refused: boolean): never {
    throw new Stop({ line: event.line, source: event.source, message, atUs: this.world?.nowUs ?? 0 }, refused);
  }

  /** Something the simulator does not model: refused by name, or skipped with --lenient. */
  private unmodelled(where: { line: number; source: string; atUs: number }, reason: string, lenientNote?: string): void {
    if (this.options.lenient === true) {
      this.skipped.push(lenientNote !== undefined ? `line ${where.line}: ${reason}${lenientNote} (${where.source})` : `line ${where.line}: ${reason} (skipped: ${where.source})`);
      return;
    }
    throw new Stop({ ...where, message: `not interpretable: ${reason}` }, true);
  }

  private where(event: ScriptEvent): { line: number; source: string; atUs: number } {
    return { line: event.line, source: event.source, atUs: this.world?.nowUs ?? 0 };
  }

  private noteOnce(note: string): void {
    if (!this.notes.includes(note)) this.notes.push(note);
  }

  /** The flag bits of a line; null when it has a flag the simulator cannot set (outbound: a mismatch). */
  private flagBits(event: ScriptEvent, packet: PacketSpec, outbound = false): number | null {
    let flags = 0;
    if (packet.flagText === '-') return 0;
    for (const c of packet.flagText) {
      if (c === 'S') flags |= SYN;
      else if (c === 'F') flags |= FIN;
      else if (c === 'R') flags |= RST;
      else if (c === 'P') flags |= PSH;
      else if (c === '.') flags |= ACK;
      else if (outbound) return null;
      else {
        this.unmodelled(this.where(event), `flag ${c} (${FLAG_NAMES[c] ?? 'unknown'}) not modelled`);
        return null;
      }
    }
    return flags;
  }

  describeLive(seg: Segment): string {
    const syn = (seg.flags & SYN) !== 0;
    const socket = this.sockets.underTest;
    const seq = socket.outboundSeq(seg.seq, syn);
    let text = `${flagText(seg.flags)} ${seq}:${(seq + seg.payload.length) >>> 0}(${seg.payload.length})`;
    if (seg.flags & ACK) text += ` ack ${socket.outboundAck(seg.ack, syn)}`;
    text += ` win ${seg.window}`;
    const options = liveOptionsOf(seg);
    if (options.length > 0) text += ` <${options.map((o) => describeOption(this.inScriptSpace(o))).join(',')}>`;
    return text;
  }
}

/**
 * One system call, as packetdrill's run_system_call.c would make it, on the host's socket API.
 * `start` tries it at once; if it would block on a blocking descriptor, it waits for the
 * socket's wake-up and tries again then, as a scheduler event, until it returns.
 */
class CallExecutor {
  private written = 0;
  private connectStarted = false;
  private pollTimedOut = false;
  private pollTimerArmed = false;
  private finished = false;
  private done: ((outcome: CallOutcome) => void) | null = null;

  constructor(
    private readonly run: ScriptRun,
    private readonly event: ScriptEvent,
    private readonly call: SyscallSpec,
  ) {}

  start(done: (outcome: CallOutcome) => void): void {
    this.done = done;
    this.attempt();
  }

  private attempt(): void {
    // A poll parks on several descriptors and a timeout: only the first to fire completes it.
    if (this.finished) return;
    const outcome = this.tryOnce();
    if (outcome === 'block') return;
    this.finished = true;
    this.done!(outcome);
  }

  private block(liveFd: number): 'block' {
    const world = this.run.simWorld;
    const parked = this.run.hostUnderTest.onWake(liveFd, () => world.at(world.nowUs, () => this.attempt()));
    if (!parked) world.at(world.nowUs, () => this.attempt());
    return 'block';
  }

  private tryOnce(): CallOutcome | 'block' {
    const { run, event, call } = this;
    const host = run.hostUnderTest;
    const args = call.args;
    const name = `fd${argNumber(args[0])}`;
    switch (call.name) {
      case 'socket': {
        const type = symbolsOf(args[1]);
        if (!type.has('SOCK_STREAM')) run.refuse(event, 'socket types other than SOCK_STREAM not modelled');
        const fd = host.socket();
        if (type.has('SOCK_NONBLOCK')) this.setNonBlocking(fd, true);
        run.mapFd(call.result, fd);
        run.scriptSockets.socketCreated(argNumber(call.result));
        run.traceCall({ op: 'socket', sock: `fd${argNumber(call.result)}` }, fd, 'ok');
        return { value: argNumber(call.result) };
      }
      case 'setsockopt': {
        const fd = run.liveFd(event, args[0]);
        const option = symbolName(args[2]);
        if (option === 'SO_REUSEADDR') {
          const value = argNumber(firstItem(args[3])) !== 0;
          const r = host.setsockopt(fd, { name: 'SO_REUSEADDR', value });
          run.traceCall({ op: 'setsockopt', sock: name, option: 'SO_REUSEADDR', value }, fd, r.ok ? 'ok' : r.errno);
          return r.ok ? { value: 0 } : { value: -1, errno: r.errno };
        }
        if (option === 'SO_LINGER') {
          const fields = args[3]?.kind === 'struct' ? args[3].fields : [];
          const onoff = argNumber(fields.find((f) => f.name === 'onoff' || f.name === 'l_onoff')?.value ?? fields[0]?.value) !== 0;
          const lingerSec = argNumber(fields.find((f) => f.name === 'linger' || f.name === 'l_linger')?.value ?? fields[1]?.value);
          const r = host.setsockopt(fd, { name: 'SO_LINGER', value: { onoff, lingerSec } });
          run.traceCall({ op: 'setsockopt', sock: name, option: 'SO_LINGER', onoff, lingerSec }, fd, r.ok ? 'ok' : r.errno);
          return r.ok ? { value: 0 } : { value: -1, errno: r.errno };
        }
        if (option === 'SO_RCVBUF' || option === 'SO_SNDBUF') {
          const value = argNumber(firstItem(args[3]));
          if (!Number.isInteger(value)) run.fail(event, `setsockopt ${option} needs a number of bytes, got ${describeExpr(args[3])}`);
          const r = host.setsockopt(fd, { name: option, value });
          run.traceCall({ op: 'setsockopt', sock: name, option, value }, fd, r.ok ? 'ok' : r.errno);
          return r.ok ? { value: 0 } : { value: -1, errno: r.errno };
        }
        if (option === 'TCP_NODELAY') {
          // The host sends at once already (no Nagle): TCP_NODELAY changes nothing here.
          return { value: 0 };
        }
        run.refuse(event, `setsockopt ${option} not modelled`);
        return { value: 0 };
      }
      case 'getsockopt': {
        const fd = run.liveFd(event, args[0]);
        const option = symbolName(args[2]);
        if (option !== 'SO_ERROR' && option !== 'SO_REUSEADDR' && option !== 'SO_TYPE' && option !== 'SO_RCVBUF' && option !== 'SO_SNDBUF') {
          run.refuse(event, `getsockopt ${option} not modelled`);
          return { value: 0 };
        }
        const r = host.getsockopt(fd, option);
        if (!r.ok) return { value: -1, errno: r.errno };
        const got = typeof r.value === 'number' ? r.value : typeof r.value === 'string' ? ERRNO_NUMBERS[r.value] ?? -1 : -1;
        run.traceCall({ op: 'getsockopt', sock: name, option }, fd, `value ${typeof r.value === 'object' ? '?' : r.value}`);
        const expected = firstItem(args[3]);
        const want = expected?.kind === 'symbol' ? (ERRNO_NUMBERS[expected.name as Errno] ?? Number.NaN) : argNumber(expected);
        if (expected !== undefined && expected.kind !== 'ellipsis' && want !== got) run.fail(event, `getsockopt(${option}) gave ${typeof r.value === 'string' ? r.value : got}, expected ${describeExpr(expected)}`);
        return { value: 0 };
      }
      case 'fcntl': {
        const fd = run.liveFd(event, args[0]);
        const command = symbolName(args[1]);
        if (command !== 'F_SETFL') {
          run.refuse(event, `fcntl ${command} not modelled`);
          return { value: 0 };
        }
        const on = symbolsOf(args[2]).has('O_NONBLOCK');
        this.setNonBlocking(fd, on);
        run.traceCall({ op: 'fcntl', sock: name, nonBlocking: on }, fd, 'ok');
        return { value: 0 };
      }
      case 'bind': {
        const fd = run.liveFd(event, args[0]);
        const port = run.bindPort;
        const r = host.bind(fd, port);
        run.traceCall({ op: 'bind', sock: name, port }, fd, r.ok ? 'ok' : r.errno);
        if (r.ok) run.bound(port);
        return r.ok ? { value: 0 } : { value: -1, errno: r.errno };
      }
      case 'listen': {
        const fd = run.liveFd(event, args[0]);
        const backlog = argNumber(args[1]);
        const r = host.listen(fd, backlog);
        run.traceCall({ op: 'listen', sock: name, backlog }, fd, r.ok ? 'ok' : r.errno);
        // packetdrill marks the socket listening once the call's result matched the script's.
        run.scriptSockets.listened(argNumber(args[0]));
        return r.ok ? { value: 0 } : { value: -1, errno: r.errno };
      }
      case 'accept': {
        const fd = run.liveFd(event, args[0]);
        const r = host.accept(fd);
        if (!r.ok && r.errno === 'EAGAIN' && !this.nonBlocking(fd)) return this.block(fd);
        if (!r.ok) return { value: -1, errno: r.errno };
        run.mapFd(call.result, r.value);
        run.scriptSockets.accepted(argNumber(call.result));
        run.traceCall({ op: 'accept', sock: name, as: `fd${argNumber(call.result)}` }, r.value, 'ok');
        return { value: argNumber(call.result) };
      }
      case 'connect': {
        const fd = run.liveFd(event, args[0]);
        if (!this.connectStarted) {
          this.connectStarted = true;
          run.connectStarted();
          run.scriptSockets.connecting(argNumber(args[0]));
          const r = host.connect(fd, PEER_IP, run.connectPort);
          if (!r.ok) {
            run.traceCall({ op: 'connect', sock: name, host: 'peer', port: run.connectPort }, fd, r.errno);
            return { value: -1, errno: r.errno };
          }
        }
        const done = host.connectResult(fd);
        if (done === null) return this.block(fd);
        // Traced when it returns, as programs trace it (connect-result reads the outcome).
        run.traceCall({ op: 'connect', sock: name, host: 'peer', port: run.connectPort }, fd, done.ok ? 'ok' : done.errno);
        return done.ok ? { value: 0 } : { value: -1, errno: done.errno };
      }
      case 'write':
      case 'send': {
        const fd = run.liveFd(event, args[0]);
        const bytes = argNumber(args[2]);
        if (call.name === 'send' && argNumber(args[3]) !== 0) run.refuse(event, 'send flags not modelled');
        const r = host.send(fd, new Uint8Array(bytes - this.written));
        if (!r.ok && r.errno === 'EAGAIN') {
          if (this.nonBlocking(fd)) return this.written > 0 ? { value: this.written } : { value: -1, errno: 'EAGAIN' };
          return this.block(fd);
        }
        if (!r.ok) return this.written > 0 ? { value: this.written } : { value: -1, errno: r.errno };
        if (r.value > 0) run.traceCall({ op: 'send', sock: name, bytes: r.value }, fd, `sent ${r.value}`, new Uint8Array(r.value));
        this.written += r.value;
        if (this.written < bytes) return this.nonBlocking(fd) ? { value: this.written } : this.block(fd);
        return { value: this.written };
      }
      case 'read':
      case 'recv': {
        const fd = run.liveFd(event, args[0]);
        const bytes = argNumber(args[2]);
        if (call.name === 'recv' && argNumber(args[3]) !== 0) run.refuse(event, 'recv flags not modelled');
        const r = host.recv(fd, bytes);
        if (!r.ok && r.errno === 'EAGAIN') return this.nonBlocking(fd) ? { value: -1, errno: 'EAGAIN' } : this.block(fd);
        if (!r.ok) return { value: -1, errno: r.errno };
        run.traceCall({ op: 'read', sock: name, bytes }, fd, r.value.length === 0 ? 'eof' : `recv ${r.value.length}`, r.value.length > 0 ? r.value : undefined);
        return { value: r.value.length };
      }
      case 'shutdown': {
        const fd = run.liveFd(event, args[0]);
        const how = symbolName(args[1]) as 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR';
        if (how !== 'SHUT_RD' && how !== 'SHUT_WR' && how !== 'SHUT_RDWR') run.fail(event, `shutdown needs SHUT_RD, SHUT_WR or SHUT_RDWR, got ${String(how)}`);
        const r = host.shutdown(fd, how);
        run.traceCall({ op: 'shutdown', sock: name, how }, fd, r.ok ? 'ok' : r.errno);
        return r.ok ? { value: 0 } : { value: -1, errno: r.errno };
      }
      case 'close': {
        const fd = run.liveFd(event, args[0]);
        // Traced after the close, with the connection it closed, as programs trace it (the
        // abort monitor reads the RST sent by the close before the call).
        const connId = host.connIdOf(fd);
        const r = host.close(fd);
        run.traceCall({ op: 'close', sock: name }, fd, r.ok ? 'ok' : r.errno, undefined, connId);
        return r.ok ? { value: 0 } : { value: -1, errno: r.errno };
      }
      case 'poll':
        return this.poll();
      case 'ioctl': {
        const fd = run.liveFd(event, args[0]);
        const request = symbolName(args[1]);
        if (request !== 'SIOCINQ' && request !== 'FIONREAD') {
          run.refuse(event, `ioctl ${request} not modelled`);
          return { value: 0 };
        }
        const tcb = (host instanceof Host ? host.socketOf(fd)?.tcb : undefined) as { readableBytes?: number } | null | undefined;
        if (tcb?.readableBytes === undefined) {
          run.refuse(event, `ioctl ${request} needs the reference endpoint's readableBytes`);
          return { value: 0 };
        }
        const want = argNumber(firstItem(args[2]));
        if (tcb.readableBytes !== want) run.fail(event, `ioctl(${request}) gave ${tcb.readableBytes} bytes queued, expected ${want}`);
        return { value: 0 };
      }
      default:
        run.refuse(event, `system call ${call.name} not modelled`);
        return { value: 0 };
    }
  }

  /**
   * poll(fds, nfds, timeout_ms) (run_system_call.c syscall_poll): each entry's revents is what
   * the descriptor has (poll.ts, Linux tcp_poll) of its events plus POLLERR and POLLHUP; the
   * call returns how many entries have any, at once when some do or the timeout is 0, else at
   * the first change that gives one or at the timeout (then 0). The script's revents are compared.
   */
  private poll(): CallOutcome | 'block' {
    const { run, event, call } = this;
    const host = run.hostUnderTest;
    const list = call.args[0];
    if (list?.kind !== 'list') return run.fail(event, `poll needs a list of {fd, events, revents}, got ${describeExpr(list)}`);
    const timeoutMs = argNumber(call.args[2]);
    if (!Number.isInteger(timeoutMs)) run.fail(event, `poll needs a timeout in ms, got ${describeExpr(call.args[2])}`);
    const entries = list.items.map((item) => {
      const fields = item.kind === 'struct' ? item.fields : [];
      const field = (name: string) => fields.find((f) => f.name === name)?.value;
      const scriptFd = field('fd');
      if (scriptFd === undefined) run.fail(event, `poll entry ${describeExpr(item)} has no fd`);
      const revents = field('revents');
      return { scriptFd: argNumber(scriptFd), fd: run.liveFd(event, scriptFd), events: this.pollBits(field('events') ?? { kind: 'number', value: 0 }), expected: revents === undefined ? null : this.pollBits(revents) };
    });
    let ready = 0;
    const got: number[] = [];
    for (const entry of entries) {
      const mask = pollEvents(host, entry.fd);
      if (mask === null) {
        run.refuse(event, 'poll needs the reference endpoint\'s sockets (tcp_poll is read from them)');
        return { value: 0 };
      }
      const revents = mask & (entry.events | POLL_BITS.POLLERR! | POLL_BITS.POLLHUP! | POLL_BITS.POLLNVAL!);
      got.push(revents);
      if (revents !== 0) ready++;
    }
    if (ready === 0 && timeoutMs !== 0 && !this.pollTimedOut) {
      const world = run.simWorld;
      if (timeoutMs > 0 && !this.pollTimerArmed) {
        this.pollTimerArmed = true;
        world.at(world.nowUs + timeoutMs * 1000, () => {
          this.pollTimedOut = true;
          this.attempt();
        });
      }
      for (const entry of entries) host.onWake(entry.fd, () => world.at(world.nowUs, () => this.attempt()));
      return 'block';
    }
    for (let i = 0; i < entries.length; i++) {
      const expected = entries[i]!.expected;
      if (expected !== null && expected !== got[i]) return { value: ready, mismatch: `poll() fd ${entries[i]!.scriptFd} revents: expected ${describePoll(expected)} vs actual ${describePoll(got[i]!)}` };
    }
    return { value: ready };
  }

  private pollBits(expr: Expr): number {
    if (expr.kind === 'number') return expr.value;
    let bits = 0;
    for (const name of symbolsOf(expr)) {
      const bit = POLL_BITS[name];
      if (bit === undefined) this.run.fail(this.event, `unknown poll event ${name}`);
      bits |= bit;
    }
    return bits;
  }

  private nonBlocking(fd: number): boolean {
    return this.run.hostUnderTest.isNonBlocking(fd);
  }

  private setNonBlocking(fd: number, on: boolean): void {
    this.run.hostUnderTest.setNonBlocking(fd, on);
    this.run.setNonBlocking(fd, on);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const FLAG_NAMES: Readonly<Record<string, string>> = { E: 'ECE', W: 'CWR', A: 'AE', U: 'URG' };

/** Linux's errno numbers, for getsockopt(SO_ERROR) values written as `[ECONNREFUSED]`. */
const ERRNO_NUMBERS: Partial<Record<Errno, number>> = {
  EPIPE: 32,
  EAGAIN: 11,
  EINVAL: 22,
  EBADF: 9,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EALREADY: 114,
  EINPROGRESS: 115,
  EOPNOTSUPP: 95,
  ENOPROTOOPT: 92,
};

/** poll bits as a script writes them: POLLIN|POLLOUT, or 0. */
function describePoll(bits: number): string {
  const names = Object.entries(POLL_BITS).filter(([, bit]) => bits & bit).map(([name]) => name);
  return names.length > 0 ? names.join('|') : '0';
}

function isInbound(event: ScriptEvent): boolean {
  return event.action.kind === 'packet' && event.action.packet.direction === 'inbound';
}

/**
 * The options on a live segment, as a list in the order Linux's tcp_options_write puts them on
 * the wire (and src/tcp/wire.ts writes them): mss; sackOK beside TS, or nop,nop before TS, or
 * nop,nop,sackOK without TS; nop,wscale; nop,nop,sack blocks.
 */
export function liveOptionsOf(seg: Segment): TcpOptionSpec[] {
  const list: TcpOptionSpec[] = [];
  if (seg.mss > 0) list.push({ kind: 'mss', value: seg.mss });
  if (seg.tsVal >= 0) {
    if (seg.sackOk) list.push({ kind: 'sackOK' });
    else list.push(NOP, NOP);
    list.push({ kind: 'TS', val: seg.tsVal, ecr: seg.tsEcr });
  } else if (seg.sackOk) {
    list.push(NOP, NOP, { kind: 'sackOK' });
  }
  if (seg.wscale >= 0) list.push(NOP, { kind: 'wscale', value: seg.wscale });
  const blocks = seg.sackBlocks;
  if (blocks !== undefined && blocks.length > 0) {
    const pairs: (readonly [number, number])[] = [];
    for (let i = 0; i + 1 < blocks.length; i += 2) pairs.push([blocks[i]!, blocks[i + 1]!]);
    list.push(NOP, NOP, { kind: 'sack', blocks: pairs });
  }
  return list;
}

const NOP: TcpOptionSpec = Object.freeze({ kind: 'nop' });

function describeOption(option: TcpOptionSpec): string {
  switch (option.kind) {
    case 'mss':
    case 'wscale':
      return `${option.kind} ${option.value}`;
    case 'TS':
      return `TS val ${option.val} ecr ${option.ecr}`;
    case 'sack':
      return `sack ${option.blocks.map(([a, b]) => `${a}:${b}`).join(' ')}`;
    case 'other':
      return option.text;
    default:
      return option.kind;
  }
}

function describeScriptPacket(packet: PacketSpec): string {
  let text = `${packet.flagText} ${packet.seqStart}:${packet.seqEnd}(${packet.payloadBytes})`;
  if (packet.ack !== undefined) text += ` ack ${packet.ack}`;
  if (packet.window !== undefined) text += ` win ${packet.window}`;
  if (packet.options === 'any') text += ' <...>';
  else if (packet.options !== null) text += ` <${packet.options.map(describeOption).join(',')}>`;
  return text;
}

/** packetdrill writes flags as tcpdump does, and `-` for none. */
function flagText(flags: number): string {
  const text = tcpdumpFlags(flags);
  return text === 'none' ? '-' : text;
}

function describeOutcome(outcome: CallOutcome): string {
  return outcome.errno !== undefined ? `-1 ${outcome.errno}` : String(outcome.value);
}

export function seconds(us: number): string {
  const sign = us < 0 ? '-' : '';
  const abs = Math.abs(us);
  return `${sign}${Math.floor(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, '0')}`;
}

function argNumber(expr: Expr | undefined): number {
  return expr?.kind === 'number' ? expr.value : Number.NaN;
}

function firstItem(expr: Expr | undefined): Expr | undefined {
  return expr?.kind === 'list' ? expr.items[0] : expr;
}

function symbolName(expr: Expr | undefined): string {
  return expr?.kind === 'symbol' ? expr.name : describeExpr(expr);
}

function symbolsOf(expr: Expr | undefined): Set<string> {
  if (expr === undefined) return new Set();
  if (expr.kind === 'symbol') return new Set([expr.name]);
  if (expr.kind === 'or') return new Set(expr.terms.flatMap((t) => (t.kind === 'symbol' ? [t.name] : [])));
  return new Set();
}

function describeExpr(expr: Expr | undefined): string {
  if (expr === undefined) return 'nothing';
  switch (expr.kind) {
    case 'ellipsis':
      return '...';
    case 'number':
      return String(expr.value);
    case 'symbol':
      return expr.name;
    case 'string':
      return JSON.stringify(expr.value);
    case 'or':
      return expr.terms.map(describeExpr).join('|');
    case 'list':
      return `[${expr.items.map(describeExpr).join(', ')}]`;
    case 'struct':
      return `{${expr.fields.map((f) => (f.name !== null ? `${f.name}=${describeExpr(f.value)}` : describeExpr(f.value))).join(', ')}}`;
    case 'call':
      return `${expr.name}(${expr.args.map(describeExpr).join(', ')})`;
  }
}

function callText(call: Call): string {
  switch (call.op) {
    case 'socket':
      return `${call.sock} = socket()`;
    case 'accept':
      return `${call.as} = accept(${call.sock})`;
    case 'send':
      return `write(${call.sock}, ${call.bytes} bytes)`;
    case 'read':
      return `read(${call.sock}, ${call.bytes} bytes)`;
    case 'connect':
      return `connect(${call.sock}, 192.0.2.1:${call.port})`;
    case 'bind':
      return `bind(${call.sock}, ${call.port})`;
    default:
      return `${call.op}(${'sock' in call ? call.sock : ''})`;
  }
}
