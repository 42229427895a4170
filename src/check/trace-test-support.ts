/**
 * Handcrafted traces for the monitors' unit tests: connections, segments and calls written by
 * hand, fed through a MonitorSet as a run feeds them.
 */
import { NO_OPTIONS, type Segment } from '../tcp/segment.js';
import type { TcpState } from '../tcp/state.js';
import type { Call } from '../world/program.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { MonitorSet } from './index.js';
import type { Monitor, MonitorContext } from './monitor.js';

export const A = 0x0a000001;
export const B = 0x0a000002;
export const CONTEXT: MonitorContext = { mslUs: 100, expectedTimeWaitUs: 200, delayedAckUs: 0, cleanNetwork: false, staleSegmentsImpossible: true, synRetries: 2, hostIps: new Map([['a', A], ['b', B]]) };

export function conn(connId: number, host: 'a' | 'b', localPort: number, remotePort: number, passive = false): ConnInfo {
  const local = host === 'a' ? A : B;
  return { connId, host, localIp: local, localPort, remoteIp: local === A ? B : A, remotePort, incarnation: 1, passive, reuseAddr: false, lingerSec: null };
}

let segmentIds = 0;
export function seg(from: ConnInfo | { ip: number; port: number; toIp: number; toPort: number }, fields: { seq: number; ack?: number; flags: number; connId?: number; window?: number; bytes?: number }): Segment {
  const src = 'connId' in from ? { srcIp: from.localIp, srcPort: from.localPort, dstIp: from.remoteIp, dstPort: from.remotePort, connId: from.connId } : { srcIp: from.ip, srcPort: from.port, dstIp: from.toIp, dstPort: from.toPort, connId: -1 };
  return {
    id: ++segmentIds,
    ...src,
    ...(fields.connId !== undefined ? { connId: fields.connId } : {}),
    seq: fields.seq >>> 0,
    ack: (fields.ack ?? 0) >>> 0,
    flags: fields.flags,
    window: fields.window ?? 0,
    ...NO_OPTIONS,
    payload: new Uint8Array(fields.bytes ?? 0),
    sentAtUs: 0,
    incarnation: 1,
    retransmission: false,
    copyOf: -1,
  };
}

export type SegmentEvent = TraceEvent & { readonly seg: Segment };
export const sent = (atUs: number, s: Segment): SegmentEvent => ({ type: 'segment', atUs, fate: 'sent', seg: s });
export const delivered = (atUs: number, s: Segment): SegmentEvent => ({ type: 'segment', atUs, fate: 'delivered', seg: s });
export const state = (atUs: number, c: ConnInfo, from: TcpState, to: TcpState, cause = ''): TraceEvent => ({ type: 'state', atUs, conn: c, from, to, cause });
export const call = (atUs: number, host: string, c: Call, result: string, fd: number, connId = -1, program = 0): TraceEvent => ({ type: 'call', atUs, host, program, step: 0, call: c, text: '', result, fd, connId });

/**
 * Feed the events through a MonitorSet, as a run does (so a monitor sees only the kinds of event
 * its `interests` name, and its connections from the shared book); the first violation's
 * message, or null.
 */
export function judge(monitor: Monitor, events: readonly TraceEvent[], endUs = 10_000): string | null {
  return verdict(monitor, events, { atUs: endUs })?.message ?? null;
}

/** The first violation's message, connection and event index (-1: found at the end), or null; `judge` with the run's end as given. */
export function verdict(monitor: Monitor, events: readonly TraceEvent[], end: { stoppedBy?: 'idle' | 'event-budget'; atUs?: number } = {}): { message: string; connId: number; eventIndex: number } | null {
  const set = new MonitorSet([monitor]);
  for (const event of events) set.onEvent(event);
  set.atEnd({ atUs: end.atUs ?? 10_000, stoppedBy: end.stoppedBy ?? 'idle', eventCount: events.length });
  const violation = monitor.violation;
  return violation === null ? null : { message: violation.message, connId: violation.connId, eventIndex: violation.eventIndex };
}
