/**
 * C13–C15: avoiding TIME-WAIT. SO_REUSEADDR and Linux's bind rule (both the old and the new
 * socket must have it, and the old one must not be listening), and SO_LINGER{1,0}, which turns
 * close into an abort with RST.
 */
import { describe, expect, it } from 'vitest';
import { runConformance } from './harness.js';

/**
 * A server on 8848 that closes its connection first (so it holds TIME-WAIT, C11), closes its
 * listener, and restarts at once: `oldReuse`/`newReuse` say which listening socket has
 * SO_REUSEADDR. A second client connects to the restarted server.
 */
function restart(options: { oldReuse: boolean; newReuse: boolean }) {
  const reuse = (sock: string, on: boolean) => (on ? [`reuseaddr ${sock}`] : []);
  return runConformance({
    programs: [
      {
        host: 'server',
        steps: [
          'socket srv',
          ...reuse('srv', options.oldReuse),
          'bind srv 8848',
          'listen srv',
          'accept srv c',
          'close c',
          'close srv',
          'sleep 10ms',
          'socket srv2',
          ...reuse('srv2', options.newReuse),
          'bind srv2 8848',
          'listen srv2',
          'accept srv2 d',
          'recv-eof d',
          'close d',
        ],
      },
      { host: 'client', steps: ['socket s', 'connect s server 8848', 'recv-eof s', 'close s', 'sleep 20ms', 'socket s2', 'connect s2 server 8848', 'close s2'] },
    ],
  });
}

describe('SO_REUSEADDR', () => {
  it('C13: with SO_REUSEADDR on the old and the new listening socket, the restarted server binds 8848 despite its TIME-WAIT and serves again', () => {
    // Act
    const run = restart({ oldReuse: true, newReuse: true });
    // Assert
    expect(run.calls(0).filter((call) => call.includes('srv2'))).toEqual(['srv2 = socket() = ok', 'setsockopt(srv2, SO_REUSEADDR, 1) = ok', 'bind(srv2, 8848) = ok', 'listen(srv2, 16) = ok', 'd = accept(srv2) = ok']);
    // The old connection is still in TIME-WAIT on 8848 while the new one is served on it.
    expect(run.states({ time: true, host: 'server' })).toEqual([
      '0.001000 server.8848 LISTEN=>SYN-RECEIVED',
      '0.003000 server.8848 SYN-RECEIVED=>ESTABLISHED',
      '0.003000 server.8848 ESTABLISHED=>FIN-WAIT-1',
      '0.005000 server.8848 FIN-WAIT-1=>FIN-WAIT-2',
      '0.005000 server.8848 FIN-WAIT-2=>TIME-WAIT',
      '0.025000 server.8848 LISTEN=>SYN-RECEIVED',
      '0.027000 server.8848 SYN-RECEIVED=>ESTABLISHED',
      '0.027000 server.8848 ESTABLISHED=>CLOSE-WAIT',
      '0.027000 server.8848 CLOSE-WAIT=>LAST-ACK',
      '0.029000 server.8848 LAST-ACK=>CLOSED',
      '60.005000 server.8848 TIME-WAIT=>CLOSED',
    ]);
    expect(run.mismatches()).toEqual([]);
  });

  it('C13: SO_REUSEADDR on the new socket only is not enough on Linux: EADDRINUSE', () => {
    // Act
    const run = restart({ oldReuse: false, newReuse: true });
    // Assert: the TIME-WAIT connection keeps the (unset) SO_REUSEADDR of the socket it came
    // from, and Linux inet_csk_bind_conflict needs it on both (linuxBindConflicts).
    expect(run.calls(0).filter((call) => call.includes('srv2')).slice(0, 3)).toEqual(['srv2 = socket() = ok', 'setsockopt(srv2, SO_REUSEADDR, 1) = ok', 'bind(srv2, 8848) = EADDRINUSE']);
    // listen on the unbound socket then binds an ephemeral port, so the client is refused.
    expect(run.results(1).slice(-2)).toEqual(['ECONNREFUSED', 'ok']);
  });

  it('C13: SO_REUSEADDR on the old socket only: EADDRINUSE', () => {
    const run = restart({ oldReuse: true, newReuse: false });
    expect(run.calls(0).filter((call) => call.includes('srv2')).slice(0, 2)).toEqual(['srv2 = socket() = ok', 'bind(srv2, 8848) = EADDRINUSE']);
  });

  it('C13: SO_REUSEADDR on neither: EADDRINUSE (C11)', () => {
    const run = restart({ oldReuse: false, newReuse: false });
    expect(run.calls(0).filter((call) => call.includes('srv2')).slice(0, 2)).toEqual(['srv2 = socket() = ok', 'bind(srv2, 8848) = EADDRINUSE']);
  });

  it('C13: while the old listener still listens, bind gets EADDRINUSE even with SO_REUSEADDR on both', () => {
    // Arrange
    const spec = {
      programs: [{ host: 'server', steps: ['socket srv', 'reuseaddr srv', 'bind srv 8848', 'listen srv', 'socket srv2', 'reuseaddr srv2', 'bind srv2 8848', 'close srv', 'bind srv2 8848'] }],
    };
    // Act
    const run = runConformance(spec);
    // Assert: once the listener is closed (no TIME-WAIT behind it), the same socket binds.
    expect(run.calls(0).slice(6)).toEqual(['bind(srv2, 8848) = EADDRINUSE', 'close(srv) = ok', 'bind(srv2, 8848) = ok']);
  });
});

describe('SO_LINGER{1,0}', () => {
  it('C14: close aborts — RST instead of FIN, the unsent data is discarded, and neither side enters TIME-WAIT', () => {
    // Arrange: the server's 2920-byte window takes two segments of the client's 10000 bytes;
    // the other 7080 are still in the client's send buffer when it closes.
    const spec = {
      hostStacks: { server: { receiveBufferBytes: 2920 } },
      programs: [
        { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'sleep 100ms', 'recv c 2920', 'recv c 10', 'recv c 10', 'close c'] },
        { host: 'client', steps: ['socket s', 'linger s 1 0', 'connect s server 8848', 'send s 10000', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: Linux tcp_close -> tcp_disconnect -> tcp_send_active_reset, <SEQ=SND.NXT>
    // <ACK=RCV.NXT><CTL=RST,ACK>: seq 2921, right after the last byte sent. The server's ACKs
    // then find no connection and are answered by RFC 9293 §3.10.7.1 resets.
    expect(run.wire({ time: true })).toEqual([
      '0.000000 client > server [S] seq 0 mss 1460',
      '0.001000 server > client [S.] seq 0 ack 1 mss 1460',
      '0.002000 client > server [.] seq 1 ack 1',
      '0.002000 client > server [P.] seq 1 ack 1 len 1448',
      '0.002000 client > server [P.] seq 1449 ack 1 len 1448',
      '0.002000 client > server [P.] seq 2897 ack 1 len 24',
      '0.002000 client > server [R.] seq 2921 ack 1',
      '0.003000 server > client [.] seq 1 ack 1449',
      '0.003000 server > client [.] seq 1 ack 2897',
      '0.003000 server > client [.] seq 1 ack 2921',
      '0.004000 client > server [R] seq 1449',
      '0.004000 client > server [R] seq 2897',
      '0.004000 client > server [R] seq 2921',
    ]);
    // The bytes that arrived before the reset are still read, then the reset is reported.
    expect(run.results(0).slice(4)).toEqual(['ok', 'recv 2920', 'ECONNRESET', 'eof', 'ok']);
    expect(run.states({ causes: true })).toEqual([
      'client.51560 CLOSED=>SYN-SENT (connect)',
      'server.8848 LISTEN=>SYN-RECEIVED (rcv SYN)',
      'client.51560 SYN-SENT=>ESTABLISHED (rcv SYN,ACK)',
      'client.51560 ESTABLISHED=>CLOSED (close with SO_LINGER{on,0})',
      'server.8848 SYN-RECEIVED=>ESTABLISHED (rcv ACK of SYN)',
      'server.8848 ESTABLISHED=>CLOSED (rcv RST)',
    ]);
    expect(run.timeWaitHolders()).toEqual([]);
    expect(run.streams().summary).toEqual(['client.51560 sent 10000 received 0', 'server.8848 sent 0 received 2920']);
    expect(run.streams().problems).toEqual([]);
  });

  it('C14: SO_LINGER with a non-zero time is a graceful close (FIN, TIME-WAIT)', () => {
    // Arrange
    const spec = {
      programs: [
        { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'linger s 1 5', 'connect s server 8848', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert
    expect(run.wire().slice(3)).toEqual(['client > server [F.] seq 1 ack 1', 'server > client [F.] seq 1 ack 2', 'client > server [.] seq 2 ack 2']);
    expect(run.timeWaitHolders()).toEqual(['client.51560']);
  });

  it('C15: the article\'s demo — SO_LINGER{1,0} on the listening socket is inherited; client 39624 sends FIN, server 6666 close sends RST, no TIME-WAIT anywhere', () => {
    // Arrange: linger is set on the listening socket only.
    const spec = {
      programs: [
        { host: 'server', steps: ['socket listenfd', 'linger listenfd 1 0', 'bind listenfd 6666', 'listen listenfd', 'accept listenfd c', 'recv-eof c', 'close c'] },
        { host: 'client', steps: ['socket s', 'bind s 39624', 'connect s server 6666', 'sleep 10ms', 'close s'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: the FIN's ACK waits (ping-pong delayed ACK) and leaves on the RST.
    expect(run.wire({ time: true, ports: true })).toEqual([
      '0.000000 client.39624 > server.6666 [S] seq 0 mss 1460',
      '0.001000 server.6666 > client.39624 [S.] seq 0 ack 1 mss 1460',
      '0.002000 client.39624 > server.6666 [.] seq 1 ack 1',
      '0.012000 client.39624 > server.6666 [F.] seq 1 ack 1',
      '0.013000 server.6666 > client.39624 [R.] seq 1 ack 2',
    ]);
    // The client drops the connection at once, from FIN-WAIT-1.
    expect(run.states({ time: true, causes: true }).slice(4)).toEqual([
      '0.012000 client.39624 ESTABLISHED=>FIN-WAIT-1 (close)',
      '0.013000 server.6666 ESTABLISHED=>CLOSE-WAIT (rcv FIN)',
      '0.013000 server.6666 CLOSE-WAIT=>CLOSED (close with SO_LINGER{on,0})',
      '0.014000 client.39624 FIN-WAIT-1=>CLOSED (rcv RST)',
    ]);
    expect(run.timeWaitHolders()).toEqual([]);
    expect(run.finalStates()).toEqual(['client.39624 CLOSED', 'server.6666 CLOSED']);
    // Nothing is left on either host: the port 6666 is free again at once.
    expect(run.world.host('server').liveTcbs()[Symbol.iterator]().next().done).toBe(true);
    expect(run.world.host('client').liveTcbs()[Symbol.iterator]().next().done).toBe(true);
  });
});
