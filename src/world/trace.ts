/**
 * The one structured event stream of a run. Monitors, statistics and renderers all read it;
 * nothing reads TCP internals directly. Events are plain data (JSON-able but for segment
 * payloads), emitted only when somebody listens.
 */
import { formatIpv4 } from '../net/address.js';
import type { DelayReason, DropReason } from '../net/fabric.js';
import { ACK, FIN, RST, SYN, formatOptions, formatSegment, tcpdumpFlags, type Segment } from '../tcp/segment.js';
import type { TcpState } from '../tcp/state.js';
import type { Call } from './program.js';

/** Who a connection is: fixed at creation. */
export interface ConnInfo {
  readonly connId: number;
  readonly host: string;
  readonly localIp: number;
  readonly localPort: number;
  readonly remoteIp: number;
  readonly remotePort: number;
  readonly incarnation: number;
  readonly passive: boolean;
  /** Socket options when the connection was created (inherited from the listener when passive). */
  readonly reuseAddr: boolean;
  readonly lingerSec: number | null;
}

export type SegmentFate = 'sent' | 'delivered' | 'dropped' | 'duplicated' | 'delayed';

export type TraceEvent =
  | { readonly type: 'segment'; readonly atUs: number; readonly fate: 'sent' | 'delivered'; readonly seg: Segment }
  | { readonly type: 'segment'; readonly atUs: number; readonly fate: 'dropped'; readonly seg: Segment; readonly reason: DropReason }
  | { readonly type: 'segment'; readonly atUs: number; readonly fate: 'duplicated'; readonly seg: Segment; readonly copy: Segment; readonly why: 'duplicate' | 'old-duplicate' }
  | { readonly type: 'segment'; readonly atUs: number; readonly fate: 'delayed'; readonly seg: Segment; readonly extraUs: number; readonly why: DelayReason }
  | { readonly type: 'state'; readonly atUs: number; readonly conn: ConnInfo; readonly from: TcpState; readonly to: TcpState; readonly cause: string }
  | { readonly type: 'listen'; readonly atUs: number; readonly host: string; readonly port: number; readonly from: TcpState; readonly to: TcpState }
  | { readonly type: 'time-wait-restart'; readonly atUs: number; readonly conn: ConnInfo; readonly cause: string }
  | { readonly type: 'accepted'; readonly atUs: number; readonly conn: ConnInfo; readonly seg: Segment }
  | { readonly type: 'timer'; readonly atUs: number; readonly conn: ConnInfo; readonly timer: TimerName }
  | {
      readonly type: 'call';
      readonly atUs: number;
      readonly host: string;
      readonly program: number;
      readonly step: number;
      readonly call: Call;
      /** The call as a program would write it: `bind(srv, 8848)`. */
      readonly text: string;
      readonly result: string;
      /** The descriptor the call used (after `socket`/`accept`: the new one), or -1. */
      readonly fd: number;
      /** The connection the call acted on, when there is one. */
      readonly connId: number;
      /** Bytes accepted by send, or returned by recv. */
      readonly data?: Uint8Array;
    }
  | { readonly type: 'host'; readonly atUs: number; readonly host: string; readonly event: 'crash' | 'restart' };

export type TimerName = 'retransmit' | 'delayed-ack' | 'persist' | 'time-wait' | 'fin-wait-2' | 'loss-probe';
/** By TimerKind; the last, `loss-probe`, is the retransmission slot armed for a tail-loss probe. */
export const TIMER_NAMES: readonly TimerName[] = ['retransmit', 'delayed-ack', 'persist', 'time-wait', 'fin-wait-2', 'loss-probe'];
const LOSS_PROBE_TIMER = 5;

/** The name of a timer that fired: its kind's, or `loss-probe` for a probe on the retransmission slot. */
export function timerNameOf(kind: number, lossProbe: boolean): TimerName {
  return TIMER_NAMES[kind === 0 && lossProbe ? LOSS_PROBE_TIMER : kind]!;
}

export interface TraceListener {
  onEvent(event: TraceEvent): void;
}

/** Keeps every event; the simplest listener. */
export class TraceRecorder implements TraceListener {
  readonly events: TraceEvent[] = [];
  onEvent(event: TraceEvent): void {
    this.events.push(event);
  }
}

/** `0.001000` — seconds with microseconds, as tcpdump prints relative time. */
export function formatTimeUs(atUs: number): string {
  const seconds = Math.floor(atUs / 1_000_000);
  const micros = atUs % 1_000_000;
  return `${seconds}.${String(micros).padStart(6, '0')}`;
}

export function formatConn(conn: ConnInfo): string {
  return `${conn.host}#${conn.connId} ${formatIpv4(conn.localIp)}.${conn.localPort}<->${formatIpv4(conn.remoteIp)}.${conn.remotePort} inc ${conn.incarnation}`;
}

/**
 * One line per event, tcpdump-style for segments:
 * `0.001000 10.0.0.1.44722 > 10.0.0.2.8848: Flags [F.], seq 6, ack 1, win 65535, length 0`.
 * Non-delivery fates are marked after the segment; other events start with `#`.
 */
export function formatEvent(event: TraceEvent): string {
  const time = formatTimeUs(event.atUs);
  switch (event.type) {
    case 'segment':
      switch (event.fate) {
        case 'sent':
          return `${time} ${formatSegment(event.seg)}${event.seg.retransmission ? ' (retransmission)' : ''}`;
        case 'delivered':
          return `${time}   delivered #${event.seg.id}`;
        case 'dropped':
          return `${time}   dropped #${event.seg.id} (${event.reason})`;
        case 'duplicated':
          return `${time}   duplicated #${event.seg.id} as #${event.copy.id} (${event.why})`;
        case 'delayed':
          return `${time}   delayed #${event.seg.id} by ${event.extraUs} us (${event.why})`;
      }
      break;
    case 'state':
      return `${time} # ${formatConn(event.conn)} state=${event.from}=>${event.to} (${event.cause})`;
    case 'listen':
      return `${time} # ${event.host} port ${event.port} state=${event.from}=>${event.to}`;
    case 'time-wait-restart':
      return `${time} # ${formatConn(event.conn)} TIME-WAIT restarted (${event.cause})`;
    case 'accepted':
      return `${time} # ${formatConn(event.conn)} accepted #${event.seg.id} from inc ${event.seg.incarnation}`;
    case 'timer':
      return `${time} # ${formatConn(event.conn)} timer ${event.timer} fired`;
    case 'call':
      return `${time} # ${event.host} ${event.text} = ${event.result}`;
    case 'host':
      return `${time} # ${event.host} ${event.event}`;
  }
}

/**
 * tcpdump's default rendering of segments, with its relative sequence numbers: a segment
 * without ACK (the first SYN) and the first ACK-carrying segment of a connection print absolute
 * numbers; from then on, both directions print seq and ack relative to that first ACK-carrying
 * segment's (as tcpdump's print-tcp.c does). `seq` is printed only for segments with data, SYN,
 * FIN or RST, as tcpdump does. A SYN without ACK starts the 4-tuple afresh (a new incarnation).
 */
export class TcpdumpFormatter {
  private readonly bases = new Map<string, { forward: string; seqBase: number; ackBase: number }>();

  formatSegment(seg: Segment): string {
    const src = `${formatIpv4(seg.srcIp)}.${seg.srcPort}`;
    const dst = `${formatIpv4(seg.dstIp)}.${seg.dstPort}`;
    const key = src < dst ? `${src}|${dst}` : `${dst}|${src}`;
    let seq = seg.seq;
    let ack = seg.ack;
    const hasAck = (seg.flags & ACK) !== 0;
    if (seg.flags & SYN && !hasAck) this.bases.delete(key);
    if (hasAck) {
      const base = this.bases.get(key);
      if (base === undefined) {
        this.bases.set(key, { forward: src, seqBase: seq, ackBase: (ack - 1) >>> 0 });
      } else if (base.forward === src) {
        seq = (seq - base.seqBase) >>> 0;
        ack = (ack - base.ackBase) >>> 0;
      } else {
        seq = (seq - base.ackBase) >>> 0;
        ack = (ack - base.seqBase) >>> 0;
      }
    }
    const len = seg.payload.length;
    let text = `${src} > ${dst}: Flags [${tcpdumpFlags(seg.flags)}]`;
    if (len > 0 || seg.flags & (SYN | FIN | RST)) text += len > 0 ? `, seq ${seq}:${(seq + len) >>> 0}` : `, seq ${seq}`;
    if (hasAck) text += `, ack ${ack}`;
    text += `, win ${seg.window}`;
    text += formatOptions(seg);
    return `${text}, length ${len}`;
  }

  /** One event: segments put on the wire tcpdump-style, everything else as `formatEvent` does. */
  formatEvent(event: TraceEvent): string {
    if (event.type === 'segment' && event.fate === 'sent') {
      return `${formatTimeUs(event.atUs)} ${this.formatSegment(event.seg)}${event.seg.retransmission ? ' (retransmission)' : ''}`;
    }
    return formatEvent(event);
  }
}

/** A whole trace, one line per event, with tcpdump's relative sequence numbers. */
export function formatTrace(events: readonly TraceEvent[]): string[] {
  const formatter = new TcpdumpFormatter();
  return events.map((event) => formatter.formatEvent(event));
}

/** The tcpdump view: only the segments put on the wire, one line each. */
export function formatWireTrace(events: readonly TraceEvent[]): string {
  const formatter = new TcpdumpFormatter();
  const lines: string[] = [];
  for (const event of events) if (event.type === 'segment' && event.fate === 'sent') lines.push(formatter.formatEvent(event));
  return lines.join('\n');
}
