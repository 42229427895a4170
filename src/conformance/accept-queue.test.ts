/**
 * The accept queue as Linux 6.x has it (C3): listen(n) admits n + 1 established connections
 * (sk_acceptq_is_full); past that a new SYN is dropped without an answer (tcp_conn_request),
 * and a handshake's final ACK is ignored (tcp_abort_on_overflow = 0) or reset (= 1) in
 * tcp_check_req; closing a listener resets what it queued and silently drops what was half-open
 * (inet_csk_listen_stop). The SYN and SYN,ACK timers are Linux's (tcb-timers.ts). Each scenario
 * here was also run on Linux 6.18 with `timewait kernel` (examples/kernel-checks/): the
 * handshakes, overflows and resets agree segment for segment.
 */
import { describe, expect, it } from 'vitest';
import { MS, runConformance, type ConformanceSpec } from './harness.js';

const client = (host: string, startUs: number, recvResult: string) => ({ host, startUs, steps: ['socket s', 'connect s server 8848 => ok', `recv-eof s => ${recvResult}`, 'close s'] });

/**
 * listen(1): c1 completes and waits in the queue; c2's final ACK is lost, so c2 is half-open
 * on the server (established on its own side) when c3 completes and fills the queue. The ACK
 * that the server's retransmitted SYN,ACK draws from c2 finds the queue full.
 */
function thirdAckOverflow(abortOnOverflow: boolean): ConformanceSpec {
  const accepts = abortOnOverflow ? ['accept srv a', 'accept srv b'] : ['accept srv a', 'accept srv b', 'accept srv c'];
  const closes = abortOnOverflow ? ['close a', 'close b'] : ['close a', 'close b', 'close c'];
  return {
    stack: { abortOnOverflow },
    hosts: ['server', 'c1', 'c2', 'c3'],
    dropLink: [{ from: 'c2', to: 'server', index: 1 }],
    programs: [
      { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv 1', 'sleep 4500ms', ...accepts, 'sleep 1s', ...closes, 'close srv'] },
      client('c1', 10 * MS, 'eof'),
      client('c2', 20 * MS, abortOnOverflow ? 'ECONNRESET' : 'eof'),
      client('c3', 30 * MS, 'eof'),
    ],
  };
}

const HANDSHAKES = [
  '0.010000 c1 > server [S] seq 0 mss 1460',
  '0.011000 server > c1 [S.] seq 0 ack 1 mss 1460',
  '0.012000 c1 > server [.] seq 1 ack 1',
  '0.020000 c2 > server [S] seq 0 mss 1460',
  '0.021000 server > c2 [S.] seq 0 ack 1 mss 1460',
  '0.022000 c2 > server [.] seq 1 ack 1 (dropped)',
  '0.030000 c3 > server [S] seq 0 mss 1460',
  '0.031000 server > c3 [S.] seq 0 ack 1 mss 1460',
  '0.032000 c3 > server [.] seq 1 ack 1',
];

describe('the accept queue', () => {
  it('C3: listen(1) admits 2 connections; a third SYN is dropped without an answer until accept() makes room', () => {
    // Arrange: nobody accepts until 2.5 s.
    const spec: ConformanceSpec = {
      hosts: ['server', 'c1', 'c2', 'c3'],
      programs: [
        { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv 1', 'sleep 2500ms', 'accept srv a', 'sleep 3s', 'close a', 'close srv'] },
        { host: 'c1', startUs: 10 * MS, steps: ['socket s', 'connect s server 8848 => ok', 'recv-eof s => eof', 'close s'] },
        { host: 'c2', startUs: 20 * MS, steps: ['socket s', 'connect s server 8848 => ok', 'recv-eof s => ECONNRESET', 'close s'] },
        { host: 'c3', startUs: 30 * MS, steps: ['socket s', 'connect s server 8848 => ok', 'recv-eof s => ECONNRESET', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: c3's SYNs at 0.03, 1.03 and 2.03 s meet a full queue (2 > backlog 1) and get
    // nothing (Linux counts them as ListenOverflows); they are 1 s apart (tcp_syn_linear_timeouts).
    // The one at 3.03 s finds the room accept() made at 2.5 s. Closing the listener resets the
    // two connections still queued, c2 and c3 (RST,ACK at their SND.NXT and RCV.NXT).
    expect(run.wire({ time: true })).toEqual([
      '0.010000 c1 > server [S] seq 0 mss 1460',
      '0.011000 server > c1 [S.] seq 0 ack 1 mss 1460',
      '0.012000 c1 > server [.] seq 1 ack 1',
      '0.020000 c2 > server [S] seq 0 mss 1460',
      '0.021000 server > c2 [S.] seq 0 ack 1 mss 1460',
      '0.022000 c2 > server [.] seq 1 ack 1',
      '0.030000 c3 > server [S] seq 0 mss 1460',
      '1.030000 c3 > server [S] seq 0 mss 1460',
      '2.030000 c3 > server [S] seq 0 mss 1460',
      '3.030000 c3 > server [S] seq 0 mss 1460',
      '3.031000 server > c3 [S.] seq 0 ack 1 mss 1460',
      '3.032000 c3 > server [.] seq 1 ack 1',
      '5.500000 server > c1 [F.] seq 1 ack 1',
      '5.500000 server > c2 [R.] seq 1 ack 1',
      '5.500000 server > c3 [R.] seq 1 ack 1',
      '5.501000 c1 > server [F.] seq 1 ack 2',
      '5.502000 server > c1 [.] seq 2 ack 2',
    ]);
    expect(run.mismatches()).toEqual([]);
  });

  it('C3: a lost final ACK, with the queue full when the next one comes (tcp_abort_on_overflow = 0): the ACK is ignored and the SYN,ACK retransmitted (1, 3, 7 s) until accept() makes room', () => {
    // Arrange
    const spec = thirdAckOverflow(false);
    // Act
    const run = runConformance(spec);
    // Assert: the SYN,ACK timer runs exponentially from 1 s (reqsk_timer_handler), undisturbed
    // by the ACKs it draws while the queue is full; accept() empties the queue at 4.5 s and the
    // ACK drawn at 7.02 s completes the handshake (server SYN-RECEIVED => ESTABLISHED at 7.023).
    expect(run.wire({ time: true })).toEqual([
      ...HANDSHAKES,
      '1.021000 server > c2 [S.] seq 0 ack 1 mss 1460',
      '1.022000 c2 > server [.] seq 1 ack 1',
      '3.021000 server > c2 [S.] seq 0 ack 1 mss 1460',
      '3.022000 c2 > server [.] seq 1 ack 1',
      '7.021000 server > c2 [S.] seq 0 ack 1 mss 1460',
      '7.022000 c2 > server [.] seq 1 ack 1',
      '8.023000 server > c1 [F.] seq 1 ack 1',
      '8.023000 server > c3 [F.] seq 1 ack 1',
      '8.023000 server > c2 [F.] seq 1 ack 1',
      '8.024000 c1 > server [F.] seq 1 ack 2',
      '8.024000 c3 > server [F.] seq 1 ack 2',
      '8.024000 c2 > server [F.] seq 1 ack 2',
      '8.025000 server > c1 [.] seq 2 ack 2',
      '8.025000 server > c3 [.] seq 2 ack 2',
      '8.025000 server > c2 [.] seq 2 ack 2',
    ]);
    expect(run.states({ time: true, host: 'server' }).filter((line) => line.includes('SYN-RECEIVED=>'))).toEqual([
      '0.013000 server.8848 SYN-RECEIVED=>ESTABLISHED',
      '0.033000 server.8848 SYN-RECEIVED=>ESTABLISHED',
      '7.023000 server.8848 SYN-RECEIVED=>ESTABLISHED',
    ]);
    // The third accept() returns c2 when its handshake completes.
    expect(run.returnTimes(0)[6]).toBe(7_023_000);
    expect(run.mismatches()).toEqual([]);
  });

  it('C3: the same with tcp_abort_on_overflow = 1: the ACK is answered <SEQ=SEG.ACK><CTL=RST>, the request is gone, the client sees ECONNRESET', () => {
    // Arrange
    const spec = thirdAckOverflow(true);
    // Act
    const run = runConformance(spec);
    // Assert: Linux tcp_check_req (listen_overflow, embryonic_reset) resets as for no connection.
    expect(run.wire({ time: true })).toEqual([
      ...HANDSHAKES,
      '1.021000 server > c2 [S.] seq 0 ack 1 mss 1460',
      '1.022000 c2 > server [.] seq 1 ack 1',
      '1.023000 server > c2 [R] seq 1',
      '5.500000 server > c1 [F.] seq 1 ack 1',
      '5.500000 server > c3 [F.] seq 1 ack 1',
      '5.501000 c1 > server [F.] seq 1 ack 2',
      '5.501000 c3 > server [F.] seq 1 ack 2',
      '5.502000 server > c1 [.] seq 2 ack 2',
      '5.502000 server > c3 [.] seq 2 ack 2',
    ]);
    expect(run.states({ time: true, causes: true }).filter((line) => line.startsWith('1.'))).toEqual([
      '1.023000 server.8848 SYN-RECEIVED=>LISTEN (accept queue overflow (tcp_abort_on_overflow))',
      '1.024000 c2.38155 ESTABLISHED=>CLOSED (rcv RST)',
    ]);
    expect(run.results(2)).toEqual(['ok', 'ok', 'ECONNRESET', 'ok']);
    expect(run.mismatches()).toEqual([]);
  });

  it('C3: closing a listener resets the connections queued in it (RST,ACK acking what they sent) and drops a half-open one silently; its data then meets no connection', () => {
    // Arrange: c3's final ACK is lost, so it is half-open on the server; c1 (which sent 5
    // bytes) and c2 wait in the queue; the listener closes at 0.5 s, before any SYN,ACK timer.
    const spec: ConformanceSpec = {
      hosts: ['server', 'c1', 'c2', 'c3'],
      dropLink: [{ from: 'c3', to: 'server', index: 1 }],
      programs: [
        { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv 1', 'sleep 500ms', 'close srv', 'sleep 2s'] },
        { host: 'c3', startUs: 10 * MS, steps: ['socket s', 'connect s server 8848 => ok', 'sleep 800ms', 'send s 10', 'recv-eof s => ECONNRESET', 'close s'] },
        { host: 'c1', startUs: 20 * MS, steps: ['socket s', 'connect s server 8848 => ok', 'send s 5', 'recv-eof s => ECONNRESET', 'close s'] },
        { host: 'c2', startUs: 30 * MS, steps: ['socket s', 'connect s server 8848 => ok', 'recv-eof s => ECONNRESET', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: inet_csk_listen_stop disconnects each queued child (tcp_disconnect sends RST,ACK);
    // the request of c3 goes without a segment, no SYN,ACK follows at 1.011 s, and c3's data
    // at 0.812 s is answered as §3.10.7.1 answers a segment for no connection.
    expect(run.wire({ time: true })).toEqual([
      '0.010000 c3 > server [S] seq 0 mss 1460',
      '0.011000 server > c3 [S.] seq 0 ack 1 mss 1460',
      '0.012000 c3 > server [.] seq 1 ack 1 (dropped)',
      '0.020000 c1 > server [S] seq 0 mss 1460',
      '0.021000 server > c1 [S.] seq 0 ack 1 mss 1460',
      '0.022000 c1 > server [.] seq 1 ack 1',
      '0.022000 c1 > server [P.] seq 1 ack 1 len 5',
      '0.023000 server > c1 [.] seq 1 ack 6',
      '0.030000 c2 > server [S] seq 0 mss 1460',
      '0.031000 server > c2 [S.] seq 0 ack 1 mss 1460',
      '0.032000 c2 > server [.] seq 1 ack 1',
      '0.500000 server > c1 [R.] seq 1 ack 6',
      '0.500000 server > c2 [R.] seq 1 ack 1',
      '0.812000 c3 > server [P.] seq 1 ack 1 len 10',
      '0.813000 server > c3 [R] seq 1',
    ]);
    expect(run.states({ time: true, causes: true, host: 'server' }).filter((line) => line.startsWith('0.500'))).toEqual([
      '0.500000 server.8848 SYN-RECEIVED=>LISTEN (listener closed (request dropped))',
      '0.500000 server.8848 ESTABLISHED=>CLOSED (listener closed)',
      '0.500000 server.8848 ESTABLISHED=>CLOSED (listener closed)',
    ]);
    expect(run.mismatches()).toEqual([]);
  });
});
