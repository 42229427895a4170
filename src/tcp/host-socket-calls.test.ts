/**
 * The host's socket calls one by one, through the Stack seam (src/tcp/stack.ts): descriptors,
 * a descriptor the host never gave, and setsockopt as Linux's sock_setsockopt answers it —
 * argument checks, and options set on a socket that already has a connection, which Linux
 * applies to that connection at once (the socket is the connection there).
 */
import { describe, expect, it } from 'vitest';
import { TraceRecorder } from '../world/trace.js';
import { World } from '../world/world.js';
import { REFERENCE_ENDPOINT, type Endpoint } from './endpoint.js';
import type { Host } from './host.js';
import { FIN, RST } from './segment.js';
import { Tcb } from './tcb.js';

const MS = 1_000;
const OK = { ok: true, value: undefined };
const EINVAL = { ok: false, errno: 'EINVAL' };
const EBADF = { ok: false, errno: 'EBADF' };

/** Two hosts, b listening on 9000, and a's socket connected to it from 8848 (ESTABLISHED). */
function connected(options: { endpoint?: Endpoint; trace?: boolean } = {}) {
  const world = new World({ seed: 1, ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}) });
  const recorder = new TraceRecorder();
  if (options.trace === true) world.addListener(recorder);
  const a = world.addHost('a');
  const b = world.addHost('b');
  const listener = b.socket();
  b.bind(listener, 9000);
  b.listen(listener, 8);
  const fd = a.socket();
  expect(a.bind(fd, 8848).ok).toBe(true);
  expect(a.connect(fd, b.ip, 9000).ok).toBe(true);
  world.runUntil(10 * MS);
  expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('ESTABLISHED');
  return { world, a, b, fd, listener, recorder };
}

function bindWithReuse(a: Host, port: number) {
  const fd = a.socket();
  a.setsockopt(fd, { name: 'SO_REUSEADDR', value: true });
  return a.bind(fd, port);
}

describe('descriptors', () => {
  it('socket() gives 3, 4, 5… (0–2 are stdio), one more each call, never a closed one again', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    // Act
    const first = a.socket();
    const second = a.socket();
    a.close(first);
    const third = a.socket();
    // Assert
    expect([first, second, third]).toEqual([3, 4, 5]);
  });

  it('a descriptor the host never gave: onWake is refused, isNonBlocking is false, setsockopt is EBADF', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const fd = a.socket();
    a.setNonBlocking(fd, true);
    // Act / Assert: the known descriptor first, as a contrast.
    expect(a.onWake(fd, () => {})).toBe(true);
    expect(a.isNonBlocking(fd)).toBe(true);
    expect(a.onWake(999, () => {})).toBe(false);
    expect(a.isNonBlocking(999)).toBe(false);
    expect(a.setsockopt(999, { name: 'SO_REUSEADDR', value: true })).toEqual(EBADF);
  });
});

describe('setsockopt argument checks (Linux sock_setsockopt)', () => {
  it('SO_RCVBUF and SO_SNDBUF take whole byte counts only: 1.5 is EINVAL and leaves the size as it was', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const fd = a.socket();
    const defaults = [a.getsockopt(fd, 'SO_RCVBUF'), a.getsockopt(fd, 'SO_SNDBUF')];
    // Act / Assert
    expect(a.setsockopt(fd, { name: 'SO_RCVBUF', value: 1.5 })).toEqual(EINVAL);
    expect(a.setsockopt(fd, { name: 'SO_SNDBUF', value: Number.NaN })).toEqual(EINVAL);
    expect([a.getsockopt(fd, 'SO_RCVBUF'), a.getsockopt(fd, 'SO_SNDBUF')]).toEqual(defaults);
    expect(a.setsockopt(fd, { name: 'SO_RCVBUF', value: 4096 })).toEqual(OK);
  });

  it('C14: SO_LINGER takes a whole, non-negative l_linger: -1 and 0.5 are EINVAL and leave linger off; 0 turns it on', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const fd = a.socket();
    // Act / Assert
    expect(a.setsockopt(fd, { name: 'SO_LINGER', value: { onoff: true, lingerSec: -1 } })).toEqual(EINVAL);
    expect(a.setsockopt(fd, { name: 'SO_LINGER', value: { onoff: true, lingerSec: 0.5 } })).toEqual(EINVAL);
    expect(a.getsockopt(fd, 'SO_LINGER')).toEqual({ ok: true, value: { onoff: false, lingerSec: 0 } });
    expect(a.setsockopt(fd, { name: 'SO_LINGER', value: { onoff: true, lingerSec: 0 } })).toEqual(OK);
    expect(a.getsockopt(fd, 'SO_LINGER')).toEqual({ ok: true, value: { onoff: true, lingerSec: 0 } });
  });
});

describe('options set on a socket that has a connection apply to the connection', () => {
  it('C13: SO_REUSEADDR set after connect lets another SO_REUSEADDR socket bind the connection\'s port', () => {
    // Arrange: a's connection from 8848 made without SO_REUSEADDR holds the port alone.
    const { a, fd } = connected();
    expect(bindWithReuse(a, 8848)).toEqual({ ok: false, errno: 'EADDRINUSE' });
    // Act
    expect(a.setsockopt(fd, { name: 'SO_REUSEADDR', value: true })).toEqual(OK);
    // Assert
    expect(bindWithReuse(a, 8848)).toEqual({ ok: true, value: 8848 });
  });

  it('C14: SO_LINGER{1,0} set after connect makes close() send a RST, no FIN, and leave no TIME-WAIT', () => {
    // Arrange
    const { world, a, b, fd, recorder } = connected({ trace: true });
    expect(a.setsockopt(fd, { name: 'SO_LINGER', value: { onoff: true, lingerSec: 0 } })).toEqual(OK);
    const before = recorder.events.length;
    // Act
    a.close(fd);
    world.runUntil(world.nowUs + 100 * MS);
    // Assert
    const sentByA = recorder.events.slice(before).flatMap((e) => (e.type === 'segment' && e.fate === 'sent' && e.seg.srcIp === a.ip ? [e.seg.flags] : []));
    expect(sentByA).toHaveLength(1);
    expect(sentByA[0]! & RST).toBe(RST);
    expect(sentByA[0]! & FIN).toBe(0);
    expect(a.lookup(b.ip, 9000, 8848)).toBeUndefined();
  });

  it('SO_RCVBUF after connect is taken by an endpoint whose connections lack the optional adoptReceiveBuffer hook', () => {
    // Arrange: a TCB with the hook removed, as an endpoint written without it would have.
    class TcbWithoutHook extends Tcb {
      constructor(...args: ConstructorParameters<typeof Tcb>) {
        super(...args);
        Object.defineProperty(this, 'adoptReceiveBuffer', { value: undefined });
      }
    }
    const endpoint: Endpoint = { ...REFERENCE_ENDPOINT, name: 'no-hook', createConnection: (id, config, env, options) => new TcbWithoutHook(id, config, env, options) };
    const { a, fd } = connected({ endpoint });
    // Act / Assert
    expect(a.setsockopt(fd, { name: 'SO_RCVBUF', value: 4096 })).toEqual(OK);
    expect(a.getsockopt(fd, 'SO_RCVBUF')).toEqual({ ok: true, value: 8192 });
  });
});
