/**
 * The segment as tcpdump prints it (`tcpdump -S -n`, absolute sequence numbers), the options in
 * the order Linux writes them (tcp_options_write), RFC 9293 §3.4's sequence length, and the
 * blank and cloned segments the host and the network make.
 */
import { describe, expect, it } from 'vitest';
import { ACK, blankSegment, cloneSegment, EMPTY_PAYLOAD, FIN, formatOptions, formatSackBlocks, formatSegment, NO_OPTIONS, PSH, RST, segLen, SYN, tcpdumpFlags, type Segment } from './segment.js';

function segment(fields: Partial<Segment>): Segment {
  return {
    id: 5, srcIp: 0x0a000001, srcPort: 40000, dstIp: 0x0a000002, dstPort: 80, seq: 1000, ack: 2000, flags: ACK, window: 502, ...NO_OPTIONS,
    payload: EMPTY_PAYLOAD, sentAtUs: 0, incarnation: 1, connId: 1, retransmission: false, copyOf: -1, ...fields,
  };
}

describe('tcpdump text', () => {
  it('flags in tcpdump\'s order and letters; none at all is "none"', () => {
    expect([SYN, SYN | ACK, FIN | ACK, RST, RST | ACK, PSH | ACK, ACK, FIN | PSH | ACK, 0].map(tcpdumpFlags)).toEqual(['S', 'S.', 'F.', 'R', 'R.', 'P.', '.', 'FP.', 'none']);
  });

  it('a data segment: seq start:end, ack, win, length; without ACK no ack field', () => {
    expect(formatSegment(segment({ flags: PSH | ACK, payload: new Uint8Array(100) }))).toBe('10.0.0.1.40000 > 10.0.0.2.80: Flags [P.], seq 1000:1100, ack 2000, win 502, length 100');
    expect(formatSegment(segment({ flags: SYN, seq: 7, window: 64240, mss: 1460 }))).toBe('10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 7, win 64240, options [mss 1460], length 0');
    // The end wraps mod 2^32.
    expect(formatSegment(segment({ seq: 0xffffffff, payload: new Uint8Array(2) }))).toBe('10.0.0.1.40000 > 10.0.0.2.80: Flags [.], seq 4294967295:1, ack 2000, win 502, length 2');
  });

  it('options in tcp_options_write\'s order: mss, sackOK with TS or nop,nop before TS, nop,wscale, then SACK blocks', () => {
    expect(formatOptions(segment({}))).toBe('');
    expect(formatOptions(segment({ mss: 1460, sackOk: true, tsVal: 0, tsEcr: 0, wscale: 7 }))).toBe(', options [mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7]');
    expect(formatOptions(segment({ tsVal: 5, tsEcr: 9 }))).toBe(', options [nop,nop,TS val 5 ecr 9]');
    expect(formatOptions(segment({ mss: 536, sackOk: true, wscale: 0 }))).toBe(', options [mss 536,nop,nop,sackOK,nop,wscale 0]');
    expect(formatOptions(segment({ sackBlocks: [] }))).toBe('');
    expect(formatOptions(segment({ sackBlocks: [10, 20, 30, 40] }))).toBe(', options [nop,nop,sack 2 {10:20}{30:40}]');
  });

  it('SACK blocks relative to a base, mod 2^32; an odd edge left over is not printed', () => {
    expect(formatSackBlocks([1449, 2897], 1)).toBe('{1448:2896}');
    expect(formatSackBlocks([5, 10], 0xfffffffe)).toBe('{7:12}');
    expect(formatSackBlocks([5, 10, 20], 0)).toBe('{5:10}');
  });
});

describe('segments', () => {
  it('RFC 9293 §3.4: SYN and FIN take a sequence number each, besides the data', () => {
    expect([segLen(segment({})), segLen(segment({ flags: SYN })), segLen(segment({ flags: SYN | FIN, payload: new Uint8Array(3) })), segLen(segment({ flags: FIN | ACK }))]).toEqual([0, 1, 5, 1]);
  });

  it('a blank segment carries no options and no connection: no window scale, no timestamps, connection -1, no original', () => {
    expect(blankSegment()).toEqual({ ...segment({}), id: 0, srcIp: 0, srcPort: 0, dstIp: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, sackBlocks: undefined, incarnation: 0, connId: -1 });
    expect(Object.keys(blankSegment())).toContain('sackBlocks');
    expect(blankSegment()).not.toBe(blankSegment());
  });

  it("a network's copy has its own id and names the original's; every other field is the original's", () => {
    const original = segment({ id: 9, flags: FIN | ACK, payload: new Uint8Array(2) });
    const copy = cloneSegment(original, 12);
    expect(copy).toEqual({ ...original, id: 12, copyOf: 9 });
    expect(copy).not.toBe(original);
  });
});
