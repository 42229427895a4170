/**
 * A reader of real captures: classic libpcap (microsecond and nanosecond, either byte order) and
 * pcapng (section header, interface description with if_tsresol, enhanced and simple packet
 * blocks), with the link layers a Linux or BSD capture uses: Ethernet (VLAN tags skipped), raw IP,
 * Linux cooked SLL and SLL2, BSD loopback (NULL). IPv4 and IPv6 (no extension headers but
 * hop-by-hop, routing, destination options) carrying TCP; everything else is counted and skipped.
 *
 * It returns plain packet records, numbered as Wireshark numbers frames (1 = the first packet
 * block of the file, whatever it holds), so a violation can point at the frame a user opens.
 * It reads only bytes: it knows nothing of the simulator (src/kernel turns packets into a trace).
 */

export type CaptureFormat = 'pcap' | 'pcapng';

/** One TCP segment found in a capture. */
export interface CapturedTcp {
  /** Wireshark's frame number (1-based, counting every packet in the file). */
  readonly frame: number;
  /** Capture time, microseconds since the epoch (nanosecond captures are truncated). */
  readonly atUs: number;
  readonly ipVersion: 4 | 6;
  /** Dotted quad, or IPv6 in full lower-case hex groups. */
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** The TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE, CWR). */
  readonly flags: number;
  readonly window: number;
  /** MSS option, 0 when absent. */
  readonly mss: number;
  /** Window scale option, -1 when absent. */
  readonly windowScale: number;
  readonly sackPermitted: boolean;
  readonly timestamps: boolean;
  /** The timestamps option's TSval and TSecr (RFC 7323), -1 and 0 when absent. */
  readonly tsVal: number;
  readonly tsEcr: number;
  /** Payload length from the IP header, whether or not it was all captured. */
  readonly payloadLength: number;
  /** The captured payload bytes (shorter than `payloadLength` when the snapshot cut it). */
  readonly payload: Uint8Array;
  /** Linux SLL packet type (0 to us, 4 outgoing …), or -1 when the link layer has none. */
  readonly sllPacketType: number;
}

export interface Capture {
  readonly format: CaptureFormat;
  /** Link types of the interfaces (one for pcap). */
  readonly linkTypes: readonly number[];
  /** Every packet block in the file. */
  readonly frames: number;
  readonly tcp: readonly CapturedTcp[];
  /** Frames whose snapshot ended before the TCP header or payload did. */
  readonly truncatedFrames: readonly number[];
  /** Frames that are not TCP over IPv4/IPv6 (ARP, UDP, ICMP, unknown link types). */
  readonly otherFrames: number;
  /** Why frames were skipped, with a count each (`link type 105`, `UDP`, …). */
  readonly skipped: ReadonlyMap<string, number>;
}

/** Not a capture this reader understands; the message names what is wrong. */
export class CaptureFormatError extends Error {}

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW_IP = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_IDB = 1;
const PCAPNG_OBSOLETE_PACKET = 2;
const PCAPNG_SPB = 3;
const PCAPNG_EPB = 6;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IP_PROTO_TCP = 6;

/** Read a whole capture file. Throws CaptureFormatError for anything that is not pcap or pcapng. */
export function readCapture(bytes: Uint8Array): Capture {
  if (bytes.length < 4) throw new CaptureFormatError(`not a capture: ${bytes.length} bytes, too short for a pcap or pcapng header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = view.getUint32(0, true);
  if (magicLe === PCAPNG_SHB) return readPcapng(bytes, view);
  const pcapMagic = { 0xa1b2c3d4: 1_000, 0xa1b23c4d: 1 } as Record<number, number>;
  const little = pcapMagic[magicLe] !== undefined;
  const big = pcapMagic[view.getUint32(0, false)] !== undefined;
  if (!little && !big) throw new CaptureFormatError(`not a pcap or pcapng file (first bytes 0x${magicLe.toString(16).padStart(8, '0')}, expected a pcap magic a1b2c3d4/a1b23c4d or pcapng's 0a0d0d0a)`);
  return readPcap(bytes, view, little, little ? pcapMagic[magicLe]! : pcapMagic[view.getUint32(0, false)]!);
}

// ---------------------------------------------------------------------------------------------
// libpcap
// ---------------------------------------------------------------------------------------------

function readPcap(bytes: Uint8Array, view: DataView, little: boolean, nsPerUnit: number): Capture {
  if (bytes.length < 24) throw new CaptureFormatError(`pcap file cut short: ${bytes.length} bytes, the global header alone takes 24`);
  const linkType = view.getUint32(20, little) & 0xffff;
  const out = new CaptureBuilder('pcap', [linkType]);
  let offset = 24;
  let frame = 0;
  while (offset < bytes.length) {
    frame++;
    if (offset + 16 > bytes.length) {
      out.truncatedRecord(frame);
      break;
    }
    const seconds = view.getUint32(offset, little);
    const fraction = view.getUint32(offset + 4, little);
    const capturedLength = view.getUint32(offset + 8, little);
    const originalLength = view.getUint32(offset + 12, little);
    const start = offset + 16;
    const end = start + capturedLength;
    if (end > bytes.length) {
      out.truncatedRecord(frame);
      break;
    }
    // nsPerUnit 1000: the fraction is microseconds; 1: nanoseconds.
    const atUs = seconds * 1_000_000 + (nsPerUnit === 1 ? Math.floor(fraction / 1000) : fraction);
    out.frame(frame, atUs, linkType, bytes.subarray(start, end), originalLength);
    offset = end;
  }
  return out.finish(frame);
}

// ---------------------------------------------------------------------------------------------
// pcapng
// ---------------------------------------------------------------------------------------------

interface Interface {
  readonly linkType: number;
  /** Timestamp units per second. */
  readonly unitsPerSecond: number;
}

function readPcapng(bytes: Uint8Array, view: DataView): Capture {
  let little = true;
  const interfaces: Interface[] = [];
  const out = new CaptureBuilder('pcapng', []);
  let offset = 0;
  let frame = 0;
  while (offset < bytes.length) {
    if (offset + 12 > bytes.length) throw new CaptureFormatError(`pcapng block at byte ${offset} cut short`);
    const typeLe = view.getUint32(offset, true);
    if (typeLe === PCAPNG_SHB) {
      // The section header decides the byte order of everything up to the next one.
      const magic = view.getUint32(offset + 8, true);
      if (magic === PCAPNG_BYTE_ORDER_MAGIC) little = true;
      else if (view.getUint32(offset + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) little = false;
      else throw new CaptureFormatError(`pcapng section header at byte ${offset} has no byte-order magic`);
      interfaces.length = 0;
    }
    const type = view.getUint32(offset, little);
    const length = view.getUint32(offset + 4, little);
    if (length < 12 || length % 4 !== 0 || offset + length > bytes.length) {
      if (type === PCAPNG_EPB || type === PCAPNG_SPB || type === PCAPNG_OBSOLETE_PACKET) {
        out.truncatedRecord(++frame);
        break;
      }
      throw new CaptureFormatError(`pcapng block at byte ${offset} has a bad length ${length}`);
    }
    const body = offset + 8;
    const bodyEnd = offset + length - 4;
    switch (type) {
      case PCAPNG_IDB: {
        const linkType = view.getUint16(body, little);
        interfaces.push({ linkType, unitsPerSecond: tsResolution(view, body + 8, bodyEnd, little) });
        out.addLinkType(linkType);
        break;
      }
      case PCAPNG_EPB:
      case PCAPNG_OBSOLETE_PACKET: {
        frame++;
        const interfaceId = type === PCAPNG_EPB ? view.getUint32(body, little) : view.getUint16(body, little);
        const iface = interfaces[interfaceId];
        if (iface === undefined) throw new CaptureFormatError(`pcapng packet (frame ${frame}) names interface ${interfaceId}, which no interface block described`);
        const high = view.getUint32(body + 4, little);
        const low = view.getUint32(body + 8, little);
        const capturedLength = view.getUint32(body + 12, little);
        const originalLength = view.getUint32(body + 16, little);
        const dataStart = body + 20;
        if (dataStart + capturedLength > bodyEnd) throw new CaptureFormatError(`pcapng packet (frame ${frame}) claims ${capturedLength} bytes, more than its block holds`);
        // BigInt: nanosecond stamps since the epoch pass 2^53.
        const atUs = Number(((BigInt(high) << 32n) | BigInt(low)) * 1_000_000n / BigInt(iface.unitsPerSecond));
        out.frame(frame, atUs, iface.linkType, bytes.subarray(dataStart, dataStart + capturedLength), originalLength);
        break;
      }
      case PCAPNG_SPB: {
        frame++;
        const iface = interfaces[0];
        if (iface === undefined) throw new CaptureFormatError(`pcapng simple packet (frame ${frame}) before any interface block`);
        const originalLength = view.getUint32(body, little);
        const capturedLength = Math.min(originalLength, bodyEnd - body - 4);
        // A simple packet block carries no timestamp.
        out.frame(frame, 0, iface.linkType, bytes.subarray(body + 4, body + 4 + capturedLength), originalLength);
        break;
      }
      default:
        break; // name resolution, statistics, custom blocks: nothing for us
    }
    offset += length;
  }
  return out.finish(frame);
}

/** The if_tsresol option (code 9): 10^-n or 2^-n seconds; microseconds without it. */
function tsResolution(view: DataView, from: number, to: number, little: boolean): number {
  let offset = from;
  while (offset + 4 <= to) {
    const code = view.getUint16(offset, little);
    const length = view.getUint16(offset + 2, little);
    if (code === 0) break;
    if (code === 9 && length >= 1) {
      const value = view.getUint8(offset + 4);
      return value & 0x80 ? 2 ** (value & 0x7f) : 10 ** value;
    }
    offset += 4 + Math.ceil(length / 4) * 4;
  }
  return 1_000_000;
}

// ---------------------------------------------------------------------------------------------
// Link, IP and TCP layers
// ---------------------------------------------------------------------------------------------

class CaptureBuilder {
  private readonly tcp: CapturedTcp[] = [];
  private readonly truncated: number[] = [];
  private readonly skipped = new Map<string, number>();
  private other = 0;

  constructor(
    private readonly format: CaptureFormat,
    private readonly linkTypes: number[],
  ) {}

  addLinkType(linkType: number): void {
    this.linkTypes.push(linkType);
  }

  truncatedRecord(frame: number): void {
    this.truncated.push(frame);
  }

  private skip(why: string): void {
    this.other++;
    this.skipped.set(why, (this.skipped.get(why) ?? 0) + 1);
  }

  frame(frame: number, atUs: number, linkType: number, data: Uint8Array, originalLength: number): void {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let offset: number;
    let etherType: number;
    let sllPacketType = -1;
    switch (linkType) {
      case LINKTYPE_ETHERNET: {
        if (data.length < 14) return this.cut(frame, originalLength, data.length);
        offset = 12;
        etherType = view.getUint16(offset);
        offset += 2;
        // 802.1Q and 802.1ad tags: 4 bytes each.
        while ((etherType === 0x8100 || etherType === 0x88a8) && offset + 4 <= data.length) {
          etherType = view.getUint16(offset + 2);
          offset += 4;
        }
        break;
      }
      case LINKTYPE_LINUX_SLL:
        if (data.length < 16) return this.cut(frame, originalLength, data.length);
        sllPacketType = view.getUint16(0);
        etherType = view.getUint16(14);
        offset = 16;
        break;
      case LINKTYPE_LINUX_SLL2:
        if (data.length < 20) return this.cut(frame, originalLength, data.length);
        etherType = view.getUint16(0);
        sllPacketType = view.getUint8(10);
        offset = 20;
        break;
      case LINKTYPE_NULL: {
        if (data.length < 4) return this.cut(frame, originalLength, data.length);
        // The address family in the capturing host's byte order: 2 is AF_INET; 24, 28, 30 AF_INET6 on the BSDs.
        const family = view.getUint32(0, true) > 0xffff ? view.getUint32(0, false) : view.getUint32(0, true);
        etherType = family === 2 ? 0x0800 : family === 24 || family === 28 || family === 30 ? 0x86dd : -1;
        offset = 4;
        break;
      }
      case LINKTYPE_RAW_IP:
      case LINKTYPE_IPV4:
      case LINKTYPE_IPV6:
      case 12:
      case 14:
        if (data.length < 1) return this.cut(frame, originalLength, data.length);
        etherType = data[0]! >> 4 === 6 ? 0x86dd : 0x0800;
        offset = 0;
        break;
      default:
        return this.skip(`link type ${linkType}`);
    }
    if (etherType === 0x0800) return this.ipv4(frame, atUs, data, view, offset, originalLength, sllPacketType);
    if (etherType === 0x86dd) return this.ipv6(frame, atUs, data, view, offset, originalLength, sllPacketType);
    return this.skip(etherType === 0x0806 ? 'ARP' : `ethertype 0x${etherType.toString(16)}`);
  }

  private cut(frame: number, originalLength: number, capturedLength: number): void {
    if (capturedLength < originalLength) this.truncated.push(frame);
    else this.skip('malformed');
  }

  private ipv4(frame: number, atUs: number, data: Uint8Array, view: DataView, offset: number, originalLength: number, sll: number): void {
    if (offset + 20 > data.length) return this.cut(frame, originalLength, data.length);
    const headerLength = (data[offset]! & 0x0f) * 4;
    if (data[offset]! >> 4 !== 4 || headerLength < 20) return this.skip('malformed IPv4');
    const totalLength = view.getUint16(offset + 2);
    const fragment = view.getUint16(offset + 6);
    if ((fragment & 0x1fff) !== 0 || fragment & 0x2000) return this.skip('IPv4 fragment');
    const protocol = data[offset + 9]!;
    if (protocol !== IP_PROTO_TCP) return this.skip(protocol === 17 ? 'UDP' : protocol === 1 ? 'ICMP' : `IP protocol ${protocol}`);
    const src = ipv4Text(view, offset + 12);
    const dst = ipv4Text(view, offset + 16);
    // Segmentation offload can leave total length 0 in a capture: take the captured length then.
    const ipEnd = totalLength === 0 ? offset + (originalLength - offset) : offset + totalLength;
    this.tcpLayer(frame, atUs, data, view, offset + headerLength, ipEnd, originalLength, 4, src, dst, sll);
  }

  private ipv6(frame: number, atUs: number, data: Uint8Array, view: DataView, offset: number, originalLength: number, sll: number): void {
    if (offset + 40 > data.length) return this.cut(frame, originalLength, data.length);
    if (data[offset]! >> 4 !== 6) return this.skip('malformed IPv6');
    const payloadLength = view.getUint16(offset + 4);
    let next = data[offset + 6]!;
    const src = ipv6Text(view, offset + 8);
    const dst = ipv6Text(view, offset + 24);
    const end = offset + 40 + payloadLength;
    let at = offset + 40;
    // Hop-by-hop (0), routing (43), destination options (60): length in 8-byte units beyond the first 8.
    while ((next === 0 || next === 43 || next === 60) && at + 2 <= data.length) {
      const length = (data[at + 1]! + 1) * 8;
      next = data[at]!;
      at += length;
    }
    if (next !== IP_PROTO_TCP) return this.skip(next === 17 ? 'UDP' : next === 58 ? 'ICMPv6' : next === 44 ? 'IPv6 fragment' : `IPv6 next header ${next}`);
    this.tcpLayer(frame, atUs, data, view, at, end, originalLength, 6, src, dst, sll);
  }

  private tcpLayer(frame: number, atUs: number, data: Uint8Array, view: DataView, offset: number, ipEnd: number, originalLength: number, ipVersion: 4 | 6, src: string, dst: string, sll: number): void {
    if (offset + 20 > data.length) return this.cut(frame, originalLength, data.length);
    const dataOffset = (data[offset + 12]! >> 4) * 4;
    if (dataOffset < 20) return this.skip('malformed TCP');
    if (offset + dataOffset > data.length) return this.cut(frame, originalLength, data.length);
    const options = readOptions(data, offset + 20, offset + dataOffset);
    const payloadStart = offset + dataOffset;
    const payloadLength = Math.max(0, ipEnd - payloadStart);
    const payload = data.subarray(payloadStart, Math.min(ipEnd, data.length));
    if (payload.length < payloadLength) this.truncated.push(frame);
    this.tcp.push({
      frame,
      atUs,
      ipVersion,
      src,
      dst,
      srcPort: view.getUint16(offset),
      dstPort: view.getUint16(offset + 2),
      seq: view.getUint32(offset + 4),
      ack: view.getUint32(offset + 8),
      flags: data[offset + 13]!,
      window: view.getUint16(offset + 14),
      ...options,
      payloadLength,
      payload,
      sllPacketType: sll,
    });
  }

  finish(frames: number): Capture {
    return { format: this.format, linkTypes: this.linkTypes, frames, tcp: this.tcp, truncatedFrames: this.truncated, otherFrames: this.other, skipped: this.skipped };
  }
}

function readOptions(data: Uint8Array, from: number, to: number): { mss: number; windowScale: number; sackPermitted: boolean; timestamps: boolean; tsVal: number; tsEcr: number } {
  let mss = 0;
  let windowScale = -1;
  let sackPermitted = false;
  let timestamps = false;
  let tsVal = -1;
  let tsEcr = 0;
  let at = from;
  while (at < to) {
    const kind = data[at]!;
    if (kind === 0) break;
    if (kind === 1) {
      at++;
      continue;
    }
    const length = data[at + 1] ?? 0;
    if (length < 2 || at + length > to) break;
    if (kind === 2 && length === 4) mss = (data[at + 2]! << 8) | data[at + 3]!;
    else if (kind === 3 && length === 3) windowScale = data[at + 2]!;
    else if (kind === 4) sackPermitted = true;
    else if (kind === 8) {
      timestamps = true;
      if (length === 10) {
        tsVal = ((data[at + 2]! << 24) | (data[at + 3]! << 16) | (data[at + 4]! << 8) | data[at + 5]!) >>> 0;
        tsEcr = ((data[at + 6]! << 24) | (data[at + 7]! << 16) | (data[at + 8]! << 8) | data[at + 9]!) >>> 0;
      }
    }
    at += length;
  }
  return { mss, windowScale, sackPermitted, timestamps, tsVal, tsEcr };
}

function ipv4Text(view: DataView, offset: number): string {
  return `${view.getUint8(offset)}.${view.getUint8(offset + 1)}.${view.getUint8(offset + 2)}.${view.getUint8(offset + 3)}`;
}

function ipv6Text(view: DataView, offset: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(view.getUint16(offset + 2 * i).toString(16));
  return groups.join(':');
}
