/**
 * Classic libpcap captures (not pcapng) of a run, with real IPv4 and TCP headers, so tcpdump,
 * tshark and Wireshark open them and run their own TCP analysis over the simulator's segments.
 *
 * Three views, because one capture cannot show every fate (see README.md beside this file):
 * - `pcapOfWire`: every segment a host put on the wire, at send time (what `formatWireTrace`
 *   prints);
 * - `pcapForHost`: one host's interface: what it sent, at send time, and what was delivered to
 *   it, at delivery time. A lost segment shows only in its sender's capture; a network
 *   duplicate shows twice in its receiver's;
 * - `segmentFates`: one row per segment and per network-made copy, saying what happened to it.
 *
 * The IPv4 identification field carries the segment id (mod 2^16), and a network-made copy keeps
 * its original's, as a real duplicated datagram would: that is how a segment is matched across
 * captures (`ip.id` in Wireshark).
 *
 * This module only reads traces (STYLE.md: `report` never reaches into sim, net or tcp state).
 */
import { formatIpv4 } from '../net/address.js';
import { ACK, formatSegment, type Segment } from '../tcp/segment.js';
import { formatTimeUs, type TraceEvent } from '../world/trace.js';

/** LINKTYPE_RAW: each packet starts at the IP header, no fake Ethernet. */
export const LINKTYPE_RAW = 101;
/** Larger than any packet we write (IPv4 total length is 16 bits). */
export const PCAP_SNAPLEN = 262_144;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_GLOBAL_HEADER_BYTES = 24;
const PCAP_RECORD_HEADER_BYTES = 16;
const IPV4_HEADER_BYTES = 20;
const TCP_HEADER_BYTES = 20;
const IP_PROTO_TCP = 6;
const IP_TTL = 64;
/** Don't Fragment, as Linux sets it on TCP (path MTU discovery). */
const IP_FLAG_DF = 0x4000;
const TCP_OPT_EOL = 0;
const TCP_OPT_NOP = 1;
const TCP_OPT_MSS = 2;
const TCP_OPT_WSCALE = 3;
const TCP_OPT_SACK_PERMITTED = 4;
const TCP_OPT_TIMESTAMPS = 8;

/** One captured packet: a segment and the virtual time it was seen. */
export interface CapturedSegment {
  readonly atUs: number;
  readonly seg: Segment;
}

/** Every segment a host handed to the network, at send time. Network-made copies are not here. */
export function pcapOfWire(events: readonly TraceEvent[]): Uint8Array {
  return writePcap(wirePackets(events));
}

/**
 * The capture of one host's interface: segments it sent (at send time) and segments delivered
 * to it (at delivery time), in trace order.
 */
export function pcapForHost(events: readonly TraceEvent[], hostIp: number): Uint8Array {
  return writePcap(hostPackets(events, hostIp));
}

export function wirePackets(events: readonly TraceEvent[]): CapturedSegment[] {
  const packets: CapturedSegment[] = [];
  for (const event of events) {
    if (event.type === 'segment' && event.fate === 'sent') packets.push({ atUs: event.atUs, seg: event.seg });
  }
  return packets;
}

export function hostPackets(events: readonly TraceEvent[], hostIp: number): CapturedSegment[] {
  const packets: CapturedSegment[] = [];
  for (const event of events) {
    if (event.type !== 'segment') continue;
    if (event.fate === 'sent' && event.seg.srcIp === hostIp) packets.push({ atUs: event.atUs, seg: event.seg });
    else if (event.fate === 'delivered' && event.seg.dstIp === hostIp) packets.push({ atUs: event.atUs, seg: event.seg });
  }
  return packets;
}

/** A libpcap file (microsecond timestamps, LINKTYPE_RAW) holding the given packets in order. */
export function writePcap(packets: readonly CapturedSegment[]): Uint8Array {
  const frames = packets.map((packet) => encodeIpv4Tcp(packet.seg));
  let size = PCAP_GLOBAL_HEADER_BYTES;
  for (const frame of frames) size += PCAP_RECORD_HEADER_BYTES + frame.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  // The global header is written little-endian; readers recognise the byte order by the magic.
  view.setUint32(0, PCAP_MAGIC_US, true);
  view.setUint16(4, 2, true); // version 2.4
  view.setUint16(6, 4, true);
  view.setInt32(8, 0, true); // thiszone: virtual time is UTC from the epoch
  view.setUint32(12, 0, true); // sigfigs
  view.setUint32(16, PCAP_SNAPLEN, true);
  view.setUint32(20, LINKTYPE_RAW, true);
  let offset = PCAP_GLOBAL_HEADER_BYTES;
  for (let i = 0; i < frames.length; i++) {
    const atUs = packets[i]!.atUs;
    const frame = frames[i]!;
    assert(Number.isSafeInteger(atUs) && atUs >= 0, `packet time must be a non-negative integer of microseconds, got ${atUs}`);
    assert(atUs / 1_000_000 < 2 ** 32, `packet time ${atUs} us does not fit a 32-bit pcap timestamp`);
    view.setUint32(offset, Math.floor(atUs / 1_000_000), true);
    view.setUint32(offset + 4, atUs % 1_000_000, true);
    view.setUint32(offset + 8, frame.length, true); // captured length: all of it
    view.setUint32(offset + 12, frame.length, true); // original length
    bytes.set(frame, offset + PCAP_RECORD_HEADER_BYTES);
    offset += PCAP_RECORD_HEADER_BYTES + frame.length;
  }
  return bytes;
}

/**
 * The IPv4 datagram carrying a segment: RFC 791 header (no options) and RFC 9293 §3.1 TCP
 * header, both checksummed, then the payload. Network byte order throughout.
 */
export function encodeIpv4Tcp(seg: Segment): Uint8Array {
  assert(seg.window >= 0 && seg.window <= 0xffff, `segment #${seg.id}: window ${seg.window} does not fit 16 bits (it is the field, already scaled)`);
  assert(seg.mss >= 0 && seg.mss <= 0xffff, `segment #${seg.id}: MSS ${seg.mss} does not fit 16 bits`);
  assert((seg.flags & ~0xff) === 0, `segment #${seg.id}: flags 0x${seg.flags.toString(16)} are not TCP flags`);
  const options = tcpOptions(seg);
  const tcpLength = TCP_HEADER_BYTES + options.length + seg.payload.length;
  const totalLength = IPV4_HEADER_BYTES + tcpLength;
  assert(totalLength <= 0xffff, `segment #${seg.id}: ${totalLength} bytes do not fit one IPv4 datagram`);
  const bytes = new Uint8Array(totalLength);
  const view = new DataView(bytes.buffer);

  // RFC 791 §3.1: version 4, IHL 5 words.
  view.setUint8(0, 0x45);
  view.setUint8(1, 0); // DSCP/ECN
  view.setUint16(2, totalLength);
  view.setUint16(4, ipIdentification(seg));
  view.setUint16(6, IP_FLAG_DF); // no fragment offset
  view.setUint8(8, IP_TTL);
  view.setUint8(9, IP_PROTO_TCP);
  view.setUint16(10, 0); // checksum, filled below
  view.setUint32(12, seg.srcIp >>> 0);
  view.setUint32(16, seg.dstIp >>> 0);
  view.setUint16(10, internetChecksum(bytes, 0, IPV4_HEADER_BYTES, 0));

  const tcp = IPV4_HEADER_BYTES;
  view.setUint16(tcp, seg.srcPort);
  view.setUint16(tcp + 2, seg.dstPort);
  view.setUint32(tcp + 4, seg.seq >>> 0);
  // RFC 9293 §3.1: the acknowledgment field is meaningful only with ACK; senders zero it
  // otherwise, and Wireshark warns about a nonzero one.
  view.setUint32(tcp + 8, seg.flags & ACK ? seg.ack >>> 0 : 0);
  view.setUint8(tcp + 12, ((TCP_HEADER_BYTES + options.length) / 4) << 4); // data offset, reserved bits 0
  view.setUint8(tcp + 13, seg.flags);
  view.setUint16(tcp + 14, seg.window);
  view.setUint16(tcp + 16, 0); // checksum, filled below
  view.setUint16(tcp + 18, 0); // urgent pointer
  bytes.set(options, tcp + TCP_HEADER_BYTES);
  bytes.set(seg.payload, tcp + TCP_HEADER_BYTES + options.length);
  // RFC 9293 §3.1: the checksum covers a pseudo-header of source, destination, zero,
  // protocol and TCP length, then the TCP header and data.
  const pseudo = (seg.srcIp >>> 16) + (seg.srcIp & 0xffff) + (seg.dstIp >>> 16) + (seg.dstIp & 0xffff) + IP_PROTO_TCP + tcpLength;
  view.setUint16(tcp + 16, internetChecksum(bytes, tcp, totalLength, pseudo));
  return bytes;
}

/** The ones'-complement checksum of RFC 1071 over bytes[from, to), starting from `initialSum`. */
export function internetChecksum(bytes: Uint8Array, from: number, to: number, initialSum: number): number {
  let sum = initialSum;
  let i = from;
  for (; i + 1 < to; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < to) sum += bytes[i]! << 8; // an odd last byte is padded with zero
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** Copies keep their original's identification, so a duplicate is recognisable by `ip.id`. */
export function ipIdentification(seg: Segment): number {
  return (seg.copyOf >= 0 ? seg.copyOf : seg.id) & 0xffff;
}

/**
 * TCP options in the order and alignment Linux's tcp_options_write uses, so a capture decodes as
 * a Linux one does: MSS; sackOK and timestamps sharing a word, or NOP,NOP before timestamps;
 * NOP,window scale. Padded with EOL to a multiple of 4 bytes.
 */
function tcpOptions(seg: Segment): Uint8Array {
  const options: number[] = [];
  if (seg.mss > 0) options.push(TCP_OPT_MSS, 4, seg.mss >>> 8, seg.mss & 0xff);
  if (seg.tsVal >= 0) {
    if (seg.sackOk) options.push(TCP_OPT_SACK_PERMITTED, 2);
    else options.push(TCP_OPT_NOP, TCP_OPT_NOP);
    options.push(TCP_OPT_TIMESTAMPS, 10, ...uint32Bytes(seg.tsVal), ...uint32Bytes(seg.tsEcr));
  } else if (seg.sackOk) {
    options.push(TCP_OPT_NOP, TCP_OPT_NOP, TCP_OPT_SACK_PERMITTED, 2);
  }
  if (seg.wscale >= 0) options.push(TCP_OPT_NOP, TCP_OPT_WSCALE, 3, seg.wscale);
  while (options.length % 4 !== 0) options.push(TCP_OPT_EOL);
  assert(options.length <= 40, `segment #${seg.id}: ${options.length} bytes of TCP options exceed 40`);
  return Uint8Array.from(options);
}

// -----------------------------------------------------------------------------------------
// Fates
// -----------------------------------------------------------------------------------------

export type FateOutcome =
  | { readonly kind: 'delivered'; readonly atUs: number }
  | { readonly kind: 'dropped'; readonly atUs: number; readonly reason: string }
  /** The run ended before the segment arrived or was dropped. */
  | { readonly kind: 'in-flight' };

/** What happened to one segment, or to one copy the network made of a segment. */
export interface SegmentFateRow {
  readonly id: number;
  /** The segment this is a network-made copy of, or -1. */
  readonly copyOf: number;
  /** Why the network made this copy, when it is one. */
  readonly copyKind: 'duplicate' | 'old-duplicate' | null;
  /** The IPv4 identification written in the captures (shared by a segment and its copies). */
  readonly ipId: number;
  readonly sentAtUs: number;
  readonly segment: Segment;
  readonly retransmission: boolean;
  /** Extra delays the network added (reordering, holds, old-duplicate release), in order. */
  readonly delays: readonly { readonly reason: string; readonly extraUs: number }[];
  readonly outcome: FateOutcome;
}

/** One row per segment a host sent and per network-made copy, in the order they appeared. */
export function segmentFates(events: readonly TraceEvent[]): SegmentFateRow[] {
  interface Mutable {
    id: number;
    copyOf: number;
    copyKind: 'duplicate' | 'old-duplicate' | null;
    sentAtUs: number;
    segment: Segment;
    delays: { reason: string; extraUs: number }[];
    outcome: FateOutcome;
  }
  const rows: Mutable[] = [];
  const byId = new Map<number, Mutable>();
  const add = (seg: Segment, atUs: number, copyKind: 'duplicate' | 'old-duplicate' | null): void => {
    const row: Mutable = { id: seg.id, copyOf: seg.copyOf, copyKind, sentAtUs: atUs, segment: seg, delays: [], outcome: { kind: 'in-flight' } };
    rows.push(row);
    byId.set(seg.id, row);
  };
  for (const event of events) {
    if (event.type !== 'segment') continue;
    switch (event.fate) {
      case 'sent':
        add(event.seg, event.atUs, null);
        break;
      case 'duplicated':
        add(event.copy, event.atUs, event.why);
        break;
      case 'delayed':
        byId.get(event.seg.id)?.delays.push({ reason: event.why, extraUs: event.extraUs });
        break;
      case 'delivered': {
        const row = byId.get(event.seg.id);
        if (row !== undefined) row.outcome = { kind: 'delivered', atUs: event.atUs };
        break;
      }
      case 'dropped': {
        const row = byId.get(event.seg.id);
        if (row !== undefined) row.outcome = { kind: 'dropped', atUs: event.atUs, reason: event.reason };
        break;
      }
    }
  }
  return rows.map((row) => ({ ...row, ipId: ipIdentification(row.segment), retransmission: row.segment.retransmission }));
}

/** Which captures a fate row appears in: the wire capture, the sender's, the receiver's (how many times). */
export function capturesOf(row: SegmentFateRow): { readonly wire: boolean; readonly sender: boolean; readonly receiver: boolean } {
  const isCopy = row.copyOf >= 0;
  return { wire: !isCopy, sender: !isCopy, receiver: row.outcome.kind === 'delivered' };
}

/**
 * A markdown table of fates, for documentation and bug reports: one row per segment and copy,
 * with the tcpdump line (absolute sequence numbers) and where to find it.
 */
export function formatSegmentFates(rows: readonly SegmentFateRow[]): string {
  const lines = ['| id | ip.id | sent | segment | fate | in captures |', '|---:|---:|---:|---|---|---|'];
  for (const row of rows) {
    const what: string[] = [];
    if (row.copyKind !== null) what.push(`${row.copyKind === 'old-duplicate' ? 'old duplicate' : 'duplicate'} of #${row.copyOf}`);
    if (row.retransmission) what.push('retransmission');
    for (const delay of row.delays) what.push(`delayed ${delay.extraUs} us (${delay.reason})`);
    const outcome = row.outcome;
    switch (outcome.kind) {
      case 'delivered':
        what.push(`delivered ${formatTimeUs(outcome.atUs)}`);
        break;
      case 'dropped':
        what.push(`dropped ${formatTimeUs(outcome.atUs)} (${outcome.reason})`);
        break;
      case 'in-flight':
        what.push('in flight at end of run');
        break;
    }
    const where = capturesOf(row);
    const captures: string[] = [];
    if (where.wire) captures.push('wire');
    if (where.sender) captures.push(`${formatIpv4(row.segment.srcIp)} (sent)`);
    if (where.receiver) captures.push(`${formatIpv4(row.segment.dstIp)} (delivered)`);
    const segment = formatSegment(row.segment).replaceAll('|', '\\|');
    lines.push(`| #${row.id} | ${row.ipId} | ${formatTimeUs(row.sentAtUs)} | ${segment} | ${what.join(', ')} | ${captures.join(', ') || 'none'} |`);
  }
  return lines.join('\n');
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function uint32Bytes(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}
