/**
 * A recorded run written out for `replay` and `scenario`: tcpdump-style text, JSON lines, or a
 * pcap capture. Output is a function of the events only (no timestamps of the real clock, no
 * host names of the machine), so the same seed gives the same bytes everywhere.
 */
import { formatIpv4 } from '../net/address.js';
import { pcapForHost, pcapOfWire } from '../report/pcap.js';
import { ACK, tcpdumpFlags, type Segment } from '../tcp/segment.js';
import { formatTrace, type ConnInfo, type TraceEvent } from '../world/trace.js';

export type TraceFormat = 'text' | 'json' | 'pcap';

/**
 * One line per event (src/world/trace.ts `formatTrace`): segments as tcpdump prints them by
 * default, relative sequence numbers after each connection's first ACK-carrying segment.
 */
export function traceText(events: readonly TraceEvent[]): string {
  let text = '';
  for (const line of formatTrace(events)) text += `${line}\n`;
  return text;
}

/** One JSON object per line, fields documented in docs/cli.md ("JSON trace format"). */
export function traceJsonLines(events: readonly TraceEvent[]): string {
  let text = '';
  events.forEach((event, index) => {
    text += `${JSON.stringify(eventJson(event, index))}\n`;
  });
  return text;
}

/** The pcap capture of the wire (every segment sent), or of one host's interface. */
export function tracePcap(events: readonly TraceEvent[], hostIp?: number): Uint8Array {
  return hostIp === undefined ? pcapOfWire(events) : pcapForHost(events, hostIp);
}

export function eventJson(event: TraceEvent, index: number): Record<string, unknown> {
  const head = { i: index, atUs: event.atUs, type: event.type };
  switch (event.type) {
    case 'segment': {
      const base = { ...head, fate: event.fate, ...segmentJson(event.seg) };
      switch (event.fate) {
        case 'sent':
        case 'delivered':
          return base;
        case 'dropped':
          return { ...base, reason: event.reason };
        case 'duplicated':
          return { ...base, copyId: event.copy.id, why: event.why };
        case 'delayed':
          return { ...base, extraUs: event.extraUs, why: event.why };
      }
      break;
    }
    case 'state':
      return { ...head, conn: connJson(event.conn), from: event.from, to: event.to, cause: event.cause };
    case 'listen':
      return { ...head, host: event.host, port: event.port, from: event.from, to: event.to };
    case 'time-wait-restart':
      return { ...head, conn: connJson(event.conn), cause: event.cause };
    case 'accepted':
      return { ...head, conn: connJson(event.conn), segId: event.seg.id, segIncarnation: event.seg.incarnation };
    case 'timer':
      return { ...head, conn: connJson(event.conn), timer: event.timer };
    case 'call':
      return {
        ...head,
        host: event.host,
        program: event.program,
        step: event.step,
        op: event.call.op,
        text: event.text,
        result: event.result,
        fd: event.fd,
        connId: event.connId,
        ...(event.data !== undefined ? { bytes: event.data.length } : {}),
      };
    case 'host':
      return { ...head, host: event.host, event: event.event };
  }
}

function segmentJson(seg: Segment): Record<string, unknown> {
  return {
    id: seg.id,
    src: `${formatIpv4(seg.srcIp)}:${seg.srcPort}`,
    dst: `${formatIpv4(seg.dstIp)}:${seg.dstPort}`,
    flags: tcpdumpFlags(seg.flags),
    seq: seg.seq,
    ack: seg.flags & ACK ? seg.ack : null,
    win: seg.window,
    mss: seg.mss,
    wscale: seg.wscale >= 0 ? seg.wscale : null,
    ts: seg.tsVal >= 0 ? { val: seg.tsVal, ecr: seg.tsEcr } : null,
    len: seg.payload.length,
    retransmission: seg.retransmission,
    incarnation: seg.incarnation,
    connId: seg.connId,
    copyOf: seg.copyOf,
  };
}

function connJson(conn: ConnInfo): Record<string, unknown> {
  return {
    id: conn.connId,
    host: conn.host,
    local: `${formatIpv4(conn.localIp)}:${conn.localPort}`,
    remote: `${formatIpv4(conn.remoteIp)}:${conn.remotePort}`,
    incarnation: conn.incarnation,
    passive: conn.passive,
  };
}

/** Lines of text as `# `-prefixed comments, so a trace file stays greppable. */
export function commentLines(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? '#' : `# ${line}`))
    .join('\n');
}
