/**
 * shutdown(SHUT_RD) (issue #10 item 9), as Linux does it: tcp_shutdown acts only on the sending
 * side, so SHUT_RD sends nothing and sets RCV_SHUTDOWN. recv() then returns end-of-file at once,
 * but data that arrives later is still ACKed and queued (tcp_data_queue does not look at
 * RCV_SHUTDOWN) and recv() returns it before the end-of-file (tcp_recvmsg reads the queue
 * first); close() with that data unread sends RST (tcp_close's data_was_unread); and once our
 * FIN has gone (SHUT_RDWR), new data resets the connection (tcp_rcv_state_process, FIN-WAIT-1/2
 * with RCV_SHUTDOWN). The first two match google/packetdrill's shutdown-rd-wr-close.pkt, which
 * passes on this machine's Linux 6.18.44 and on the reference.
 */
import { describe, expect, it } from 'vitest';
import { runConformance } from './harness.js';

const SERVER = ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c'];

describe('shutdown(SHUT_RD)', () => {
  it('recv returns end-of-file at once; data that arrives later is ACKed, queued and read, then end-of-file again', () => {
    // Arrange: the server shuts its reading side at once; the client sends 100 bytes 10 ms later.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'shutdown c rd', 'recv c 100 => eof', 'sleep 20ms', 'recv c 100 => recv 100', 'recv c 100 => eof', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'send s 100', 'recv-eof s', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: nothing is sent for SHUT_RD; the data gets its (quick) ACK as usual; the
    // server's close after reading everything is a graceful FIN, which the client (it received
    // no data) answers within the tick with its own: FIN, FIN+ACK, ACK.
    expect(run.mismatches()).toEqual([]);
    expect(run.returnTimes(0)[5]).toBe(run.returnTimes(0)[4]);
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.012000 client > server [P.] seq 1 ack 1 len 100',
      '0.013000 server > client [.] seq 1 ack 101',
      '0.023000 server > client [F.] seq 1 ack 101',
      '0.024000 client > server [F.] seq 101 ack 2',
      '0.025000 server > client [.] seq 2 ack 102',
    ]);
  });

  it('close() with data that arrived after SHUT_RD unread sends RST,ACK (Linux tcp_close data_was_unread); the peer gets ECONNRESET', () => {
    // Arrange: as above, but the server closes without reading.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'shutdown c rd', 'sleep 20ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'send s 100', 'recv s 10', 'send s 10'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.012000 client > server [P.] seq 1 ack 1 len 100',
      '0.013000 server > client [.] seq 1 ack 101',
      '0.023000 server > client [R.] seq 1 ack 101',
    ]);
    expect(run.states({ causes: true }).slice(4)).toEqual(['server.8848 ESTABLISHED=>CLOSED (close with unread data)', 'client.51560 ESTABLISHED=>CLOSED (rcv RST)']);
    expect(run.results(1).slice(-2)).toEqual(['ECONNRESET', 'EPIPE']);
  });

  it('after SHUT_RDWR, data in FIN-WAIT-2 resets the connection: <SEQ=SEG.ACK><CTL=RST>, and recv reports ECONNRESET', () => {
    // Arrange: the server shuts both sides at once (its FIN goes) and reads 30 ms later; the
    // client, in CLOSE-WAIT, still sends 100 bytes at 10 ms.
    const spec = {
      programs: [
        { host: 'server', steps: [...SERVER, 'shutdown c rdwr', 'sleep 30ms', 'recv c 100', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'send s 100', 'sleep 10ms', 'send s 10'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: tcp_rcv_state_process answers the data with tcp_v4_send_reset and tcp_reset gives
    // the still-open socket ECONNRESET (sk_err comes before RCV_SHUTDOWN in tcp_recvmsg).
    expect(run.wire({ time: true }).slice(3)).toEqual([
      '0.003000 server > client [F.] seq 1 ack 1',
      '0.008000 client > server [.] seq 1 ack 2',
      '0.012000 client > server [P.] seq 1 ack 2 len 100',
      '0.013000 server > client [R] seq 2',
    ]);
    expect(run.states({ causes: true }).slice(-2)).toEqual(['server.8848 FIN-WAIT-2=>CLOSED (data after shutdown(SHUT_RD))', 'client.51560 CLOSE-WAIT=>CLOSED (rcv RST)']);
    expect(run.results(0).slice(-2)).toEqual(['ECONNRESET', 'ok']);
  });
});
