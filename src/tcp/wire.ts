/**
 * Segments as bytes on the wire: an RFC 791 IPv4 header (no options) and an RFC 9293 §3.1 TCP
 * header with its options, both checksummed, then the payload, in network byte order. The pcap
 * writer (src/report/pcap.ts) and the external-stack protocol (src/stack/, which hands a stack
 * real headers to parse) both use it.
 */
import { ACK, type Segment } from './segment.js';

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
const TCP_OPT_SACK = 5;
const TCP_OPT_TIMESTAMPS = 8;

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
  // RFC 2018 §3, Linux tcp_options_write: NOP,NOP,SACK with 8 bytes per block, after timestamps.
  const blocks = seg.sackBlocks;
  if (blocks !== undefined && blocks.length > 0) {
    options.push(TCP_OPT_NOP, TCP_OPT_NOP, TCP_OPT_SACK, 2 + 4 * blocks.length);
    for (const edge of blocks) options.push(...uint32Bytes(edge));
  }
  while (options.length % 4 !== 0) options.push(TCP_OPT_EOL);
  assert(options.length <= 40, `segment #${seg.id}: ${options.length} bytes of TCP options exceed 40`);
  return Uint8Array.from(options);
}

/** The on-the-wire fields of a datagram read back by `decodeIpv4Tcp`: a Segment without what only the simulator knows. */
export type WireSegment = Pick<Segment, 'srcIp' | 'srcPort' | 'dstIp' | 'dstPort' | 'seq' | 'ack' | 'flags' | 'window' | 'mss' | 'wscale' | 'sackOk' | 'sackBlocks' | 'tsVal' | 'tsEcr' | 'payload'>;

/**
 * Parse an IPv4 datagram carrying TCP, checking what a stack checks before it takes a segment:
 * version, header lengths, protocol, total length and both checksums. Throws with the reason
 * when the bytes are not a well-formed TCP/IPv4 datagram (an external stack's output is checked
 * this way). Options other than MSS, window scale, sackOK and timestamps are skipped, as RFC 9293 §3.1 asks of unknown ones.
 */
export function decodeIpv4Tcp(bytes: Uint8Array): WireSegment {
  if (bytes.length < IPV4_HEADER_BYTES + TCP_HEADER_BYTES) throw new Error(`datagram of ${bytes.length} bytes is shorter than the IPv4 and TCP headers`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const versionIhl = view.getUint8(0);
  if (versionIhl >> 4 !== 4) throw new Error(`IP version ${versionIhl >> 4}, not 4`);
  const ipHeaderBytes = (versionIhl & 0x0f) * 4;
  if (ipHeaderBytes < IPV4_HEADER_BYTES) throw new Error(`IPv4 header length ${ipHeaderBytes} is below 20`);
  const totalLength = view.getUint16(2);
  if (totalLength !== bytes.length) throw new Error(`IPv4 total length ${totalLength} but ${bytes.length} bytes`);
  if (view.getUint8(9) !== IP_PROTO_TCP) throw new Error(`IP protocol ${view.getUint8(9)}, not TCP (6)`);
  if (internetChecksum(bytes, 0, ipHeaderBytes, 0) !== 0) throw new Error('bad IPv4 header checksum');
  const srcIp = view.getUint32(12);
  const dstIp = view.getUint32(16);
  const tcp = ipHeaderBytes;
  const tcpLength = totalLength - ipHeaderBytes;
  if (tcpLength < TCP_HEADER_BYTES) throw new Error(`TCP segment of ${tcpLength} bytes is shorter than its header`);
  const dataOffset = (view.getUint8(tcp + 12) >> 4) * 4;
  if (dataOffset < TCP_HEADER_BYTES || dataOffset > tcpLength) throw new Error(`TCP data offset ${dataOffset} outside 20..${tcpLength}`);
  const pseudo = (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff) + IP_PROTO_TCP + tcpLength;
  if (internetChecksum(bytes, tcp, totalLength, pseudo) !== 0) throw new Error('bad TCP checksum');
  let mss = 0;
  let wscale = -1;
  let sackOk = false;
  let tsVal = -1;
  let tsEcr = 0;
  let sackBlocks: number[] | undefined;
  for (let i = tcp + TCP_HEADER_BYTES; i < tcp + dataOffset; ) {
    const kind = bytes[i]!;
    if (kind === TCP_OPT_EOL) break;
    if (kind === TCP_OPT_NOP) {
      i++;
      continue;
    }
    const length = bytes[i + 1] ?? 0;
    if (length < 2 || i + length > tcp + dataOffset) throw new Error(`TCP option ${kind} with length ${length} overruns the header`);
    if (kind === TCP_OPT_MSS && length === 4) mss = view.getUint16(i + 2);
    if (kind === TCP_OPT_WSCALE && length === 3) wscale = bytes[i + 2]!;
    if (kind === TCP_OPT_SACK_PERMITTED && length === 2) sackOk = true;
    if (kind === TCP_OPT_SACK && length >= 10 && (length - 2) % 8 === 0) {
      sackBlocks = [];
      for (let at = i + 2; at < i + length; at += 4) sackBlocks.push(view.getUint32(at));
    }
    if (kind === TCP_OPT_TIMESTAMPS && length === 10) {
      tsVal = view.getUint32(i + 2);
      tsEcr = view.getUint32(i + 6);
    }
    i += length;
  }
  const flags = view.getUint8(tcp + 13);
  return {
    srcIp,
    srcPort: view.getUint16(tcp),
    dstIp,
    dstPort: view.getUint16(tcp + 2),
    seq: view.getUint32(tcp + 4),
    ack: flags & ACK ? view.getUint32(tcp + 8) : 0,
    flags,
    window: view.getUint16(tcp + 14),
    mss,
    wscale,
    sackOk,
    ...(sackBlocks !== undefined ? { sackBlocks } : {}),
    tsVal,
    tsEcr,
    payload: bytes.slice(tcp + dataOffset, totalLength),
  };
}

function uint32Bytes(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
