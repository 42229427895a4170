/**
 * Orphans (issue #10 item 10): a connection whose application has closed it. An orphaned
 * FIN-WAIT-2 waits tcp_fin_timeout for the peer's FIN and then is gone without a word (Linux
 * tcp_close → tcp_time_wait with the TCP_FIN_WAIT2 substate; tcp_timewait_state_process), so what
 * the peer sends after that meets the host's bare reset (RFC 9293 §3.10.7.1, tcp_v4_send_reset);
 * a FIN-WAIT-2 left by shutdown(SHUT_WR) has a socket and waits for ever. close() in SYN-SENT
 * sends nothing, with SO_LINGER or without (tcp_close → tcp_set_state(TCP_CLOSE)), and the SYN,ACK
 * that comes later gets a reset. The first sequence was checked on this machine's Linux 6.18.44
 * with `timewait kernel` (tcp_fin_timeout = 2): the same seven segments, the RST at 3 s.
 */
import { describe, expect, it } from 'vitest';
import { MS, runConformance, SEC } from './harness.js';

const SERVER = ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c'];

describe('an orphaned FIN-WAIT-2 (Linux tcp_fin_timeout)', () => {
  it('lasts tcp_fin_timeout (60 s) from the ACK of its FIN, then is gone silently; the peer\'s FIN after that gets <SEQ=SEG.ACK><CTL=RST>', () => {
    // Arrange: the client closes 10 ms after the handshake; the server reads end-of-file and
    // closes only 70 s later.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'sleep 70s', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: the FIN's ACK comes at the tick (no data came), FIN-WAIT-2 from 17 ms, gone at
    // 60.017 s with nothing sent; the server's FIN at 70.013 s is answered by the client's host.
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.012000 client > server [F.] seq 1 ack 1',
      '0.016000 server > client [.] seq 1 ack 2',
      '70.013000 server > client [F.] seq 1 ack 2',
      '70.014000 client > server [R] seq 2',
    ]);
    expect(run.states({ time: true, causes: true }).slice(4)).toEqual([
      '0.012000 client.51560 ESTABLISHED=>FIN-WAIT-1 (close)',
      '0.013000 server.8848 ESTABLISHED=>CLOSE-WAIT (rcv FIN)',
      '0.017000 client.51560 FIN-WAIT-1=>FIN-WAIT-2 (rcv ACK of FIN)',
      '60.017000 client.51560 FIN-WAIT-2=>CLOSED (FIN-WAIT-2 timeout)',
      '70.013000 server.8848 CLOSE-WAIT=>LAST-ACK (close)',
      '70.015000 server.8848 LAST-ACK=>CLOSED (rcv RST)',
    ]);
    expect(run.timeWaitHolders()).toEqual([]);
  });

  it('a pure ACK after the timeout gets the same bare RST; with tcp_fin_timeout = 2 s the orphan is gone at 2.017 s', () => {
    // Arrange: the server sends 10 bytes 3 s on (data is answered by a reset too), then closes.
    const spec = {
      stack: { finWait2TimeoutUs: 2 * SEC },
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'sleep 3s', 'send c 10', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ time: true }).slice(5)).toEqual(['3.013000 server > client [P.] seq 1 ack 2 len 10', '3.013000 server > client [F.] seq 11 ack 2', '3.014000 client > server [R] seq 2', '3.014000 client > server [R] seq 2']);
    expect(run.states({ time: true, causes: true }).filter((line) => line.startsWith('2.') || line.includes('RST'))).toEqual(['2.017000 client.51560 FIN-WAIT-2=>CLOSED (FIN-WAIT-2 timeout)', '3.015000 server.8848 LAST-ACK=>CLOSED (rcv RST)']);
  });

  it('a FIN before the timeout is ACKed and the orphan enters TIME-WAIT; the FIN-WAIT-2 timer is gone', () => {
    // Arrange: tcp_fin_timeout = 2 s; the server closes 1.5 s after end-of-file.
    const spec = {
      stack: { finWait2TimeoutUs: 2 * SEC },
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'sleep 1500ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ time: true }).slice(5)).toEqual(['1.513000 server > client [F.] seq 1 ack 2', '1.514000 client > server [.] seq 2 ack 2']);
    expect(run.states({ time: true, causes: true, host: 'client' }).slice(-2)).toEqual(['1.514000 client.51560 FIN-WAIT-2=>TIME-WAIT (rcv FIN)', '61.514000 client.51560 TIME-WAIT=>CLOSED (2MSL timeout)']);
  });

  it('FIN-WAIT-2 after shutdown(SHUT_WR) is not an orphan: it waits past tcp_fin_timeout for the peer\'s FIN', () => {
    // Arrange: the client half-closes and reads until end-of-file, which comes 3 s later.
    const spec = {
      stack: { finWait2TimeoutUs: 2 * SEC },
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'sleep 3s', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'shutdown s wr', 'recv-eof s', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ time: true }).slice(5)).toEqual(['3.013000 server > client [F.] seq 1 ack 2', '3.014000 client > server [.] seq 2 ack 2']);
    expect(run.timeWaitHolders()).toEqual(['client.51560']);
    expect(run.results(1).slice(-2)).toEqual(['eof', 'ok']);
  });
});

describe('close() in SYN-SENT (Linux tcp_close: SYN-SENT → CLOSED)', () => {
  for (const linger of [false, true]) {
    it(`sends nothing${linger ? ' with SO_LINGER{1,0} either' : ''}; the late SYN,ACK gets <SEQ=SEG.ACK><CTL=RST> and the server's half-open connection is gone`, () => {
      // Arrange: a non-blocking connect over a 5 ms link, closed at once.
      const client = [
        'socket s',
        ...(linger ? ['linger s 1 0'] : []),
        { call: { op: 'fcntl' as const, sock: 's', nonBlocking: true } },
        'connect s server 8848 => EINPROGRESS',
        'close s',
      ];
      const spec = {
        faults: { delayUs: 5 * MS },
        programs: [
          { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv'] },
          { host: 'client', steps: client },
        ],
      };
      // Act
      const run = runConformance(spec);
      // Assert
      expect(run.wire({ time: true })).toEqual(['0.000000 client > server [S] seq 0 mss 1460', '0.005000 server > client [S.] seq 0 ack 1 mss 1460', '0.010000 client > server [R] seq 1']);
      expect(run.states({ time: true, causes: true })).toEqual([
        '0.000000 client.51560 CLOSED=>SYN-SENT (connect)',
        `0.000000 client.51560 SYN-SENT=>CLOSED (${linger ? 'close with SO_LINGER{on,0}' : 'close in SYN-SENT'})`,
        '0.005000 server.8848 LISTEN=>SYN-RECEIVED (rcv SYN)',
        '0.015000 server.8848 SYN-RECEIVED=>LISTEN (rcv RST)',
      ]);
      expect(run.mismatches()).toEqual([]);
    });
  }
});
