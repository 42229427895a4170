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
import { LOOPBACK_ADDRESS, type Host } from './host.js';
import { FIN, RST } from './segment.js';
import { endpointWithout } from './test-support.js';

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
    const endpoint = endpointWithout('adoptReceiveBuffer');
    const { a, fd } = connected({ endpoint });
    // Act / Assert
    expect(a.setsockopt(fd, { name: 'SO_RCVBUF', value: 4096 })).toEqual(OK);
    expect(a.getsockopt(fd, 'SO_RCVBUF')).toEqual({ ok: true, value: 8192 });
  });
});

describe('getsockopt and fcntl (Linux sock_getsockopt)', () => {
  it('a descriptor the host never gave: getsockopt and setNonBlocking are EBADF', () => {
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    expect(a.getsockopt(999, 'SO_TYPE')).toEqual(EBADF);
    expect(a.setNonBlocking(999, true)).toEqual(EBADF);
  });

  it('C13/C14: SO_REUSEADDR reads 0 then 1; SO_LINGER reads what was set, l_linger included; SO_TYPE is SOCK_STREAM (1)', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const fd = a.socket();
    // Act / Assert
    expect(a.getsockopt(fd, 'SO_REUSEADDR')).toEqual({ ok: true, value: 0 });
    expect(a.getsockopt(fd, 'SO_LINGER')).toEqual({ ok: true, value: { onoff: false, lingerSec: 0 } });
    a.setsockopt(fd, { name: 'SO_REUSEADDR', value: true });
    a.setsockopt(fd, { name: 'SO_LINGER', value: { onoff: true, lingerSec: 5 } });
    expect(a.getsockopt(fd, 'SO_REUSEADDR')).toEqual({ ok: true, value: 1 });
    expect(a.getsockopt(fd, 'SO_LINGER')).toEqual({ ok: true, value: { onoff: true, lingerSec: 5 } });
    expect(a.getsockopt(fd, 'SO_TYPE')).toEqual({ ok: true, value: 1 });
    // l_onoff = 0 turns linger off whatever l_linger says.
    a.setsockopt(fd, { name: 'SO_LINGER', value: { onoff: false, lingerSec: 5 } });
    expect(a.getsockopt(fd, 'SO_LINGER')).toEqual({ ok: true, value: { onoff: false, lingerSec: 0 } });
  });
});

describe('bind argument checks (Linux inet_bind)', () => {
  it('ports are whole numbers 0–65535: -1, 65536 and 80.5 are EINVAL and leave the socket unbound; 65535 binds', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const fd = a.socket();
    // Act / Assert
    expect(a.bind(fd, -1)).toEqual(EINVAL);
    expect(a.bind(fd, 65536)).toEqual(EINVAL);
    expect(a.bind(fd, 80.5)).toEqual(EINVAL);
    expect(a.bind(fd, 65535)).toEqual({ ok: true, value: 65535 });
  });
});

describe('listen (Linux inet_listen)', () => {
  it('a bad descriptor is EBADF; a socket with a connection is EINVAL', () => {
    const { a, fd } = connected();
    expect(a.listen(999, 1)).toEqual(EBADF);
    expect(a.listen(fd, 1)).toEqual(EINVAL);
  });

  it('C1: listen() on an unbound socket binds an ephemeral port first and listens there', () => {
    // Arrange: a one-port range, so the port is known.
    const world = new World({ seed: 1, stack: { ephemeralPortMin: 50000, ephemeralPortMax: 50000 } });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const listener = a.socket();
    // Act
    expect(a.listen(listener, 4)).toEqual(OK);
    const client = b.socket();
    b.connect(client, a.ip, 50000);
    world.runUntil(10 * MS);
    // Assert
    expect(b.connectResult(client)).toEqual(OK);
    expect(a.accept(listener).ok).toBe(true);
  });

  it('C12: listen() on an unbound socket with no ephemeral port free is EADDRINUSE, and the socket stays unbound', () => {
    // Arrange: the one port of the range is bound already.
    const world = new World({ seed: 1, stack: { ephemeralPortMin: 50000, ephemeralPortMax: 50000 } });
    const a = world.addHost('a');
    const holder = a.socket();
    a.bind(holder, 50000);
    const fd = a.socket();
    // Act / Assert
    expect(a.listen(fd, 4)).toEqual({ ok: false, errno: 'EADDRINUSE' });
    expect(a.bind(fd, 8848)).toEqual({ ok: true, value: 8848 });
  });

  it('listen() again on a listening socket succeeds and sets the new backlog (Linux inet_listen: sk_max_ack_backlog)', () => {
    // Arrange: backlog 0 admits one connection (sk_acceptq_is_full); listen again with 2 admits three.
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const listener = a.socket();
    a.bind(listener, 9000);
    expect(a.listen(listener, 0)).toEqual(OK);
    // Act
    expect(a.listen(listener, 2)).toEqual(OK);
    const clients = [b.socket(), b.socket(), b.socket()];
    for (const client of clients) b.connect(client, a.ip, 9000);
    world.runUntil(10 * MS);
    // Assert: all three completed within 10 ms, before any SYN retransmission (1 s).
    expect(clients.map((client) => b.connectResult(client))).toEqual([OK, OK, OK]);
    expect([a.accept(listener).ok, a.accept(listener).ok, a.accept(listener).ok]).toEqual([true, true, true]);
  });

  it('a listener bound to 127.0.0.1 hears nothing from the fabric: a SYN to its port meets a RST (ECONNREFUSED)', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const listener = a.socket();
    a.bind(listener, 9000, LOOPBACK_ADDRESS);
    expect(a.listen(listener, 4)).toEqual(OK);
    // Act
    const client = b.socket();
    b.connect(client, a.ip, 9000);
    world.runUntil(10 * MS);
    // Assert
    expect(b.connectResult(client)).toEqual({ ok: false, errno: 'ECONNREFUSED' });
  });

  it('the trace shows the port going CLOSED → LISTEN at listen() and LISTEN → CLOSED at close()', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const recorder = new TraceRecorder();
    world.addListener(recorder);
    const a = world.addHost('a');
    const listener = a.socket();
    a.bind(listener, 9000);
    // Act
    a.listen(listener, 4);
    a.close(listener);
    // Assert
    const events = recorder.events.flatMap((e) => (e.type === 'listen' ? [`${e.host}:${e.port} ${e.from}->${e.to}`] : []));
    expect(events).toEqual(['a:9000 CLOSED->LISTEN', 'a:9000 LISTEN->CLOSED']);
  });
});

describe('accept (Linux inet_accept)', () => {
  it('a bad descriptor is EBADF; a socket that does not listen is EINVAL', () => {
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const fd = a.socket();
    a.bind(fd, 9000);
    expect(a.accept(999)).toEqual(EBADF);
    expect(a.accept(fd)).toEqual(EINVAL);
  });

  it('C3: an accepted socket is connected: connect() on it is EISCONN (Linux __inet_stream_connect, SS_CONNECTED)', () => {
    // Arrange
    const { a, b, listener } = connected();
    const child = b.accept(listener);
    if (!child.ok) throw new Error(`accept: ${child.errno}`);
    // Act / Assert
    expect(b.connect(child.value, a.ip, 8848)).toEqual({ ok: false, errno: 'EISCONN' });
  });

  it('C15: the accepted socket inherits the listener\'s SO_SNDBUF and SO_RCVBUF (Linux sk_clone_lock)', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const listener = b.socket();
    b.setsockopt(listener, { name: 'SO_SNDBUF', value: 10000 });
    b.setsockopt(listener, { name: 'SO_RCVBUF', value: 12000 });
    b.bind(listener, 9000);
    b.listen(listener, 4);
    a.connect(a.socket(), b.ip, 9000);
    world.runUntil(10 * MS);
    // Act
    const child = b.accept(listener);
    if (!child.ok) throw new Error(`accept: ${child.errno}`);
    // Assert: doubled, as setsockopt stores them.
    expect(b.getsockopt(child.value, 'SO_SNDBUF')).toEqual({ ok: true, value: 20000 });
    expect(b.getsockopt(child.value, 'SO_RCVBUF')).toEqual({ ok: true, value: 24000 });
  });
});

/** Each of a and b binds a port and connects to the other's at the same instant (RFC 9293 §3.5 Figure 8). */
function simultaneousOpen() {
  const world = new World({ seed: 1 });
  const a = world.addHost('a');
  const b = world.addHost('b');
  const fdA = a.socket();
  const fdB = b.socket();
  a.bind(fdA, 5000);
  b.bind(fdB, 6000);
  a.setNonBlocking(fdA, true);
  expect(a.connect(fdA, b.ip, 6000)).toEqual({ ok: false, errno: 'EINPROGRESS' });
  b.connect(fdB, a.ip, 5000);
  // The SYNs cross at 1 ms; the SYN,ACKs arrive at 2 ms.
  world.runUntil(1500);
  expect(a.lookup(b.ip, 6000, 5000)?.state).toBe('SYN-RECEIVED');
  return { world, a, b, fdA };
}

describe('connect() results while and after the handshake (Linux __inet_stream_connect)', () => {
  it('a bad descriptor is EBADF; a socket never connected has no connection to report: ENOTCONN', () => {
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    expect(a.connectResult(999)).toEqual(EBADF);
    expect(a.connectResult(a.socket())).toEqual({ ok: false, errno: 'ENOTCONN' });
  });

  it('C1: in SYN-RECEIVED of a simultaneous open the connect is still in progress: no result, and connect again is EALREADY', () => {
    // Arrange
    const { world, a, fdA } = simultaneousOpen();
    // Act / Assert
    expect(a.connectResult(fdA)).toBeNull();
    expect(a.connect(fdA, world.host('b').ip, 6000)).toEqual({ ok: false, errno: 'EALREADY' });
    world.runUntil(10 * MS);
    expect(a.connectResult(fdA)).toEqual(OK);
  });

  it('a non-blocking connect that completed: connect again succeeds once (SS_CONNECTING to SS_CONNECTED), then is EISCONN', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const listener = b.socket();
    b.bind(listener, 9000);
    b.listen(listener, 4);
    const fd = a.socket();
    a.setNonBlocking(fd, true);
    expect(a.connect(fd, b.ip, 9000)).toEqual({ ok: false, errno: 'EINPROGRESS' });
    world.runUntil(10 * MS);
    // Act / Assert: only connect(), never connectResult, reports completion here.
    expect(a.connect(fd, b.ip, 9000)).toEqual(OK);
    expect(a.connect(fd, b.ip, 9000)).toEqual({ ok: false, errno: 'EISCONN' });
  });

  it('C1: a refusal whose error SO_ERROR already took still reads as ECONNREFUSED, and the socket may connect again', () => {
    // Arrange: nobody listens on b:9999.
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const fd = a.socket();
    a.connect(fd, b.ip, 9999);
    world.runUntil(10 * MS);
    expect(a.getsockopt(fd, 'SO_ERROR')).toEqual({ ok: true, value: 'ECONNREFUSED' });
    // Act / Assert
    expect(a.connectResult(fd)).toEqual({ ok: false, errno: 'ECONNREFUSED' });
    expect(a.connect(fd, b.ip, 9999)).toEqual(OK);
    expect(a.connectResult(fd)).toBeNull();
  });

  it('C12: a refused connect gives its autobound port back: the socket is unbound again, and a port it binds then is skipped by autobind', () => {
    // Arrange: a one-port range; nobody listens on b:9999.
    const world = new World({ seed: 1, stack: { ephemeralPortMin: 50000, ephemeralPortMax: 50000 } });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const fd = a.socket();
    a.connect(fd, b.ip, 9999);
    world.runUntil(10 * MS);
    expect(a.connectResult(fd)).toEqual({ ok: false, errno: 'ECONNREFUSED' });
    // Act: the socket binds the range's port with bind(), as a fresh socket may.
    expect(a.bind(fd, 50000)).toEqual({ ok: true, value: 50000 });
    // Assert: that port is bind()'s now, so another socket's autobind finds none.
    expect(a.connect(a.socket(), b.ip, 9000)).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
  });
});

describe('recv and shutdown', () => {
  it('a bad descriptor is EBADF for recv, shutdown and close', () => {
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    expect(a.recv(999, 10)).toEqual(EBADF);
    expect(a.shutdown(999, 'SHUT_WR')).toEqual(EBADF);
    expect(a.close(999)).toEqual(EBADF);
  });

  it('C5: after shutdown(SHUT_RD), the peer\'s FIN with nothing queued reads as end-of-file', () => {
    // Arrange
    const { world, a, b, fd, listener } = connected();
    const child = b.accept(listener);
    if (!child.ok) throw new Error(`accept: ${child.errno}`);
    expect(a.shutdown(fd, 'SHUT_RD')).toEqual(OK);
    // Act
    b.close(child.value);
    world.runUntil(world.nowUs + 10 * MS);
    // Assert
    const got = a.recv(fd, 10);
    expect(got.ok && got.value.length).toBe(0);
  });

  it('shutdown needs a synchronized connection: ENOTCONN in SYN-SENT and once the connection is CLOSED', () => {
    // Arrange: b:9999 has no listener, so the connect is refused at 2 ms.
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const fd = a.socket();
    a.connect(fd, b.ip, 9999);
    // Act / Assert
    expect(a.shutdown(fd, 'SHUT_WR')).toEqual({ ok: false, errno: 'ENOTCONN' });
    world.runUntil(10 * MS);
    expect(a.lookup(b.ip, 9999, a.socketOf(fd)!.localPort)).toBeUndefined();
    expect(a.shutdown(fd, 'SHUT_RDWR')).toEqual({ ok: false, errno: 'ENOTCONN' });
  });

  it('C6: shutdown(SHUT_RD) is taken by an endpoint whose connections lack the optional shutdownRead hook', () => {
    const { a, fd } = connected({ endpoint: endpointWithout('shutdownRead') });
    expect(a.shutdown(fd, 'SHUT_RD')).toEqual(OK);
  });
});

describe('a crash (the host loses every connection and socket at once)', () => {
  it('each connection goes to CLOSED with the cause "host crash", and each listening port, and only those, goes LISTEN → CLOSED', () => {
    // Arrange: b listens on 9000 and has one more socket only bound; a's connection to b is ESTABLISHED.
    const { b, recorder } = connected({ trace: true });
    b.bind(b.socket(), 7000);
    const before = recorder.events.length;
    // Act
    b.crash();
    // Assert
    const after = recorder.events.slice(before);
    expect(after.flatMap((e) => (e.type === 'state' ? [`${e.conn.host}:${e.conn.localPort} ${e.from}->${e.to} (${e.cause})`] : []))).toEqual(['b:9000 ESTABLISHED->CLOSED (host crash)']);
    expect(after.flatMap((e) => (e.type === 'listen' ? [`${e.host}:${e.port} ${e.from}->${e.to}`] : []))).toEqual(['b:9000 LISTEN->CLOSED']);
  });
});
