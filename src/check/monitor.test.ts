/**
 * The connection book's forgetting (issue #13): a MonitorSet tells its monitors to forget a
 * connection only once it and every connection of its 4-tuple are CLOSED, their descriptors are
 * closed, no segment of the 4-tuple is in flight, and the instant of the last of these is over
 * with the 4-tuple still quiet.
 */
import { describe, expect, it } from 'vitest';
import type { Segment } from '../tcp/segment.js';
import { ACK, FIN } from '../tcp/segment.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import { MonitorSet } from './index.js';
import { BaseMonitor, GroupedTupleMap, type MonitorInterest, TupleMap } from './monitor.js';

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
