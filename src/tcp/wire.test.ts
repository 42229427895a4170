/**
 * The IPv4/TCP bytes of a segment (RFC 791 §3.1, RFC 9293 §3.1, RFC 1071): the header laid out
 * field by field, options in Linux's order (tcp_options_write), both checksums, and the reasons
 * `decodeIpv4Tcp` gives for a datagram no stack would take.
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, NO_OPTIONS, PSH, SYN, type Segment } from './segment.js';
import { decodeIpv4Tcp, encodeIpv4Tcp, internetChecksum, ipIdentification } from './wire.js';

const A = 0x0a000001; // 10.0.0.1
const B = 0x0a000002; // 10.0.0.2

function segment(fields: Partial<Segment>): Segment {
  return {
    id: 0x1234, srcIp: A, srcPort: 40000, dstIp: B, dstPort: 80, seq: 0x01020304, ack: 0x0a0b0c0d, flags: ACK, window: 65535, ...NO_OPTIONS,
    payload: new Uint8Array(0), sentAtUs: 0, incarnation: 1, connId: 1, retransmission: false, copyOf: -1, ...fields,
  };
}

const hex = (bytes: Uint8Array, from: number, to: number) => Array.from(bytes.subarray(from, to), (b) => b.toString(16).padStart(2, '0')).join(' ');

/** Both checksums recomputed after a test bent a field, so that only the bent field is wrong. */
function refreshChecksums(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer);
  const ihl = (bytes[0]! & 0x0f) * 4;
  view.setUint16(10, 0);
  view.setUint16(10, internetChecksum(bytes, 0, ihl, 0));
  if (bytes.length >= ihl + 18) {
    const src = view.getUint32(12);
    const dst = view.getUint32(16);
    view.setUint16(ihl + 16, 0);
    view.setUint16(ihl + 16, internetChecksum(bytes, ihl, bytes.length, (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + bytes.length - ihl));
  }
  return bytes;
}

describe('RFC 1071 checksum', () => {
  it('the RFC\'s worked example (§3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2), an odd byte padded with zero, a start sum carried in', () => {
    const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(internetChecksum(bytes, 0, 8, 0)).toBe(~0xddf2 & 0xffff);
    expect(internetChecksum(Uint8Array.from([0x01]), 0, 1, 0)).toBe(0xfeff);
    expect(internetChecksum(bytes, 2, 4, 0)).toBe(~0xf203 & 0xffff);
    // The start sum is folded in like any word, end-around carries included: 1fffe + 0001 = 1ffff → ffff + 1 → 1.
    expect(internetChecksum(bytes, 0, 2, 0x1fffe)).toBe(0xfffe);
    expect(internetChecksum(new Uint8Array(0), 0, 0, 0)).toBe(0xffff);
  });
});

describe('encodeIpv4Tcp: the header field by field', () => {
  it('a SYN with MSS, sackOK, timestamps and window scale: 20 + 20 + 20 bytes, ACK field zero without the ACK flag', () => {
    const bytes = encodeIpv4Tcp(segment({ flags: SYN, mss: 1460, sackOk: true, tsVal: 1, tsEcr: 0, wscale: 7 }));
    expect(bytes.length).toBe(60);
    // RFC 791: version 4 IHL 5, TOS 0, length 60, id 0x1234, DF, TTL 64, protocol 6, checksum, addresses.
    expect(hex(bytes, 0, 10)).toBe('45 00 00 3c 12 34 40 00 40 06');
    expect(hex(bytes, 12, 20)).toBe('0a 00 00 01 0a 00 00 02');
    // RFC 9293 §3.1: ports, seq, ack 0 (no ACK flag), data offset 10 words, flags SYN, window, checksum, urgent 0.
    expect(hex(bytes, 20, 36)).toBe('9c 40 00 50 01 02 03 04 00 00 00 00 a0 02 ff ff');
    expect(hex(bytes, 38, 40)).toBe('00 00');
    // Linux tcp_options_write: MSS; sackOK sharing the timestamps' word; NOP, window scale.
    expect(hex(bytes, 40, 60)).toBe('02 04 05 b4 04 02 08 0a 00 00 00 01 00 00 00 00 01 03 03 07');
    expect(internetChecksum(bytes, 0, 20, 0)).toBe(0);
    expect(internetChecksum(bytes, 20, 60, (A >>> 16) + (A & 0xffff) + (B >>> 16) + (B & 0xffff) + 6 + 40)).toBe(0);
  });

  it('timestamps without sackOK take NOP,NOP; sackOK without timestamps takes NOP,NOP too; no options, offset 5', () => {
    expect(hex(encodeIpv4Tcp(segment({ tsVal: 0x01020304, tsEcr: 0xfffffffe })), 40, 52)).toBe('01 01 08 0a 01 02 03 04 ff ff ff fe');
    const sackOnly = encodeIpv4Tcp(segment({ flags: SYN, sackOk: true }));
    expect([hex(sackOnly, 32, 34), hex(sackOnly, 40, 44)]).toEqual(['60 02', '01 01 04 02']);
    expect([encodeIpv4Tcp(segment({})).length, hex(encodeIpv4Tcp(segment({})), 32, 33)]).toEqual([40, '50']);
  });

  it('data after the header; the ACK field written with ACK; the window field as given', () => {
    const bytes = encodeIpv4Tcp(segment({ flags: ACK | PSH | FIN, window: 0x0102, payload: Uint8Array.from([7, 8, 9]) }));
    expect(bytes.length).toBe(43);
    expect(hex(bytes, 2, 4)).toBe('00 2b');
    expect(hex(bytes, 28, 36)).toBe('0a 0b 0c 0d 50 19 01 02');
    expect(hex(bytes, 40, 43)).toBe('07 08 09');
    expect(internetChecksum(bytes, 20, 43, (A >>> 16) + (A & 0xffff) + (B >>> 16) + (B & 0xffff) + 6 + 23)).toBe(0);
  });

  it('refuses a field that does not fit: window, MSS, flags, a datagram past 65535 bytes, options past 40 bytes', () => {
    expect(() => encodeIpv4Tcp(segment({ window: 65536 }))).toThrow('segment #4660: window 65536 does not fit 16 bits (it is the field, already scaled)');
    expect(() => encodeIpv4Tcp(segment({ window: -1 }))).toThrow('window -1 does not fit');
    expect(() => encodeIpv4Tcp(segment({ mss: 65536 }))).toThrow('segment #4660: MSS 65536 does not fit 16 bits');
    expect(() => encodeIpv4Tcp(segment({ mss: -1 }))).toThrow('MSS -1 does not fit');
    expect(() => encodeIpv4Tcp(segment({ flags: 0x100 }))).toThrow('segment #4660: flags 0x100 are not TCP flags');
    expect(() => encodeIpv4Tcp(segment({ payload: new Uint8Array(65535 - 40 + 1) }))).toThrow('segment #4660: 65536 bytes do not fit one IPv4 datagram');
    expect(encodeIpv4Tcp(segment({ payload: new Uint8Array(65535 - 40), window: 0xffff, flags: 0xff })).length).toBe(65535);
    expect(hex(encodeIpv4Tcp(segment({ flags: SYN, mss: 0xffff })), 40, 44)).toBe('02 04 ff ff');
    // Timestamps (12) and four SACK blocks (4 + 32) are 48 bytes.
    expect(() => encodeIpv4Tcp(segment({ tsVal: 1, sackBlocks: [1, 2, 3, 4, 5, 6, 7, 8] }))).toThrow('segment #4660: 48 bytes of TCP options exceed 40');
    expect(encodeIpv4Tcp(segment({ tsVal: 1, sackBlocks: [1, 2, 3, 4, 5, 6] })).length).toBe(40 + 40);
  });

  it('a copy the network made keeps its original\'s IP identification; the id is taken mod 2^16', () => {
    expect(ipIdentification(segment({ id: 9, copyOf: 3 }))).toBe(3);
    expect(ipIdentification(segment({ id: 9, copyOf: 0 }))).toBe(0);
    expect(ipIdentification(segment({ id: 0x12345, copyOf: -1 }))).toBe(0x2345);
  });
});

describe('decodeIpv4Tcp', () => {
  it('reads back what encodeIpv4Tcp wrote, every option and the payload', () => {
    const cases = [
      segment({ flags: SYN, mss: 1460, sackOk: true, tsVal: 1, tsEcr: 0, wscale: 7 }),
      segment({ flags: ACK | PSH, tsVal: 0xffffffff, tsEcr: 3, sackBlocks: [10, 20], payload: Uint8Array.from([1, 2, 3]) }),
      segment({ flags: SYN | ACK, mss: 536, wscale: 14, sackOk: true }),
      segment({ flags: FIN | ACK, seq: 0xffffffff, ack: 0 }),
    ];
    for (const seg of cases) {
      const back = decodeIpv4Tcp(encodeIpv4Tcp(seg));
      const { srcIp, srcPort, dstIp, dstPort, seq, ack, flags, window, mss, wscale, sackOk, sackBlocks, tsVal, tsEcr, payload } = seg;
      expect(back).toEqual({ srcIp, srcPort, dstIp, dstPort, seq, ack: flags & ACK ? ack : 0, flags, window, mss, wscale, sackOk, ...(sackBlocks !== undefined ? { sackBlocks } : {}), tsVal, tsEcr, payload });
    }
    // Without ACK the field reads 0, whatever the bytes say.
    const syn = encodeIpv4Tcp(segment({ flags: SYN }));
    syn.set([0, 0, 0, 9], 28);
    expect(decodeIpv4Tcp(refreshChecksums(syn)).ack).toBe(0);
  });

  it('an IP header with options is skipped by its length; unknown TCP options are skipped by theirs; EOL ends the list', () => {
    const plain = encodeIpv4Tcp(segment({ payload: Uint8Array.from([5]) }));
    const withIpOptions = new Uint8Array(plain.length + 4);
    withIpOptions.set(plain.subarray(0, 20), 0);
    withIpOptions.set([1, 1, 1, 0], 20); // NOP,NOP,NOP,EOL
    withIpOptions.set(plain.subarray(20), 24);
    withIpOptions[0] = 0x46;
    new DataView(withIpOptions.buffer).setUint16(2, withIpOptions.length);
    expect(decodeIpv4Tcp(refreshChecksums(withIpOptions))).toMatchObject({ srcPort: 40000, payload: Uint8Array.from([5]) });

    const bytes = encodeIpv4Tcp(segment({ flags: SYN, mss: 1000, wscale: 3, tsVal: 1 }));
    // Options 02 04 03 e8 | 01 01 08 0a ts(8) | 01 03 03 03: the MSS word becomes kind 30 of length 4,
    // and the NOP before the window scale an EOL.
    bytes.set([30, 4, 0, 0], 40);
    bytes.set([0], 56);
    const back = decodeIpv4Tcp(refreshChecksums(bytes));
    expect([back.mss, back.tsVal, back.wscale]).toEqual([0, 1, -1]);
  });

  it('an option of a known kind but the wrong length is not taken; a SACK option of no whole block is not either', () => {
    const bytes = encodeIpv4Tcp(segment({ flags: SYN, mss: 1000, wscale: 3, tsVal: 1, sackOk: true }));
    // 02 04 03 e8 | 04 02 08 0a ts(8) | 01 03 03 03, bent to lengths that still fit the header.
    const bent = bytes.slice();
    bent.set([3, 4, 0, 9], 40); // window scale of length 4: not a window scale
    bent.set([4, 2], 44); // sackOK stays
    bent.set([1, 3, 2, 1], 56); // window scale of length 2: not taken either, then a NOP
    const back = decodeIpv4Tcp(refreshChecksums(bent));
    expect([back.mss, back.wscale, back.sackOk, back.tsVal]).toEqual([0, -1, true, 1]);
    const ts = encodeIpv4Tcp(segment({ tsVal: 7, tsEcr: 8 }));
    ts.set([1, 1, 8, 6, 1, 1, 1, 1], 40); // timestamps of length 6, then NOPs
    expect(decodeIpv4Tcp(refreshChecksums(ts)).tsVal).toBe(-1);
    const sack = encodeIpv4Tcp(segment({ sackBlocks: [1, 2] })); // NOP NOP 05 0a l(4) r(4)
    sack.set([1, 1, 5, 2], 40); // SACK of no block, then the edges read as options
    sack.set([1, 1, 1, 1, 1, 1, 1, 1], 44);
    expect(decodeIpv4Tcp(refreshChecksums(sack)).sackBlocks).toBeUndefined();
  });

  it('names what is wrong with a datagram no stack would take', () => {
    const good = () => encodeIpv4Tcp(segment({ flags: SYN, mss: 1460 }));
    const bent = (change: (bytes: Uint8Array, view: DataView) => void, refresh = true) => {
      const bytes = good();
      change(bytes, new DataView(bytes.buffer));
      return () => decodeIpv4Tcp(refresh ? refreshChecksums(bytes) : bytes);
    };
    expect(() => decodeIpv4Tcp(new Uint8Array(39))).toThrow('datagram of 39 bytes is shorter than the IPv4 and TCP headers');
    expect(bent((b) => (b[0] = 0x65))).toThrow('IP version 6, not 4');
    expect(bent((b) => (b[0] = 0x44))).toThrow('IPv4 header length 16 is below 20');
    expect(bent((_b, v) => v.setUint16(2, 45))).toThrow('IPv4 total length 45 but 44 bytes');
    expect(bent((b) => (b[9] = 17))).toThrow('IP protocol 17, not TCP (6)');
    expect(bent((b) => (b[8] = 63), false)).toThrow('bad IPv4 header checksum');
    expect(bent((b) => (b[0] = 0x4a))).toThrow('TCP segment of 4 bytes is shorter than its header');
    expect(bent((b) => (b[32] = 0x40))).toThrow('TCP data offset 16 outside 20..24');
    expect(bent((b) => (b[32] = 0x70))).toThrow('TCP data offset 28 outside 20..24');
    expect(bent((b) => (b[24] = 9), false)).toThrow('bad TCP checksum');
    expect(bent((b) => (b[41] = 5))).toThrow('TCP option 2 with length 5 overruns the header');
    expect(bent((b) => (b[41] = 1))).toThrow('TCP option 2 with length 1 overruns the header');
    // The last byte of the options names a kind with no length byte in the header.
    expect(bent((b) => b.set([1, 1, 1, 2], 40))).toThrow('TCP option 2 with length');
    // A well-formed datagram decodes: the bends above are what failed.
    expect(decodeIpv4Tcp(good()).mss).toBe(1460);
    // Data offset exactly the segment's length: a header with no data.
    expect(bent((b) => (b[32] = 0x60))().payload.length).toBe(0);
  });

  it('reads a datagram in the middle of a larger buffer (a capture\'s record)', () => {
    const bytes = encodeIpv4Tcp(segment({ payload: Uint8Array.from([1, 2]) }));
    const buffer = new Uint8Array(bytes.length + 8);
    buffer.set(bytes, 4);
    expect(decodeIpv4Tcp(buffer.subarray(4, 4 + bytes.length)).payload).toEqual(Uint8Array.from([1, 2]));
  });
});
