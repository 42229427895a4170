/**
 * C5–C7: closing a connection (four-way, half-close, three-way), and the other ways a
 * connection's data and close interact: simultaneous close, close with unread data, data
 * after close, MSS segmentation, out-of-order reassembly, zero windows, and sequence numbers
 * that wrap past 2^32. Links are clean with a 1 ms one-way delay unless a test says otherwise.
 */
import { describe, expect, it } from 'vitest';
import { MS, runConformance } from './harness.js';

const SERVER = ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c'];
const HANDSHAKE = ['client > server [S] seq 0 mss 1460', 'server > client [S.] seq 0 ack 1 mss 1460', 'client > server [.] seq 1 ack 1'];

describe('three-way and four-way close', () => {
  it('C7: the article\'s capture — client 44722 closes, server 8848 answers FIN+ACK in one segment, client ACKs: three segments', () => {
    // Arrange: the server reads to EOF and closes at once.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'bind s 44722', 'connect s server 8848', 'sleep 10ms', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: Linux tcp_fin enters ping-pong mode, so the ACK of the FIN waits for the delayed-
    // ACK timer (no data came, so only until the next tick: scheduleAck); the application closes
    // within it and the ACK rides on its FIN.
    expect(run.wire({ ports: true, time: true }).slice(3)).toEqual([
      '0.012000 client.44722 > server.8848 [F.] seq 1 ack 1',
      '0.013000 server.8848 > client.44722 [F.] seq 1 ack 2',
      '0.014000 client.44722 > server.8848 [.] seq 2 ack 2',
    ]);
    expect(run.states({ time: true }).slice(4)).toEqual([
      '0.012000 client.44722 ESTABLISHED=>FIN-WAIT-1',
      '0.013000 server.8848 ESTABLISHED=>CLOSE-WAIT',
      '0.013000 server.8848 CLOSE-WAIT=>LAST-ACK',
      '0.014000 client.44722 FIN-WAIT-1=>FIN-WAIT-2',
      '0.014000 client.44722 FIN-WAIT-2=>TIME-WAIT',
      '0.015000 server.8848 LAST-ACK=>CLOSED',
      '60.014000 client.44722 TIME-WAIT=>CLOSED',
    ]);
    expect(run.timeWaitHolders()).toEqual(['client.44722']);
  });

  it('C5: four segments when the passive closer waits longer than the 40 ms delayed ACK', () => {
    // Arrange: the client sends 5 bytes (data sets the delayed-ACK timeout); the server sleeps
    // 100 ms between EOF and close.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'sleep 100ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 5', 'sleep 10ms', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: FIN, ACK (40 ms after the FIN arrived), FIN, ACK.
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.002000 client > server [P.] seq 1 ack 1 len 5',
      '0.003000 server > client [.] seq 1 ack 6',
      '0.012000 client > server [F.] seq 6 ack 1',
      '0.053000 server > client [.] seq 1 ack 7',
      '0.113000 server > client [F.] seq 1 ack 7',
      '0.114000 client > server [.] seq 7 ack 2',
    ]);
    // The passive closer's application sees EOF as soon as the FIN arrives (C5).
    expect(run.calls(0)[4]).toBe('recv(c) until EOF = eof');
    expect(run.returnTimes(0)[4]).toBe(13 * MS);
    expect(run.states({ time: true }).slice(4)).toEqual([
      '0.012000 client.51560 ESTABLISHED=>FIN-WAIT-1',
      '0.013000 server.8848 ESTABLISHED=>CLOSE-WAIT',
      '0.054000 client.51560 FIN-WAIT-1=>FIN-WAIT-2',
      '0.113000 server.8848 CLOSE-WAIT=>LAST-ACK',
      '0.114000 client.51560 FIN-WAIT-2=>TIME-WAIT',
      '0.115000 server.8848 LAST-ACK=>CLOSED',
      '60.114000 client.51560 TIME-WAIT=>CLOSED',
    ]);
  });

  it('C5: a FIN before any data is ACKed within a tick (Linux icsk_ack.ato is 0 until data arrives): a close 10 ms later takes four segments, one inside the tick three', () => {
    // Arrange: the client connects and closes without sending anything; one server closes
    // 10 ms after end-of-file, the other as soon as it reads it.
    const later = {
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'sleep 10ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'close s'] },
      ],
    };
    const atOnce = {
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(later);
    const prompt = runConformance(atOnce);
    // Assert: tcp_fin enters ping-pong mode, but no data has set the delayed-ACK timeout, so
    // tcp_send_delayed_ack arms its timer for the current jiffy: it fires at the next tick
    // (jiffyUs 4 ms; the FIN arrives at 13 ms, the tick is at 16 ms), long before the close at
    // 23 ms. Linux 6.18 (timewait kernel, the same programs): the pure ACK 0.8 ms after the FIN,
    // the server's FIN 10 ms later.
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.012000 client > server [F.] seq 1 ack 1',
      '0.016000 server > client [.] seq 1 ack 2',
      '0.023000 server > client [F.] seq 1 ack 2',
      '0.024000 client > server [.] seq 2 ack 2',
    ]);
    expect(run.states({ time: true }).slice(4)).toEqual([
      '0.012000 client.51560 ESTABLISHED=>FIN-WAIT-1',
      '0.013000 server.8848 ESTABLISHED=>CLOSE-WAIT',
      '0.017000 client.51560 FIN-WAIT-1=>FIN-WAIT-2',
      '0.023000 server.8848 CLOSE-WAIT=>LAST-ACK',
      '0.024000 client.51560 FIN-WAIT-2=>TIME-WAIT',
      '0.025000 server.8848 LAST-ACK=>CLOSED',
      '60.024000 client.51560 TIME-WAIT=>CLOSED',
    ]);
    // A close inside the tick finds the ACK still pending and sends it on its FIN, as Linux does
    // for a packetdrill close() at +0 (examples/packetdrill/c07-three-way-close-8848.pkt).
    expect(prompt.wire({ time: true }).slice(3)).toEqual([
      '0.012000 client > server [F.] seq 1 ack 1',
      '0.013000 server > client [F.] seq 1 ack 2',
      '0.014000 client > server [.] seq 2 ack 2',
    ]);
  });

  it('C5: data in one direction only: the side that received data holds the FIN\'s ACK for 40 ms, the side that received none for a tick', () => {
    // Arrange: the server closes first, 10 ms after the handshake, and the client closes 5 ms
    // after end-of-file; in one run only the server sends (5 bytes), in the other only the client.
    const serverSends = {
      programs: [
        { host: 'server', steps: [...SERVER, 'send c 5', 'sleep 10ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'recv-eof s', 'sleep 5ms', 'close s'] },
      ],
    };
    const clientSends = {
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 5', 'sleep 10ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 5', 'recv-eof s', 'sleep 5ms', 'close s'] },
      ],
    };
    // Act
    const received = runConformance(serverSends);
    const none = runConformance(clientSends);
    // Assert: the client that received data holds its ACK of the server's FIN (40 ms, ping-pong)
    // and sends it on its own FIN, 5 ms later: three segments (C7). The client that received
    // nothing ACKs the FIN at the next tick (16 ms), before its close at 19 ms: four segments.
    expect(received.wire({ time: true }).slice(5)).toEqual([
      '0.013000 server > client [F.] seq 6 ack 1',
      '0.019000 client > server [F.] seq 1 ack 7',
      '0.020000 server > client [.] seq 7 ack 2',
    ]);
    expect(none.wire({ time: true }).slice(5)).toEqual([
      '0.013000 server > client [F.] seq 1 ack 6',
      '0.016000 client > server [.] seq 6 ack 2',
      '0.019000 client > server [F.] seq 6 ack 2',
      '0.020000 server > client [.] seq 2 ack 7',
    ]);
  });

  it('C5: EOF comes after the data already queued; a passive closer that sends data first ACKs the FIN on it', () => {
    // Arrange: the client sends 300 bytes and half-closes; the server reads them, sees EOF,
    // sends 100 bytes and closes.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'sleep 5ms', 'recv c 300', 'recv-eof c', 'send c 100', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 300', 'shutdown s wr', 'recv-eof s', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.002000 client > server [P.] seq 1 ack 1 len 300',
      '0.002000 client > server [F.] seq 301 ack 1',
      '0.003000 server > client [.] seq 1 ack 301',
      // The FIN's ACK (delayed, ping-pong) leaves with the server's data.
      '0.008000 server > client [P.] seq 1 ack 302 len 100',
      '0.008000 server > client [F.] seq 101 ack 302',
      '0.009000 client > server [.] seq 302 ack 101',
      '0.009000 client > server [.] seq 302 ack 102',
    ]);
    expect(run.results(0).slice(4)).toEqual(['ok', 'recv 300', 'eof', 'sent 100', 'ok']);
    expect(run.streams().summary).toEqual(['client.51560 sent 300 received 100', 'server.8848 sent 100 received 300']);
    expect(run.streams().problems).toEqual([]);
    expect(run.timeWaitHolders()).toEqual(['client.51560']);
  });

  it('C5: an active closer that called close() (not shutdown) answers data that still arrives with RST', () => {
    // Arrange: as above, but the client closes its socket instead of half-closing it.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'sleep 5ms', 'recv c 300', 'recv-eof c', 'send c 100', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 300', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: nobody can read the 100 bytes, so the orphaned FIN-WAIT-2 connection resets
    // (Linux TCPAbortOnData) with <SEQ=SEG.ACK><CTL=RST>; the server's FIN then finds no
    // connection and gets the same answer (RFC 9293 §3.10.7.1). Nobody enters TIME-WAIT.
    expect(run.wire({ time: true }).slice(6)).toEqual([
      '0.008000 server > client [P.] seq 1 ack 302 len 100',
      '0.008000 server > client [F.] seq 101 ack 302',
      '0.009000 client > server [R] seq 302',
      '0.009000 client > server [R] seq 302',
    ]);
    expect(run.states({ causes: true }).slice(-4)).toEqual([
      'server.8848 CLOSE-WAIT=>LAST-ACK (close)',
      // The data segment carries the (delayed) ACK of the client's FIN, then its text resets.
      'client.51560 FIN-WAIT-1=>FIN-WAIT-2 (rcv ACK of FIN)',
      'client.51560 FIN-WAIT-2=>CLOSED (data after close)',
      'server.8848 LAST-ACK=>CLOSED (rcv RST)',
    ]);
    expect(run.timeWaitHolders()).toEqual([]);
  });

  it('C6: half-close — after shutdown(SHUT_WR) the passive closer\'s data still arrives, then its FIN', () => {
    // Arrange
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 500', 'recv-eof c', 'send c 3000', 'sleep 100ms', 'send c 100', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 500', 'shutdown s wr', 'send s 1', 'recv s 3100', 'recv-eof s', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: between the ACK of the client's FIN (carried by the server's data) and the
    // server's FIN, 3100 bytes flow from the passive closer to the active closer.
    expect(run.wire({ time: true })).toEqual([
      ...HANDSHAKE.map((line, i) => `0.00${i}000 ${line}`),
      '0.002000 client > server [P.] seq 1 ack 1 len 500',
      '0.002000 client > server [F.] seq 501 ack 1',
      '0.003000 server > client [.] seq 1 ack 501',
      '0.003000 server > client [P.] seq 1 ack 502 len 1448',
      '0.003000 server > client [P.] seq 1449 ack 502 len 1448',
      '0.003000 server > client [P.] seq 2897 ack 502 len 104',
      '0.004000 client > server [.] seq 502 ack 1449',
      '0.004000 client > server [.] seq 502 ack 2897',
      '0.004000 client > server [.] seq 502 ack 3001',
      '0.103000 server > client [P.] seq 3001 ack 502 len 100',
      '0.103000 server > client [F.] seq 3101 ack 502',
      '0.104000 client > server [.] seq 502 ack 3101',
      '0.104000 client > server [.] seq 502 ack 3102',
    ]);
    // send after shutdown(SHUT_WR) is EPIPE; recv still gets everything, then EOF.
    expect(run.results(1)).toEqual(['ok', 'ok', 'sent 500', 'ok', 'EPIPE', 'recv 3100', 'eof', 'ok']);
    expect(run.states({ host: 'client' })).toEqual([
      'client.51560 CLOSED=>SYN-SENT',
      'client.51560 SYN-SENT=>ESTABLISHED',
      'client.51560 ESTABLISHED=>FIN-WAIT-1',
      'client.51560 FIN-WAIT-1=>FIN-WAIT-2',
      'client.51560 FIN-WAIT-2=>TIME-WAIT',
      'client.51560 TIME-WAIT=>CLOSED',
    ]);
    expect(run.streams().problems).toEqual([]);
  });

  it('C5: simultaneous close — both FIN-WAIT-1, both CLOSING, both TIME-WAIT', () => {
    // Arrange: both close at 13 ms, so the FINs cross.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'sleep 10ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 11ms', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: RFC 9293 §3.6 Figure 13.
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.013000 client > server [F.] seq 1 ack 1',
      '0.013000 server > client [F.] seq 1 ack 1',
      '0.014000 server > client [.] seq 2 ack 2',
      '0.014000 client > server [.] seq 2 ack 2',
    ]);
    expect(run.states({ time: true }).slice(4)).toEqual([
      '0.013000 client.51560 ESTABLISHED=>FIN-WAIT-1',
      '0.013000 server.8848 ESTABLISHED=>FIN-WAIT-1',
      '0.014000 server.8848 FIN-WAIT-1=>CLOSING',
      '0.014000 client.51560 FIN-WAIT-1=>CLOSING',
      '0.015000 client.51560 CLOSING=>TIME-WAIT',
      '0.015000 server.8848 CLOSING=>TIME-WAIT',
      '60.015000 client.51560 TIME-WAIT=>CLOSED',
      '60.015000 server.8848 TIME-WAIT=>CLOSED',
    ]);
    expect(run.timeWaitHolders()).toEqual(['client.51560', 'server.8848']);
  });
});

describe('resets instead of a close', () => {
  it('C5: close with unread data sends RST,ACK instead of FIN; the peer\'s recv reports ECONNRESET, then EOF, and send EPIPE', () => {
    // Arrange: the server never reads the client's 100 bytes.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'sleep 10ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 100', 'recv s 10', 'recv s 10', 'send s 10'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: Linux tcp_close, RFC 2525 §2.17: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>.
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.002000 client > server [P.] seq 1 ack 1 len 100',
      '0.003000 server > client [.] seq 1 ack 101',
      '0.013000 server > client [R.] seq 1 ack 101',
    ]);
    expect(run.results(1)).toEqual(['ok', 'ok', 'sent 100', 'ECONNRESET', 'eof', 'EPIPE']);
    expect(run.states({ causes: true }).slice(4)).toEqual(['server.8848 ESTABLISHED=>CLOSED (close with unread data)', 'client.51560 ESTABLISHED=>CLOSED (rcv RST)']);
    expect(run.timeWaitHolders()).toEqual([]);
  });

  it('C5: data arriving after close is answered <SEQ=SEG.ACK><CTL=RST>; the peer in CLOSE-WAIT gets EPIPE', () => {
    // Arrange: the server closes at once; the client, in CLOSE-WAIT, sends 100 bytes.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'send s 100', 'sleep 10ms', 'recv s 10', 'send s 10', 'send s 10', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: Linux tcp_rcv_state_process resets an orphaned FIN-WAIT connection that gets new
    // data, answering the segment itself (tcp_v4_send_reset: RST, seq = its ack, no ACK bit).
    // The client received no data before the FIN, so it ACKs the FIN at the next tick, 8 ms
    // (icsk_ack.ato = 0; before, this test had the ACK wait 40 ms and ride on the data).
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.003000 server > client [F.] seq 1 ack 1',
      '0.008000 client > server [.] seq 1 ack 2',
      '0.012000 client > server [P.] seq 1 ack 2 len 100',
      '0.013000 server > client [R] seq 2',
    ]);
    expect(run.states({ causes: true }).slice(4)).toEqual([
      'server.8848 ESTABLISHED=>FIN-WAIT-1 (close)',
      'client.51560 ESTABLISHED=>CLOSE-WAIT (rcv FIN)',
      'server.8848 FIN-WAIT-1=>FIN-WAIT-2 (rcv ACK of FIN)',
      'server.8848 FIN-WAIT-2=>CLOSED (data after close)',
      'client.51560 CLOSE-WAIT=>CLOSED (rcv RST)',
    ]);
    // Linux tcp_reset gives EPIPE in CLOSE-WAIT; recv sees the FIN's EOF first (SOCK_DONE).
    expect(run.results(1)).toEqual(['ok', 'ok', 'ok', 'sent 100', 'ok', 'eof', 'EPIPE', 'EPIPE', 'ok']);
    expect(run.timeWaitHolders()).toEqual([]);
  });
});

describe('data transfer on the way to the close', () => {
  it('C5: a 5000-byte send leaves as MSS-sized segments 1448, 1448, 1448, 656 (MSS 1460 less 12 bytes of timestamps), then the FIN', () => {
    // Arrange
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 5000', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 5000', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire()).toEqual([
      ...HANDSHAKE,
      'client > server [P.] seq 1 ack 1 len 1448',
      'client > server [P.] seq 1449 ack 1 len 1448',
      'client > server [P.] seq 2897 ack 1 len 1448',
      'client > server [P.] seq 4345 ack 1 len 656',
      'client > server [F.] seq 5001 ack 1',
      'server > client [.] seq 1 ack 1449',
      'server > client [.] seq 1 ack 2897',
      'server > client [.] seq 1 ack 4345',
      'server > client [.] seq 1 ack 5001',
      'server > client [F.] seq 1 ack 5002',
      'client > server [.] seq 5002 ack 2',
    ]);
    expect(run.streams().problems).toEqual([]);
  });

  it('C5: a lost middle segment — later ones wait out of order (duplicate ACKs), the retransmission fills the gap, EOF follows', () => {
    // Arrange: lose segment 4, the second data segment (seq 1449).
    const spec = {
      dropWire: [4],
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 5000', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 5000', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: every out-of-order arrival (the FIN too) is answered with a duplicate ACK at once
    // (RFC 5681 §4.2); the retransmission timer (restarted by the ACK of the first segment at
    // 4 ms, RTO 202 ms) resends the gap; one ACK then covers everything and the FIN.
    expect(run.wire({ time: true, rtx: true }).slice(3)).toEqual([
      '0.002000 client > server [P.] seq 1 ack 1 len 1448',
      '0.002000 client > server [P.] seq 1449 ack 1 len 1448 (dropped)',
      '0.002000 client > server [P.] seq 2897 ack 1 len 1448',
      '0.002000 client > server [P.] seq 4345 ack 1 len 656',
      '0.002000 client > server [F.] seq 5001 ack 1',
      '0.003000 server > client [.] seq 1 ack 1449',
      '0.003000 server > client [.] seq 1 ack 1449',
      '0.003000 server > client [.] seq 1 ack 1449',
      '0.003000 server > client [.] seq 1 ack 1449',
      '0.206000 client > server [P.] seq 1449 ack 1 len 1448 (rtx)',
      '0.207000 server > client [.] seq 1 ack 5002',
      '0.207000 server > client [F.] seq 1 ack 5002',
      '0.208000 client > server [.] seq 5002 ack 2',
    ]);
    expect(run.results(0).slice(4)).toEqual(['recv 5000', 'eof', 'ok']);
    expect(run.streams().problems).toEqual([]);
  });

  it('C5: when a retransmission fills the gap before a FIN that waited out of order, the FIN is ACKed at once, not after the delayed-ACK timer', () => {
    // Arrange: lose the client's only data segment; its FIN arrives out of order.
    const spec = {
      dropWire: [3],
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 100', 'recv-eof c', 'sleep 100ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 100', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: RFC 5681 §4.2 and Linux (ICSK_ACK_NOW when the out-of-order queue empties): the
    // ACK goes at 205 ms, not 40 ms later as a FIN in order would have it (ping-pong, C7).
    // The retransmission carries the FIN too (Linux tcp_retrans_try_collapse).
    expect(run.wire({ time: true, rtx: true }).slice(3)).toEqual([
      '0.002000 client > server [P.] seq 1 ack 1 len 100 (dropped)',
      '0.002000 client > server [F.] seq 101 ack 1',
      '0.003000 server > client [.] seq 1 ack 1',
      '0.204000 client > server [FP.] seq 1 ack 1 len 100 (rtx)',
      '0.205000 server > client [.] seq 1 ack 102',
      '0.305000 server > client [F.] seq 1 ack 102',
      '0.306000 client > server [.] seq 102 ack 2',
    ]);
    expect(run.streams().problems).toEqual([]);
  });

  it('C5: a zero window holds the rest of the data; probes (SND.UNA-1) back off 202, 404, 808 ms, answered at most every 500 ms, until a read reopens it', () => {
    // Arrange: the server's receive buffer holds two segments and it reads only after 2.5 s.
    const spec = {
      hostStacks: { server: { receiveBufferBytes: 2920 } },
      programs: [
        { host: 'server', steps: [...SERVER, 'sleep 2500ms', 'recv c 4000', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 4000', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: RFC 9293 §3.8.6.1 zero-window probing, Linux style (tcp_xmit_probe_skb: an ACK
    // at SND.UNA-1 the receiver must answer), first after one RTO, then doubling. The read at
    // 2.503 s sends a window update (Linux tcp_cleanup_rbuf); the rest leaves with the FIN.
    expect(run.wire({ time: true, win: true })).toEqual([
      '0.000000 client > server [S] seq 0 win 65535 mss 1460',
      '0.001000 server > client [S.] seq 0 ack 1 win 2920 mss 1460',
      '0.002000 client > server [.] seq 1 ack 1 win 511',
      '0.002000 client > server [P.] seq 1 ack 1 len 1448 win 511',
      '0.002000 client > server [P.] seq 1449 ack 1 len 1448 win 511',
      '0.002000 client > server [P.] seq 2897 ack 1 len 24 win 511',
      '0.003000 server > client [.] seq 1 ack 1449 win 11',
      '0.003000 server > client [.] seq 1 ack 2897 win 0',
      '0.003000 server > client [.] seq 1 ack 2921 win 0',
      '0.206000 client > server [.] seq 2920 ack 1 win 511',
      '0.207000 server > client [.] seq 1 ack 2921 win 0',
      // 0.404 s after the last answer: inside Linux's 500 ms tcp_invalid_ratelimit, no answer.
      '0.610000 client > server [.] seq 2920 ack 1 win 511',
      '1.418000 client > server [.] seq 2920 ack 1 win 511',
      '1.419000 server > client [.] seq 1 ack 2921 win 0',
      '2.503000 server > client [.] seq 1 ack 2921 win 22',
      '2.504000 client > server [FP.] seq 2921 ack 1 len 1080 win 511',
      '2.505000 server > client [F.] seq 1 ack 4002 win 22',
      '2.506000 client > server [.] seq 4002 ack 2 win 511',
    ]);
    expect(run.results(0).slice(4)).toEqual(['ok', 'recv 4000', 'eof', 'ok']);
    expect(run.streams().problems).toEqual([]);
  });

  it('C5: a FIN waits behind a zero window like data: the sender probes, and sends the FIN once a read reopens the window', () => {
    // Arrange: the client's 2920 bytes fill the server's window exactly; then it closes.
    const spec = {
      hostStacks: { server: { receiveBufferBytes: 2920 } },
      programs: [
        { host: 'server', steps: [...SERVER, 'sleep 1s', 'recv c 2920', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 2920', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: Linux tcp_snd_wnd_test counts the FIN's sequence number, so a FIN does not go
    // into a zero window; the probe timer runs instead (tcp_check_probe_timer).
    expect(run.wire({ time: true, win: true }).slice(3)).toEqual([
      '0.002000 client > server [P.] seq 1 ack 1 len 1448 win 511',
      '0.002000 client > server [P.] seq 1449 ack 1 len 1448 win 511',
      '0.002000 client > server [P.] seq 2897 ack 1 len 24 win 511',
      '0.003000 server > client [.] seq 1 ack 1449 win 11',
      '0.003000 server > client [.] seq 1 ack 2897 win 0',
      '0.003000 server > client [.] seq 1 ack 2921 win 0',
      '0.206000 client > server [.] seq 2920 ack 1 win 511',
      '0.207000 server > client [.] seq 1 ack 2921 win 0',
      '0.610000 client > server [.] seq 2920 ack 1 win 511',
      '1.003000 server > client [.] seq 1 ack 2921 win 22',
      '1.004000 client > server [F.] seq 2921 ack 1 win 511',
      '1.005000 server > client [F.] seq 1 ack 2922 win 22',
      '1.006000 client > server [.] seq 2922 ack 2 win 511',
    ]);
    expect(run.states({ time: true, host: 'client' }).slice(2, 4)).toEqual(['0.002000 client.51560 ESTABLISHED=>FIN-WAIT-1', '1.006000 client.51560 FIN-WAIT-1=>FIN-WAIT-2']);
    expect(run.mismatches()).toEqual([]);
  });

  it('C5: zero-window probes nobody answers give up after tcp_retries2 = 15 probes with ETIMEDOUT', () => {
    // Arrange: the server's window closes, then the server host crashes.
    const spec = {
      hostStacks: { server: { receiveBufferBytes: 2920 } },
      programs: [
        { host: 'server', steps: [...SERVER, 'sleep 100ms', 'crash'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 4000', 'recv s 1', 'send s 1'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: probes back off from one RTO (202 ms) to the 120 s maximum (Linux
    // tcp_probe0_when); after the 15th, the connection is dropped (tcp_probe_timer ->
    // tcp_write_err) and the blocked recv reports ETIMEDOUT.
    const probes = run.sent.filter((w) => w.from === 'client' && w.seg.payload.length === 0 && w.index > 5).map((w) => w.atUs / 1000);
    expect(probes).toEqual([206, 610, 1418, 3034, 6266, 12730, 25658, 51514, 103226, 206650, 326650, 446650, 566650, 686650, 806650]);
    expect(run.states({ time: true, causes: true, host: 'client' }).at(-1)).toBe('926.650000 client.51560 ESTABLISHED=>CLOSED (zero-window probes unanswered)');
    expect(run.results(1)).toEqual(['ok', 'ok', 'sent 4000', 'ETIMEDOUT', 'EPIPE']);
  });

  it('C4: ISNs just below 2^32 — sequence numbers wrap through a whole lifecycle with data both ways', () => {
    // Arrange: both ISNs are 2^32 - 1501, so 1500 bytes in, the numbers wrap to 0.
    const isn = 0xffffffff - 1500;
    const spec = {
      stack: { isn: { kind: 'fixed' as const, value: isn } },
      programs: [
        { host: 'server', steps: [...SERVER, 'recv c 3000', 'send c 3000', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'send s 3000', 'recv s 3000', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: on the wire, the second segment crosses 2^32 and the third starts at 1420.
    expect(run.wire({ absolute: true }).slice(0, 6)).toEqual([
      'client > server [S] seq 4294965795 mss 1460',
      'server > client [S.] seq 4294965795 ack 4294965796 mss 1460',
      'client > server [.] seq 4294965796 ack 4294965796',
      'client > server [P.] seq 4294965796 ack 4294965796 len 1448',
      'client > server [P.] seq 4294967244 ack 4294965796 len 1448',
      'client > server [P.] seq 1396 ack 4294965796 len 104',
    ]);
    expect(run.wire()).toEqual([
      ...HANDSHAKE,
      'client > server [P.] seq 1 ack 1 len 1448',
      'client > server [P.] seq 1449 ack 1 len 1448',
      'client > server [P.] seq 2897 ack 1 len 104',
      'server > client [.] seq 1 ack 1449',
      'server > client [.] seq 1 ack 2897',
      'server > client [.] seq 1 ack 3001',
      'server > client [P.] seq 1 ack 3001 len 1448',
      'server > client [P.] seq 1449 ack 3001 len 1448',
      'server > client [P.] seq 2897 ack 3001 len 104',
      'client > server [.] seq 3001 ack 1449',
      'client > server [.] seq 3001 ack 2897',
      'client > server [.] seq 3001 ack 3001',
      'client > server [F.] seq 3001 ack 3001',
      'server > client [F.] seq 3001 ack 3002',
      'client > server [.] seq 3002 ack 3002',
    ]);
    expect(run.finalStates()).toEqual(['client.51560 CLOSED', 'server.8848 CLOSED']);
    expect(run.streams().problems).toEqual([]);
  });
});
