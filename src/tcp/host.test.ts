/**
 * The bind table (Linux inet_csk_bind_conflict, C8, C11–C13), driven through the socket API of
 * two hosts in a world: host `a` holds port 8848 with an "old" socket or connection in a given
 * state, and a new socket tries to bind 8848.
 */
import { describe, expect, it } from 'vitest';
import type { Host } from './host.js';
import { World } from '../world/world.js';

type OldState = 'LISTEN' | 'BOUND' | 'ESTABLISHED' | 'TIME-WAIT' | 'CLOSED';

const MS = 1_000;
const SEC = 1_000_000;

/** Host `a` with port 8848 held by an old socket in `state`, created with SO_REUSEADDR = `oldReuse`. */
function hostWithOldSocket(state: OldState, oldReuse: boolean): { world: World; a: Host; b: Host } {
  const world = new World({ seed: 1 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  const listener = b.socket();
  b.bind(listener, 9000);
  b.listen(listener, 8);
  const run = (untilUs: number) => world.run({ maxEvents: 100_000, maxTimeUs: untilUs });

  const old = a.socket();
  expect(a.setsockopt(old, { name: 'SO_REUSEADDR', value: oldReuse })).toEqual({ ok: true, value: undefined });
  expect(a.bind(old, 8848)).toEqual({ ok: true, value: 8848 });
  if (state === 'BOUND') return { world, a, b };
  if (state === 'LISTEN') {
    expect(a.listen(old, 8).ok).toBe(true);
    return { world, a, b };
  }
  // An active open from 8848 to b:9000.
  expect(a.connect(old, b.ip, 9000).ok).toBe(true);
  run(10 * MS);
  expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('ESTABLISHED');
  if (state === 'ESTABLISHED') return { world, a, b };
  // a closes first, then b: a ends in TIME-WAIT.
  a.close(old);
  run(20 * MS);
  const child = b.accept(listener);
  expect(child.ok).toBe(true);
  if (child.ok) b.close(child.value);
  run(30 * MS);
  expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('TIME-WAIT');
  if (state === 'TIME-WAIT') return { world, a, b };
  run(61 * SEC);
  expect(a.lookup(b.ip, 9000, 8848)).toBeUndefined();
  return { world, a, b };
}

function bindNew(a: Host, newReuse: boolean) {
  const fd = a.socket();
  a.setsockopt(fd, { name: 'SO_REUSEADDR', value: newReuse });
  return a.bind(fd, 8848);
}

const OK = { ok: true, value: 8848 };
const IN_USE = { ok: false, errno: 'EADDRINUSE' };

/** [old state, SO_REUSEADDR on old, on new, expected]. */
const TABLE: readonly [OldState, boolean, boolean, typeof OK | typeof IN_USE][] = [
  // A listener conflicts whatever the options (relax is no help against a listener).
  ['LISTEN', false, false, IN_USE],
  ['LISTEN', false, true, IN_USE],
  ['LISTEN', true, false, IN_USE],
  ['LISTEN', true, true, IN_USE],
  // A socket only bound: both need SO_REUSEADDR.
  ['BOUND', false, false, IN_USE],
  ['BOUND', false, true, IN_USE],
  ['BOUND', true, false, IN_USE],
  ['BOUND', true, true, OK],
  // A connection keeps the SO_REUSEADDR of its socket; both need it (C13).
  ['ESTABLISHED', false, false, IN_USE],
  ['ESTABLISHED', false, true, IN_USE],
  ['ESTABLISHED', true, false, IN_USE],
  ['ESTABLISHED', true, true, OK],
  // TIME-WAIT holds the port like the connection it was (C8, C11, C13).
  ['TIME-WAIT', false, false, IN_USE],
  ['TIME-WAIT', false, true, IN_USE],
  ['TIME-WAIT', true, false, IN_USE],
  ['TIME-WAIT', true, true, OK],
  // Once TIME-WAIT has ended the port is free.
  ['CLOSED', false, false, OK],
  ['CLOSED', false, true, OK],
  ['CLOSED', true, false, OK],
  ['CLOSED', true, true, OK],
];

describe('bind rules (Linux inet_csk_bind_conflict)', () => {
  it.each(TABLE)('C13: old socket %s with SO_REUSEADDR=%s, new socket with SO_REUSEADDR=%s: %o', (state, oldReuse, newReuse, expected) => {
    // Arrange
    const { a } = hostWithOldSocket(state, oldReuse);
    // Act
    const result = bindNew(a, newReuse);
    // Assert
    expect(result).toEqual(expected);
  });

  it('C13: a socket bound next to an ESTABLISHED connection with SO_REUSEADDR on both may listen too', () => {
    // Arrange
    const { a } = hostWithOldSocket('ESTABLISHED', true);
    const fd = a.socket();
    a.setsockopt(fd, { name: 'SO_REUSEADDR', value: true });
    // Act / Assert
    expect(a.bind(fd, 8848)).toEqual(OK);
    expect(a.listen(fd, 8)).toEqual({ ok: true, value: undefined });
  });

  it('C12: bind(0) picks a free ephemeral port; an explicit bind of it then conflicts', () => {
    // Arrange
    const world = new World({ seed: 3, stack: { ephemeralPortMin: 50000, ephemeralPortMax: 50001 } });
    const a = world.addHost('a');
    const first = a.socket();
    const second = a.socket();
    const third = a.socket();
    // Act
    const p1 = a.bind(first, 0);
    const p2 = a.bind(second, 0);
    const p3 = a.bind(third, 0);
    // Assert: the two ports of the range, in some order, then none left.
    expect([p1, p2].map((r) => (r.ok ? r.value : -1)).sort()).toEqual([50000, 50001]);
    expect(p3).toEqual(IN_USE);
    expect(a.bind(a.socket(), p1.ok ? p1.value : 0)).toEqual(IN_USE);
  });

  it('C12: bind twice, or bind a port out of range, is EINVAL; a bad descriptor EBADF', () => {
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const fd = a.socket();
    expect(a.bind(fd, 8848)).toEqual(OK);
    expect(a.bind(fd, 8849)).toEqual({ ok: false, errno: 'EINVAL' });
    expect(a.bind(a.socket(), 70000)).toEqual({ ok: false, errno: 'EINVAL' });
    expect(a.bind(999, 1)).toEqual({ ok: false, errno: 'EBADF' });
  });

  it('C13: closing a bound socket frees its port', () => {
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const fd = a.socket();
    expect(a.bind(fd, 8848)).toEqual(OK);
    expect(bindNew(a, false)).toEqual(IN_USE);
    a.close(fd);
    expect(bindNew(a, false)).toEqual(OK);
  });
});

describe('connect() on a listening socket', () => {
  it('fails with EISCONN (Linux __inet_stream_connect, seen on 6.18) and the socket goes on listening', () => {
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const listener = a.socket();
    a.bind(listener, 8848);
    a.listen(listener, 8);
    expect(a.connect(listener, b.ip, 9000)).toEqual({ ok: false, errno: 'EISCONN' });
    // Still listening: a connection from b is accepted on it.
    const client = b.socket();
    expect(b.connect(client, a.ip, 8848).ok).toBe(true);
    world.run({ maxEvents: 100_000, maxTimeUs: 10 * MS });
    expect(a.accept(listener).ok).toBe(true);
  });
});
