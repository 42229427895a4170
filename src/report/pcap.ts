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
import { formatSegment, type Segment } from '../tcp/segment.js';
import { encodeIpv4Tcp, ipIdentification } from '../tcp/wire.js';

// The byte encoding lives in src/tcp/wire.ts (the external-stack protocol carries it too).
export { encodeIpv4Tcp, internetChecksum, ipIdentification } from '../tcp/wire.js';
import { formatTimeUs, type TraceEvent } from '../world/trace.js';

/** LINKTYPE_RAW: each packet starts at the IP header, no fake Ethernet. */
export const LINKTYPE_RAW = 101;
/** Larger than any packet we write (IPv4 total length is 16 bits). */
export const PCAP_SNAPLEN = 262_144;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_GLOBAL_HEADER_BYTES = 24;
const PCAP_RECORD_HEADER_BYTES = 16;

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
