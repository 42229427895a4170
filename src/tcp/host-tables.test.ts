/**
 * The host's tables, driven through its socket API: what the bind table tells the endpoint's bind
 * rule about each owner of a port (Linux inet_csk_bind_conflict, C11–C13), which ports connect()'s
 * autobind may take (Linux __inet_hash_connect, C12), and a host that keeps no history and makes
 * finished connections' objects over (keepClosedConnections off) still running every lifecycle.
 */
import { describe, expect, it } from 'vitest';
import { TraceRecorder } from '../world/trace.js';
import { World } from '../world/world.js';
import { linuxBindConflicts, REFERENCE_ENDPOINT, type BindCandidate, type Endpoint } from './endpoint.js';
import { LOOPBACK_ADDRESS, type Host } from './host.js';
import { SYN } from './segment.js';
import { endpointWithout } from './test-support.js';

const MS = 1_000;
const SEC = 1_000_000;

/** a closes `fd` first and b closes the connection it accepts on `listener`: a's end goes to TIME-WAIT. */
function activeCloseFrom(world: World, a: Host, b: Host, fd: number, listener: number): void {
  a.close(fd);
  world.runUntil(world.nowUs + 10 * MS);
  const child = b.accept(listener);
  if (child.ok) b.close(child.value);
  world.runUntil(world.nowUs + 10 * MS);
}

/** Two hosts, a and b, in a world made with `options`; b listens on 9000 with a backlog of 8. */
function listeningPair(options: ConstructorParameters<typeof World>[0]) {
  const world = new World(options);
  const a = world.addHost('a');
  const b = world.addHost('b');
  const listener = b.socket();
  b.bind(listener, 9000);
  b.listen(listener, 8);
  return { world, a, b, listener };
}

/** An endpoint with Linux's bind rule that records every candidate the host asks it about. */
function recordingEndpoint(): { endpoint: Endpoint; seen: BindCandidate[] } {
  const seen: BindCandidate[] = [];
  const endpoint: Endpoint = {
    ...REFERENCE_ENDPOINT,
    name: 'recording',
    bindConflicts: (candidate) => {
      seen.push({ ...candidate });
      return linuxBindConflicts(candidate);
    },
  };
  return { endpoint, seen };
}

/** a connects from `port` (bound with SO_REUSEADDR = `reuse`) to b:9000; returns once ESTABLISHED, with b's listener. */
function establishedFrom(world: World, a: Host, b: Host, port: number, reuse: boolean): { fd: number; listener: number } {
  const listener = b.socket();
  b.bind(listener, 9000);
  b.listen(listener, 8);
  const fd = a.socket();
  a.setsockopt(fd, { name: 'SO_REUSEADDR', value: reuse });
  expect(a.bind(fd, port)).toEqual({ ok: true, value: port });
  expect(a.connect(fd, b.ip, 9000).ok).toBe(true);
  world.runUntil(world.nowUs + 10 * MS);
  expect(a.lookup(b.ip, 9000, port)?.state).toBe('ESTABLISHED');
  return { fd, listener };
}

function newSocket(a: Host, reuse: boolean): number {
  const fd = a.socket();
  a.setsockopt(fd, { name: 'SO_REUSEADDR', value: reuse });
  return fd;
}

const candidate = (otherListening: boolean, otherTimeWait: boolean, atListen = false): BindCandidate => ({ newReuseAddr: true, otherReuseAddr: true, otherListening, otherTimeWait, atListen });

describe('what the bind table tells the bind rule about the port\'s other owner (Endpoint.bindConflicts)', () => {
  it('C13: a socket only bound is neither listening nor in TIME-WAIT; listen() asks again with atListen', () => {
    // Arrange
    const { endpoint, seen } = recordingEndpoint();
    const world = new World({ seed: 1, endpoint });
    const a = world.addHost('a');
    expect(a.bind(newSocket(a, true), 8848).ok).toBe(true);
    // Act
    const second = newSocket(a, true);
    expect(a.bind(second, 8848).ok).toBe(true);
    expect(a.listen(second, 4).ok).toBe(true);
    // Assert
    expect(seen).toEqual([candidate(false, false), candidate(false, false, true)]);
  });

  it('C13: a listening socket is listening, not in TIME-WAIT', () => {
    // Arrange
    const { endpoint, seen } = recordingEndpoint();
    const world = new World({ seed: 1, endpoint });
    const a = world.addHost('a');
    const listener = newSocket(a, true);
    a.bind(listener, 8848);
    a.listen(listener, 4);
    seen.length = 0;
    // Act
    expect(a.bind(newSocket(a, true), 8848)).toEqual({ ok: false, errno: 'EADDRINUSE' });
    // Assert
    expect(seen).toEqual([candidate(true, false)]);
  });

  it('C8/C13: a connection holds its port as neither listening nor in TIME-WAIT until it enters TIME-WAIT, then as in TIME-WAIT', () => {
    // Arrange: a's connection from 8848 to b:9000, SO_REUSEADDR on.
    const { endpoint, seen } = recordingEndpoint();
    const world = new World({ seed: 1, endpoint });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const { fd, listener } = establishedFrom(world, a, b, 8848, true);
    seen.length = 0;
    // Act 1: bind beside the ESTABLISHED connection.
    expect(a.bind(newSocket(a, true), 8848).ok).toBe(true);
    // Assert 1
    expect(seen).toEqual([candidate(false, false)]);
    // Arrange 2: a closes first, then b; a's connection is in TIME-WAIT (its socket closed, so a record).
    activeCloseFrom(world, a, b, fd, listener);
    expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('TIME-WAIT');
    seen.length = 0;
    // Act 2: bind beside the TIME-WAIT (and the socket bound in Act 1).
    expect(a.bind(newSocket(a, true), 8848).ok).toBe(true);
    // Assert 2: the bound socket of Act 1, then the TIME-WAIT (owners in the order they came).
    expect(seen).toEqual([candidate(false, true), candidate(false, false)]);
  });
});

describe('a connection holds its port on its own address (Linux inet_rcv_saddr_equal)', () => {
  it('C11: a bind to the host\'s own address conflicts with a connection on the port; a bind to 127.0.0.1 does not', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    establishedFrom(world, a, b, 8848, false);
    // Act / Assert
    expect(a.bind(a.socket(), 8848, a.ip)).toEqual({ ok: false, errno: 'EADDRINUSE' });
    expect(a.bind(a.socket(), 8848, LOOPBACK_ADDRESS)).toEqual({ ok: true, value: 8848 });
  });
});

describe('connect() and ports from bind() (Linux __inet_hash_connect, C12)', () => {
  it('C12: autobind never takes a port of the range that bind() holds: with that the only port, EADDRNOTAVAIL', () => {
    // Arrange: a one-port range, held by a socket bound with bind().
    const world = new World({ seed: 1, stack: { ephemeralPortMin: 50000, ephemeralPortMax: 50000 } });
    const a = world.addHost('a');
    const b = world.addHost('b');
    expect(a.bind(a.socket(), 50000)).toEqual({ ok: true, value: 50000 });
    // Act / Assert
    expect(a.connect(a.socket(), b.ip, 9000)).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
  });

  it('C12: a refused connect from a port bound with bind() keeps the port: a bind of it conflicts, and the next connect leaves from it', () => {
    // Arrange: nobody listens on b:9999, so the SYN from 8848 meets a RST,ACK.
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const fd = a.socket();
    expect(a.bind(fd, 8848).ok).toBe(true);
    expect(a.connect(fd, b.ip, 9999).ok).toBe(true);
    world.runUntil(10 * MS);
    expect(a.connectResult(fd)).toEqual({ ok: false, errno: 'ECONNREFUSED' });
    // Act / Assert: the port is still the socket's.
    expect(a.bind(a.socket(), 8848)).toEqual({ ok: false, errno: 'EADDRINUSE' });
    expect(a.connect(fd, b.ip, 9999).ok).toBe(true);
    expect(a.lookup(b.ip, 9999, 8848)?.state).toBe('SYN-SENT');
  });
});

describe('a host that keeps no history (keepClosedConnections off) and makes finished connections over', () => {
  it('C5/C8: lifecycle after lifecycle through TIME-WAIT, each connection carries its data and closes, and allTcbs stays empty', () => {
    // Arrange: no trace listener, so the host may make TCBs, records and table entries over.
    const { world, a, b, listener } = listeningPair({ seed: 1, keepClosedConnections: false });
    const got: string[] = [];
    // Act: four lifecycles from the same port, each waiting out a's TIME-WAIT (2·MSL = 60 s).
    for (let round = 0; round < 4; round++) {
      const fd = newSocket(a, true);
      expect(a.bind(fd, 8848).ok).toBe(true);
      expect(a.connect(fd, b.ip, 9000).ok).toBe(true);
      world.runUntil(world.nowUs + 10 * MS);
      expect(a.connectResult(fd)).toEqual({ ok: true, value: undefined });
      const child = b.accept(listener);
      if (!child.ok) throw new Error(`round ${round}: accept ${child.errno}`);
      expect(a.send(fd, new TextEncoder().encode(`round ${round}`)).ok).toBe(true);
      a.close(fd);
      world.runUntil(world.nowUs + 100 * MS);
      const data = b.recv(child.value, 100);
      got.push(data.ok ? new TextDecoder().decode(data.value) : data.errno);
      b.close(child.value);
      world.runUntil(world.nowUs + 100 * MS);
      expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('TIME-WAIT');
      world.runUntil(world.nowUs + 61 * SEC);
      expect(a.lookup(b.ip, 9000, 8848)).toBeUndefined();
    }
    // Assert
    expect(got).toEqual(['round 0', 'round 1', 'round 2', 'round 3']);
    expect(a.allTcbs).toHaveLength(0);
    expect(b.allTcbs).toHaveLength(0);
    // The free lists were used (else this test would not reach the made-over entries).
    expect(a.timeWaitRecordsReused).toBeGreaterThan(0);
    expect(a.tcbsReused + b.tcbsReused).toBeGreaterThan(0);
  });
});

describe('what the host hands the endpoint to make over (Endpoint.createConnection\'s spare)', () => {
  it('a spare is null or a connection this endpoint made that the tables no longer hold; the first connection gets none', () => {
    // Arrange: record the spare of every connection made, on hosts that keep no history.
    const spares: unknown[] = [];
    const made: unknown[] = [];
    const endpoint: Endpoint = {
      ...REFERENCE_ENDPOINT,
      name: 'recording-spares',
      createConnection: (id, config, env, options, spare) => {
        spares.push(spare === null || spare === undefined ? null : spare);
        // A spare is made over (the same object back), so "made" is checked before this call adds it again.
        const live = [...a.liveTcbs(), ...b.liveTcbs()];
        if (spare !== null && spare !== undefined) expect([made.includes(spare), live.includes(spare)]).toEqual([true, false]);
        const connection = REFERENCE_ENDPOINT.createConnection(id, config, env, options, spare);
        made.push(connection);
        return connection;
      },
    };
    const world = new World({ seed: 1, endpoint, keepClosedConnections: false });
    const a: Host = world.addHost('a');
    const b: Host = world.addHost('b');
    const listener = b.socket();
    b.bind(listener, 9000);
    b.listen(listener, 8);
    // Act: three lifecycles, b closing first (so b's connections go through TIME-WAIT, a's end in LAST-ACK).
    for (let round = 0; round < 3; round++) {
      const fd = a.socket();
      expect(a.connect(fd, b.ip, 9000).ok).toBe(true);
      world.runUntil(world.nowUs + 10 * MS);
      const child = b.accept(listener);
      if (!child.ok) throw new Error(`round ${round}: accept ${child.errno}`);
      b.close(child.value);
      world.runUntil(world.nowUs + 100 * MS);
      a.close(fd);
      world.runUntil(world.nowUs + 61 * SEC);
    }
    // Assert
    expect(spares).toHaveLength(6);
    expect(spares[0]).toBeNull();
    expect(spares.some((spare) => spare !== null)).toBe(true);
  });
});

/** a's ISN when every ISN of a is `isn`: SND.NXT in TIME-WAIT is isn + 2 (SYN and FIN, no data). */
const ISN_WHOSE_TAKE_OVER_WRAPS_TO_0 = 2 ** 32 - 65537 - 2;

/**
 * a's socket bound to 8848 (SO_REUSEADDR) connects to b:9000 and closes first, so a holds the
 * 4-tuple in TIME-WAIT; a second SO_REUSEADDR socket binds 8848 and connects to b:9000 again.
 */
function reconnectOverTimeWait(options: { endpoint?: Endpoint; isn?: number }) {
  const world = new World({ seed: 1, ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}) });
  const recorder = new TraceRecorder();
  world.addListener(recorder);
  const a = world.addHost('a', options.isn !== undefined ? { stack: { isn: { kind: 'fixed', value: options.isn } } } : {});
  const b = world.addHost('b');
  const { fd, listener } = establishedFrom(world, a, b, 8848, true);
  activeCloseFrom(world, a, b, fd, listener);
  expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('TIME-WAIT');
  const second = newSocket(a, true);
  expect(a.bind(second, 8848)).toEqual({ ok: true, value: 8848 });
  const before = recorder.events.length;
  const result = a.connect(second, b.ip, 9000);
  const synSeqs = recorder.events.slice(before).flatMap((e) => (e.type === 'segment' && e.fate === 'sent' && e.seg.srcIp === a.ip && e.seg.flags === SYN ? [e.seg.seq] : []));
  return { result, synSeqs, a, b };
}

describe('connect() from a port bound with bind() onto a 4-tuple in TIME-WAIT (Linux tcp_twsk_unique, twp = NULL)', () => {
  it('C10: takes the TIME-WAIT over at once, with ISN = old SND.NXT + 65537, and 1 where that wraps to 0 (write_seq is never 0)', () => {
    // Act
    const { result, synSeqs, a, b } = reconnectOverTimeWait({ isn: ISN_WHOSE_TAKE_OVER_WRAPS_TO_0 });
    // Assert
    expect(result).toEqual({ ok: true, value: undefined });
    expect(synSeqs).toEqual([1]);
    expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('SYN-SENT');
  });

  it('C10: with an ISN that does not wrap, the new SYN is the old SND.NXT + 65537', () => {
    const { synSeqs } = reconnectOverTimeWait({ isn: 1000 });
    expect(synSeqs).toEqual([1000 + 2 + 65537]);
  });

  it('an endpoint whose connections lack the optional inheritTsRecent still takes the TIME-WAIT over', () => {
    const { result, synSeqs } = reconnectOverTimeWait({ endpoint: endpointWithout('inheritTsRecent'), isn: 1000 });
    expect(result).toEqual({ ok: true, value: undefined });
    expect(synSeqs).toEqual([1000 + 2 + 65537]);
  });

  it('C12: an endpoint whose TIME-WAIT offers no take-over (no timeWaitReuse) leaves the 4-tuple taken: EADDRNOTAVAIL', () => {
    const { result, synSeqs, a, b } = reconnectOverTimeWait({ endpoint: endpointWithout('timeWaitReuse') });
    expect(result).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
    expect(synSeqs).toEqual([]);
    expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('TIME-WAIT');
  });
});

describe('connect() argument checks', () => {
  it('a bad descriptor is EBADF; a socket bound to 127.0.0.1 has no route to the fabric: EADDRNOTAVAIL, no SYN', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const fd = a.socket();
    a.bind(fd, 8848, LOOPBACK_ADDRESS);
    // Act / Assert
    expect(a.connect(999, b.ip, 9000)).toEqual({ ok: false, errno: 'EBADF' });
    expect(a.connect(fd, b.ip, 9000)).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
    expect(a.lookup(b.ip, 9000, 8848)).toBeUndefined();
  });
});

describe('close() of a socket whose connection is in TIME-WAIT, on a host that makes connections over', () => {
  it('C8: the connection stays in TIME-WAIT, and the two connections made next are two, each carrying its own data', () => {
    // Arrange: a half-closes, b closes on EOF, so a's connection enters TIME-WAIT with its socket still open.
    const { world, a, b, listener } = listeningPair({ seed: 1, keepClosedConnections: false });
    const fd = a.socket();
    a.bind(fd, 8848);
    a.connect(fd, b.ip, 9000);
    world.runUntil(10 * MS);
    const child = b.accept(listener);
    if (!child.ok) throw new Error(`accept: ${child.errno}`);
    a.shutdown(fd, 'SHUT_WR');
    world.runUntil(world.nowUs + 10 * MS);
    b.close(child.value);
    world.runUntil(world.nowUs + 10 * MS);
    expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('TIME-WAIT');
    // Act: close the socket (the TCB is swapped for its record), then open two connections at once.
    a.close(fd);
    const clients = [a.socket(), a.socket()];
    for (const client of clients) a.connect(client, b.ip, 9000);
    world.runUntil(world.nowUs + 10 * MS);
    const children = [b.accept(listener), b.accept(listener)].map((r) => (r.ok ? r.value : -1));
    clients.forEach((client, i) => a.send(client, new TextEncoder().encode(`client ${i}`)));
    world.runUntil(world.nowUs + 100 * MS);
    // Assert
    expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('TIME-WAIT');
    const got = children.map((c) => {
      const data = b.recv(c, 100);
      return data.ok ? new TextDecoder().decode(data.value) : data.errno;
    });
    expect(got.sort()).toEqual(['client 0', 'client 1']);
  });
});

describe('live connections on a host that makes connections over', () => {
  it('C5: an idle ESTABLISHED connection is never made over: a connection opened after it leaves it working', () => {
    // Arrange: the first connection is idle once its handshake is done (no timer pending on b's side).
    const { world, a, b, listener } = listeningPair({ seed: 1, keepClosedConnections: false });
    const first = a.socket();
    a.connect(first, b.ip, 9000);
    world.runUntil(10 * MS);
    const firstChild = b.accept(listener);
    // Act: a second connection, opened later.
    const second = a.socket();
    a.connect(second, b.ip, 9000);
    world.runUntil(20 * MS);
    const secondChild = b.accept(listener);
    if (!firstChild.ok || !secondChild.ok) throw new Error('accept failed');
    a.send(first, new TextEncoder().encode('first'));
    a.send(second, new TextEncoder().encode('second'));
    world.runUntil(100 * MS);
    // Assert
    const read = (fd: number) => {
      const got = b.recv(fd, 100);
      return got.ok ? new TextDecoder().decode(got.value) : got.errno;
    };
    expect([read(firstChild.value), read(secondChild.value)]).toEqual(['first', 'second']);
  });
});

describe('passive connections and autobind (Linux __inet_hash_connect, C12)', () => {
  it('C12: a connection accepted on a port of the range keeps it from autobind after its listener closed (the bind bucket is bind()\'s)', () => {
    // Arrange: a one-port range; a listens on its port, accepts one connection from b, then closes the listener.
    const world = new World({ seed: 1, stack: { ephemeralPortMin: 50000, ephemeralPortMax: 50000 } });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const c = world.addHost('c');
    const listener = a.socket();
    a.bind(listener, 50000);
    a.listen(listener, 4);
    b.connect(b.socket(), a.ip, 50000);
    world.runUntil(10 * MS);
    expect(a.accept(listener).ok).toBe(true);
    a.close(listener);
    const server = c.socket();
    c.bind(server, 9000);
    c.listen(server, 4);
    // Act / Assert: toward another destination the 4-tuple from 50000 is free, but the port is not autobind's.
    expect(a.connect(a.socket(), c.ip, 9000)).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
  });
});

describe('a connection reset while its socket is open, on a host that makes connections over', () => {
  it('C14: it is not made over while the socket holds it: the socket still reads ECONNRESET after a new connection opens', () => {
    // Arrange: b aborts (SO_LINGER{1,0}), so a's connection is CLOSED by the RST with a's socket still open.
    const { world, a, b, listener } = listeningPair({ seed: 1, keepClosedConnections: false });
    const old = a.socket();
    a.connect(old, b.ip, 9000);
    world.runUntil(10 * MS);
    const child = b.accept(listener);
    if (!child.ok) throw new Error(`accept: ${child.errno}`);
    b.setsockopt(child.value, { name: 'SO_LINGER', value: { onoff: true, lingerSec: 0 } });
    b.close(child.value);
    world.runUntil(20 * MS);
    const oldConnId = a.connIdOf(old);
    // Act: a new connection from a.
    const fresh = a.socket();
    a.connect(fresh, b.ip, 9000);
    world.runUntil(30 * MS);
    // Assert
    expect(a.connectResult(fresh)).toEqual({ ok: true, value: undefined });
    expect(a.connIdOf(old)).toBe(oldConnId);
    expect(a.connIdOf(fresh)).not.toBe(oldConnId);
    expect(a.recv(old, 10)).toEqual({ ok: false, errno: 'ECONNRESET' });
  });
});

describe('what the host reports to the trace and asks the world', () => {
  it('every segment a connection takes is reported as accepted (the trace\'s "accepted" events), data included', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const recorder = new TraceRecorder();
    world.addListener(recorder);
    const a = world.addHost('a');
    const b = world.addHost('b');
    const listener = b.socket();
    b.bind(listener, 9000);
    b.listen(listener, 4);
    const fd = a.socket();
    a.connect(fd, b.ip, 9000);
    world.runUntil(10 * MS);
    // Act
    a.send(fd, new Uint8Array(5));
    world.runUntil(20 * MS);
    // Assert: b's connection took the SYN, the handshake's ACK and the 5 bytes.
    const takenByB = recorder.events.flatMap((e) => (e.type === 'accepted' && e.conn.host === 'b' ? [`${e.seg.flags & SYN ? 'S' : '.'}${e.seg.payload.length}`] : []));
    expect(takenByB).toEqual(['S0', '.0', '.5']);
  });

  it('RFC 7323 / Linux secure_tcp_ts_off: TSvals start at an offset keyed by the 4-tuple: two ports at one instant differ, two incarnations of one 4-tuple share it', () => {
    // Arrange
    const world = new World({ seed: 1 });
    const recorder = new TraceRecorder();
    world.addListener(recorder);
    const a = world.addHost('a');
    const b = world.addHost('b');
    const synTsVal = (port: number) => recorder.events.flatMap((e) => (e.type === 'segment' && e.fate === 'sent' && e.seg.flags === SYN && e.seg.srcPort === port ? [e.seg.tsVal] : []));
    // Act: SYNs from 8848 and 8849 at time 0 (nobody listens: each is refused), then from 8848 again 100 ms later.
    const first = a.socket();
    a.bind(first, 8848);
    a.connect(first, b.ip, 9999);
    const other = a.socket();
    a.bind(other, 8849);
    a.connect(other, b.ip, 9999);
    world.runUntil(100 * MS);
    expect(a.connectResult(first)).toEqual({ ok: false, errno: 'ECONNREFUSED' });
    a.connect(first, b.ip, 9999);
    // Assert
    const [at0, at100] = synTsVal(8848);
    const [otherAt0] = synTsVal(8849);
    expect(otherAt0).not.toBe(at0);
    expect(((at100! - at0!) >>> 0)).toBe(100);
  });
});

describe('a host that keeps its history (keepClosedConnections on, the default) makes nothing over', () => {
  it('C8: lifecycles through TIME-WAIT leave every connection in allTcbs, each its own object, CLOSED at the end; nothing made over', () => {
    // Arrange: no trace listener either, so only the history stops the free lists.
    const { world, a, b, listener } = listeningPair({ seed: 1 });
    // Act: three lifecycles from one port, a closing first, each waiting out a's TIME-WAIT.
    for (let round = 0; round < 3; round++) {
      const fd = newSocket(a, true);
      a.bind(fd, 8848);
      a.connect(fd, b.ip, 9000);
      world.runUntil(world.nowUs + 10 * MS);
      const child = b.accept(listener);
      a.close(fd);
      world.runUntil(world.nowUs + 10 * MS);
      if (child.ok) b.close(child.value);
      world.runUntil(world.nowUs + 61 * SEC);
    }
    // Assert
    const history = [...a.allTcbs, ...b.allTcbs];
    expect(history).toHaveLength(6);
    expect(new Set(history).size).toBe(6);
    expect(new Set(history.map((c) => c.id.connId)).size).toBe(6);
    expect(history.map((c) => c.state)).toEqual(Array(6).fill('CLOSED'));
    expect([a.tcbsReused, a.timeWaitRecordsReused, b.tcbsReused, b.timeWaitRecordsReused]).toEqual([0, 0, 0, 0]);
  });
});

describe('TIME-WAIT on an endpoint whose connections have no compactForTimeWait (the record swap is optional)', () => {
  it('C8: the connection keeps its TCB through TIME-WAIT, which lasts 2·MSL and then ends', () => {
    // Arrange
    const world = new World({ seed: 1, endpoint: endpointWithout('compactForTimeWait'), keepClosedConnections: false });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const { fd, listener } = establishedFrom(world, a, b, 8848, false);
    // Act
    activeCloseFrom(world, a, b, fd, listener);
    // Assert
    expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('TIME-WAIT');
    world.runUntil(world.nowUs + 59 * SEC);
    expect(a.lookup(b.ip, 9000, 8848)?.state).toBe('TIME-WAIT');
    world.runUntil(world.nowUs + 2 * SEC);
    expect(a.lookup(b.ip, 9000, 8848)).toBeUndefined();
  });
});

describe('a connection reset while it waits for accept, on a host that makes connections over', () => {
  it('C14: it stays queued (Linux tcp_done leaves it): accept returns it first, and its recv reports ECONNRESET; a later connection is its own', () => {
    // Arrange: a aborts its connection before b accepts it.
    const { world, a, b, listener } = listeningPair({ seed: 1, keepClosedConnections: false });
    const aborted = a.socket();
    a.setsockopt(aborted, { name: 'SO_LINGER', value: { onoff: true, lingerSec: 0 } });
    a.connect(aborted, b.ip, 9000);
    world.runUntil(10 * MS);
    a.close(aborted);
    world.runUntil(20 * MS);
    // Act: a second connection, then both accepts.
    const later = a.socket();
    a.connect(later, b.ip, 9000);
    world.runUntil(30 * MS);
    a.send(later, new TextEncoder().encode('later'));
    world.runUntil(40 * MS);
    const first = b.accept(listener);
    const second = b.accept(listener);
    if (!first.ok || !second.ok) throw new Error('accept failed');
    // Assert
    expect(b.recv(first.value, 10)).toEqual({ ok: false, errno: 'ECONNRESET' });
    const got = b.recv(second.value, 10);
    expect(got.ok ? new TextDecoder().decode(got.value) : got.errno).toBe('later');
  });
});

describe('a TIME-WAIT record closed by a SYN for a new incarnation, on a host that makes connections over', () => {
  it('C8: its 2·MSL timer, still pending, never ends a later TIME-WAIT early', () => {
    // Arrange: server b closes first, so b holds a:8848 ↔ b:9000 in TIME-WAIT (a record, its socket closed) from about 20 ms.
    const { world, a, b, listener } = listeningPair({ seed: 1, keepClosedConnections: false });
    const lifecycleServerFirst = (port: number) => {
      const fd = a.socket();
      a.bind(fd, port);
      a.connect(fd, b.ip, 9000);
      world.runUntil(world.nowUs + 10 * MS);
      const child = b.accept(listener);
      if (child.ok) b.close(child.value);
      world.runUntil(world.nowUs + 10 * MS);
      a.close(fd);
      world.runUntil(world.nowUs + 10 * MS);
      expect(b.lookup(a.ip, port, 9000)?.state).toBe('TIME-WAIT');
    };
    lifecycleServerFirst(8848);
    // Act: a reconnects from 8848 (its SYN is above RCV.NXT: the record gives way), then, 1 s on, a
    // lifecycle from 8849 leaves b in TIME-WAIT again, which lasts until about 61 s.
    lifecycleServerFirst(8848);
    world.runUntil(1 * SEC);
    lifecycleServerFirst(8849);
    // Assert: at 60.5 s, past the first record's 2·MSL, the later TIME-WAIT is still there.
    world.runUntil(60_500 * MS);
    expect(b.lookup(a.ip, 8849, 9000)?.state).toBe('TIME-WAIT');
    world.runUntil(62 * SEC);
    expect(b.lookup(a.ip, 8849, 9000)).toBeUndefined();
  });
});

describe('connect()\'s autobind over a range that fills up (Linux __inet_hash_connect, C12)', () => {
  it('C12: every port of a 100-port range is found, the last free one included, and then EADDRNOTAVAIL', () => {
    // Arrange
    const world = new World({ seed: 1, stack: { ephemeralPortMin: 50000, ephemeralPortMax: 50099 } });
    const a = world.addHost('a');
    const b = world.addHost('b');
    const listener = b.socket();
    b.bind(listener, 9000);
    b.listen(listener, 200);
    // Act: 100 connects, each taking a port whose 4-tuple to b:9000 is free.
    const results = Array.from({ length: 100 }, () => a.connect(a.socket(), b.ip, 9000).ok);
    const ports = new Set([...a.liveTcbs()].map((c) => c.id.localPort));
    // Assert
    expect(results.every((ok) => ok)).toBe(true);
    expect(ports.size).toBe(100);
    expect(Math.min(...ports)).toBe(50000);
    expect(Math.max(...ports)).toBe(50099);
    expect(a.connect(a.socket(), b.ip, 9000)).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
  });
});

describe("connect()'s autobind over a TIME-WAIT (Linux tcp_twsk_unique, tcp_tw_reuse, C12)", () => {
  /**
   * A one-port range; `client` connects to `server`:9000 and closes first, so the one port's
   * 4-tuple sits in TIME-WAIT on the client. Returns when that TIME-WAIT was entered.
   */
  function timeWaitOnTheOnlyPort(twReuse: 0 | 1 | 2, loopback: boolean) {
    const world = new World({ seed: 1, stack: { ephemeralPortMin: 50000, ephemeralPortMax: 50000, twReuse, twReuseDelayUs: SEC } });
    const client = world.addHost('a');
    const server = loopback ? client : world.addHost('b');
    const listener = server.socket();
    server.bind(listener, 9000);
    server.listen(listener, 8);
    const fd = client.socket();
    expect(client.connect(fd, server.ip, 9000).ok).toBe(true);
    world.runUntil(10 * MS);
    const child = server.accept(listener);
    client.close(fd);
    world.runUntil(20 * MS);
    if (child.ok) server.close(child.value);
    world.runUntil(100 * MS);
    const timeWait = client.lookup(server.ip, 9000, 50000);
    expect(timeWait?.state).toBe('TIME-WAIT');
    const enteredUs = (timeWait as unknown as { timeWaitReuse(): { enteredUs: number } }).timeWaitReuse().enteredUs;
    const connectAt = (atUs: number) => {
      world.runUntil(atUs);
      return client.connect(client.socket(), server.ip, 9000);
    };
    return { enteredUs, connectAt };
  }

  it('tcp_tw_reuse 1: the port is taken over only once the TIME-WAIT is older than tcp_tw_reuse_delay, strictly', () => {
    const { enteredUs, connectAt } = timeWaitOnTheOnlyPort(1, false);
    expect(connectAt(enteredUs + SEC)).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
    expect(connectAt(enteredUs + SEC + 1)).toEqual({ ok: true, value: undefined });
  });

  it('tcp_tw_reuse 2 (the default) reuses only with both ends on this host; 0 never', () => {
    const remote = timeWaitOnTheOnlyPort(2, false);
    expect(remote.connectAt(remote.enteredUs + 2 * SEC)).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
    const local = timeWaitOnTheOnlyPort(2, true);
    expect(local.connectAt(local.enteredUs + 2 * SEC)).toEqual({ ok: true, value: undefined });
    const off = timeWaitOnTheOnlyPort(0, true);
    expect(off.connectAt(off.enteredUs + 2 * SEC)).toEqual({ ok: false, errno: 'EADDRNOTAVAIL' });
  });
});
