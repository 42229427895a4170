/**
 * Sequence-number mapping per socket, as packetdrill keeps it (socket.h, run_packet.c): each
 * socket learns its ISNs once, so a new incarnation of a 4-tuple is written relative to the
 * first one (C10: a SYN to a TIME-WAIT starts one with ISN = old SND.NXT + 65537,
 * tcp_timewait_state_process), and a new socket() starts a new mapping. Scripts written here.
 */
import { describe, expect, it } from 'vitest';
import { SYN, type Segment } from '../tcp/segment.js';
import { parseScript } from './parser.js';
import { runScript, type ScriptResult } from './runner.js';
import { ScriptSockets } from './sockets.js';

function run(text: string): ScriptResult {
  return runScript(parseScript(text, 'sockets.pkt'), { file: 'sockets.pkt', exact: true });
}

function hostSegments(result: ScriptResult): Segment[] {
  return result.events.flatMap((e) => (e.type === 'segment' && e.fate === 'sent' && e.seg.connId !== -1 ? [e.seg] : []));
}

/** A server TIME-WAIT (it closed first), then a SYN above the old RCV.NXT from the same port. */
const SERVER_TIME_WAIT = `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460>
   +0 > S. 0:0(0) ack 1 <mss 1460>
   +0 < . 1:1(0) ack 1 win 65535
   +0 accept(3, ..., ...) = 4
 +.01 close(4) = 0
   +0 > F. 1:1(0) ack 1
+.001 < F. 1:1(0) ack 2 win 65535
   +0 > . 2:2(0) ack 2
   +1 < S 100000:100000(0) win 65535 <mss 1460>
`;

describe('packetdrill sequence mapping: one per socket', () => {
  it('maps a new incarnation of the 4-tuple with the first one\'s ISNs: the SYN,ACK shows old ISN + 65539 (C10)', () => {
    const result = run(`${SERVER_TIME_WAIT}   +0 > S. 65539:65539(0) ack 100001 <mss 1460>
 +.01 < . 100001:100001(0) ack 65540 win 65535
   +0 accept(3, ..., ...) = 4
   +0 write(4, ..., 10) = 10
   +0 > P. 65540:65550(10) ack 100001
`);
    expect(result.failure?.message ?? null).toBeNull();
    expect(result.status).toBe('pass');
    // Live: the second SYN,ACK's ISN is the first's + 2 (SYN, FIN) + 65537.
    const synAcks = hostSegments(result).filter((s) => s.flags & SYN);
    expect(synAcks).toHaveLength(2);
    expect((synAcks[1]!.seq - synAcks[0]!.seq) >>> 0).toBe(65_539);
    // The peer's third ACK was mapped onto the new ISN: the connection is established and carries data.
    expect((hostSegments(result).at(-1)!.seq - synAcks[1]!.seq) >>> 0).toBe(1);
  });

  it('fails a script that writes the new incarnation as if its ISNs were learned again, as packetdrill on Linux 6.18 does', () => {
    // google/packetdrill on this machine's 6.18.44 (unshare --net): "live packet field
    // tcp_seq: expected: 0 (0x0) vs actual: 65539 (0x10003)".
    const result = run(`${SERVER_TIME_WAIT}   +0 > S. 0:0(0) ack 100001 <mss 1460>
`);
    expect(result.status).toBe('fail');
    expect(result.failure!.line).toBe(15);
    expect(result.failure!.message).toMatch(/^live packet field tcp_seq: expected: 0 vs actual: 65539\n/);
  });

  it('keeps the peer\'s numbers relative to its first ISN on the same socket', () => {
    // `< . 1:1(0) ack 1` is the peer's seq 1, far below the new incarnation's window (it
    // starts at 100001): the request socket answers it with an ACK and stays (Linux
    // tcp_check_req, !tcp_in_window), so the connection is not established.
    const result = run(`${SERVER_TIME_WAIT}   +0 > S. 65539:65539(0) ack 100001 <mss 1460>
 +.01 < . 1:1(0) ack 1 win 65535
   +0 > . 65540:65540(0) ack 100001
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)
`);
    expect(result.failure?.message ?? null).toBeNull();
    expect(result.status).toBe('pass');
  });

  it('starts a new mapping with each socket(): a second connection\'s SYN is 0 again', () => {
    const result = run(`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0...0.010 connect(3, ..., ...) = 0
   +0 > S 0:0(0) <mss 1460,nop,nop,TS val 0 ecr 0,nop,wscale 7>
 +.01 < S. 5000:5000(0) ack 1 win 65535 <mss 1460>
   +0 > . 1:1(0) ack 1
   +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
   +0...0.010 connect(5, ..., ...) = 0
   +0 > S 0:0(0) <mss 1460,nop,nop,TS val 0 ecr 0,nop,wscale 7>
 +.01 < S. 9000:9000(0) ack 1 win 65535 <mss 1460>
   +0 > . 1:1(0) ack 1
`);
    expect(result.failure?.message ?? null).toBeNull();
    expect(result.status).toBe('pass');
    const syns = hostSegments(result).filter((s) => s.flags & SYN);
    expect(syns).toHaveLength(2);
    expect(syns[0]!.seq).not.toBe(syns[1]!.seq);
  });
});

describe('ScriptSockets: when packetdrill learns what', () => {
  it('a child of a listener takes the peer ISN from the first inbound line, the host ISN from the first SYN,ACK, once', () => {
    const sockets = new ScriptSockets();
    sockets.socketCreated(3);
    sockets.listened(3);
    const child = sockets.inboundLine({ syn: true, ack: false }, 1000);
    expect(child.state).toBe('passive-packet-received');
    expect(child.remoteIsn).toBe(1000);
    sockets.segmentSent({ syn: true, ack: true }, 777);
    expect(sockets.outboundLine({ syn: true, ack: true }, 5)).toBe(child);
    expect(child.state).toBe('passive-synack-sent');
    expect(child.outboundSeq(777, true)).toBe(5);
    expect(child.outboundSeq(778, false)).toBe(1);
    sockets.inboundLine({ syn: false, ack: true }, 1001);
    expect(child.state).toBe('passive-synack-acked');
    sockets.accepted(4);
    expect(child.scriptFd).toBe(4);
    // A second SYN and SYN,ACK on the same socket change nothing.
    expect(sockets.inboundLine({ syn: true, ack: false }, 90_000)).toBe(child);
    sockets.segmentSent({ syn: true, ack: true }, 777 + 65_539);
    sockets.outboundLine({ syn: true, ack: true }, 65_539);
    expect([child.remoteIsn, child.liveLocalIsn, child.scriptLocalIsn]).toEqual([1000, 777, 5]);
    expect(child.inboundSeq(90_001, false)).toBe(91_001);
    expect(child.outboundAck(90_001 + 1000, true)).toBe(91_001);
  });

  it('a connecting socket takes the host ISN from the first SYN and the peer ISN from the SYN,ACK', () => {
    const sockets = new ScriptSockets();
    sockets.socketCreated(3);
    const socket = sockets.underTest;
    // Only a new socket starts connecting (run_syscall_connect).
    sockets.connecting(3);
    expect(socket.state).toBe('active-connecting');
    sockets.segmentSent({ syn: true, ack: false }, 4_000_000_000);
    sockets.segmentSent({ syn: true, ack: false }, 12);
    sockets.outboundLine({ syn: true, ack: false }, 0);
    expect(socket.state).toBe('active-syn-sent');
    expect(socket.liveLocalIsn).toBe(4_000_000_000);
    expect(socket.outboundSeq(4_000_000_001, false)).toBe(1);
    sockets.inboundLine({ syn: true, ack: true }, 300);
    expect(socket.state).toBe('active-syn-acked');
    expect(socket.remoteIsn).toBe(300);
    // The ack of an injected segment is mapped onto the live ISN, modulo 2^32.
    expect((1 + socket.localScriptToLive(false)) >>> 0).toBe(4_000_000_001);
    sockets.connecting(3);
    expect(socket.state).toBe('active-syn-acked');
  });

  it('before any socket, an inbound line makes a child (a SYN to a closed port), and accept() takes the newest child', () => {
    const sockets = new ScriptSockets();
    const first = sockets.inboundLine({ syn: true, ack: false }, 10);
    expect(first.state).toBe('passive-packet-received');
    sockets.socketCreated(3);
    sockets.listened(3);
    const second = sockets.inboundLine({ syn: true, ack: false }, 20);
    sockets.outboundLine({ syn: true, ack: true }, 0);
    expect(second.state).toBe('passive-synack-sent');
    expect(first.state).toBe('passive-packet-received');
    sockets.accepted(4);
    expect(second.scriptFd).toBe(4);
    expect(first.scriptFd).toBeNull();
  });
});
