import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../net/address.js';
import { ACK, FIN, NO_OPTIONS, PSH, SYN, type Segment } from '../tcp/segment.js';
import { formatWireTrace, type TraceEvent } from './trace.js';

const CLIENT = parseIpv4('10.0.0.1');
const SERVER = parseIpv4('10.0.0.2');

function sent(atUs: number, fromClient: boolean, seq: number, ack: number, flags: number, len = 0, mss = 0): TraceEvent {
  const seg: Segment = {
    id: atUs,
    srcIp: fromClient ? CLIENT : SERVER,
    srcPort: fromClient ? 44722 : 8848,
    dstIp: fromClient ? SERVER : CLIENT,
    dstPort: fromClient ? 8848 : 44722,
    seq,
    ack,
    flags,
    window: 65535,
    ...NO_OPTIONS,
    mss,
    payload: new Uint8Array(len),
    sentAtUs: atUs,
    incarnation: 1,
    connId: fromClient ? 1 : 2,
    retransmission: false,
    copyOf: -1,
  };
  return { type: 'segment', atUs, fate: 'sent', seg };
}

describe('tcpdump rendering', () => {
  it('C7: prints the article\'s three-way close as tcpdump does, relative numbers after the handshake', () => {
    // Arrange: the article's capture — client 44722, server 8848, 5 bytes, then FIN, FIN+ACK, ACK.
    const events = [
      sent(0, true, 1000, 0, SYN, 0, 1460),
      sent(1000, false, 5000, 1001, SYN | ACK, 0, 1460),
      sent(2000, true, 1001, 5001, ACK),
      sent(2000, true, 1001, 5001, PSH | ACK, 5),
      sent(3000, true, 1006, 5001, FIN | ACK),
      sent(4000, false, 5001, 1007, FIN | ACK),
      sent(5000, true, 1007, 5002, ACK),
    ];
    // Act
    const text = formatWireTrace(events);
    // Assert
    expect(text.split('\n')).toEqual([
      '0.000000 10.0.0.1.44722 > 10.0.0.2.8848: Flags [S], seq 1000, win 65535, options [mss 1460], length 0',
      '0.001000 10.0.0.2.8848 > 10.0.0.1.44722: Flags [S.], seq 5000, ack 1001, win 65535, options [mss 1460], length 0',
      '0.002000 10.0.0.1.44722 > 10.0.0.2.8848: Flags [.], ack 1, win 65535, length 0',
      '0.002000 10.0.0.1.44722 > 10.0.0.2.8848: Flags [P.], seq 1:6, ack 1, win 65535, length 5',
      '0.003000 10.0.0.1.44722 > 10.0.0.2.8848: Flags [F.], seq 6, ack 1, win 65535, length 0',
      '0.004000 10.0.0.2.8848 > 10.0.0.1.44722: Flags [F.], seq 1, ack 7, win 65535, length 0',
      '0.005000 10.0.0.1.44722 > 10.0.0.2.8848: Flags [.], ack 2, win 65535, length 0',
    ]);
  });

  it('relative numbers wrap modulo 2^32 and a new SYN starts the 4-tuple afresh', () => {
    // Arrange: ISN just below 2^32, then a second incarnation.
    const events = [
      sent(0, true, 0xffff_fffe, 0, SYN),
      sent(1, false, 7, 0xffff_ffff, SYN | ACK),
      sent(2, true, 0xffff_ffff, 8, PSH | ACK, 3),
      sent(3, true, 500, 0, SYN),
      sent(4, false, 900, 501, SYN | ACK),
    ];
    // Act
    const lines = formatWireTrace(events).split('\n');
    // Assert
    expect(lines[2]).toContain('Flags [P.], seq 1:4, ack 1,');
    expect(lines[3]).toContain('Flags [S], seq 500,');
    expect(lines[4]).toContain('Flags [S.], seq 900, ack 501,');
  });
});
