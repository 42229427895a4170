/**
 * The TCP segment as the simulator carries it: the fields of the IPv4 and TCP headers that
 * matter for connection lifecycles, plus bookkeeping that is not on the wire (the sender's
 * incarnation of the 4-tuple, its connection id) so checks can tell incarnations apart (C10).
 * Plain data; the logic lives in tcb.ts.
 */
import { formatIpv4 } from '../net/address.js';
import type { Datagram } from '../net/fabric.js';

/**
 * The one empty payload every segment without data carries, and every empty read returns: a
 * zero-length array cannot be written into, so sharing it is safe, and costs no allocation.
 */
export const EMPTY_PAYLOAD = new Uint8Array(0);

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export interface Segment extends Datagram {
  id: number;
  readonly srcIp: number;
  readonly srcPort: number;
  readonly dstIp: number;
  readonly dstPort: number;
  readonly seq: number;
  /** Meaningful only with the ACK flag. */
  readonly ack: number;
  readonly flags: number;
  readonly window: number;
  /** MSS option (SYN only); 0 when absent. */
  readonly mss: number;
  /** Window scale option (RFC 7323 §2; SYN only): the shift, or -1 when absent. */
  readonly wscale: number;
  /** SACK-permitted option (RFC 2018 §2; SYN only). Our endpoints send it only with the `sack` setting (Linux tcp_sack). */
  readonly sackOk: boolean;
  /**
   * SACK option (RFC 2018 §3): blocks of received out-of-order data as [left, right) edge pairs,
   * the most recent first (§4). Absent or empty when the segment carries none.
   */
  readonly sackBlocks?: readonly number[];
  /** Timestamps option (RFC 7323 §3): TSval, or -1 when the segment carries no timestamps. */
  readonly tsVal: number;
  /** TSecr; meaningful only when `tsVal` is not -1. */
  readonly tsEcr: number;
  readonly payload: Uint8Array;
  sentAtUs: number;
  /** Not on the wire: the incarnation of the 4-tuple whose endpoint sent this segment. */
  readonly incarnation: number;
  /** Not on the wire: the sending connection's id, or -1 for a reset sent with no connection. */
  readonly connId: number;
  /** Not on the wire: true when this is a retransmission by the sender. */
  readonly retransmission: boolean;
  /** Not on the wire: id of the segment this is a network-made copy of, or -1. */
  copyOf: number;
}

/** The option fields of a segment that carries no options, for building segments by hand. */
export const NO_OPTIONS = Object.freeze({ mss: 0, wscale: -1, sackOk: false, tsVal: -1, tsEcr: 0 });

/**
 * The options as tcpdump prints them, in the order Linux writes them (tcp_options_write): mss,
 * then sackOK and TS together or nop,nop before TS, then nop,wscale; a segment with timestamps
 * but no SYN options shows `nop,nop,TS val … ecr …`. Empty when the segment has no options.
 */
export function formatOptions(seg: Pick<Segment, 'mss' | 'wscale' | 'sackOk' | 'sackBlocks' | 'tsVal' | 'tsEcr'>): string {
  const parts: string[] = [];
  if (seg.mss > 0) parts.push(`mss ${seg.mss}`);
  if (seg.tsVal >= 0) {
    parts.push(seg.sackOk ? 'sackOK' : 'nop,nop');
    parts.push(`TS val ${seg.tsVal} ecr ${seg.tsEcr}`);
  } else if (seg.sackOk) {
    parts.push('nop,nop,sackOK');
  }
  if (seg.wscale >= 0) parts.push(`nop,wscale ${seg.wscale}`);
  const blocks = seg.sackBlocks;
  if (blocks !== undefined && blocks.length > 0) parts.push(`nop,nop,sack ${blocks.length / 2} ${formatSackBlocks(blocks, 0)}`);
  return parts.length === 0 ? '' : `, options [${parts.join(',')}]`;
}

/** SACK blocks as tcpdump prints them, `{1449:2897}{4345:5793}`, each edge less `base` (mod 2^32). */
export function formatSackBlocks(blocks: readonly number[], base: number): string {
  let text = '';
  for (let i = 0; i + 1 < blocks.length; i += 2) text += `{${(blocks[i]! - base) >>> 0}:${(blocks[i + 1]! - base) >>> 0}}`;
  return text;
}

/** RFC 9293 §3.4: SYN and FIN each occupy one sequence number. */
export function segLen(seg: Segment): number {
  return seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
}

/** A segment whose fields may be filled in: the one a host sends is made from `blankSegment` or a spare. */
export type SegmentToFill = { -readonly [K in keyof Segment]: Segment[K] };

/**
 * A new segment with every field, in the one order every segment a host sends has: filled in
 * by the host, or kept by the world once the network is done with it and filled in again
 * (World.spareSegment), so that segments of one shape flow through the same code.
 */
export function blankSegment(): SegmentToFill {
  return { id: 0, srcIp: 0, srcPort: 0, dstIp: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, mss: 0, wscale: -1, sackOk: false, sackBlocks: undefined, tsVal: -1, tsEcr: 0, payload: EMPTY_PAYLOAD, sentAtUs: 0, incarnation: 0, connId: -1, retransmission: false, copyOf: -1 };
}

export function cloneSegment(seg: Segment, id: number): Segment {
  return { ...seg, id, copyOf: seg.id };
}

/** tcpdump's flag string: `S`, `S.`, `F.`, `R.`, `P.`, `.` */
export function tcpdumpFlags(flags: number): string {
  let text = '';
  if (flags & SYN) text += 'S';
  if (flags & FIN) text += 'F';
  if (flags & RST) text += 'R';
  if (flags & PSH) text += 'P';
  if (flags & ACK) text += '.';
  return text === '' ? 'none' : text;
}

/** Absolute sequence numbers, as `tcpdump -S` prints them. */
export function formatSegment(seg: Segment): string {
  const len = seg.payload.length;
  let text = `${formatIpv4(seg.srcIp)}.${seg.srcPort} > ${formatIpv4(seg.dstIp)}.${seg.dstPort}: Flags [${tcpdumpFlags(seg.flags)}], seq ${seg.seq}`;
  if (len > 0) text += `:${(seg.seq + len) >>> 0}`;
  if (seg.flags & ACK) text += `, ack ${seg.ack}`;
  text += `, win ${seg.window}`;
  text += formatOptions(seg);
  text += `, length ${len}`;
  return text;
}
