/**
 * Non-blocking sockets and the calls packetdrill scripts make (issue #11): O_NONBLOCK,
 * EINPROGRESS, getsockopt(SO_ERROR), and bind to a specific address vs the wildcard with Linux's
 * conflict rule across addresses (inet_rcv_saddr_equal inside inet_csk_bind_conflict, C11–C13).
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../net/address.js';
import { runPrograms } from '../world/run-script.js';
import { World } from '../world/world.js';
import { ANY_ADDRESS, LOOPBACK_ADDRESS } from './host.js';

function twoHosts() {
  const world = new World({ seed: 3 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  return { world, a, b };
}

describe('bind across addresses (Linux inet_rcv_saddr_equal)', () => {
  it('two specific addresses on one port do not conflict; the wildcard conflicts with both', () => {
    const { a } = twoHosts();
    const s1 = a.socket();
    const s2 = a.socket();
    const s3 = a.socket();
    expect(a.bind(s1, 8080, a.ip)).toEqual({ ok: true, value: 8080 });
    expect(a.bind(s2, 8080, LOOPBACK_ADDRESS)).toEqual({ ok: true, value: 8080 });
    expect(a.bind(s3, 8080, ANY_ADDRESS)).toEqual({ ok: false, errno: 'EADDRINUSE' });
  });

  it('a wildcard bind blocks a specific one, unless both have SO_REUSEADDR and neither listens', () => {
    const { a } = twoHosts();
    const wild = a.socket();
    const specific = a.socket();
    a.setsockopt(wild, { name: 'SO_REUSEADDR', value: true });
    a.setsockopt(specific, { name: 'SO_REUSEADDR', value: true });
    expect(a.bind(wild, 8080).ok).toBe(true);
    expect(a.bind(specific, 8080, a.ip).ok).toBe(true);
    // listen re-checks with relax = true (inet_csk_get_port): the other is not listening, so it may.
    expect(a.listen(specific, 1).ok).toBe(true);
    // Now a third overlapping socket meets a listener: EADDRINUSE even with SO_REUSEADDR.
    const third = a.socket();
    a.setsockopt(third, { name: 'SO_REUSEADDR', value: true });
    expect(a.bind(third, 8080, a.ip)).toEqual({ ok: false, errno: 'EADDRINUSE' });
  });

  it('an address the host does not have is EADDRNOTAVAIL, and a failed bind leaves the socket fresh', () => {
    const { a } = twoHosts();
    const s = a.socket();
    expect(a.bind(s, 8080, parseIpv4('10.9.9.9'))).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
    expect(a.bind(s, 8080).ok).toBe(true);
  });

  it('a connection in TIME-WAIT on the host address does not block a bind to 127.0.0.1 (C11)', () => {
    const { world, a, b } = twoHosts();
    runPrograms(world, [
      { host: 'b', steps: ['socket', 'bind', 'listen', 'accept', 'close'].map((op) => ({ call: stepOf(op) })) },
      { host: 'a', steps: [{ call: { op: 'socket', sock: 'c' } }, { call: { op: 'connect', sock: 'c', host: 'b', port: 9000 } }, { call: { op: 'recv-until-eof', sock: 'c' } }, { call: { op: 'close', sock: 'c' } }] },
    ], { maxEvents: 10_000, maxTimeUs: 1_000_000 });
    // b closed first: its connection on port 9000 is in TIME-WAIT.
    expect([...b.liveTcbs()].map((t) => t.state)).toContain('TIME-WAIT');
    expect(a.ip).not.toBe(b.ip);
    const loop = b.socket();
    expect(b.bind(loop, 9000, LOOPBACK_ADDRESS).ok).toBe(true);
    const wild = b.socket();
    expect(b.bind(wild, 9000)).toEqual({ ok: false, errno: 'EADDRINUSE' });
  });
});

function stepOf(op: string) {
  switch (op) {
    case 'socket':
      return { op: 'socket', sock: 'l' } as const;
    case 'bind':
      return { op: 'bind', sock: 'l', port: 9000, address: '10.0.0.2' } as const;
    case 'listen':
      return { op: 'listen', sock: 'l', backlog: 4 } as const;
    case 'accept':
      return { op: 'accept', sock: 'l', as: 'c' } as const;
    default:
      return { op: 'close', sock: 'c' } as const;
  }
}

describe('non-blocking sockets', () => {
  it('connect returns EINPROGRESS, then SO_ERROR reports ECONNREFUSED once the RST comes back', () => {
    const { world } = twoHosts();
    const run = runPrograms(world, [
      {
        host: 'a',
        steps: [
          { call: { op: 'socket', sock: 's' } },
          { call: { op: 'fcntl', sock: 's', nonBlocking: true } },
          { call: { op: 'connect', sock: 's', host: 'b', port: 9999 } },
          { call: { op: 'sleep', us: 10_000 } },
          { call: { op: 'getsockopt', sock: 's', option: 'SO_ERROR' } },
          { call: { op: 'getsockopt', sock: 's', option: 'SO_ERROR' } },
        ],
      },
    ]);
    expect(run.programs[0]!.outcomes.map((o) => o.result)).toEqual(['ok', 'ok', 'EINPROGRESS', 'ok', 'value ECONNREFUSED', 'value 0']);
  });

  it('connect again, as Linux 6.18 answers it (__inet_stream_connect): EALREADY while the SYN is out, ECONNABORTED after a refusal whose error SO_ERROR took, then a fresh SYN', () => {
    // Arrange: nobody listens on 9999 at first; b listens there from 50 ms on.
    const { world } = twoHosts();
    const connect = { op: 'connect', sock: 's', host: 'b', port: 9999 } as const;
    const run = runPrograms(world, [
      {
        host: 'a',
        steps: [
          { call: { op: 'socket', sock: 's' } },
          { call: { op: 'fcntl', sock: 's', nonBlocking: true } },
          { call: connect },
          { call: connect },
          { call: { op: 'sleep', us: 10_000 } },
          { call: { op: 'getsockopt', sock: 's', option: 'SO_ERROR' } },
          { call: { op: 'read', sock: 's', bytes: 10 } },
          { call: connect },
          { call: { op: 'sleep-until', atUs: 60_000 } },
          { call: connect },
          { call: { op: 'sleep', us: 10_000 } },
          { call: connect },
          { call: connect },
        ],
      },
      { host: 'b', startUs: 50_000, steps: [{ call: { op: 'socket', sock: 'l' } }, { call: { op: 'bind', sock: 'l', port: 9999 } }, { call: { op: 'listen', sock: 'l', backlog: 4 } }] },
    ]);
    // Assert: as measured on this machine's Linux (recv gives 0 after the refusal); the second
    // handshake completes while the program sleeps: the next connect succeeds, the one after is EISCONN.
    expect(run.programs[0]!.outcomes.map((o) => o.result)).toEqual(['ok', 'ok', 'EINPROGRESS', 'EALREADY', 'ok', 'value ECONNREFUSED', 'eof', 'ECONNABORTED', 'ok', 'EINPROGRESS', 'ok', 'ok', 'EISCONN']);
  });

  it('accept and read give EAGAIN instead of waiting; read returns what is queued, not all it asked for', () => {
    const { world } = twoHosts();
    const run = runPrograms(world, [
      {
        host: 'b',
        steps: [
          { call: { op: 'socket', sock: 'l' } },
          { call: { op: 'bind', sock: 'l', port: 9000 } },
          { call: { op: 'listen', sock: 'l', backlog: 4 } },
          { call: { op: 'fcntl', sock: 'l', nonBlocking: true } },
          { call: { op: 'accept', sock: 'l', as: 'c' } },
          { call: { op: 'sleep', us: 20_000 } },
          { call: { op: 'accept', sock: 'l', as: 'c' } },
          { call: { op: 'read', sock: 'c', bytes: 5000 } },
          { call: { op: 'fcntl', sock: 'c', nonBlocking: true } },
          { call: { op: 'read', sock: 'c', bytes: 5000 } },
        ],
      },
      { host: 'a', startUs: 5_000, steps: [{ call: { op: 'socket', sock: 's' } }, { call: { op: 'connect', sock: 's', host: 'b', port: 9000 } }, { call: { op: 'send', sock: 's', bytes: 300 } }] },
    ]);
    expect(run.programs[0]!.outcomes.map((o) => o.result)).toEqual(['ok', 'ok', 'ok', 'ok', 'EAGAIN', 'ok', 'ok', 'recv 300', 'ok', 'EAGAIN']);
  });
});
