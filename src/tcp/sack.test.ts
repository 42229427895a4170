/**
 * SACK (RFC 2018) as our receiver writes it: blocks on the wire in Linux's layout, and which
 * blocks an ACK carries when there are several holes (§4: the newest first, then the most
 * recently reported).
 */
import { describe, expect, it } from 'vitest';
import { runConformance } from '../conformance/harness.js';
import { stackConfig } from './config.js';
import { ACK, formatOptions, NO_OPTIONS, PSH, SYN, type Segment } from './segment.js';
import { seqAdd } from './seq.js';
import { Tcb, type SegmentFields } from './tcb.js';
import { quietTcbEnv } from './test-support.js';
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

describe('SACK blocks of one receiving TCB (RFC 2018 §4, Linux tcp_sack_new_ofo_skb), driven by hand', () => {
  const PEER_ISN = 7000;
  /** A passive TCB in ESTABLISHED with SACK on; its ACKs' blocks, relative to the peer's ISN. */
  function receiver(timestamps: boolean, configTimestamps: 0 | 1 = 1) {
    const blocks: string[] = [];
    const tsVals: number[] = [];
    const env = quietTcbEnv({
      transmit: (_tcb, f: SegmentFields) => {
        tsVals.push(f.tsVal);
        if (f.sackBlocks.length > 0) blocks.push(f.sackBlocks.map((b, i) => `${i % 2 === 0 ? '{' : ''}${(b - PEER_ISN) >>> 0}${i % 2 === 0 ? ':' : '}'}`).join(''));
      },
    });
    const tcb = new Tcb({ connId: 1, localIp: 1, localPort: 80, remoteIp: 2, remotePort: 1000 }, stackConfig({ sack: true, timestamps: configTimestamps }), env, { reuseAddr: false, lingerSec: null });
    const seg = (rel: number, flags: number, len: number): Segment => ({
      ...SEGMENT, srcIp: 2, srcPort: 1000, dstIp: 1, dstPort: 80, seq: seqAdd(PEER_ISN, rel), ack: 101, flags, window: 65535,
      sackOk: (flags & SYN) !== 0, sackBlocks: [], tsVal: timestamps ? 1000 + rel : -1, tsEcr: 0, payload: new Uint8Array(len),
    });
    tcb.acceptSyn(0, seg(0, SYN, 0), 100);
    tcb.input(1000, seg(1, ACK, 0));
    return { tcb, blocks, tsVals, data: (rel: number, len: number, atUs: number) => tcb.input(atUs, seg(rel, ACK | PSH, len)) };
  }

  it('a run the new data overlaps grows at both ends, and moves to the front', () => {
    const { blocks, data } = receiver(false);
    data(1051, 150, 2000); // [1051, 1201)
    data(2001, 100, 3000); // [2001, 2101), a second run
    data(1001, 100, 4000); // [1001, 1101) overlaps the first run's head
    data(1151, 100, 5000); // [1151, 1251) overlaps its tail
    expect(blocks).toEqual(['{1051:1201}', '{2001:2101}{1051:1201}', '{1001:1201}{2001:2101}', '{1001:1251}{2001:2101}']);
  });

  it('with timestamps an ACK carries 3 blocks (the option space left), without them 4', () => {
    for (const [timestamps, expected] of [[true, '{7001:7101}{5001:5101}{3001:3101}'], [false, '{7001:7101}{5001:5101}{3001:3101}{1001:1101}']] as const) {
      const { blocks, data } = receiver(timestamps);
      for (const [i, rel] of [1001, 3001, 5001, 7001].entries()) data(rel, 100, 2000 + i * 1000);
      expect(blocks.at(-1)).toBe(expected);
    }
  });

  it('past 4 runs the oldest is forgotten (Linux keeps TCP_NUM_SACKS = 4), though its data stays queued', () => {
    const { blocks, data } = receiver(false);
    // The oldest run lies highest: once the holes below the others fill, a forgotten run would show.
    for (const [i, rel] of [9001, 1001, 3001, 5001, 7001].entries()) data(rel, 100, 2000 + i * 1000);
    expect(blocks.at(-1)).toBe('{7001:7101}{5001:5101}{3001:3101}{1001:1101}');
    data(1, 1000, 8000); // RCV.NXT reaches 1101: the run at 1001 is delivered
    expect(blocks.at(-1)).toBe('{7001:7101}{5001:5101}{3001:3101}');
  });

  it('RFC 7323 §3.2: timestamps only when the peer\'s SYN carried them and tcp_timestamps is on', () => {
    expect(receiver(false).tsVals).toEqual([-1]);
    expect(receiver(true, 0).tsVals).toEqual([-1]);
    expect(receiver(true, 1).tsVals).toEqual([0]);
  });
});
