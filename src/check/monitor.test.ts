/**
 * The connection book's forgetting (issue #13): a MonitorSet tells its monitors to forget a
 * connection only once it and every connection of its 4-tuple are CLOSED, their descriptors are
 * closed, no segment of the 4-tuple is in flight, and the instant of the last of these is over
 * with the 4-tuple still quiet.
 */
import { describe, expect, it } from 'vitest';
import type { Segment } from '../tcp/segment.js';
import { ACK, FIN, RST } from '../tcp/segment.js';
import type { Call } from '../world/program.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { MonitorSet } from './index.js';
import { BaseMonitor, ConnBook, GroupedTupleMap, type MonitorInterest, TupleMap } from './monitor.js';

const CLIENT_IP = 0x0a000002;
const SERVER_IP = 0x0a000001;

function conn(connId: number, passive: boolean, incarnation = 1): ConnInfo {
  return passive
    ? { connId, host: 'server', localIp: SERVER_IP, localPort: 80, remoteIp: CLIENT_IP, remotePort: 40000, incarnation, passive, reuseAddr: false, lingerSec: null }
    : { connId, host: 'client', localIp: CLIENT_IP, localPort: 40000, remoteIp: SERVER_IP, remotePort: 80, incarnation, passive, reuseAddr: false, lingerSec: null };
}

function segment(from: ConnInfo, id: number): Segment {
  return { id, srcIp: from.localIp, srcPort: from.localPort, dstIp: from.remoteIp, dstPort: from.remotePort, seq: 1, ack: 1, flags: FIN | ACK, window: 0, mss: 0, wscale: -1, sackOk: false, tsVal: -1, tsEcr: 0, payload: new Uint8Array(0), sentAtUs: 0, incarnation: from.incarnation, connId: from.connId, retransmission: false, copyOf: -1 };
}

const state = (atUs: number, c: ConnInfo, to: string): TraceEvent => ({ type: 'state', atUs, conn: c, from: 'ESTABLISHED', to: to as never, cause: '' });
const close = (atUs: number, c: ConnInfo): TraceEvent => ({ type: 'call', atUs, host: c.host, program: 0, step: 0, call: { op: 'close', sock: 's' }, text: 'close(s)', result: 'ok', fd: 3, connId: c.connId });
const sent = (atUs: number, s: Segment): TraceEvent => ({ type: 'segment', atUs, fate: 'sent', seg: s });
const delivered = (atUs: number, s: Segment): TraceEvent => ({ type: 'segment', atUs, fate: 'delivered', seg: s });

/** Records what it is told to forget, and when (the index of the event after which it was). */
class ForgetRecorder extends BaseMonitor {
  readonly name = 'forget-recorder';
  readonly claims = [];
  readonly description = '';
  readonly blackBox = true;
  readonly forgotten: { connId: number; afterEvent: number }[] = [];
  private seen = -1;
  onEvent(_event: TraceEvent, index: number): void {
    this.seen = index;
  }
  forgetConnection(c: ConnInfo): void {
    this.forgotten.push({ connId: c.connId, afterEvent: this.seen });
  }
}

function feed(events: readonly TraceEvent[]): ForgetRecorder {
  const recorder = new ForgetRecorder({ mslUs: 1, expectedTimeWaitUs: 2, delayedAckUs: 0, cleanNetwork: true, staleSegmentsImpossible: true });
  const set = new MonitorSet([recorder]);
  for (const event of events) set.onEvent(event);
  return recorder;
}

describe('ConnBook forgetting', () => {
  const client = conn(1, false);
  const server = conn(2, true);
  const opened = [state(0, client, 'ESTABLISHED'), state(0, server, 'ESTABLISHED')];

  it('forgets a pair once both are CLOSED and closed by their programs, nothing is in flight, and the instant is over', () => {
    // Arrange: the last FIN is delivered at 30; everything else ended before.
    const fin = segment(server, 7);
    const events = [...opened, close(10, client), close(10, server), state(20, client, 'CLOSED'), sent(20, fin), state(20, server, 'CLOSED'), delivered(30, fin), { type: 'host', atUs: 40, host: 'x', event: 'restart' } as TraceEvent];
    // Act
    const recorder = feed(events);
    // Assert: both, once the first event of a later instant than the delivery (index 7) has been seen, not before.
    expect(recorder.forgotten).toEqual([
      { connId: 1, afterEvent: 8 },
      { connId: 2, afterEvent: 8 },
    ]);
  });

  it('keeps a pair while a segment of its 4-tuple is in flight, or a descriptor is open', () => {
    const fin = segment(server, 7);
    // Act: the FIN is never delivered; in the other run the server's program never closes.
    const inFlight = feed([...opened, close(10, client), close(10, server), state(20, client, 'CLOSED'), state(20, server, 'CLOSED'), sent(20, fin), state(50, conn(9, false), 'SYN-SENT')]);
    const open = feed([...opened, close(10, client), state(20, client, 'CLOSED'), state(20, server, 'CLOSED'), state(50, conn(9, false), 'SYN-SENT')]);
    // Assert
    expect(inFlight.forgotten).toEqual([]);
    expect(open.forgotten).toEqual([]);
  });

  it('keeps a pair whose 4-tuple a new connection joins in the same instant (a take-over by connect), until all are past judging', () => {
    // Arrange: at 20 the old pair goes quiet and a new incarnation of the 4-tuple starts.
    const next = conn(3, false, 2);
    const events = [...opened, close(10, client), close(10, server), state(20, client, 'CLOSED'), state(20, server, 'CLOSED'), state(20, next, 'SYN-SENT'), state(30, conn(9, false), 'SYN-SENT')];
    // Act
    const recorder = feed(events);
    // Assert
    expect(recorder.forgotten).toEqual([]);
  });
});

describe('a monitor in a set reads the shared book, never feeds it', () => {
  /** A monitor as the real ones are: it calls track() first, and wants sent segments only. */
  class TrackingRecorder extends ForgetRecorder {
    readonly interests: readonly MonitorInterest[] = ['state', 'segment-sent', 'call'];
    override onEvent(event: TraceEvent, index: number): void {
      this.track(event);
      super.onEvent(event, index);
    }
  }

  it('issue #13: a segment it sees sent counts once in flight, so its delivery (which it does not see) ends the flight', () => {
    const client = conn(1, false);
    const server = conn(2, true);
    const fin = segment(server, 7);
    const events = [state(0, client, 'ESTABLISHED'), state(0, server, 'ESTABLISHED'), close(10, client), close(10, server), state(20, client, 'CLOSED'), sent(20, fin), state(20, server, 'CLOSED'), delivered(30, fin), { type: 'host', atUs: 40, host: 'x', event: 'restart' } as TraceEvent];
    const recorder = new TrackingRecorder({ mslUs: 1, expectedTimeWaitUs: 2, delayedAckUs: 0, cleanNetwork: true, staleSegmentsImpossible: true });
    const set = new MonitorSet([recorder]);
    for (const event of events) set.onEvent(event);
    expect(recorder.forgotten.map((f) => f.connId)).toEqual([1, 2]);
  });
});

describe('a violation names its connection and incarnation, or none', () => {
  class Reporter extends BaseMonitor {
    readonly name = 'reporter';
    readonly claims = ['C1'];
    readonly description = '';
    readonly blackBox = true;
    onEvent(event: TraceEvent, index: number): void {
      this.report(event.atUs, index, event.type === 'state' ? event.conn : null, 'seen');
    }
  }
  const context = { mslUs: 1, expectedTimeWaitUs: 2, delayedAckUs: 0, cleanNetwork: true, staleSegmentsImpossible: true };

  it('a violation on a connection carries its id and incarnation; one on no connection carries -1 for both', () => {
    const onConn = new Reporter(context);
    onConn.onEvent(state(5, conn(4, false, 3), 'CLOSED'), 0);
    expect(onConn.violation).toEqual({ monitor: 'reporter', claims: ['C1'], atUs: 5, eventIndex: 0, connId: 4, incarnation: 3, message: 'seen' });
    const onNone = new Reporter(context);
    onNone.onEvent({ type: 'host', atUs: 6, host: 'x', event: 'crash' }, 2);
    expect(onNone.violation).toEqual({ monitor: 'reporter', claims: ['C1'], atUs: 6, eventIndex: 2, connId: -1, incarnation: -1, message: 'seen' });
  });
});

describe('TupleMap', () => {
  it('keeps the two directions of a 4-tuple apart and finds each by its four numbers', () => {
    const map = new TupleMap<string>();
    map.set(CLIENT_IP, 40000, SERVER_IP, 80, 'out');
    map.set(SERVER_IP, 80, CLIENT_IP, 40000, 'in');
    map.set(CLIENT_IP, 40001, SERVER_IP, 80, 'other port');
    expect([map.get(CLIENT_IP, 40000, SERVER_IP, 80), map.get(SERVER_IP, 80, CLIENT_IP, 40000), map.get(CLIENT_IP, 40001, SERVER_IP, 80), map.get(CLIENT_IP, 40000, SERVER_IP, 81)]).toEqual(['out', 'in', 'other port', undefined]);
    map.delete(CLIENT_IP, 40000, SERVER_IP, 80);
    expect([map.get(CLIENT_IP, 40000, SERVER_IP, 80), map.size]).toEqual([undefined, 2]);
  });

  it('still tells 4-tuples apart past 1,024 addresses (string keys take over)', () => {
    const map = new TupleMap<number>();
    for (let i = 0; i < 1_100; i++) map.set(0x0b000000 + i, 1, 0x0c000000 + i, 2, i);
    const found = Array.from({ length: 1_100 }, (_, i) => map.get(0x0b000000 + i, 1, 0x0c000000 + i, 2));
    expect(found).toEqual(Array.from({ length: 1_100 }, (_, i) => i));
    expect(map.size).toBe(1_100);
  });
});

describe('GroupedTupleMap', () => {
  const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  const L1 = ip(10, 0, 0, 1);
  const L2 = ip(10, 0, 0, 2);
  const R = ip(10, 0, 0, 9);

  it('keeps every remote of one local endpoint, counts each 4-tuple once, and deletes only what is there', () => {
    const map = new GroupedTupleMap<string>();
    map.set(L1, 80, R, 1, 'a');
    map.set(L1, 80, R, 2, 'b');
    map.set(L1, 80, R, 2, 'b again');
    expect([map.get(L1, 80, R, 1), map.get(L1, 80, R, 2), map.size]).toEqual(['a', 'b again', 2]);
    map.delete(L2, 80, R, 1); // no such local endpoint
    map.delete(L1, 80, R, 3); // no such remote
    expect(map.size).toBe(2);
    map.delete(L1, 80, R, 1);
    expect([map.get(L1, 80, R, 1), map.get(L1, 80, R, 2), map.size]).toEqual([undefined, 'b again', 1]);
  });

  it('iterates grouped by local endpoint in the order the groups were made; an emptied group is made anew', () => {
    const map = new GroupedTupleMap<string>();
    map.set(L1, 80, R, 1, 'l1 first');
    map.set(L2, 80, R, 1, 'l2');
    map.set(L1, 80, R, 2, 'l1 second');
    expect([...map.values()]).toEqual(['l1 first', 'l1 second', 'l2']);
    map.delete(L1, 80, R, 1);
    map.delete(L1, 80, R, 2);
    map.set(L1, 80, R, 3, 'l1 again');
    expect([...map.values()]).toEqual(['l2', 'l1 again']);
  });

  it('never gives two endpoints one key, whatever their address and port', () => {
    const map = new GroupedTupleMap<string>();
    // 0.2.0.0:5 and 0.1.0.0:6; 255.255.255.255:65535 and 0.0.0.0:0.
    map.set(ip(0, 2, 0, 0), 5, R, 1, 'x');
    map.set(ip(0, 1, 0, 0), 6, R, 1, 'y');
    map.set(ip(255, 255, 255, 255), 65535, R, 1, 'max');
    map.set(0, 0, R, 1, 'zero');
    expect([map.get(ip(0, 2, 0, 0), 5, R, 1), map.get(ip(0, 1, 0, 0), 6, R, 1), map.get(ip(255, 255, 255, 255), 65535, R, 1), map.get(0, 0, R, 1), map.size]).toEqual(['x', 'y', 'max', 'zero', 4]);
  });
});

// ---------------------------------------------------------------------------------------------
// The book's promise, condition by condition (issue #14: the survivors of Stryker's run on the
// connection book). A MonitorSet tells its monitors to forget a 4-tuple's connections once each
// is CLOSED (a passive child: or back to LISTEN), each descriptor is closed by a close() that
// succeeded (or its host crashed), no segment of the 4-tuple is in flight, and the instant of
// the last of these is over with the 4-tuple still quiet.
// ---------------------------------------------------------------------------------------------

/** A client and its server child on one 4-tuple; `oneAddress` puts both on one host and address. */
function pairOf(clientId: number, serverId: number, options: { clientPort?: number; incarnation?: number; oneAddress?: boolean } = {}): [ConnInfo, ConnInfo] {
  const clientPort = options.clientPort ?? 40000;
  const incarnation = options.incarnation ?? 1;
  const serverIp = options.oneAddress === true ? CLIENT_IP : SERVER_IP;
  const serverHost = options.oneAddress === true ? 'client' : 'server';
  const common = { incarnation, reuseAddr: false, lingerSec: null };
  return [
    { connId: clientId, host: 'client', localIp: CLIENT_IP, localPort: clientPort, remoteIp: serverIp, remotePort: 80, passive: false, ...common },
    { connId: serverId, host: serverHost, localIp: serverIp, localPort: 80, remoteIp: CLIENT_IP, remotePort: clientPort, passive: true, ...common },
  ];
}

const opened = (atUs: number, ...conns: ConnInfo[]): TraceEvent[] => conns.map((c) => state(atUs, c, 'ESTABLISHED'));
/** Every condition but the instant's end: both CLOSED, both descriptors closed. */
const pastJudging = (atUs: number, ...conns: ConnInfo[]): TraceEvent[] => [...conns.map((c) => state(atUs, c, 'CLOSED')), ...conns.map((c) => close(atUs, c))];
const callOn = (atUs: number, c: ConnInfo, call: Call, result: string): TraceEvent => ({ type: 'call', atUs, host: c.host, program: 0, step: 0, call, text: '', result, fd: 3, connId: c.connId });
const dropped = (atUs: number, s: Segment): TraceEvent => ({ type: 'segment', atUs, fate: 'dropped', seg: s, reason: 'loss' });
const duplicated = (atUs: number, s: Segment, copy: Segment): TraceEvent => ({ type: 'segment', atUs, fate: 'duplicated', seg: s, copy, why: 'duplicate' });
const delayed = (atUs: number, s: Segment): TraceEvent => ({ type: 'segment', atUs, fate: 'delayed', seg: s, extraUs: 5, why: 'reorder' });
const hostEvent = (atUs: number, host: string, event: 'crash' | 'restart'): TraceEvent => ({ type: 'host', atUs, host, event });
/** An event of nothing the book keeps (another host), to see what an instant's end brought. */
const tick = (atUs: number): TraceEvent => hostEvent(atUs, 'elsewhere', 'restart');
/** A RST the host of `from`'s address sends with no connection of its own (connId -1). */
const hostRst = (from: ConnInfo, id: number): Segment => ({ ...segment(from, id), flags: RST, connId: -1 });

/** A ForgetRecorder that keeps the set's shared book, to ask it what it still knows. */
class BookReader extends ForgetRecorder {
  shared: ConnBook | null = null;
  override shareBook(book: ConnBook): void {
    super.shareBook(book);
    this.shared = book;
  }
}

function feedAndRead(events: readonly TraceEvent[]): { forgotten: { connId: number; afterEvent: number }[]; book: ConnBook } {
  const reader = new BookReader({ mslUs: 1, expectedTimeWaitUs: 2, delayedAckUs: 0, cleanNetwork: true, staleSegmentsImpossible: true });
  const set = new MonitorSet([reader]);
  for (const event of events) set.onEvent(event);
  return { forgotten: reader.forgotten, book: reader.shared! };
}

/** Both connections forgotten after event `afterEvent`, in the order the book first saw them. */
const both = (ids: readonly number[], afterEvent: number) => ids.map((connId) => ({ connId, afterEvent }));

describe('ConnBook: a 4-tuple is forgotten once the instant of its last condition is over, not before', () => {
  const [client, server] = pairOf(1, 2);

  it('the last condition a CLOSED after both descriptors were closed: forgotten after the first event of a later instant', () => {
    // Arrange: the server's program closes at 20 (LAST-ACK follows), its CLOSED comes at 30.
    const lastClosed = state(30, server, 'CLOSED');
    const later = tick(40);
    const events = [...opened(0, client, server), state(10, client, 'CLOSED'), close(10, client), close(20, server), state(20, server, 'LAST-ACK'), lastClosed, tick(30), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert: not after the CLOSED at 30 itself, nor after the rest of instant 30.
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it('the last condition a descriptor closed after both were CLOSED: forgotten after the first event of a later instant', () => {
    const lastClose = close(20, server);
    const later = tick(30);
    const events = [...opened(0, client, server), state(10, client, 'CLOSED'), state(10, server, 'CLOSED'), close(10, client), lastClose, tick(20), later];
    const { forgotten } = feedAndRead(events);
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it('a dropped segment leaves flight as a delivered one does', () => {
    // Arrange: the server's FIN, sent as it closes, is lost at 20.
    const fin = segment(server, 7);
    const later = tick(30);
    const events = [...opened(0, client, server), close(10, client), close(10, server), state(10, client, 'CLOSED'), sent(10, fin), state(10, server, 'CLOSED'), dropped(20, fin), tick(20), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it('a delay is no fate: a delayed segment is in flight until it is delivered', () => {
    const fin = segment(server, 7);
    const later = tick(60);
    const events = [...opened(0, client, server), close(10, client), close(10, server), state(10, client, 'CLOSED'), sent(10, fin), state(10, server, 'CLOSED'), delayed(15, fin), tick(20), delivered(50, fin), later];
    const { forgotten } = feedAndRead(events);
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it('a duplicated segment is in flight twice: forgotten only once the copy is delivered too', () => {
    // Arrange: the FIN is duplicated as it leaves; the original arrives at 20, the copy at 40.
    const fin = segment(server, 7);
    const copy: Segment = { ...fin, id: 8, copyOf: 7 };
    const later = tick(50);
    const events = [...opened(0, client, server), close(10, client), close(10, server), state(10, client, 'CLOSED'), sent(10, fin), duplicated(10, fin, copy), state(10, server, 'CLOSED'), delivered(20, fin), tick(30), delivered(40, copy), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it("a host's RST (no connection sends it) is in flight on the 4-tuple: it keeps the pair until delivered", () => {
    // Arrange: the pair is past judging at 10; at 20 the server's host answers a stray segment with a RST.
    const rst = hostRst(server, 9);
    const later = tick(40);
    const events = [...opened(0, client, server), ...pastJudging(10, client, server), sent(20, rst), tick(25), delivered(30, rst), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it('a connection numbered 0 is forgotten like any other', () => {
    const [first, child] = pairOf(0, 2);
    const later = tick(20);
    const events = [...opened(0, first, child), ...pastJudging(10, first, child), later];
    expect(feedAndRead(events).forgotten).toEqual(both([0, 2], events.indexOf(later)));
  });
});

describe('ConnBook: what releases a descriptor', () => {
  const [client, server] = pairOf(1, 2);

  it("a crash releases every descriptor of its host: the crashed server's child is forgotten with its client", () => {
    const later = tick(30);
    const events = [...opened(0, client, server), close(10, client), state(10, client, 'CLOSED'), state(20, server, 'CLOSED'), hostEvent(20, 'server', 'crash'), later];
    expect(feedAndRead(events).forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it("a crash releases only its own host's descriptors: the client's stays open until its program closes it", () => {
    // Arrange: the server's host crashes at 20; the client's connection is reset at 25, its descriptor closed at 40.
    const later = tick(50);
    const events = [...opened(0, client, server), state(20, server, 'CLOSED'), hostEvent(20, 'server', 'crash'), state(25, client, 'CLOSED'), tick(30), close(40, client), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it('neither a restart of a host that is up (a no-op) nor its listener changing state closes its descriptors', () => {
    // Arrange: the server's connection is reset at 10; its program closes it only at 40.
    const later = tick(50);
    const listenerClosed: TraceEvent = { type: 'listen', atUs: 20, host: 'server', port: 80, from: 'LISTEN', to: 'CLOSED' };
    const events = [...opened(0, client, server), state(10, client, 'CLOSED'), close(10, client), state(10, server, 'CLOSED'), hostEvent(20, 'server', 'restart'), listenerClosed, tick(30), close(40, server), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it('only a close() that succeeded releases: a failed close, a shutdown and a recv do not', () => {
    const later = tick(50);
    const events = [
      ...opened(0, client, server),
      state(10, client, 'CLOSED'),
      close(10, client),
      state(10, server, 'CLOSED'),
      callOn(20, server, { op: 'close', sock: 's' }, 'EBADF'),
      callOn(20, server, { op: 'shutdown', sock: 's', how: 'SHUT_RDWR' }, 'ok'),
      callOn(20, server, { op: 'recv', sock: 's', bytes: 10 }, 'eof'),
      tick(30),
      close(40, server),
      later,
    ];
    expect(feedAndRead(events).forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it('a crash after a close releases that connection once: the other descriptor still keeps the 4-tuple', () => {
    // Arrange: the client closes at 10, its host crashes at 15; the server, reset at 12, is closed by its program at 30.
    const later = tick(40);
    const events = [...opened(0, client, server), close(10, client), state(10, client, 'CLOSED'), state(12, server, 'CLOSED'), hostEvent(15, 'client', 'crash'), tick(20), close(30, server), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });

  it('a passive child back to LISTEN has ended: it has no descriptor until accepted, so only its host crashing lets it go', () => {
    // Arrange: the child made by the client's SYN is reset back to LISTEN at 10; the client is closed at 10.
    const opening = [state(0, client, 'SYN-SENT'), state(5, server, 'SYN-RECEIVED'), state(10, server, 'LISTEN'), state(10, client, 'CLOSED'), close(10, client)];
    const later = tick(30);
    const crashed = [...opening, hostEvent(20, 'server', 'crash'), later];
    // Act
    const kept = feedAndRead([...opening, tick(20), tick(30)]).forgotten;
    const gone = feedAndRead(crashed).forgotten;
    // Assert
    expect(kept).toEqual([]);
    expect(gone).toEqual(both([1, 2], crashed.indexOf(later)));
  });
});

describe('ConnBook: a 4-tuple something joins before its quiet instant is over is judged on', () => {
  const [client, server] = pairOf(1, 2);
  const [next, nextChild] = pairOf(3, 4, { incarnation: 2 });

  it('a take-over that lives on keeps the old pair, and all go together once the new one is past judging too', () => {
    // Arrange: at 20 the pair goes quiet and a connect() of the next incarnation takes the 4-tuple over.
    const kept = tick(30);
    const later = tick(60);
    const events = [...opened(0, client, server), ...pastJudging(20, client, server), state(20, next, 'SYN-SENT'), kept, state(30, nextChild, 'SYN-RECEIVED'), ...opened(30, next, nextChild), ...pastJudging(50, next, nextChild), later];
    // Act
    const { forgotten, book } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2, 3, 4], events.indexOf(later)));
    expect([1, 2, 3, 4].map((id) => book.byId.has(id))).toEqual([false, false, false, false]);
  });

  it('a joiner still open, though its descriptor is closed, keeps the 4-tuple until it is CLOSED', () => {
    // Arrange: the joiner is closed by its program at 20 and sends its FIN (FIN-WAIT-1) ; CLOSED at 40.
    const later = tick(50);
    const events = [...opened(0, client, server), ...pastJudging(20, client, server), state(20, next, 'ESTABLISHED'), close(20, next), state(20, next, 'FIN-WAIT-1'), tick(30), state(40, next, 'CLOSED'), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2, 3], events.indexOf(later)));
  });

  it('a joiner CLOSED at once, its descriptor still open, keeps the 4-tuple until its program closes it', () => {
    const later = tick(50);
    const events = [...opened(0, client, server), ...pastJudging(20, client, server), state(20, next, 'SYN-SENT'), state(20, next, 'CLOSED'), tick(30), close(40, next), later];
    const { forgotten } = feedAndRead(events);
    expect(forgotten).toEqual(both([1, 2, 3], events.indexOf(later)));
  });

  it('a 4-tuple found quiet again in its quiet instant is forgotten once', () => {
    // Arrange: at 20, after the pair is past judging, a host's RST of the 4-tuple is sent and dropped at once.
    const rst = hostRst(server, 9);
    const later = tick(30);
    const events = [...opened(0, client, server), ...pastJudging(20, client, server), sent(20, rst), dropped(20, rst), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });
});

describe('ConnBook: several 4-tuples at once', () => {
  it('each is forgotten at the end of its own quiet instant; one gone quiet as another is forgotten waits for its own, and a joined one is kept', () => {
    // Arrange: A is quiet at 10. B's last close is the first event at 20 (when A is forgotten), and a
    // take-over joins B at 20. C is quiet at 30.
    const [a1, a2] = pairOf(1, 2, { clientPort: 40001 });
    const [b1, b2] = pairOf(3, 4, { clientPort: 40002 });
    const [c1, c2] = pairOf(5, 6, { clientPort: 40003 });
    const [b3] = pairOf(7, 8, { clientPort: 40002, incarnation: 2 });
    const lastOfB = close(20, b2);
    const later = tick(40);
    const events = [
      ...opened(0, a1, a2, b1, b2, c1, c2),
      ...pastJudging(10, a1, a2),
      state(10, b1, 'CLOSED'),
      state(10, b2, 'CLOSED'),
      close(10, b1),
      lastOfB,
      state(20, b3, 'SYN-SENT'),
      ...pastJudging(30, c1, c2),
      later,
    ];
    // Act
    const { forgotten, book } = feedAndRead(events);
    // Assert: what was forgotten, and what the book still answers for each.
    expect(forgotten).toEqual([...both([1, 2], events.indexOf(lastOfB)), ...both([5, 6], events.indexOf(later))]);
    expect([1, 2, 3, 4, 5, 6, 7].map((id) => [book.byId.has(id), book.byId.get(id)?.connId, book.stateOf.get(id)])).toEqual([
      [false, undefined, undefined],
      [false, undefined, undefined],
      [true, 3, 'CLOSED'],
      [true, 4, 'CLOSED'],
      [false, undefined, undefined],
      [false, undefined, undefined],
      [true, 7, 'SYN-SENT'],
    ]);
    expect(book.byId.size).toBe(3);
    expect([book.peerOf(a1), book.peerOf(b1)?.connId, book.peerOf(b2)?.connId, book.peerOf(b3)]).toEqual([undefined, 4, 3, undefined]);
  });
});

describe('ConnBook: the two directions of a 4-tuple are one', () => {
  it('on one address too: a client past judging is kept while its server, on the same address, is open', () => {
    // Arrange: both ends on one address (ports 40000 and 80); the client is past judging at 10, the server at 30.
    const [client, server] = pairOf(1, 2, { oneAddress: true });
    const later = tick(40);
    const events = [...opened(0, client, server), state(10, client, 'CLOSED'), close(10, client), tick(20), ...pastJudging(30, server), later];
    // Act
    const { forgotten } = feedAndRead(events);
    // Assert
    expect(forgotten).toEqual(both([1, 2], events.indexOf(later)));
  });
});

describe("ConnBook: a connection's peer is the first connection of the reversed 4-tuple in its incarnation", () => {
  const [client1, server1] = pairOf(1, 2);
  /** A child the listener made from an old duplicate of client 1's SYN: same 4-tuple, same incarnation. */
  const duplicateChild: ConnInfo = { ...server1, connId: 3 };
  const [client2, server2] = pairOf(4, 5, { incarnation: 2 });

  it('each incarnation pairs its first connections; a child of an old duplicate SYN has a peer but is nobody\'s', () => {
    // Arrange
    const book = new ConnBook();
    for (const c of [client1, server1, duplicateChild, client2, server2]) book.observe(state(0, c, c.passive ? 'SYN-RECEIVED' : 'SYN-SENT'));
    // Act
    const peers = [client1, server1, duplicateChild, client2, server2].map((c) => book.peerOf(c)?.connId);
    // Assert
    expect(peers).toEqual([2, 1, 1, 5, 4]);
  });

  it('a connection the book has not seen gets its peer from the reversed 4-tuple, or none', () => {
    const book = new ConnBook();
    book.observe(state(0, server1, 'SYN-RECEIVED'));
    expect([book.peerOf(client1)?.connId, book.peerOf(client2), book.byId.size]).toEqual([2, undefined, 1]);
  });

  it('the first connections of two incarnations and a child of an old duplicate SYN are forgotten together; the next incarnation pairs anew', () => {
    // Arrange: incarnation 1's child is reset at 10; the old duplicate SYN makes a child at 20, reset
    // back to LISTEN; in the other run incarnation 2 comes and goes too. The server's host crashes at 40.
    const first = [...opened(0, client1, server1), state(10, server1, 'CLOSED'), state(10, client1, 'CLOSED'), close(10, client1), state(20, duplicateChild, 'SYN-RECEIVED'), state(25, duplicateChild, 'LISTEN')];
    const second = [...opened(30, client2, server2), state(35, client2, 'CLOSED'), state(35, server2, 'CLOSED'), close(35, client2)];
    const later = tick(50);
    const one = [...first, hostEvent(40, 'server', 'crash'), later];
    const two = [...first, ...second, hostEvent(40, 'server', 'crash'), later];
    // Act
    const afterOne = feedAndRead(one);
    const afterTwo = feedAndRead(two);
    const [client3, server3] = pairOf(6, 7, { incarnation: 3 });
    for (const event of opened(60, client3, server3)) afterTwo.book.observe(event);
    // Assert
    expect(afterOne.forgotten).toEqual(both([1, 2, 3], one.indexOf(later)));
    expect(afterTwo.forgotten).toEqual(both([1, 2, 3, 4, 5], two.indexOf(later)));
    expect([afterTwo.book.peerOf(client1), afterTwo.book.peerOf(server2), afterTwo.book.peerOf(client3)?.connId, afterTwo.book.peerOf(server3)?.connId]).toEqual([undefined, undefined, 7, 6]);
  });
});

describe('ConnBook.hasQuietBefore and forgetQuiet, read directly', () => {
  it('quiet connections wait for a later instant: none before, those of instant 30 from 31 on, none once forgotten', () => {
    // Arrange
    const [client, server] = pairOf(1, 2);
    const book = new ConnBook();
    book.startForgetting();
    const recorder = new ForgetRecorder({ mslUs: 1, expectedTimeWaitUs: 2, delayedAckUs: 0, cleanNetwork: true, staleSegmentsImpossible: true });
    const before = book.hasQuietBefore(100);
    for (const event of [...opened(0, client, server), ...pastJudging(30, client, server)]) book.observe(event);
    // Act
    const around = [book.hasQuietBefore(30), book.hasQuietBefore(31)];
    book.forgetQuiet([recorder], 30);
    const forgottenAt30 = recorder.forgotten.length;
    book.forgetQuiet([recorder], 31);
    // Assert
    expect([before, ...around, forgottenAt30, book.hasQuietBefore(1_000)]).toEqual([false, false, true, 0, false]);
    expect(recorder.forgotten.map((f) => f.connId)).toEqual([1, 2]);
    expect([book.byId.size, book.stateOf.get(1)]).toEqual([0, undefined]);
  });
});

describe('ConnBook: a stack that reports no states', () => {
  it('its calls, segments and crashes name connections the book never saw: taken in, nothing kept, nothing forgotten', () => {
    // Arrange: the connections appear only in calls and on the wire (an external stack that reports no state changes).
    const [client, server] = pairOf(1, 2);
    const fin = segment(server, 7);
    const events = [sent(0, fin), delivered(10, fin), close(10, client), close(10, server), hostEvent(20, 'server', 'crash'), tick(30)];
    // Act
    const { forgotten, book } = feedAndRead(events);
    // Assert
    expect([forgotten, book.byId.size]).toEqual([[], 0]);
  });
});
