/**
 * Tests of the conformance harness itself: the script grammar, relative sequence numbers and
 * the "drop the k-th segment on the wire" fault.
 */
import { describe, expect, it } from 'vitest';
import { parseDurationUs, parseStep, renderWire, runConformance, type WireSegment } from './harness.js';
import { ACK, FIN, NO_OPTIONS, SYN, type Segment } from '../tcp/segment.js';

function wireSeg(index: number, from: string, to: string, fields: Partial<Segment>): WireSegment {
  const seg: Segment = {
    id: index + 1,
    srcIp: from === 'a' ? 1 : 2,
    srcPort: from === 'a' ? 1000 : 2000,
    dstIp: from === 'a' ? 2 : 1,
    dstPort: from === 'a' ? 2000 : 1000,
    seq: 0,
    ack: 0,
    flags: ACK,
    window: 100,
    ...NO_OPTIONS,
    payload: new Uint8Array(0),
    sentAtUs: 0,
    incarnation: 1,
    connId: 1,
    retransmission: false,
    copyOf: -1,
    ...fields,
  };
  return { index, atUs: index * 1000, seg, from, to, dropped: false };
}

describe('script lines', () => {
  it('parse into program calls, with an optional expected result', () => {
    expect(parseStep('bind srv 8848 => EADDRINUSE')).toEqual({ call: { op: 'bind', sock: 'srv', port: 8848 }, expect: 'EADDRINUSE' });
    expect(parseStep('linger s 1 0')).toEqual({ call: { op: 'setsockopt', sock: 's', option: 'SO_LINGER', onoff: true, lingerSec: 0 } });
    expect(parseStep('reuseaddr s')).toEqual({ call: { op: 'setsockopt', sock: 's', option: 'SO_REUSEADDR', value: true } });
    expect(parseStep('shutdown c wr')).toEqual({ call: { op: 'shutdown', sock: 'c', how: 'SHUT_WR' } });
    expect(parseStep('recv-eof c')).toEqual({ call: { op: 'recv-until-eof', sock: 'c' } });
    expect(parseStep('listen srv')).toEqual({ call: { op: 'listen', sock: 'srv', backlog: 16 } });
    expect(parseDurationUs('40ms')).toBe(40_000);
    expect(parseDurationUs('2s')).toBe(2_000_000);
    expect(parseDurationUs('500us')).toBe(500);
    expect(() => parseStep('frobnicate x')).toThrow('unknown call "frobnicate"');
    expect(() => parseStep('bind srv')).toThrow('missing argument 2');
  });
});

describe('renderWire', () => {
  it('numbers each side from its own ISN, across the 2^32 wrap, and restarts at a new SYN', () => {
    // Arrange: a's ISN is 2^32 - 2, b's is 7; then a new incarnation with a's ISN 500.
    const sent = [
      wireSeg(0, 'a', 'b', { flags: SYN, seq: 0xfffffffe, mss: 1460 }),
      wireSeg(1, 'b', 'a', { flags: SYN | ACK, seq: 7, ack: 0xffffffff, mss: 1460 }),
      wireSeg(2, 'a', 'b', { seq: 0xffffffff, ack: 8, payload: new Uint8Array(3) }),
      wireSeg(3, 'a', 'b', { flags: FIN | ACK, seq: 2, ack: 8, retransmission: true }),
      wireSeg(4, 'a', 'b', { flags: SYN, seq: 500 }),
    ];
    // Act
    const lines = renderWire(sent, { win: true, rtx: true });
    const absolute = renderWire(sent, { absolute: true, ports: true });
    // Assert
    expect(lines).toEqual([
      'a > b [S] seq 0 win 100 mss 1460',
      'b > a [S.] seq 0 ack 1 win 100 mss 1460',
      'a > b [.] seq 1 ack 1 len 3 win 100',
      'a > b [F.] seq 4 ack 1 win 100 (rtx)',
      'a > b [S] seq 0 win 100',
    ]);
    expect(absolute[2]).toBe('a.1000 > b.2000 [.] seq 4294967295 ack 8 len 3');
  });
});

describe('runConformance', () => {
  const programs = [
    { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv-eof c', 'close c'] },
    { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'close s'] },
  ];

  it('dropWire loses the k-th segment put on the wire, in whichever direction it goes', () => {
    // Act: segment 1 of the clean run is the server's SYN,ACK.
    const clean = runConformance({ programs });
    const lossy = runConformance({ programs, dropWire: [1] });
    // Assert
    expect(clean.wire()[1]).toBe('server > client [S.] seq 0 ack 1 mss 1460');
    expect(lossy.wire({ time: true, rtx: true }).slice(0, 4)).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460',
      '0.001000 server > client [S.] seq 0 ack 1 mss 1460 (dropped)',
      // The client's SYN timer (1 s) fires first; the server answers the duplicate SYN at once.
      '1.000000 client > server [S] seq 0 mss 1460 (rtx)',
      '1.001000 server > client [S.] seq 0 ack 1 mss 1460 (rtx)',
    ]);
    expect(lossy.mismatches()).toEqual([]);
  });

  it('dropLink counts per direction', () => {
    const run = runConformance({ programs, dropLink: [{ from: 'client', to: 'server', index: 2 }] });
    expect(run.wire().filter((line) => line.endsWith('(dropped)'))).toEqual(['client > server [F.] seq 1 ack 1 (dropped)']);
  });

  it('runs more than two hosts, numbering each connection from its own ISNs', () => {
    // Arrange: two clients, one server that serves them in turn.
    const spec = {
      hosts: ['alice', 'bob', 'server'],
      programs: [
        { host: 'server', steps: ['socket srv', 'bind srv 80', 'listen srv', 'accept srv c1', 'recv c1 10', 'close c1', 'accept srv c2', 'recv c2 20', 'close c2'] },
        { host: 'alice', steps: ['socket s', 'connect s server 80', 'send s 10', 'recv-eof s', 'close s'] },
        { host: 'bob', startUs: 50_000, steps: ['socket s', 'connect s server 80', 'send s 20', 'recv-eof s', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire().filter((line) => line.includes('[P.]'))).toEqual(['alice > server [P.] seq 1 ack 1 len 10', 'bob > server [P.] seq 1 ack 1 len 20']);
    expect(run.timeWaitHolders().map((holder) => holder.split('.')[0])).toEqual(['server', 'server']);
    expect(run.streams().problems).toEqual([]);
    expect(run.mismatches()).toEqual([]);
  });

  it('complains about a wire index past the end of the run', () => {
    expect(() => runConformance({ programs, dropWire: [99] })).toThrow('dropWire 99: the run puts only 6 segments on the wire');
  });
});
