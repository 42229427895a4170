/**
 * SACK (RFC 2018) as our receiver writes it: blocks on the wire in Linux's layout, and which
 * blocks an ACK carries when there are several holes (§4: the newest first, then the most
 * recently reported).
 */
import { describe, expect, it } from 'vitest';
import { runConformance } from '../conformance/harness.js';
import { formatOptions, NO_OPTIONS, type Segment } from './segment.js';
import { decodeIpv4Tcp, encodeIpv4Tcp } from './wire.js';

const SEGMENT: Segment = {
  id: 7, srcIp: 0x0a000001, srcPort: 8848, dstIp: 0x0a000002, dstPort: 40000, seq: 1000, ack: 2000, flags: 0x10, window: 512,
  ...NO_OPTIONS, tsVal: 5, tsEcr: 6, sackBlocks: [3000, 4000, 5000, 6000], payload: new Uint8Array(0), sentAtUs: 0, incarnation: 1, connId: 1, retransmission: false, copyOf: -1,
};

describe('SACK option', () => {
  it('is written after the timestamps as NOP,NOP,SACK and read back (RFC 2018 §3, Linux tcp_options_write)', () => {
    // Arrange, Act
    const bytes = encodeIpv4Tcp(SEGMENT);
    const back = decodeIpv4Tcp(bytes);
    // Assert: 20 + 20 header bytes, 12 of timestamps, 4 + 2·8 of SACK.
    expect(bytes.length).toBe(40 + 12 + 20);
    expect(back.sackBlocks).toEqual([3000, 4000, 5000, 6000]);
    expect(formatOptions(SEGMENT)).toBe(', options [nop,nop,TS val 5 ecr 6,nop,nop,sack 2 {3000:4000}{5000:6000}]');
  });

  it('with two holes, each ACK names the run the newest segment joined first, then the other (RFC 2018 §4)', () => {
    // Arrange: 6 segments of 1448 bytes; the 1st and 4th are lost.
    const spec = {
      stack: { sack: true },
      dropWire: [3, 6],
      programs: [
        { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv c 8688', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 8688', 'sleep 2s', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ opts: true }).filter((line) => line.includes('sack {')).map((line) => line.slice(line.indexOf('ack '), line.indexOf(' ts')) + line.slice(line.indexOf(' sack')))).toEqual([
      'ack 1 sack {1449:2897}',
      'ack 1 sack {1449:4345}',
      'ack 1 sack {5793:7241}{1449:4345}',
      'ack 1 sack {5793:8689}{1449:4345}',
      // The head's retransmission fills the first hole: the run 1449–4345 is delivered.
      'ack 4345 sack {5793:8689}',
    ]);
    expect(run.streams().problems).toEqual([]);
  });
});
