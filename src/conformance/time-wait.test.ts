/**
 * C8–C12: TIME-WAIT. Who holds it, for how long, what it answers, what it blocks, and how a new
 * SYN for its 4-tuple is treated (Linux tcp_timewait_state_process).
 */
import { describe, expect, it } from 'vitest';
import { MS, runConformance, SEC } from './harness.js';

const SERVER = ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c'];
/** The C7 close with the client bound to 44722: the client closes first and holds TIME-WAIT. */
const C7_PROGRAMS = [
  { host: 'server', steps: [...SERVER, 'recv-eof c', 'close c'] },
  { host: 'client', steps: ['socket s', 'bind s 44722', 'connect s server 8848', 'sleep 10ms', 'close s'] },
];

describe('TIME-WAIT on the active closer', () => {
  it('C8: TIME-WAIT lasts exactly 2·MSL, and the port stays in use until it ends', () => {
    // Arrange: MSL = 1 s, so TIME-WAIT is 2 s; a second socket tries the port during and after it.
    const spec = {
      stack: { mslUs: 1 * SEC },
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'bind s 44722', 'connect s server 8848', 'close s', 'sleep 1s', 'socket t', 'bind t 44722', 'sleep 1002ms', 'socket u', 'bind u 44722'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: TIME-WAIT from 4 ms to 2.004 s; bind fails at 1.002 s, succeeds at 2.004 s.
    expect(run.states({ time: true, host: 'client' }).slice(-2)).toEqual(['0.004000 client.44722 FIN-WAIT-2=>TIME-WAIT', '2.004000 client.44722 TIME-WAIT=>CLOSED']);
    expect(run.calls(1).slice(6)).toEqual(['bind(t, 44722) = EADDRINUSE', 'sleep(1002000 us) = ok', 'u = socket() = ok', 'bind(u, 44722) = ok']);
    expect(run.returnTimes(1)[9]).toBe(2004 * MS);
  });

  it('C8: with the Linux default, TIME-WAIT is 60 s (2·MSL with MSL = 30 s)', () => {
    // Act
    const run = runConformance({ programs: C7_PROGRAMS });
    // Assert
    expect(run.states({ time: true, host: 'client' }).slice(-2)).toEqual(['0.014000 client.44722 FIN-WAIT-2=>TIME-WAIT', '60.014000 client.44722 TIME-WAIT=>CLOSED']);
    expect(run.timeWaitHolders()).toEqual(['client.44722']);
  });

  it('C9: a retransmitted FIN in TIME-WAIT is ACKed, not RST, and restarts 2·MSL', () => {
    // Arrange: lose segment 5, the client's last ACK.
    const spec = { dropWire: [5], programs: C7_PROGRAMS };
    // Act
    const run = runConformance(spec);
    // Assert: the server's FIN comes again one RTO (202 ms: 2 ms RTT + Linux's 200 ms
    // minimum variance term) later; TIME-WAIT answers it with the same ACK.
    expect(run.wire({ time: true, ports: true, rtx: true }).slice(3)).toEqual([
      '0.012000 client.44722 > server.8848 [F.] seq 1 ack 1',
      '0.013000 server.8848 > client.44722 [F.] seq 1 ack 2',
      '0.014000 client.44722 > server.8848 [.] seq 2 ack 2 (dropped)',
      '0.215000 server.8848 > client.44722 [F.] seq 1 ack 2 (rtx)',
      '0.216000 client.44722 > server.8848 [.] seq 2 ack 2',
    ]);
    // TIME-WAIT restarts when the FIN arrives, so it ends 60 s after 0.216, not after 0.014.
    expect(run.states({ time: true, causes: true }).slice(-4)).toEqual([
      '0.014000 client.44722 FIN-WAIT-2=>TIME-WAIT (rcv FIN)',
      '0.216000 client.44722 TIME-WAIT restarted (rcv FIN)',
      '0.217000 server.8848 LAST-ACK=>CLOSED (rcv ACK of FIN)',
      '60.216000 client.44722 TIME-WAIT=>CLOSED (2MSL timeout)',
    ]);
    expect(run.finalStates()).toEqual(['client.44722 CLOSED', 'server.8848 CLOSED']);
  });

  it('C9: each of several retransmitted FINs is ACKed and restarts TIME-WAIT; the FIN backs off 202, 404 ms', () => {
    // Arrange: lose the last ACK and its first repetition.
    const spec = { dropWire: [5, 7], programs: C7_PROGRAMS };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ time: true, rtx: true }).slice(5)).toEqual([
      '0.014000 client > server [.] seq 2 ack 2 (dropped)',
      '0.215000 server > client [F.] seq 1 ack 2 (rtx)',
      '0.216000 client > server [.] seq 2 ack 2 (dropped)',
      '0.619000 server > client [F.] seq 1 ack 2 (rtx)',
      '0.620000 client > server [.] seq 2 ack 2',
    ]);
    expect(run.states({ time: true }).slice(-4)).toEqual([
      '0.216000 client.44722 TIME-WAIT restarted (rcv FIN)',
      '0.620000 client.44722 TIME-WAIT restarted (rcv FIN)',
      '0.621000 server.8848 LAST-ACK=>CLOSED',
      '60.620000 client.44722 TIME-WAIT=>CLOSED',
    ]);
  });
});

describe('a new incarnation of a 4-tuple in TIME-WAIT', () => {
  /** The server closes first (so it holds TIME-WAIT); 1 s later the client, bound to the same port again, reconnects. */
  const reconnect = (stack = {}) => ({
    stack,
    programs: [
      { host: 'server', steps: [...SERVER, 'send c 10', 'close c', 'accept srv d', 'recv-eof d', 'close d'] },
      {
        host: 'client',
        steps: ['socket s', 'reuseaddr s', 'bind s 44722', 'connect s server 8848', 'recv-eof s', 'close s', 'sleep 1s', 'socket s2', 'reuseaddr s2', 'bind s2 44722', 'connect s2 server 8848', 'close s2'],
      },
    ],
  });

  it('C10: a SYN above the old RCV.NXT is accepted; the new server ISN is the old SND.NXT + 65537', () => {
    // Arrange: RFC 6528 ISNs grow with the clock (4 µs per step), so the client's new ISN, 1 s
    // later, lies far above what the old incarnation sent.
    const spec = reconnect();
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ time: true })).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460',
      '0.001000 server > client [S.] seq 0 ack 1 mss 1460',
      '0.002000 client > server [.] seq 1 ack 1',
      '0.003000 server > client [P.] seq 1 ack 1 len 10',
      '0.003000 server > client [F.] seq 11 ack 1',
      '0.004000 client > server [.] seq 1 ack 11',
      '0.004000 client > server [F.] seq 1 ack 12',
      '0.005000 server > client [.] seq 12 ack 2',
      // A new SYN restarts the numbering in this view.
      '1.004000 client > server [S] seq 0 mss 1460',
      '1.005000 server > client [S.] seq 0 ack 1 mss 1460',
      '1.006000 client > server [.] seq 1 ack 1',
      '1.006000 client > server [F.] seq 1 ack 1',
      '1.007000 server > client [F.] seq 1 ack 2',
      '1.008000 client > server [.] seq 2 ack 2',
    ]);
    // Linux TCP_TW_SYN: isn = tw_snd_nxt + 65535 + 2, beyond anything the old incarnation sent.
    const oldLastAck = run.sent[7]!.seg;
    const newSynAck = run.sent[9]!.seg;
    const newSyn = run.sent[8]!.seg;
    // RFC 6528: the same 4-tuple's ISN advanced by one per 4 µs, 1.004 s / 4 µs = 251000, far
    // above the old RCV.NXT (old ISN + 2: SYN and FIN).
    expect((newSyn.seq - run.sent[0]!.seg.seq) >>> 0).toBe(251_000);
    expect(newSynAck.seq).toBe((oldLastAck.seq + 65537) >>> 0);
    expect(run.states({ time: true, causes: true, host: 'server' }).slice(5, 7)).toEqual([
      '1.005000 server.8848 TIME-WAIT=>CLOSED (SYN for a new incarnation)',
      '1.005000 server.8848 LISTEN=>SYN-RECEIVED (rcv SYN)',
    ]);
    expect(run.mismatches()).toEqual([]);
  });

  it('C10: timestamps off, a SYN not above the old RCV.NXT is answered with an ACK; the client\'s RST to it ends TIME-WAIT (tcp_rfc1337 = 0)', () => {
    // Arrange: fixed ISNs, so the new SYN repeats the old ISN, below the old RCV.NXT; no
    // timestamps, so Linux has only sequence numbers to go by.
    const spec = reconnect({ isn: { kind: 'fixed', value: 1000 }, timestamps: 0 });
    // Act
    const run = runConformance(spec);
    // Assert: TIME-WAIT answers with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (the old numbers);
    // the client in SYN-SENT finds the ACK unacceptable and resets with <SEQ=SEG.ACK>, which is
    // exactly the old RCV.NXT: TIME-WAIT assassination (RFC 1337). The SYN sent again 1 s
    // later opens the new incarnation.
    expect(run.wire({ time: true, absolute: true }).slice(8)).toEqual([
      '1.004000 client > server [S] seq 1000 mss 1460',
      '1.005000 server > client [.] seq 1012 ack 1002',
      '1.006000 client > server [R] seq 1002',
      '2.004000 client > server [S] seq 1000 mss 1460',
      '2.005000 server > client [S.] seq 1000 ack 1001 mss 1460',
      '2.006000 client > server [.] seq 1001 ack 1001',
      '2.006000 client > server [F.] seq 1001 ack 1001',
      '2.007000 server > client [F.] seq 1001 ack 1002',
      '2.008000 client > server [.] seq 1002 ack 1002',
    ]);
    expect(run.states({ time: true, causes: true, host: 'server' }).slice(4, 6)).toEqual([
      '0.005000 server.8848 FIN-WAIT-2=>TIME-WAIT (rcv FIN)',
      '1.007000 server.8848 TIME-WAIT=>CLOSED (rcv RST in TIME-WAIT)',
    ]);
  });

  it('C10: timestamps off, with tcp_rfc1337 = 1 the RST does not end TIME-WAIT (it restarts it); the SYN keeps getting ACKs until TIME-WAIT ends, then it is accepted', () => {
    // Arrange
    const spec = reconnect({ isn: { kind: 'fixed', value: 1000 }, rfc1337: true, timestamps: 0 });
    // Act
    const run = runConformance(spec);
    // Assert: SYN at 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s after the reconnect (tcp_syn_linear_timeouts,
    // then RTO doubling), each answered
    // with the old ACK, which the client resets. Linux tcp_timewait_state_process with
    // tcp_rfc1337 = 1 does not kill TIME-WAIT on the in-window RST but reschedules it, so
    // TIME-WAIT outlives the client's tcp_syn_retries and connect times out.
    const syns = run.wire({ time: true }).filter((line) => line.includes('[S]'));
    expect(syns.slice(1)).toEqual([
      '1.004000 client > server [S] seq 0 mss 1460',
      '2.004000 client > server [S] seq 0 mss 1460',
      '3.004000 client > server [S] seq 0 mss 1460',
      '4.004000 client > server [S] seq 0 mss 1460',
      '5.004000 client > server [S] seq 0 mss 1460',
      '6.004000 client > server [S] seq 0 mss 1460',
      '8.004000 client > server [S] seq 0 mss 1460',
      '12.004000 client > server [S] seq 0 mss 1460',
      '20.004000 client > server [S] seq 0 mss 1460',
      '36.004000 client > server [S] seq 0 mss 1460',
      '68.004000 client > server [S] seq 0 mss 1460',
    ]);
    expect(run.wire({ time: true, absolute: true }).filter((line) => line.startsWith('36.'))).toEqual([
      '36.004000 client > server [S] seq 1000 mss 1460',
      '36.005000 server > client [.] seq 1012 ack 1002',
      '36.006000 client > server [R] seq 1002',
    ]);
    expect(run.states({ time: true, causes: true, host: 'server' }).slice(4)).toEqual([
      '0.005000 server.8848 FIN-WAIT-2=>TIME-WAIT (rcv FIN)',
      '1.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '2.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '3.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '4.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '5.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '6.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '8.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '12.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '20.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '36.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '68.007000 server.8848 TIME-WAIT restarted (rcv RST (tcp_rfc1337))',
      '128.007000 server.8848 TIME-WAIT=>CLOSED (2MSL timeout)',
    ]);
    expect(run.calls(1).slice(10, 11)).toEqual(['connect(s2, server:8848) = ETIMEDOUT']);
  });

  it('C10: with timestamps (the default), a SYN that repeats the old ISN is accepted at once, because its TSval is newer than TS.Recent', () => {
    // Arrange: the same fixed ISNs as above.
    const spec = reconnect({ isn: { kind: 'fixed', value: 1000 } });
    // Act
    const run = runConformance(spec);
    // Assert: Linux tcp_timewait_state_process accepts a SYN "not old duplicate" by its
    // timestamp; the new server ISN is still the old SND.NXT (1012) + 65537.
    expect(run.wire({ time: true, absolute: true }).slice(8, 10)).toEqual([
      '1.004000 client > server [S] seq 1000 mss 1460',
      '1.005000 server > client [S.] seq 66549 ack 1001 mss 1460',
    ]);
    // The 4-tuple's TSvals run on one clock: the new SYN's is 1004 ms past the old SYN's, newer
    // than the last one the server saw (the client's last ACK, 4 ms past it).
    const tsOf = (i: number): number => run.sent[i]!.seg.tsVal;
    expect([(tsOf(6) - tsOf(0)) >>> 0, (tsOf(8) - tsOf(0)) >>> 0]).toEqual([4, 1004]);
    expect(run.states({ time: true, causes: true, host: 'server' }).slice(4, 7)).toEqual([
      '0.005000 server.8848 FIN-WAIT-2=>TIME-WAIT (rcv FIN)',
      '1.005000 server.8848 TIME-WAIT=>CLOSED (SYN for a new incarnation)',
      '1.005000 server.8848 LISTEN=>SYN-RECEIVED (rcv SYN)',
    ]);
    expect(run.mismatches()).toEqual([]);
  });

  it('C10: timestamps off, connect from an explicitly bound port whose 4-tuple is in TIME-WAIT fails with EADDRNOTAVAIL', () => {
    // Arrange: both sockets have SO_REUSEADDR, so the bind itself succeeds.
    const spec = {
      stack: { timestamps: 0 as const },
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'close c'] },
        {
          host: 'client',
          steps: ['socket a', 'reuseaddr a', 'bind a 44722', 'connect a server 8848', 'close a', 'sleep 10ms', 'socket b', 'bind b 44722', 'socket x', 'reuseaddr x', 'bind x 44722', 'connect x server 8848', 'close x'],
        },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: Linux __inet_check_established refuses the TIME-WAIT 4-tuple (tcp_twsk_unique
    // takes one over only when it used timestamps); without SO_REUSEADDR even the bind fails (C8).
    expect(run.calls(1).slice(6)).toEqual([
      'b = socket() = ok',
      'bind(b, 44722) = EADDRINUSE',
      'x = socket() = ok',
      'setsockopt(x, SO_REUSEADDR, 1) = ok',
      'bind(x, 44722) = ok',
      'connect(x, server:8848) = EADDRNOTAVAIL',
      'close(x) = ok',
    ]);
    expect(run.wire()).toHaveLength(6);
  });
});

describe('whoever closes first holds TIME-WAIT', () => {
  it('C11: a server that closes first holds TIME-WAIT on 8848; an immediate restart\'s bind gets EADDRINUSE, one after 2·MSL succeeds', () => {
    // Arrange: the server closes the connection and its listener, then restarts at once and
    // again after 60 s.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'sleep 10ms', 'close c', 'close srv', 'sleep 10ms', 'socket srv2', 'bind srv2 8848', 'close srv2', 'sleep 60s', 'socket srv3', 'bind srv3 8848', 'listen srv3'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'recv-eof s', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: the server sends the first FIN (three-way close the other way round).
    expect(run.wire({ time: true, ports: true }).slice(3)).toEqual([
      '0.013000 server.8848 > client.51560 [F.] seq 1 ack 1',
      '0.014000 client.51560 > server.8848 [F.] seq 1 ack 2',
      '0.015000 server.8848 > client.51560 [.] seq 2 ack 2',
    ]);
    expect(run.timeWaitHolders()).toEqual(['server.8848']);
    expect(run.calls(0).slice(7)).toEqual(['sleep(10000 us) = ok', 'srv2 = socket() = ok', 'bind(srv2, 8848) = EADDRINUSE', 'close(srv2) = ok', 'sleep(60000000 us) = ok', 'srv3 = socket() = ok', 'bind(srv3, 8848) = ok', 'listen(srv3, 16) = ok']);
    expect(run.states({ time: true, host: 'server' }).slice(-2)).toEqual(['0.015000 server.8848 FIN-WAIT-2=>TIME-WAIT', '60.015000 server.8848 TIME-WAIT=>CLOSED']);
  });

  it('C12: a client\'s new connection picks another ephemeral port; with the range used up by TIME-WAIT, connect fails with EADDRNOTAVAIL', () => {
    // Arrange: two ephemeral ports only; the client closes first each time.
    const spec = {
      stack: { ephemeralPortMin: 40000, ephemeralPortMax: 40001 },
      programs: [
        { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c1', 'recv-eof c1', 'close c1', 'accept srv c2', 'recv-eof c2', 'close c2', 'accept srv c3', 'recv-eof c3', 'close c3'] },
        {
          host: 'client',
          steps: ['socket a', 'connect a server 8848', 'close a', 'sleep 10ms', 'socket b', 'connect b server 8848', 'close b', 'sleep 10ms', 'socket x', 'connect x server 8848', 'socket y', 'bind y 0', 'sleep 60s', 'connect x server 8848', 'close x'],
        },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: ports 40001, then 40000 while 40001 is in TIME-WAIT; then none (Linux
    // __inet_hash_connect: EADDRNOTAVAIL; bind(0) finds no free port: EADDRINUSE); after
    // 2·MSL the same socket connects again.
    const syns = run.wire({ time: true, ports: true }).filter((line) => line.includes('[S]'));
    expect(syns).toEqual([
      '0.000000 client.40001 > server.8848 [S] seq 0 mss 1460',
      '0.012000 client.40000 > server.8848 [S] seq 0 mss 1460',
      '60.024000 client.40000 > server.8848 [S] seq 0 mss 1460',
    ]);
    expect(run.results(1)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'EADDRNOTAVAIL', 'ok', 'EADDRINUSE', 'ok', 'ok', 'ok']);
    expect(run.timeWaitHolders()).toEqual(['client.40001', 'client.40000', 'client.40000']);
  });
});
