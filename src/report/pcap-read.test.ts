import { describe, expect, it } from 'vitest';
import { formatIpv4 } from '../net/address.js';
import { encodeIpv4Tcp, pcapOfWire, wirePackets } from './pcap.js';
import { CaptureFormatError, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, readCapture } from './pcap-read.js';
import { lingerAbortRun, threeWayCloseRun } from './example-runs.js';

/** A pcapng file, built byte by byte here (not by any writer of ours): SHB, IDB, EPBs. */
function pcapng(linkType: number, frames: readonly { atUs: number; bytes: Uint8Array; originalLength?: number }[], options: { bigEndian?: boolean; tsresolNs?: boolean } = {}): Uint8Array {
  const little = options.bigEndian !== true;
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array) => {
    const padded = Math.ceil(body.length / 4) * 4;
    const b = new Uint8Array(12 + padded);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, little);
    v.setUint32(4, b.length, little);
    b.set(body, 8);
    v.setUint32(b.length - 4, b.length, little);
    blocks.push(b);
  };
  const shb = new Uint8Array(16);
  const s = new DataView(shb.buffer);
  s.setUint32(0, 0x1a2b3c4d, little);
  s.setUint16(4, 1, little);
  s.setUint16(6, 0, little);
  s.setInt32(8, -1, little);
  s.setInt32(12, -1, little); // section length unknown
  block(0x0a0d0d0a, shb);
  const idb = new Uint8Array(options.tsresolNs ? 20 : 8);
  const i = new DataView(idb.buffer);
  i.setUint16(0, linkType, little);
  i.setUint32(4, 262144, little);
  if (options.tsresolNs) {
    i.setUint16(8, 9, little); // if_tsresol
    i.setUint16(10, 1, little);
    i.setUint8(12, 9); // 10^-9
    i.setUint16(16, 0, little); // opt_endofopt
  }
  block(1, idb);
  for (const f of frames) {
    const units = options.tsresolNs ? BigInt(f.atUs) * 1000n : BigInt(f.atUs);
    const body = new Uint8Array(20 + f.bytes.length);
    const e = new DataView(body.buffer);
    e.setUint32(0, 0, little);
    e.setUint32(4, Number(units >> 32n), little);
    e.setUint32(8, Number(units & 0xffffffffn), little);
    e.setUint32(12, f.bytes.length, little);
    e.setUint32(16, f.originalLength ?? f.bytes.length, little);
    body.set(f.bytes, 20);
    block(6, body);
  }
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const ethernetHeader = (etherType: number, vlan = false) =>
  Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...(vlan ? [0x81, 0x00, 0x00, 0x05] : []), etherType >> 8, etherType & 0xff]);
const sllHeader = (packetType: number) => Uint8Array.from([0, packetType, 0, 772, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00].map((x) => x & 0xff));
const sll2Header = (packetType: number) => Uint8Array.from([0x08, 0x00, 0, 0, 0, 0, 0, 1, 3, 4, packetType, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

describe('readCapture', () => {
  const run = threeWayCloseRun();
  const packets = wirePackets(run.events);

  it('reads back every field of the libpcap captures the project writes (raw IP)', () => {
    // Arrange
    const file = pcapOfWire(run.events);
    // Act
    const capture = readCapture(file);
    // Assert
    expect(capture.format).toBe('pcap');
    expect(capture.linkTypes).toEqual([101]);
    expect(capture.frames).toBe(packets.length);
    expect(capture.truncatedFrames).toEqual([]);
    expect(capture.tcp.map((p) => [p.frame, p.atUs, p.src, p.srcPort, p.dst, p.dstPort, p.seq, p.flags & 0x10 ? p.ack : 0, p.flags, p.window, p.mss, p.payloadLength])).toEqual(
      packets.map((p, i) => [i + 1, p.atUs, formatIpv4(p.seg.srcIp), p.seg.srcPort, formatIpv4(p.seg.dstIp), p.seg.dstPort, p.seg.seq, p.seg.flags & 0x10 ? p.seg.ack : 0, p.seg.flags, p.seg.window, p.seg.mss, p.seg.payload.length]),
    );
    const data = capture.tcp.find((p) => p.payloadLength > 0)!;
    expect([...data.payload]).toEqual([...packets.find((p) => p.seg.payload.length > 0)!.seg.payload]);
  });

  it('reads pcapng with Ethernet (and a VLAN tag), little and big endian, micro- and nanosecond stamps', () => {
    const frames = packets.map((p, i) => ({ atUs: 1_700_000_000_000_000 + p.atUs, bytes: concat(ethernetHeader(0x0800, i === 1), encodeIpv4Tcp(p.seg)) }));
    for (const options of [{}, { bigEndian: true }, { tsresolNs: true }, { bigEndian: true, tsresolNs: true }]) {
      const capture = readCapture(pcapng(LINKTYPE_ETHERNET, frames, options));
      expect(capture.format).toBe('pcapng');
      expect(capture.tcp.map((p) => [p.frame, p.atUs, p.seq, p.flags])).toEqual(packets.map((p, i) => [i + 1, 1_700_000_000_000_000 + p.atUs, p.seg.seq, p.seg.flags]));
    }
  });

  it('reads Linux cooked captures, SLL and SLL2, with their packet types', () => {
    const seg = packets[0]!.seg;
    const sll = readCapture(pcapng(LINKTYPE_LINUX_SLL, [{ atUs: 5, bytes: concat(sllHeader(4), encodeIpv4Tcp(seg)) }]));
    const sll2 = readCapture(pcapng(LINKTYPE_LINUX_SLL2, [{ atUs: 5, bytes: concat(sll2Header(0), encodeIpv4Tcp(seg)) }]));
    expect([sll.tcp[0]!.sllPacketType, sll.tcp[0]!.seq, sll.tcp[0]!.mss]).toEqual([4, seg.seq, seg.mss]);
    expect([sll2.tcp[0]!.sllPacketType, sll2.tcp[0]!.seq, sll2.tcp[0]!.srcPort]).toEqual([0, seg.seq, seg.srcPort]);
  });

  it('counts frames that are not TCP and keeps Wireshark\'s numbering across them', () => {
    const arp = concat(ethernetHeader(0x0806), new Uint8Array(28));
    const frames = [{ atUs: 1, bytes: arp }, ...packets.map((p) => ({ atUs: p.atUs, bytes: concat(ethernetHeader(0x0800), encodeIpv4Tcp(p.seg)) }))];
    const capture = readCapture(pcapng(LINKTYPE_ETHERNET, frames));
    expect(capture.otherFrames).toBe(1);
    expect(capture.skipped.get('ARP')).toBe(1);
    expect(capture.tcp[0]!.frame).toBe(2);
  });

  it('marks frames the snapshot length cut, and a file cut mid-record', () => {
    const dataSeg = packets.find((p) => p.seg.payload.length > 0)!.seg;
    const whole = encodeIpv4Tcp(dataSeg);
    const capture = readCapture(pcapng(101, [{ atUs: 1, bytes: whole.subarray(0, whole.length - 2), originalLength: whole.length }, { atUs: 2, bytes: whole.subarray(0, 30), originalLength: whole.length }]));
    expect(capture.truncatedFrames).toEqual([1, 2]);
    expect(capture.tcp).toHaveLength(1);
    expect(capture.tcp[0]!.payloadLength).toBe(dataSeg.payload.length);
    const file = pcapOfWire(lingerAbortRun().events);
    const cut = readCapture(file.subarray(0, file.length - 3));
    expect(cut.truncatedFrames).toHaveLength(1);
  });

  it('refuses what is not a capture, naming why', () => {
    expect(() => readCapture(new TextEncoder().encode('{"hosts": []}'))).toThrow(CaptureFormatError);
    expect(() => readCapture(new TextEncoder().encode('{"hosts": []}'))).toThrow(/not a pcap or pcapng file/);
    expect(() => readCapture(new Uint8Array(2))).toThrow(/too short/);
  });
});
