/**
 * C1–C4: opening a connection. Each scenario runs scripted programs on a client and a server
 * 1 ms apart and asserts the exact segments on the wire (seq/ack relative to each side's ISN
 * unless `absolute`), the state changes and what the calls returned.
 */
import { describe, expect, it } from 'vitest';
import { stackConfig } from '../tcp/config.js';
import { unansweredSynSchedule } from '../tcp/tcb-timers.js';
import { MS, runConformance, SEC } from './harness.js';

const SERVER = ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c'];
const FIXED_ISNS = { client: { isn: { kind: 'fixed', value: 1000 } }, server: { isn: { kind: 'fixed', value: 5000 } } } as const;

describe('three-way handshake', () => {
  it('C1/C2/C3: SYN with ISN J and MSS, SYN,ACK with ISN K and ack J+1, ACK K+1; connect and accept return on them', () => {
    // Arrange
    const spec = {
      hostStacks: FIXED_ISNS,
      programs: [
        { host: 'server', steps: [...SERVER, 'close c', 'close srv'] },
        { host: 'client', startUs: 10 * MS, steps: ['socket s', 'connect s server 8848', 'sleep 1s', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: three segments open the connection, the SYN carries no data (C1), and its ACK
    // is ISN+1 in both directions (C2, C3, C4).
    expect(run.wire({ absolute: true, time: true }).slice(0, 3)).toEqual([
      '0.010000 client > server [S] seq 1000 mss 1460',
      '0.011000 server > client [S.] seq 5000 ack 1001 mss 1460',
      '0.012000 client > server [.] seq 1001 ack 5001',
    ]);
    expect(run.wire().slice(0, 3)).toEqual(['client > server [S] seq 0 mss 1460', 'server > client [S.] seq 0 ack 1 mss 1460', 'client > server [.] seq 1 ack 1']);
    // connect returns when the SYN,ACK arrives (12 ms), accept when the ACK does (13 ms).
    expect(run.calls(1)[1]).toBe('connect(s, server:8848) = ok');
    expect(run.returnTimes(1)[1]).toBe(12 * MS);
    expect(run.calls(0)[3]).toBe('c = accept(srv) = ok');
    expect(run.returnTimes(0)[3]).toBe(13 * MS);
    expect(run.states({ time: true }).slice(0, 4)).toEqual([
      '0.010000 client.51560 CLOSED=>SYN-SENT',
      '0.011000 server.8848 LISTEN=>SYN-RECEIVED',
      '0.012000 client.51560 SYN-SENT=>ESTABLISHED',
      '0.013000 server.8848 SYN-RECEIVED=>ESTABLISHED',
    ]);
  });

  it('C4: the ACK of a FIN is the FIN sequence number + 1, and data advances seq by its length', () => {
    // Arrange
    const spec = {
      hostStacks: FIXED_ISNS,
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 100', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 100', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ absolute: true })).toEqual([
      'client > server [S] seq 1000 mss 1460',
      'server > client [S.] seq 5000 ack 1001 mss 1460',
      'client > server [.] seq 1001 ack 5001',
      'client > server [P.] seq 1001 ack 5001 len 100',
      'client > server [F.] seq 1101 ack 5001',
      'server > client [.] seq 5001 ack 1101',
      // FIN at 1101 is acknowledged with 1102; the server's FIN at 5001 with 5002.
      'server > client [F.] seq 5001 ack 1102',
      'client > server [.] seq 1102 ack 5002',
    ]);
  });

  it('C2: the MSS each side sends with is the smaller of its own and the peer\'s SYN option', () => {
    // Arrange: the server announces MSS 1000.
    const spec = {
      hostStacks: { server: { mss: 1000 } },
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 2500', 'send c 1200', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 2500', 'recv s 1200', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire()).toEqual([
      'client > server [S] seq 0 mss 1460',
      'server > client [S.] seq 0 ack 1 mss 1000',
      'client > server [.] seq 1 ack 1',
      // 988 = 1000 less the 12 bytes the timestamps option takes of every segment (Linux tcp_current_mss).
      'client > server [P.] seq 1 ack 1 len 988',
      'client > server [P.] seq 989 ack 1 len 988',
      'client > server [P.] seq 1977 ack 1 len 524',
      // Quick-ACK mode at connection start: every segment is acknowledged at once.
      'server > client [.] seq 1 ack 989',
      'server > client [.] seq 1 ack 1977',
      'server > client [.] seq 1 ack 2501',
      'server > client [P.] seq 1 ack 2501 len 988',
      'server > client [P.] seq 989 ack 2501 len 212',
      'client > server [.] seq 2501 ack 989',
      'client > server [.] seq 2501 ack 1201',
      'client > server [F.] seq 2501 ack 1201',
      'server > client [F.] seq 1201 ack 2502',
      'client > server [.] seq 2502 ack 1202',
    ]);
    expect(run.streams().problems).toEqual([]);
  });

  it('C1/C2: simultaneous open — both SYN-SENT, both SYN-RECEIVED, both ESTABLISHED, data flows both ways', () => {
    // Arrange: each side binds its port and connects to the other at the same instant.
    const spec = {
      programs: [
        { host: 'server', steps: ['socket a', 'bind a 5000', 'connect a client 6000', 'send a 10', 'recv a 10', 'sleep 1s', 'close a'] },
        { host: 'client', steps: ['socket b', 'bind b 6000', 'connect b server 5000', 'send b 10', 'recv b 10', 'close b'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: each SYN,ACK repeats the sender's ISN (RFC 9293 §3.5 Figure 8). The SYN,ACK that
    // reaches a side already in SYN-RECEIVED completes its handshake (§3.5; Linux 6.10+
    // tcp_validate_incoming), and its SYN, a sequence number received already, is ACKed at once.
    // Data flows from that instant, before the ACKs arrive.
    expect(run.wire({ ports: true, time: true })).toEqual([
      '0.000000 server.5000 > client.6000 [S] seq 0 mss 1460',
      '0.000000 client.6000 > server.5000 [S] seq 0 mss 1460',
      '0.001000 client.6000 > server.5000 [S.] seq 0 ack 1 mss 1460',
      '0.001000 server.5000 > client.6000 [S.] seq 0 ack 1 mss 1460',
      '0.002000 server.5000 > client.6000 [.] seq 1 ack 1',
      '0.002000 client.6000 > server.5000 [.] seq 1 ack 1',
      '0.002000 server.5000 > client.6000 [P.] seq 1 ack 1 len 10',
      '0.002000 client.6000 > server.5000 [P.] seq 1 ack 1 len 10',
      '0.003000 client.6000 > server.5000 [.] seq 11 ack 11',
      '0.003000 server.5000 > client.6000 [.] seq 11 ack 11',
      '0.003000 client.6000 > server.5000 [F.] seq 11 ack 11',
      // The server, 1 s later, closes a CLOSE-WAIT connection: FIN, then the last ACK.
      '0.044000 server.5000 > client.6000 [.] seq 11 ack 12',
      '1.003000 server.5000 > client.6000 [F.] seq 11 ack 12',
      '1.004000 client.6000 > server.5000 [.] seq 12 ack 12',
    ]);
    expect(run.states()).toEqual([
      'server.5000 CLOSED=>SYN-SENT',
      'client.6000 CLOSED=>SYN-SENT',
      'client.6000 SYN-SENT=>SYN-RECEIVED',
      'server.5000 SYN-SENT=>SYN-RECEIVED',
      'server.5000 SYN-RECEIVED=>ESTABLISHED',
      'client.6000 SYN-RECEIVED=>ESTABLISHED',
      'client.6000 ESTABLISHED=>FIN-WAIT-1',
      'server.5000 ESTABLISHED=>CLOSE-WAIT',
      'client.6000 FIN-WAIT-1=>FIN-WAIT-2',
      'server.5000 CLOSE-WAIT=>LAST-ACK',
      'client.6000 FIN-WAIT-2=>TIME-WAIT',
      'server.5000 LAST-ACK=>CLOSED',
      'client.6000 TIME-WAIT=>CLOSED',
    ]);
    expect(run.results(0)).toEqual(['ok', 'ok', 'ok', 'sent 10', 'recv 10', 'ok', 'ok']);
    expect(run.results(1)).toEqual(['ok', 'ok', 'ok', 'sent 10', 'recv 10', 'ok']);
  });

  it('C1/C3: a crossed simultaneous open needs no ACK: with both ACKs lost, both sides are ESTABLISHED and nothing is resent', () => {
    // Arrange: the two SYN,ACKs cross; the ACKs each answers with are lost (wire 4 and 5).
    // Before Linux 6.10 (and here until the crossed SYN,ACK was accepted) each side waited in
    // SYN-RECEIVED for a bare ACK and resent its SYN,ACK 1 s later; under loss one side could
    // time out there while the other was ESTABLISHED (default campaign, seed 1).
    const spec = {
      programs: [
        { host: 'server', steps: ['socket a', 'bind a 5000', 'connect a client 6000', 'sleep 3s', 'close a'] },
        { host: 'client', steps: ['socket b', 'bind b 6000', 'connect b server 5000', 'sleep 3s', 'close b'] },
      ],
      dropWire: [4, 5],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ ports: true, time: true }).slice(0, 6)).toEqual([
      '0.000000 server.5000 > client.6000 [S] seq 0 mss 1460',
      '0.000000 client.6000 > server.5000 [S] seq 0 mss 1460',
      '0.001000 client.6000 > server.5000 [S.] seq 0 ack 1 mss 1460',
      '0.001000 server.5000 > client.6000 [S.] seq 0 ack 1 mss 1460',
      '0.002000 server.5000 > client.6000 [.] seq 1 ack 1 (dropped)',
      '0.002000 client.6000 > server.5000 [.] seq 1 ack 1 (dropped)',
    ]);
    // The next segments are the two FINs of the close at 3.002 s: no SYN,ACK was resent.
    expect(run.wire({ ports: true, time: true })[6]).toMatch(/^3\.002000 .* \[F\.\] seq 1 ack 1$/);
    expect(run.states().slice(0, 6)).toEqual([
      'server.5000 CLOSED=>SYN-SENT',
      'client.6000 CLOSED=>SYN-SENT',
      'client.6000 SYN-SENT=>SYN-RECEIVED',
      'server.5000 SYN-SENT=>SYN-RECEIVED',
      'server.5000 SYN-RECEIVED=>ESTABLISHED',
      'client.6000 SYN-RECEIVED=>ESTABLISHED',
    ]);
    expect(run.results(0)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(run.results(1)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });
});

describe('refused and unanswered opens', () => {
  it('C1: a SYN to a port nobody listens on gets RST,ACK (ack J+1); connect gives ECONNREFUSED and the socket may connect again', () => {
    // Arrange: the server starts listening only after the first attempt.
    const spec = {
      programs: [
        { host: 'server', startUs: 50 * MS, steps: [...SERVER, 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 10', 'recv s 10', 'sleep 100ms', 'connect s server 8848', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: RFC 9293 §3.10.7.1, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    expect(run.wire({ time: true }).slice(0, 3)).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460',
      '0.001000 server > client [R.] seq 0 ack 1',
      '0.102000 client > server [S] seq 0 mss 1460',
    ]);
    // Linux: after a failed connect send gives EPIPE and recv ENOTCONN (tcp_disconnect left
    // the socket unconnected), and connect may be tried again.
    expect(run.results(1)).toEqual(['ok', 'ECONNREFUSED', 'EPIPE', 'ENOTCONN', 'ok', 'ok', 'ok']);
    expect(run.states({ causes: true })[1]).toBe('client.51560 SYN-SENT=>CLOSED (rcv RST in SYN-SENT)');
  });

  it('C1: an unanswered SYN is retransmitted 1 s apart five times, then at 7, 11, 19, 35 and 67 s; connect fails with ETIMEDOUT at 131 s', () => {
    // Arrange: everything the client sends is lost.
    const spec = {
      faults: { partitions: [{ fromUs: 0, toUs: 1000 * SEC }] },
      programs: [{ host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 1'] }],
    };
    // Act
    const run = runConformance(spec);
    // Assert: Linux 6.x tcp_retransmit_timer keeps the 1 s initial RTO for the first
    // tcp_syn_linear_timeouts (4) timeouts, then doubles it; tcp_write_timeout allows
    // tcp_syn_retries (6) + 4 retransmissions, so 11 SYNs, and gives up at the next timeout.
    // A capture of Linux 6.18 against an address that never answers shows the same 11 SYNs,
    // 1 s apart five times, then 2, 4, 8, 16, 32 s.
    expect(run.wire({ time: true, rtx: true })).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460 (dropped)',
      '1.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
      '2.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
      '3.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
      '4.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
      '5.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
      '7.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
      '11.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
      '19.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
      '35.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
      '67.000000 client > server [S] seq 0 mss 1460 (rtx) (dropped)',
    ]);
    expect(run.states({ time: true, causes: true })).toEqual(['0.000000 client.51560 CLOSED=>SYN-SENT (connect)', '131.000000 client.51560 SYN-SENT=>CLOSED (retransmission limit)']);
    expect(run.results(0)).toEqual(['ok', 'ETIMEDOUT', 'EPIPE']);
    expect(run.returnTimes(0)[1]).toBe(131 * SEC);
    // The schedule monitors use (unansweredSynSchedule) is the same.
    expect(unansweredSynSchedule(stackConfig())).toEqual({ synTimesUs: [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67].map((s) => s * SEC), timeoutUs: 131 * SEC });
  });

  it('C1: with tcp_syn_retries 2 the time limit comes first: 6 SYNs, ETIMEDOUT at 7 s (retransmits_timed_out: 1 + 2 + 4 s)', () => {
    // Arrange
    const spec = {
      stack: { synRetries: 2 },
      faults: { partitions: [{ fromUs: 0, toUs: 1000 * SEC }] },
      programs: [{ host: 'client', steps: ['socket s', 'connect s server 8848'] }],
    };
    // Act
    const run = runConformance(spec);
    // Assert: the count would allow 2 + 4 = 6 retransmissions, but at the timeout due at 7 s,
    // 5 have gone out and the 7 s that 2 doubling timeouts from 1 s take have passed.
    expect(run.wire({ time: true })).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460 (dropped)',
      '1.000000 client > server [S] seq 0 mss 1460 (dropped)',
      '2.000000 client > server [S] seq 0 mss 1460 (dropped)',
      '3.000000 client > server [S] seq 0 mss 1460 (dropped)',
      '4.000000 client > server [S] seq 0 mss 1460 (dropped)',
      '5.000000 client > server [S] seq 0 mss 1460 (dropped)',
    ]);
    expect(run.results(0)).toEqual(['ok', 'ETIMEDOUT']);
    expect(run.returnTimes(0)[1]).toBe(7 * SEC);
  });

  it('C1: with tcp_syn_linear_timeouts 0 the SYN backs off from the start: 1, 3, 7, 15, 31, 63 s, ETIMEDOUT at 127 s', () => {
    // Arrange
    const spec = {
      stack: { synLinearTimeouts: 0 },
      faults: { partitions: [{ fromUs: 0, toUs: 1000 * SEC }] },
      programs: [{ host: 'client', steps: ['socket s', 'connect s server 8848'] }],
    };
    // Act
    const run = runConformance(spec);
    // Assert: as Linux did before tcp_syn_linear_timeouts existed.
    expect(run.wire({ time: true }).map((line) => line.split(' ')[0])).toEqual(['0.000000', '1.000000', '3.000000', '7.000000', '15.000000', '31.000000', '63.000000']);
    expect(run.returnTimes(0)[1]).toBe(127 * SEC);
  });

  it('C2: a lost SYN,ACK is resent, by the server\'s timer and in answer to the client\'s resent SYN', () => {
    // Arrange: lose the server's first SYN,ACK (segment 1).
    const spec = {
      dropWire: [1],
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: both sides use a 1 s initial RTO, so on a symmetric link the server's SYN,ACK
    // timer (armed at 1 ms) fires just as the client's resent SYN (sent at 1 s) arrives: the
    // SYN,ACK goes out twice, once by the timer and once for the duplicate SYN (Linux
    // tcp_check_req). The second SYN,ACK reaches an ESTABLISHED client, lies below RCV.NXT and
    // is answered with a duplicate ACK (RFC 9293 §3.10.7.4 first check).
    expect(run.wire({ time: true, rtx: true })).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460',
      '0.001000 server > client [S.] seq 0 ack 1 mss 1460 (dropped)',
      '1.000000 client > server [S] seq 0 mss 1460 (rtx)',
      '1.001000 server > client [S.] seq 0 ack 1 mss 1460 (rtx)',
      '1.001000 server > client [S.] seq 0 ack 1 mss 1460 (rtx)',
      '1.002000 client > server [.] seq 1 ack 1',
      '1.002000 client > server [.] seq 1 ack 1',
      '1.002000 client > server [F.] seq 1 ack 1',
      '1.003000 server > client [F.] seq 1 ack 2',
      '1.004000 client > server [.] seq 2 ack 2',
    ]);
    expect(run.mismatches()).toEqual([]);
  });

  it('C3: a lost final ACK of the handshake — the client\'s first data segment carries the same ACK and completes it', () => {
    // Arrange: lose segment 2, the client's ACK K+1.
    const spec = {
      dropWire: [2],
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 100', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'send s 100', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: the server stays SYN-RECEIVED until the data segment's ACK field moves it on.
    expect(run.wire({ time: true })).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460',
      '0.001000 server > client [S.] seq 0 ack 1 mss 1460',
      '0.002000 client > server [.] seq 1 ack 1 (dropped)',
      '0.012000 client > server [P.] seq 1 ack 1 len 100',
      '0.012000 client > server [F.] seq 101 ack 1',
      '0.013000 server > client [.] seq 1 ack 101',
      '0.013000 server > client [F.] seq 1 ack 102',
      '0.014000 client > server [.] seq 102 ack 2',
    ]);
    expect(run.states({ time: true, host: 'server' }).slice(0, 2)).toEqual(['0.001000 server.8848 LISTEN=>SYN-RECEIVED', '0.013000 server.8848 SYN-RECEIVED=>ESTABLISHED']);
    expect(run.returnTimes(0)[3]).toBe(13 * MS);
    expect(run.streams().problems).toEqual([]);
  });

  it('C3: a connection reset while it waits in the accept queue is still returned by accept; its first recv reports ECONNRESET', () => {
    // Arrange: the client aborts (SO_LINGER{1,0}) right after connect; the server accepts later.
    const spec = {
      programs: [
        { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'sleep 100ms', 'accept srv c', 'recv c 10', 'recv c 10', 'send c 5', 'close c'] },
        { host: 'client', steps: ['socket s', 'linger s 1 0', 'connect s server 8848', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: Linux keeps the reset child in the accept queue (tcp_done does not unlink it).
    expect(run.wire()).toEqual([
      'client > server [S] seq 0 mss 1460',
      'server > client [S.] seq 0 ack 1 mss 1460',
      'client > server [.] seq 1 ack 1',
      'client > server [R.] seq 1 ack 1',
    ]);
    expect(run.results(0)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ECONNRESET', 'eof', 'EPIPE', 'ok']);
    expect(run.mismatches()).toEqual([]);
  });
});
