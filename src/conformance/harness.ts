/**
 * Conformance harness: run scripted programs on a small world, then read back what went on the
 * wire in a compact, tcpdump-like form with sequence numbers relative to each side's ISN:
 *
 *     client > server [S] seq 0 mss 1460
 *     server > client [S.] seq 0 ack 1 mss 1460
 *     client > server [.] seq 1 ack 1
 *     client > server [P.] seq 1 ack 1 len 1000
 *
 * so a test can assert an exact segment sequence with `expect(run.wire()).toEqual([...])`. It
 * can also lose chosen segments (the k-th put on the wire, or the k-th of one link direction),
 * and read each connection's state changes, the programs' call results and the byte streams.
 *
 * The harness only reads the trace (and, at the end, the hosts' connection tables); it never
 * reaches into a TCB while the run goes on.
 */
import { linkFaults, type LinkFaults } from '../net/faults.js';
import type { RunEnd, RunLimits } from '../sim/scheduler.js';
import type { StackConfig } from '../tcp/config.js';
import type { Endpoint } from '../tcp/endpoint.js';
import { ACK, formatSackBlocks, SYN, tcpdumpFlags, type Segment } from '../tcp/segment.js';
import type { TcpState } from '../tcp/state.js';
import { describeCall, type Call, type Program, type ProgramStep } from '../world/program.js';
import { runPrograms } from '../world/run-script.js';
import { formatEvent, formatTimeUs, formatWireTrace, TraceRecorder, type ConnInfo, type TraceEvent } from '../world/trace.js';
import { DEFAULT_LIMITS, World } from '../world/world.js';
import { exportIfAsked } from './scenario-export.js';

/** One program: the host it runs on, when it starts, and its steps (script lines or steps). */
export interface ConformanceProgram {
  readonly host: string;
  readonly startUs?: number;
  readonly steps: readonly (string | ProgramStep)[];
}

/** Lose the `index`-th (0-based) segment sent from `from` to `to`. */
export interface LinkDrop {
  readonly from: string;
  readonly to: string;
  readonly index: number;
}

export interface ConformanceSpec {
  readonly seed?: number;
  /** Host names, given addresses 10.0.0.1, 10.0.0.2, … in order. Default: client, server. */
  readonly hosts?: readonly string[];
  /** Stack settings for every host (Linux defaults otherwise; ISNs are RFC 6528's, shown relative). */
  readonly stack?: Partial<StackConfig>;
  /** Per-host stack overrides, merged over `stack`. */
  readonly hostStacks?: Readonly<Record<string, Partial<StackConfig>>>;
  readonly endpoint?: Endpoint;
  /** Faults of every link direction (default: clean, 1 ms one-way delay). */
  readonly faults?: Partial<LinkFaults>;
  /** Lose these segments, counted over everything put on the wire, in every direction (0-based). */
  readonly dropWire?: readonly number[];
  /** Lose segments counted per link direction. */
  readonly dropLink?: readonly LinkDrop[];
  readonly programs: readonly ConformanceProgram[];
  readonly limits?: RunLimits;
}

export interface RenderOptions {
  /** Prefix each line with the send time, `1.002000`. */
  readonly time?: boolean;
  /** Name endpoints `client.44722` instead of `client`. */
  readonly ports?: boolean;
  /** Show the advertised window, `win 65535`. */
  readonly win?: boolean;
  /** Absolute sequence numbers (`tcpdump -S`) instead of relative ones. */
  readonly absolute?: boolean;
  /** Mark segments the network lost with ` (dropped)` (default true). */
  readonly drops?: boolean;
  /** Mark retransmissions with ` (rtx)`. */
  readonly rtx?: boolean;
  /**
   * Show the window scale (`ws 7`), timestamps (`ts 1002 ecr 0`) and SACK (`sack {1449:2897}`, edges
   * relative to the peer's ISN) options. TSvals are relative
   * to the TSval of the sender's latest SYN, as sequence numbers are to its ISN, so a value is
   * the milliseconds since that SYN; TSecr likewise relative to the peer's.
   */
  readonly opts?: boolean;
}

export interface WireSegment {
  readonly index: number;
  readonly atUs: number;
  readonly seg: Segment;
  /** Host names of the sender and receiver. */
  readonly from: string;
  readonly to: string;
  readonly dropped: boolean;
}

export interface StateChange {
  readonly atUs: number;
  readonly host: string;
  readonly localPort: number;
  readonly connId: number;
  readonly from: TcpState;
  readonly to: TcpState;
  readonly cause: string;
}

/** Run a conformance scenario. Deterministic: the same spec gives the same run. */
export function runConformance(spec: ConformanceSpec): ConformanceRun {
  const linkDrops = [...(spec.dropLink ?? [])];
  const wireDrops = [...(spec.dropWire ?? [])].sort((a, b) => a - b);
  // A wire index names a segment of the run with the earlier drops in place. Runs are
  // deterministic and a drop changes nothing before it, so locate each index in a run that
  // has all earlier drops, then turn it into a per-direction drop.
  for (const wireIndex of wireDrops) {
    const probe = execute(spec, linkDrops);
    const target = probe.sent[wireIndex];
    if (target === undefined) throw new Error(`dropWire ${wireIndex}: the run puts only ${probe.sent.length} segments on the wire`);
    let index = 0;
    for (let i = 0; i < wireIndex; i++) if (probe.sent[i]!.from === target.from && probe.sent[i]!.to === target.to) index++;
    linkDrops.push({ from: target.from, to: target.to, index });
  }
  exportIfAsked(spec, linkDrops);
  return execute(spec, linkDrops);
}

/** Parse one script line into a program step. See `parseStep` for the grammar. */
export function script(...lines: string[]): ProgramStep[] {
  return lines.map(parseStep);
}

/**
 * One line, words separated by spaces, an optional expected result after `=>`:
 *
 *     socket s | reuseaddr s [0|1] | linger s ONOFF SECONDS | bind s PORT | listen s [BACKLOG]
 *     accept s AS | connect s HOST PORT | send s BYTES | recv s BYTES | recv-eof s
 *     shutdown s wr|rd|rdwr | close s | sleep 40ms|2s|500us | crash | restart
 *     rcvbuf s BYTES | sndbuf s BYTES  (SO_RCVBUF / SO_SNDBUF)
 *
 * e.g. `bind srv 8848 => EADDRINUSE`.
 */
export function parseStep(line: string): ProgramStep {
  const [text, expected] = line.split('=>').map((part) => part.trim());
  const words = text!.split(/\s+/);
  const op = words[0];
  const word = (i: number): string => {
    const w = words[i];
    if (w === undefined) throw new Error(`script line "${line}": missing argument ${i}`);
    return w;
  };
  const int = (i: number): number => {
    const n = Number(word(i));
    if (!Number.isSafeInteger(n)) throw new Error(`script line "${line}": "${word(i)}" is not an integer`);
    return n;
  };
  let call: Call;
  switch (op) {
    case 'socket':
      call = { op: 'socket', sock: word(1) };
      break;
    case 'reuseaddr':
      call = { op: 'setsockopt', sock: word(1), option: 'SO_REUSEADDR', value: words[2] !== '0' };
      break;
    case 'linger':
      call = { op: 'setsockopt', sock: word(1), option: 'SO_LINGER', onoff: int(2) !== 0, lingerSec: int(3) };
      break;
    case 'rcvbuf':
    case 'sndbuf':
      call = { op: 'setsockopt', sock: word(1), option: op === 'rcvbuf' ? 'SO_RCVBUF' : 'SO_SNDBUF', value: int(2) };
      break;
    case 'bind':
      call = { op: 'bind', sock: word(1), port: int(2) };
      break;
    case 'listen':
      call = { op: 'listen', sock: word(1), backlog: words[2] === undefined ? 16 : int(2) };
      break;
    case 'accept':
      call = { op: 'accept', sock: word(1), as: word(2) };
      break;
    case 'connect':
      call = { op: 'connect', sock: word(1), host: word(2), port: int(3) };
      break;
    case 'send':
      call = { op: 'send', sock: word(1), bytes: int(2) };
      break;
    case 'recv':
      call = { op: 'recv', sock: word(1), bytes: int(2) };
      break;
    case 'recv-eof':
      call = { op: 'recv-until-eof', sock: word(1) };
      break;
    case 'shutdown': {
      const how = { wr: 'SHUT_WR', rd: 'SHUT_RD', rdwr: 'SHUT_RDWR' }[word(2)] as 'SHUT_WR' | 'SHUT_RD' | 'SHUT_RDWR' | undefined;
      if (how === undefined) throw new Error(`script line "${line}": shutdown takes wr, rd or rdwr`);
      call = { op: 'shutdown', sock: word(1), how };
      break;
    }
    case 'close':
      call = { op: 'close', sock: word(1) };
      break;
    case 'sleep':
      call = { op: 'sleep', us: parseDurationUs(word(1)) };
      break;
    case 'crash':
      call = { op: 'crash' };
      break;
    case 'restart':
      call = { op: 'restart' };
      break;
    default:
      throw new Error(`script line "${line}": unknown call "${op}"`);
  }
  return expected === undefined ? { call } : { call, expect: expected };
}

/** `40ms`, `2s`, `500us`, or a bare number of microseconds. */
export function parseDurationUs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(us|ms|s)?$/.exec(text);
  if (match === null) throw new Error(`not a duration: "${text}"`);
  const scale = match[2] === 's' ? 1_000_000 : match[2] === 'ms' ? 1_000 : 1;
  return Math.round(Number(match[1]) * scale);
}

export const MS = 1_000;
export const SEC = 1_000_000;

// -----------------------------------------------------------------------------------------
// The run and its views
// -----------------------------------------------------------------------------------------

export class ConformanceRun {
  readonly events: readonly TraceEvent[];
  /** Every segment put on the wire, in order, with its fate (lost or not). */
  readonly sent: readonly WireSegment[];

  constructor(
    readonly world: World,
    readonly programs: readonly Program[],
    readonly end: RunEnd,
    recorder: TraceRecorder,
  ) {
    this.events = recorder.events;
    const nameOfIp = new Map<number, string>();
    for (const host of world.hosts) nameOfIp.set(host.ip, host.name);
    const dropped = new Set<number>();
    for (const e of this.events) if (e.type === 'segment' && e.fate === 'dropped') dropped.add(e.seg.id);
    const sent: WireSegment[] = [];
    for (const e of this.events) {
      if (e.type !== 'segment' || e.fate !== 'sent') continue;
      sent.push({ index: sent.length, atUs: e.atUs, seg: e.seg, from: nameOfIp.get(e.seg.srcIp) ?? '?', to: nameOfIp.get(e.seg.dstIp) ?? '?', dropped: dropped.has(e.seg.id) });
    }
    this.sent = sent;
  }

  /** The segments put on the wire, one compact line each (see the file comment). */
  wire(options: RenderOptions = {}): string[] {
    return renderWire(this.sent, options);
  }

  /** The segments put on the wire as `tcpdump -n` prints them (src/world/trace.ts), one line each. */
  tcpdump(): string[] {
    return formatWireTrace(this.events).split('\n');
  }

  /** State changes (and TIME-WAIT restarts) of every connection, `client.44722 SYN-SENT=>ESTABLISHED`. */
  states(options: { time?: boolean; causes?: boolean; host?: string } = {}): string[] {
    const lines: string[] = [];
    for (const e of this.events) {
      if (e.type !== 'state' && e.type !== 'time-wait-restart') continue;
      if (options.host !== undefined && e.conn.host !== options.host) continue;
      const who = `${e.conn.host}.${e.conn.localPort}`;
      let line = e.type === 'state' ? `${who} ${e.from}=>${e.to}` : `${who} TIME-WAIT restarted`;
      if (options.causes === true || e.type === 'time-wait-restart') line += ` (${e.cause})`;
      lines.push(options.time === true ? `${formatTimeUs(e.atUs)} ${line}` : line);
    }
    return lines;
  }

  /** State changes as data. */
  stateChanges(): StateChange[] {
    const changes: StateChange[] = [];
    for (const e of this.events) {
      if (e.type === 'state') changes.push({ atUs: e.atUs, host: e.conn.host, localPort: e.conn.localPort, connId: e.conn.connId, from: e.from, to: e.to, cause: e.cause });
    }
    return changes;
  }

  /** Hosts (with local port) of the connections that ever entered TIME-WAIT, `['client.44722']`. */
  timeWaitHolders(): string[] {
    const holders: string[] = [];
    for (const c of this.stateChanges()) if (c.to === 'TIME-WAIT') holders.push(`${c.host}.${c.localPort}`);
    return holders;
  }

  /** The final state of every connection ever created, `['client.44722 CLOSED', …]`. */
  finalStates(): string[] {
    const lines: string[] = [];
    for (const host of this.world.hosts) for (const tcb of host.allTcbs) lines.push(`${host.name}.${tcb.id.localPort} ${tcb.state}`);
    return lines;
  }

  /** What program `index`'s calls returned, `['srv = socket() = ok', 'bind(srv, 8848) = EADDRINUSE', …]`. */
  calls(index: number): string[] {
    return this.program(index).outcomes.map((o) => `${describeCall(o.call)} = ${o.result}`);
  }

  /** Just the results of program `index`'s calls. */
  results(index: number): string[] {
    return this.program(index).outcomes.map((o) => o.result);
  }

  /** When (µs) program `index`'s calls returned. */
  returnTimes(index: number): number[] {
    return this.program(index).outcomes.map((o) => o.atUs);
  }

  /** Calls whose result differed from the `=> expected` of their script line. */
  mismatches(): string[] {
    const out: string[] = [];
    for (const program of this.programs) {
      for (const o of program.outcomes) {
        if (o.expect !== undefined && o.expect !== o.result) out.push(`program ${program.index} (${program.host.name}) step ${o.step} ${describeCall(o.call)}: expected ${o.expect}, got ${o.result}`);
      }
      if (!program.finished) out.push(`program ${program.index} (${program.host.name}) is blocked at step ${program.blockedAt}`);
    }
    return out;
  }

  /**
   * Byte-stream integrity, per connection: what its application received must be exactly a
   * prefix of what the peer's application sent. Returns the problems (none: `[]`) and, per
   * connection, `host.port sent N received M`.
   */
  streams(): { readonly summary: string[]; readonly problems: string[] } {
    const conns = new Map<number, ConnInfo>();
    for (const e of this.events) if (e.type === 'state') conns.set(e.conn.connId, e.conn);
    const sent = new Map<number, number[]>();
    const received = new Map<number, number[]>();
    for (const e of this.events) {
      if (e.type !== 'call' || e.data === undefined) continue;
      const table = e.call.op === 'send' ? sent : received;
      let bytes = table.get(e.connId);
      if (bytes === undefined) table.set(e.connId, (bytes = []));
      for (const b of e.data) bytes.push(b);
    }
    const summary: string[] = [];
    const problems: string[] = [];
    for (const conn of conns.values()) {
      const got = received.get(conn.connId) ?? [];
      const mine = sent.get(conn.connId) ?? [];
      summary.push(`${conn.host}.${conn.localPort} sent ${mine.length} received ${got.length}`);
      if (got.length === 0) continue;
      const peer = [...conns.values()].find(
        (p) => p.localIp === conn.remoteIp && p.localPort === conn.remotePort && p.remoteIp === conn.localIp && p.remotePort === conn.localPort && p.incarnation === conn.incarnation,
      );
      if (peer === undefined) {
        problems.push(`${conn.host}.${conn.localPort} received ${got.length} bytes from no known peer`);
        continue;
      }
      const theirs = sent.get(peer.connId) ?? [];
      if (got.length > theirs.length) problems.push(`${conn.host}.${conn.localPort} received ${got.length} bytes, peer sent ${theirs.length}`);
      const differs = got.findIndex((b, i) => theirs[i] !== b);
      if (differs >= 0) problems.push(`${conn.host}.${conn.localPort} byte ${differs} differs from what the peer sent`);
    }
    return { summary, problems };
  }

  /** The whole trace, one line per event, for failure messages. */
  dump(): string {
    return this.events.map(formatEvent).join('\n');
  }

  private program(index: number): Program {
    const program = this.programs[index];
    if (program === undefined) throw new Error(`no program ${index}`);
    return program;
  }
}

/** Render wire segments compactly, seq/ack relative to the ISN each side sent in its latest SYN. */
export function renderWire(sent: readonly WireSegment[], options: RenderOptions = {}): string[] {
  const isnOf = new Map<string, number>();
  const tsBaseOf = new Map<string, number>();
  const lines: string[] = [];
  for (const w of sent) {
    const seg = w.seg;
    const fromKey = `${seg.srcIp}:${seg.srcPort}>${seg.dstIp}:${seg.dstPort}`;
    const toKey = `${seg.dstIp}:${seg.dstPort}>${seg.srcIp}:${seg.srcPort}`;
    // A SYN (re)starts the sender's numbering: a new incarnation of a 4-tuple gets fresh numbers.
    if (seg.flags & SYN) isnOf.set(fromKey, seg.seq);
    if (seg.flags & SYN && seg.tsVal >= 0) tsBaseOf.set(fromKey, seg.tsVal);
    const tsRel = (value: number, key: string): number => {
      const base = options.absolute === true ? undefined : tsBaseOf.get(key);
      return base === undefined ? value : (value - base) >>> 0;
    };
    const rel = (value: number, key: string): number => {
      const isn = options.absolute === true ? undefined : isnOf.get(key);
      return isn === undefined ? value : (value - isn) >>> 0;
    };
    const src = options.ports === true ? `${w.from}.${seg.srcPort}` : w.from;
    const dst = options.ports === true ? `${w.to}.${seg.dstPort}` : w.to;
    let line = `${src} > ${dst} [${tcpdumpFlags(seg.flags)}] seq ${rel(seg.seq, fromKey)}`;
    if (seg.flags & ACK) line += ` ack ${rel(seg.ack, toKey)}`;
    if (seg.payload.length > 0) line += ` len ${seg.payload.length}`;
    if (options.win === true) line += ` win ${seg.window}`;
    if (seg.mss > 0) line += ` mss ${seg.mss}`;
    if (options.opts === true) {
      if (seg.sackOk) line += ' sackOK';
      if (seg.wscale >= 0) line += ` ws ${seg.wscale}`;
      // A TSecr of 0 in a SYN is no echo at all (RFC 7323 §3.2): print it as 0.
      if (seg.tsVal >= 0) line += ` ts ${tsRel(seg.tsVal, fromKey)} ecr ${seg.flags & ACK ? tsRel(seg.tsEcr, toKey) : seg.tsEcr}`;
      // SACK blocks name the peer's sequence numbers, relative to its ISN as the ACK field is.
      const blocks = seg.sackBlocks;
      if (blocks !== undefined && blocks.length > 0) line += ` sack ${formatSackBlocks(blocks, options.absolute === true ? 0 : (isnOf.get(toKey) ?? 0))}`;
    }
    if (options.rtx === true && seg.retransmission) line += ' (rtx)';
    if (options.drops !== false && w.dropped) line += ' (dropped)';
    lines.push(options.time === true ? `${formatTimeUs(w.atUs)} ${line}` : line);
  }
  return lines;
}

function execute(spec: ConformanceSpec, drops: readonly LinkDrop[]): ConformanceRun {
  const world = new World({
    seed: spec.seed ?? 1,
    ...(spec.stack !== undefined ? { stack: spec.stack } : {}),
    ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint } : {}),
    defaultFaults: linkFaults(spec.faults ?? {}),
  });
  for (const name of spec.hosts ?? ['client', 'server']) {
    const stack = spec.hostStacks?.[name];
    world.addHost(name, stack !== undefined ? { stack } : {});
  }
  const byDirection = new Map<string, number[]>();
  for (const drop of drops) {
    const key = `${drop.from}>${drop.to}`;
    let indexes = byDirection.get(key);
    if (indexes === undefined) byDirection.set(key, (indexes = []));
    indexes.push(drop.index);
  }
  for (const [key, indexes] of byDirection) {
    const [from, to] = key.split('>') as [string, string];
    const src = world.host(from).ip;
    const dst = world.host(to).ip;
    world.fabric.configureLink(src, dst, { ...world.fabric.faultsOf(src, dst), dropSegmentIndexes: indexes });
  }
  const recorder = new TraceRecorder();
  world.addListener(recorder);
  const { end, programs } = runPrograms(
    world,
    spec.programs.map((p) => ({ host: p.host, ...(p.startUs !== undefined ? { startUs: p.startUs } : {}), steps: p.steps.map((s) => (typeof s === 'string' ? parseStep(s) : s)) })),
    spec.limits ?? DEFAULT_LIMITS,
  );
  return new ConformanceRun(world, programs, end, recorder);
}
