/**
 * close-shape and stream on handcrafted traces: each rule's boundary from both sides, and the
 * cases each monitor must leave alone (resets, simultaneous closes, errors that end a stream).
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, RST, SYN } from '../tcp/segment.js';
import type { TraceEvent } from '../world/trace.js';
import { AbortMonitor, CloseShapeMonitor, OrphanFinWait2Monitor, StreamMonitor } from './close-monitors.js';
import type { MonitorContext } from './monitor.js';
import { A, B, call, conn, CONTEXT, delivered, judge, seg, sent, state, verdict } from './trace-test-support.js';

const client = conn(1, 'a', 1000, 80);
const server = conn(2, 'b', 80, 1000, true);
const opened: TraceEvent[] = [state(0, client, 'SYN-SENT', 'ESTABLISHED'), state(0, server, 'SYN-RECEIVED', 'ESTABLISHED')];

describe('close-shape (C5, C7): three segments for a prompt passive close, four or more for a slow one', () => {
  const CLEAN: MonitorContext = { ...CONTEXT, cleanNetwork: true, delayedAckUs: 40_000, jiffyUs: 4_000 };
  const DATA_AT_US = 1_000;
  const FIN_AT_US = 10_000;
  /** The client's data, then its FIN (seq 11) reaching the server at 10 ms. */
  const clientFin = seg(client, { seq: 11, ack: 1, flags: FIN | ACK });
  const before: TraceEvent[] = [
    ...opened,
    delivered(DATA_AT_US, seg(client, { seq: 1, ack: 1, flags: ACK, bytes: 10 })),
    sent(FIN_AT_US - 1, clientFin),
    delivered(FIN_AT_US, clientFin),
  ];
  const closeCall = (atUs: number, how: 'close' | 'SHUT_WR' | 'SHUT_RD' = 'close', result = 'ok'): TraceEvent =>
    how === 'close' ? call(atUs, 'b', { op: 'close', sock: 'c' }, result, 4, 2) : call(atUs, 'b', { op: 'shutdown', sock: 'c', how }, result, 4, 2);
  /** The server's FIN (seq 1) at `atUs`, and the client's ACK of it (ack 2) just after. */
  const serverFinAndAck = (atUs: number, flags = FIN | ACK): TraceEvent[] => [
    sent(atUs, seg(server, { seq: 1, ack: 12, flags })),
    sent(atUs + 1, seg(client, { seq: 12, ack: 2, flags: ACK })),
  ];
  const bareAck = (atUs: number): TraceEvent => sent(atUs, seg(server, { seq: 1, ack: 12, flags: ACK }));

  it('a close 5 ms after the FIN puts the ACK on the FIN: three segments pass, four are reported', () => {
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, closeCall(15_000), ...serverFinAndAck(15_000)])).toBeNull();
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, bareAck(10_001), closeCall(15_000), ...serverFinAndAck(15_000)])).toBe(
      'passive closer closed 5000 us after the FIN (delayed ACK 40000 us): expected the 3-segment close, saw 4 segments',
    );
  });

  it('shutdown(SHUT_WR) closes the sending side as close() does; shutdown(SHUT_RD) and a failed close() are no close', () => {
    const fourSegments = [bareAck(10_001), ...serverFinAndAck(15_000)];
    const expected = 'passive closer closed 5000 us after the FIN (delayed ACK 40000 us): expected the 3-segment close, saw 4 segments';
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, closeCall(15_000, 'SHUT_WR'), ...fourSegments])).toBe(expected);
    // Not closes: the close time stays unknown, and such a close is not judged at all.
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, closeCall(15_000, 'SHUT_RD'), ...fourSegments])).toBeNull();
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, closeCall(15_000, 'close', 'EBADF'), ...fourSegments])).toBeNull();
  });

  it('the close time is the first close call: a second, later one does not move it past the timer', () => {
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, closeCall(15_000, 'SHUT_WR'), closeCall(60_000), ...serverFinAndAck(60_000)])).toBeNull();
  });

  it('a close 50 ms after the FIN comes after the delayed ACK: four segments pass, three are reported', () => {
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, bareAck(50_000), closeCall(60_000), ...serverFinAndAck(60_000)])).toBeNull();
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, closeCall(60_000), ...serverFinAndAck(60_000)])).toBe(
      'passive closer closed 50000 us after the FIN (delayed ACK 40000 us): expected 4 or more segments, saw 3',
    );
  });

  it('data the passive closer sends before it closes makes four segments right, even for a prompt close', () => {
    const reply = sent(12_000, seg(server, { seq: 1, ack: 12, flags: ACK, bytes: 5 }));
    const finAfterData = [sent(15_000, seg(server, { seq: 6, ack: 12, flags: FIN | ACK })), sent(15_001, seg(client, { seq: 12, ack: 7, flags: ACK }))];
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, reply, closeCall(15_000), ...finAfterData])).toBeNull();
    // The same four with a FIN that took its ACK one short: the close never completes, nothing judged.
    const wrongAck = [sent(15_000, seg(server, { seq: 6, ack: 12, flags: FIN | ACK })), sent(15_001, seg(client, { seq: 12, ack: 6, flags: ACK }))];
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, closeCall(15_000), ...wrongAck])).toBeNull();
  });

  it('at the instant the timer fires either shape is right; one microsecond before it, only three', () => {
    const dueUs = FIN_AT_US + 40_000;
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, closeCall(dueUs), ...serverFinAndAck(dueUs)])).toBeNull();
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, bareAck(dueUs), closeCall(dueUs), ...serverFinAndAck(dueUs)])).toBeNull();
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, bareAck(dueUs - 1), closeCall(dueUs - 1), ...serverFinAndAck(dueUs - 1)])).toBe(
      'passive closer closed 39999 us after the FIN (delayed ACK 40000 us): expected the 3-segment close, saw 4 segments',
    );
  });

  it('a FIN before any data: the ACK is due at the next 4 ms tick, not 40 ms later', () => {
    const finOnly = seg(client, { seq: 1, ack: 1, flags: FIN | ACK });
    const early = [...opened, sent(FIN_AT_US - 1, finOnly), delivered(FIN_AT_US, finOnly)];
    const finAndAck = [sent(20_000, seg(server, { seq: 1, ack: 2, flags: FIN | ACK })), sent(20_001, seg(client, { seq: 2, ack: 2, flags: ACK }))];
    // The tick after 10 ms is 12 ms: a close at 20 ms is slow, three segments are wrong.
    expect(judge(new CloseShapeMonitor(CLEAN), [...early, closeCall(20_000), ...finAndAck])).toBe(
      'passive closer closed 10000 us after the FIN (no data before it: ACK due at the next tick, 2000 us): expected 4 or more segments, saw 3',
    );
  });

  it('without delayed ACKs (delayedAckUs 0) every close is slow: four segments expected', () => {
    const noDelay = { ...CLEAN, delayedAckUs: 0 };
    expect(judge(new CloseShapeMonitor(noDelay), [...before, bareAck(10_001), closeCall(15_000), ...serverFinAndAck(15_000)])).toBeNull();
    expect(judge(new CloseShapeMonitor(noDelay), [...before, closeCall(10_000), ...serverFinAndAck(10_000)])).toBe(
      'passive closer closed 0 us after the FIN (delayed ACK 0 us): expected 4 or more segments, saw 3',
    );
  });

  it('leaves alone a lossy network, a reset, a simultaneous close and segments of no connection', () => {
    const slowThree = [closeCall(60_000), ...serverFinAndAck(60_000)];
    expect(judge(new CloseShapeMonitor({ ...CLEAN, cleanNetwork: false }), [...before, ...slowThree])).toBeNull();
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, sent(20_000, seg(server, { seq: 1, ack: 12, flags: RST | ACK })), ...slowThree])).toBeNull();
    // The server sent its own FIN before the client's arrived: a simultaneous close.
    const simultaneous = [...opened, sent(9_000, seg(server, { seq: 1, ack: 1, flags: FIN | ACK })), ...before.slice(2)];
    expect(judge(new CloseShapeMonitor(CLEAN), [...simultaneous, closeCall(60_000), sent(60_001, seg(client, { seq: 12, ack: 2, flags: ACK }))])).toBeNull();
    // A host's segment (connId -1) with the FIN's fields starts no watch.
    const hostFin = seg(client, { seq: 11, ack: 1, flags: FIN | ACK, connId: -1 });
    expect(judge(new CloseShapeMonitor(CLEAN), [...opened, delivered(FIN_AT_US, hostFin), ...slowThree])).toBeNull();
  });

  it('a simultaneous close (the passive side\'s FIN left before the other FIN arrived) is not judged, whatever follows', () => {
    const ownFin = sent(9_000, seg(server, { seq: 1, ack: 1, flags: FIN | ACK }));
    const simultaneous = [...opened, call(9_000, 'b', { op: 'shutdown', sock: 'c', how: 'SHUT_WR' }, 'ok', 4, 2), ownFin, ...before.slice(2)];
    // Were it judged: a close at 60 ms, its FIN resent and ACKed, three segments for a slow close.
    expect(judge(new CloseShapeMonitor(CLEAN), [...simultaneous, closeCall(60_000), ...serverFinAndAck(60_000)])).toBeNull();
  });

  it('a reset during the close ends the judging: a prompt close that then counts four segments passes', () => {
    const reset = sent(12_000, seg(server, { seq: 1, ack: 12, flags: RST | ACK }));
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, reset, closeCall(15_000), ...serverFinAndAck(15_000)])).toBeNull();
  });

  it('a FIN that carries the first data waits for the 40 ms timer, not the next tick', () => {
    const finWithData = seg(client, { seq: 1, ack: 1, flags: FIN | ACK, bytes: 5 });
    const trace = [...opened, sent(FIN_AT_US - 1, finWithData), delivered(FIN_AT_US, finWithData), closeCall(20_000), sent(20_000, seg(server, { seq: 1, ack: 7, flags: FIN | ACK })), sent(20_001, seg(client, { seq: 7, ack: 2, flags: ACK }))];
    expect(judge(new CloseShapeMonitor(CLEAN), trace)).toBeNull();
  });

  it('a segment from a connection the book does not know is no FIN to watch', () => {
    const stranger = conn(9, 'a', 1000, 80);
    const strangeFin = seg(stranger, { seq: 11, ack: 1, flags: FIN | ACK });
    expect(judge(new CloseShapeMonitor(CLEAN), [...opened, delivered(FIN_AT_US, strangeFin), closeCall(60_000), ...serverFinAndAck(60_000)])).toBeNull();
  });

  it('the ACK that ends the close is the active closer\'s: the passive side\'s own ACKs, and an ACK of data, end nothing', () => {
    const early = [closeCall(15_000), sent(15_000, seg(server, { seq: 1, ack: 12, flags: FIN | ACK }))];
    // An ACK one short of the FIN, then a bare data ACK from the passive side, then the real one.
    const trace = [...before, ...early, sent(15_001, seg(client, { seq: 12, ack: 1, flags: ACK })), sent(15_002, seg(server, { seq: 2, ack: 12, flags: ACK })), sent(15_003, seg(client, { seq: 12, ack: 2, flags: ACK }))];
    expect(judge(new CloseShapeMonitor(CLEAN), trace)).toBe('passive closer closed 5000 us after the FIN (delayed ACK 40000 us): expected the 3-segment close, saw 5 segments');
    // A segment with the FIN's ack number but no ACK flag is no ACK.
    const noAckFlag = [...before, ...early, sent(15_001, seg(client, { seq: 12, ack: 2, flags: 0 })), sent(15_003, seg(client, { seq: 12, ack: 2, flags: ACK }))];
    expect(judge(new CloseShapeMonitor(CLEAN), noAckFlag)).toBe('passive closer closed 5000 us after the FIN (delayed ACK 40000 us): expected the 3-segment close, saw 4 segments');
  });

  it('only the passive closer\'s close call counts, and only its first', () => {
    const activeClose = call(15_000, 'a', { op: 'close', sock: 's' }, 'ok', 3, 1);
    // The active closer's close() at 15 ms does not make the passive close prompt.
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, activeClose, bareAck(50_000), closeCall(60_000), ...serverFinAndAck(60_000)])).toBeNull();
  });

  it('a close at time 0 is a close: judged like any other', () => {
    const finAtZero = seg(client, { seq: 1, ack: 1, flags: FIN | ACK });
    const bare = sent(0, seg(server, { seq: 1, ack: 2, flags: ACK }));
    const shutdownAtZero = call(0, 'b', { op: 'shutdown', sock: 'c', how: 'SHUT_WR' }, 'ok', 4, 2);
    const trace = [...opened, delivered(0, finAtZero), shutdownAtZero, bare, sent(0, seg(server, { seq: 1, ack: 2, flags: FIN | ACK })), closeCall(30_000), sent(30_001, seg(client, { seq: 2, ack: 2, flags: ACK }))];
    // The close began at 0 (shutdown); the close() at 30 ms after it does not make it slow.
    expect(judge(new CloseShapeMonitor(CLEAN), trace)).toBe('passive closer closed 0 us after the FIN (no data before it: ACK due at the next tick, 4000 us): expected the 3-segment close, saw 4 segments');
  });

  it('data that leaves with the passive closer\'s FIN, after its close(), is no data sent before closing', () => {
    const dataAndFin = [closeCall(15_000), sent(15_000, seg(server, { seq: 1, ack: 12, flags: FIN | ACK, bytes: 5 })), sent(15_001, seg(client, { seq: 12, ack: 7, flags: ACK }))];
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, ...dataAndFin])).toBeNull();
  });

  it('sequence numbers wrap: a FIN at 2^32 - 1 is acknowledged by ACK 0 (mod 2^32)', () => {
    const wrapped = [closeCall(60_000), sent(60_000, seg(server, { seq: 0xffffffff, ack: 12, flags: FIN | ACK })), sent(60_001, seg(client, { seq: 12, ack: 0, flags: ACK }))];
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, ...wrapped])).toBe('passive closer closed 50000 us after the FIN (delayed ACK 40000 us): expected 4 or more segments, saw 3');
  });

  it('a retransmitted FIN of the passive closer is counted, but its ACK target stays the first FIN\'s', () => {
    const twoFins = [closeCall(15_000), sent(15_000, seg(server, { seq: 1, ack: 12, flags: FIN | ACK })), sent(15_500, seg(server, { seq: 1, ack: 12, flags: FIN | ACK })), sent(15_501, seg(client, { seq: 12, ack: 2, flags: ACK }))];
    expect(judge(new CloseShapeMonitor(CLEAN), [...before, ...twoFins])).toBe(
      'passive closer closed 5000 us after the FIN (delayed ACK 40000 us): expected the 3-segment close, saw 4 segments',
    );
  });
});

type CallEvent = Extract<TraceEvent, { type: 'call' }>;
const withData = (event: TraceEvent, bytes: number[]): TraceEvent => ({ ...(event as CallEvent), data: new Uint8Array(bytes) });

describe('stream (C6): the bytes the peer sent, in order, once', () => {
  const sendCall = (atUs: number, bytes: number[]): TraceEvent => withData(call(atUs, 'b', { op: 'send', sock: 'c', bytes: bytes.length }, `sent ${bytes.length}`, 4, 2), bytes);
  const recvCall = (atUs: number, bytes: number[]): TraceEvent => withData(call(atUs, 'a', { op: 'recv', sock: 's', bytes: bytes.length }, `recv ${bytes.length}`, 3, 1), bytes);
  const eof = (atUs: number): TraceEvent => call(atUs, 'a', { op: 'recv-until-eof', sock: 's' }, 'eof', 3, 1);

  it('several sends, each larger than the buffer so far, are read back whole, then end-of-file', () => {
    const sends = [sendCall(1, [1]), sendCall(2, [2, 3]), sendCall(3, [4, 5, 6, 7, 8])];
    expect(judge(new StreamMonitor(CONTEXT), [...opened, ...sends, recvCall(4, [1, 2, 3, 4]), recvCall(5, [5, 6, 7, 8]), eof(6)])).toBeNull();
    expect(judge(new StreamMonitor(CONTEXT), [...opened, ...sends, recvCall(4, [1, 2, 3, 4]), recvCall(5, [5, 6, 7, 9])])).toBe('byte 7 is 9, the peer sent 8');
  });

  it('a byte past what the peer sent is reported at its offset, also at the very next offset', () => {
    expect(judge(new StreamMonitor(CONTEXT), [...opened, sendCall(1, [1, 2]), recvCall(2, [1, 2, 3])])).toBe("received byte 2, but the peer's application sent only 2");
    expect(judge(new StreamMonitor(CONTEXT), [...opened, sendCall(1, [1, 2]), recvCall(2, [1]), recvCall(3, [2, 3])])).toBe("received byte 2, but the peer's application sent only 2");
  });

  it('ETIMEDOUT and EPIPE end a stream as ECONNRESET does: a read of 0 after them is no early end-of-file', () => {
    for (const error of ['ETIMEDOUT', 'EPIPE', 'ECONNRESET']) {
      const broken = call(3, 'a', { op: 'recv', sock: 's', bytes: 1 }, error, 3, 1);
      expect(judge(new StreamMonitor(CONTEXT), [...opened, sendCall(1, [1, 2]), broken, eof(4)])).toBeNull();
    }
    expect(judge(new StreamMonitor(CONTEXT), [...opened, sendCall(1, [1, 2]), call(3, 'a', { op: 'recv', sock: 's', bytes: 1 }, 'EAGAIN', 3, 1), eof(4)])).toBe(
      "end-of-file after 0 bytes, but the peer's application sent 2",
    );
  });

  it('only calls on a connection count: a call of no connection, and events that are not calls, are ignored', () => {
    const strayRead = withData(call(2, 'a', { op: 'recv', sock: 's', bytes: 1 }, 'recv 1', 3, -1), [9]);
    const stateWithData = { ...state(2, client, 'ESTABLISHED', 'ESTABLISHED'), result: 'recv 1', data: new Uint8Array([9]) } as unknown as TraceEvent;
    expect(judge(new StreamMonitor(CONTEXT), [...opened, sendCall(1, [1]), strayRead, stateWithData, recvCall(3, [1]), eof(4)])).toBeNull();
  });

  it('a send result without data, or a recv result without data, moves nothing', () => {
    const countOnly = call(2, 'b', { op: 'send', sock: 'c', bytes: 1 }, 'sent 1', 4, 2);
    const recvCount = call(3, 'a', { op: 'recv', sock: 's', bytes: 1 }, 'recv 1', 3, 1);
    expect(judge(new StreamMonitor(CONTEXT), [...opened, countOnly, recvCount, eof(4)])).toBeNull();
    // A result that is neither (`ok`) with data is no read either.
    const okWithData = withData(call(3, 'a', { op: 'recv', sock: 's', bytes: 1 }, 'ok', 3, 1), [1]);
    expect(judge(new StreamMonitor(CONTEXT), [...opened, sendCall(1, [1]), okWithData, recvCall(4, [1]), eof(5)])).toBeNull();
  });

  it('a read on a connection whose peer the book does not know is not judged', () => {
    const lonely = conn(3, 'a', 2000, 81);
    const read = withData(call(2, 'a', { op: 'recv', sock: 's', bytes: 1 }, 'recv 1', 5, 3), [1]);
    expect(judge(new StreamMonitor(CONTEXT), [state(0, lonely, 'SYN-SENT', 'ESTABLISHED'), read])).toBeNull();
    expect(judge(new StreamMonitor(CONTEXT), [read])).toBeNull();
  });
});

describe('abort (C14, C15): the linger in force comes from the calls, the RST from the wire', () => {
  const lingerOn = (atUs: number, fd = 3, result = 'ok'): TraceEvent => call(atUs, 'a', { op: 'setsockopt', sock: 'conn', option: 'SO_LINGER', onoff: true, lingerSec: 0 }, result, fd);
  const lingered: TraceEvent[] = [call(0, 'a', { op: 'socket', sock: 'conn' }, 'ok', 3), lingerOn(0), ...opened];
  const closeAt = (atUs: number, result = 'ok'): TraceEvent => call(atUs, 'a', { op: 'close', sock: 'conn' }, result, 3, 1);
  const rstAt = (atUs: number): TraceEvent => sent(atUs, seg(client, { seq: 1, ack: 1, flags: RST | ACK }));
  const aborted: TraceEvent[] = [...lingered, rstAt(50), state(50, client, 'ESTABLISHED', 'CLOSED'), closeAt(50)];
  /** The first violation, with the connection it names. */
  const abortVerdict = (events: readonly TraceEvent[]): { message: string; connId: number } | null => {
    const found = verdict(new AbortMonitor(CONTEXT), events);
    return found === null ? null : { message: found.message, connId: found.connId };
  };

  it('C14: the peer of an aborted connection may not enter TIME-WAIT either, and the report names it', () => {
    expect(abortVerdict(aborted)).toBeNull();
    expect(abortVerdict([...aborted, state(60, server, 'ESTABLISHED', 'CLOSE-WAIT'), state(70, server, 'CLOSE-WAIT', 'TIME-WAIT')])).toEqual({ message: 'entered TIME-WAIT after the connection was aborted with SO_LINGER{on,0}', connId: 2 });
  });

  it('C14: the RST arriving at the peer is no second segment sent; a FIN sent after it is, reported on the aborted connection', () => {
    expect(abortVerdict([...aborted, delivered(51, seg(client, { seq: 1, ack: 1, flags: RST | ACK }))])).toBeNull();
    expect(abortVerdict([...aborted, sent(60, seg(client, { seq: 1, ack: 1, flags: FIN | ACK }))])).toEqual({ message: 'aborted connection sent another segment (flags 17, 0 bytes)', connId: 1 });
  });

  it('C14: a close that sends FIN is reported on its connection, in the state close() found', () => {
    const graceful = [...lingered, sent(50, seg(client, { seq: 1, ack: 1, flags: FIN | ACK })), state(50, client, 'ESTABLISHED', 'FIN-WAIT-1'), closeAt(50)];
    expect(abortVerdict(graceful)).toEqual({ message: 'close() with SO_LINGER{on,0} in ESTABLISHED did not send RST', connId: 1 });
    // The peer's FIN came at 40, before the close: close() found CLOSE-WAIT, not the state before it.
    const inCloseWait = [...lingered, state(40, client, 'ESTABLISHED', 'CLOSE-WAIT'), sent(50, seg(client, { seq: 1, ack: 2, flags: FIN | ACK })), state(50, client, 'CLOSE-WAIT', 'LAST-ACK'), closeAt(50)];
    expect(abortVerdict(inCloseWait)).toEqual({ message: 'close() with SO_LINGER{on,0} in CLOSE-WAIT did not send RST', connId: 1 });
    const staysInCloseWait = [...lingered, state(40, client, 'ESTABLISHED', 'CLOSE-WAIT'), closeAt(50)];
    expect(abortVerdict(staysInCloseWait)).toEqual({ message: 'close() with SO_LINGER{on,0} in CLOSE-WAIT did not send RST', connId: 1 });
  });

  it("C14: close()'s own move to CLOSED counts as close()'s even when it is the first state change seen", () => {
    // setsockopt, the state change, close: the change is event 1 and no call on the connection precedes it.
    expect(abortVerdict([lingerOn(0), state(50, client, 'ESTABLISHED', 'CLOSED'), closeAt(50)])).toEqual({ message: 'close() with SO_LINGER{on,0} in ESTABLISHED did not send RST', connId: 1 });
    expect(abortVerdict([lingerOn(0), rstAt(50), state(50, client, 'ESTABLISHED', 'CLOSED'), closeAt(50)])).toBeNull();
  });

  it('C14: a RST sent before the close is not the close\'s; a RST that leaves the connection open is reported', () => {
    expect(abortVerdict([...lingered, rstAt(40), closeAt(50)])).toEqual({ message: 'close() with SO_LINGER{on,0} in ESTABLISHED did not send RST', connId: 1 });
    expect(abortVerdict([...lingered, rstAt(50), closeAt(50)])).toEqual({ message: 'close() with SO_LINGER{on,0} left the connection in ESTABLISHED, not CLOSED', connId: 1 });
  });

  it('C14: only a successful SO_LINGER setsockopt sets the linger; another option leaves it alone', () => {
    const graceful = (setup: readonly TraceEvent[]) => [call(0, 'a', { op: 'socket', sock: 'conn' }, 'ok', 3), ...setup, ...opened, sent(50, seg(client, { seq: 1, ack: 1, flags: FIN | ACK })), state(50, client, 'ESTABLISHED', 'FIN-WAIT-1'), closeAt(50)];
    expect(abortVerdict(graceful([lingerOn(0, 3, 'EINVAL')]))).toBeNull();
    const reuseAfter = call(0, 'a', { op: 'setsockopt', sock: 'conn', option: 'SO_REUSEADDR', value: true }, 'ok', 3);
    expect(abortVerdict(graceful([lingerOn(0), reuseAfter]))?.message).toBe('close() with SO_LINGER{on,0} in ESTABLISHED did not send RST');
  });

  it('C14: a close that fails neither is judged nor ends the linger of the descriptor', () => {
    const fin = sent(50, seg(client, { seq: 1, ack: 1, flags: FIN | ACK }));
    expect(abortVerdict([...lingered, closeAt(40, 'EINTR')])).toBeNull();
    expect(abortVerdict([...lingered, closeAt(40, 'EINTR'), fin, state(50, client, 'ESTABLISHED', 'FIN-WAIT-1'), closeAt(50)])?.message).toBe('close() with SO_LINGER{on,0} in ESTABLISHED did not send RST');
  });

  it('a close on a connection no state change has named is left alone', () => {
    expect(abortVerdict([lingerOn(0), call(50, 'a', { op: 'close', sock: 'conn' }, 'ok', 3, 9)])).toBeNull();
  });
});

describe('orphan-fin-wait-2 (C4, C5, Linux tcp_fin_timeout): closed and FIN ACKed, it waits exactly the timeout; then the host resets', () => {
  // client a:1000 closes at 10 and sends its FIN (seq 300); the server's ACK of it (ack 301) comes
  // at 20: an orphan in FIN-WAIT-2 from 20, gone at 20 + tcp_fin_timeout = 1020.
  const TIMEOUT_US = 1_000;
  const ORPHAN: MonitorContext = { ...CONTEXT, finWait2TimeoutUs: TIMEOUT_US };
  const C = 0x0a000003;
  const closeAt = (atUs: number, result = 'ok', connId = 1): TraceEvent => call(atUs, 'a', { op: 'close', sock: 's' }, result, 3, connId);
  const finAt = (atUs: number, seq = 300, bytes = 0): TraceEvent => sent(atUs, seg(client, { seq, ack: 500, flags: FIN | ACK, bytes }));
  /** A segment of the server's reaching the client: a pure ACK of the FIN unless told otherwise. */
  const fromPeer = (atUs: number, fields: { ack?: number; flags?: number; bytes?: number; seq?: number } = {}) =>
    delivered(atUs, seg(server, { seq: fields.seq ?? 500, ack: fields.ack ?? 301, flags: fields.flags ?? ACK, bytes: fields.bytes ?? 0 }));
  /** The client host's reset for a segment of the server's (RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>). */
  const hostReset = (atUs: number, fields: { seq?: number; ack?: number; flags?: number } = {}, from = { ip: A, port: 1000, toIp: B, toPort: 80 }) =>
    sent(atUs, seg(from, { seq: fields.seq ?? 301, ack: fields.ack ?? 0, flags: fields.flags ?? RST }));
  const host = (atUs: number, name: string, event: 'crash' | 'restart'): TraceEvent => ({ type: 'host', atUs, host: name, event });
  const orphaned: TraceEvent[] = [...opened, closeAt(10), finAt(10), fromPeer(20)];
  const noReset = (late: { seg: { id: number } }) => `after tcp_fin_timeout (1000 us), seg #${late.seg.id} from the peer got no reset`;
  /** The first violation, with the connection it names and the event it was seen at. */
  const orphanVerdict = (events: readonly TraceEvent[]) => verdict(new OrphanFinWait2Monitor(ORPHAN), events);
  const message = (events: readonly TraceEvent[], context = ORPHAN) => judge(new OrphanFinWait2Monitor(context), events);

  it('C5: before the timeout the peer\'s ACK draws nothing; after it, the bare reset passes and silence is reported on the orphan', () => {
    const late = fromPeer(1_500);
    expect(message([...orphaned, fromPeer(500), late, hostReset(1_500)])).toBeNull();
    // Seen when the next instant begins (the event at 2000, index 6), or at the end of the run (-1).
    expect(orphanVerdict([...orphaned, late, fromPeer(2_000, { flags: ACK, ack: 301 }), hostReset(2_000)])).toEqual({ message: noReset(late), connId: 1, eventIndex: 6 });
    expect(orphanVerdict([...orphaned, late])).toEqual({ message: noReset(late), connId: 1, eventIndex: -1 });
  });

  it('C5: a reset before the timeout, or an answer from the connection after it, is reported on the orphan', () => {
    const early = fromPeer(500);
    expect(orphanVerdict([...orphaned, early, hostReset(500)])).toEqual({
      message: `the orphaned FIN-WAIT-2 was gone 480 us after it began, before tcp_fin_timeout (1000 us): seg #${early.seg.id} got a reset`,
      connId: 1,
      eventIndex: 6,
    });
    const late = fromPeer(1_500);
    expect(orphanVerdict([...orphaned, late, sent(1_500, seg(client, { seq: 301, ack: 500, flags: ACK }))])?.message).toBe(
      `the orphaned FIN-WAIT-2 outlived tcp_fin_timeout (1000 us): it answered seg #${late.seg.id} 1480 us after it began`,
    );
  });

  it('C5: what another connection sends in the same instant is not the orphan answering', () => {
    const other = conn(3, 'a', 1001, 80);
    const otherData = sent(1_500, seg(other, { seq: 1, ack: 1, flags: ACK, bytes: 10 }));
    expect(message([state(0, other, 'SYN-SENT', 'ESTABLISHED'), ...orphaned, fromPeer(1_500), otherData, hostReset(1_500)])).toBeNull();
  });

  it('RFC 9293 §3.10.7.1: after the timeout a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>, nothing more or else', () => {
    const wrong = (fields: { seq?: number; flags?: number }) => {
      const late = fromPeer(1_500);
      return { late, message: message([...orphaned, late, hostReset(1_500, fields)]) };
    };
    const withAck = wrong({ flags: RST | ACK });
    expect(withAck.message).toBe(`after tcp_fin_timeout, seg #${withAck.late.seg.id} was answered with flags 20 seq 301, not the bare <SEQ=SEG.ACK><CTL=RST>`);
    const wrongSeq = wrong({ seq: 999 });
    expect(wrongSeq.message).toBe(`after tcp_fin_timeout, seg #${wrongSeq.late.seg.id} was answered with flags 4 seq 999, not the bare <SEQ=SEG.ACK><CTL=RST>`);
  });

  it('RFC 9293 §3.10.7.1: after the timeout a segment without ACK (a SYN) gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; a bare RST is reported', () => {
    const syn = fromPeer(1_500, { seq: 7_000, ack: 0, flags: SYN });
    expect(message([...orphaned, syn, hostReset(1_500, { seq: 0, ack: 7_001, flags: RST | ACK })])).toBeNull();
    expect(message([...orphaned, syn, hostReset(1_500, { seq: 0 })])).toBe(
      `after tcp_fin_timeout, seg #${syn.seg.id} was answered with flags 4 seq 0, not the bare <SEQ=SEG.ACK><CTL=RST>`,
    );
  });

  it('a reset of another 4-tuple (one address or port differs), or a host segment that is no reset, answers nothing', () => {
    const others = [
      { ip: A, port: 1000, toIp: C, toPort: 80 },
      { ip: A, port: 1000, toIp: B, toPort: 81 },
      { ip: C, port: 1000, toIp: B, toPort: 80 },
      { ip: A, port: 1001, toIp: B, toPort: 80 },
    ];
    for (const from of others) {
      const late = fromPeer(1_500);
      expect(message([...orphaned, late, hostReset(1_500, {}, from)])).toBe(noReset(late));
    }
    // A segment of no connection that is not a RST (a scripted peer sends such): no answer either.
    const late = fromPeer(1_500);
    expect(message([...orphaned, late, hostReset(1_500, { flags: ACK })])).toBe(noReset(late));
  });

  it('a segment of the peer\'s that was dropped never reached the orphan: no reset is owed', () => {
    const dropped: TraceEvent = { type: 'segment', atUs: 1_500, fate: 'dropped', seg: seg(server, { seq: 500, ack: 301, flags: ACK }), reason: 'loss' };
    expect(message([...orphaned, dropped])).toBeNull();
  });

  it("the orphan's host crashing ends it; another host's crash, or a restart of its live host, does not", () => {
    const late = fromPeer(1_500);
    expect(message([...orphaned, state(500, client, 'FIN-WAIT-2', 'CLOSED'), host(500, 'a', 'crash'), late])).toBeNull();
    expect(message([...orphaned, host(500, 'c', 'crash'), late])).toBe(noReset(late));
    // A scenario may restart a host that never crashed (Host.restart only brings a down host up).
    expect(message([...orphaned, host(500, 'a', 'restart'), late])).toBe(noReset(late));
  });

  it('without tcp_fin_timeout in the context nothing is judged', () => {
    expect(message([...orphaned, fromPeer(500), hostReset(500)], CONTEXT)).toBeNull();
    expect(message([...orphaned, fromPeer(1_500)], CONTEXT)).toBeNull();
  });

  it('only a successful close() orphans: after shutdown(SHUT_WR) or a failed close the connection waits for the FIN for ever', () => {
    const halfClosed = [...opened, call(10, 'a', { op: 'shutdown', sock: 's', how: 'SHUT_WR' }, 'ok', 3, 1), finAt(10), fromPeer(20)];
    expect(message([...halfClosed, fromPeer(1_500)])).toBeNull();
    expect(message([...halfClosed, closeAt(30, 'EINTR'), fromPeer(1_500)])).toBeNull();
    // Closed at 30, after the FIN's ACK: the timeout runs from the close, to 1030.
    const late = fromPeer(1_500);
    expect(message([...halfClosed, closeAt(30), fromPeer(1_029), late])).toBe(noReset(late));
  });

  it('the timeout runs from the first close: a second close naming the connection does not restart it', () => {
    const late = fromPeer(1_200);
    expect(message([...opened, closeAt(0), finAt(10), fromPeer(20), closeAt(500), late])).toBe(noReset(late));
  });

  it('C4: only an ACK of the FIN\'s sequence number + 1 (past its data) starts the timeout; one short is FIN-WAIT-1, which has none', () => {
    expect(message([...opened, closeAt(10), finAt(10), fromPeer(20, { ack: 300 }), fromPeer(1_500, { ack: 300 })])).toBeNull();
    // The short ACK first, then the FIN's: an orphan from 20.
    const late = fromPeer(1_500);
    expect(message([...opened, closeAt(10), finAt(10), fromPeer(15, { ack: 300 }), fromPeer(20), late])).toBe(noReset(late));
    // A FIN with 5 bytes at 300 is ACKed by 306, not 305.
    const dataFin = [...opened, closeAt(10), finAt(10, 300, 5)];
    expect(message([...dataFin, fromPeer(20, { ack: 305 }), fromPeer(1_500, { ack: 305 })])).toBeNull();
    const lateAfterData = fromPeer(1_500, { ack: 306 });
    expect(message([...dataFin, fromPeer(20, { ack: 306 }), lateAfterData])).toBe(noReset(lateAfterData));
  });

  it('C4: an ACK that came before the FIN was sent acks no FIN', () => {
    // close() at 10 with data queued: the FIN leaves at 30, and the peer never ACKs it.
    expect(message([...opened, closeAt(10), fromPeer(15, { ack: 300 }), finAt(30), fromPeer(1_500, { ack: 300 })])).toBeNull();
  });

  it('C4: a FIN at sequence number 2^32 - 1 is ACKed by 0 (mod 2^32)', () => {
    const late = fromPeer(1_500, { ack: 0 });
    expect(message([...opened, closeAt(10), finAt(10, 0xffff_ffff), fromPeer(20, { ack: 0 }), late])).toBe(noReset(late));
  });

  it('close, FIN and its ACK all at time 0 start the timeout at 0; a duplicate ACK later does not move it', () => {
    const late = fromPeer(1_200);
    expect(message([...opened, closeAt(0), finAt(0), fromPeer(0), fromPeer(500), late])).toBe(noReset(late));
  });

  it("a host's reset reaching the orphan ends it: the reset its host then sends is no early end", () => {
    const peerHostReset = sent(500, seg({ ip: B, port: 80, toIp: A, toPort: 1000 }, { seq: 301, flags: RST }));
    const arrived = delivered(500, peerHostReset.seg);
    expect(message([...orphaned, peerHostReset, arrived, fromPeer(600, { flags: FIN | ACK }), hostReset(600)])).toBeNull();
  });

  it('at the instant of the timeout either answer is right; new data before it is reset anyway, after it must be', () => {
    const deadlineUs = 20 + TIMEOUT_US;
    expect(message([...orphaned, fromPeer(deadlineUs), hostReset(deadlineUs)])).toBeNull();
    expect(message([...orphaned, fromPeer(deadlineUs)])).toBeNull();
    // Data to an orphan is reset at once (Linux tcp_timewait_state_process, FIN-WAIT-2 substate).
    expect(message([...orphaned, fromPeer(500, { bytes: 5 }), hostReset(500)])).toBeNull();
    const lateData = fromPeer(1_500, { bytes: 5 });
    expect(message([...orphaned, lateData])).toBe(noReset(lateData));
  });

  it('a FIN at the instant of the timeout may have found the orphan: TIME-WAIT\'s ACK of its retransmission is no late answer', () => {
    const deadlineUs = 20 + TIMEOUT_US;
    const finAndAck = (atUs: number) => [fromPeer(atUs, { flags: FIN | ACK }), sent(atUs, seg(client, { seq: 301, ack: 501, flags: ACK }))];
    expect(message([...orphaned, ...finAndAck(deadlineUs), ...finAndAck(1_200)])).toBeNull();
  });

  it('close and segments of connections the book does not know are left alone', () => {
    const stranger = conn(9, 'a', 2000, 81);
    const strays = [closeAt(30, 'ok', 9), sent(30, seg(stranger, { seq: 1, flags: FIN | ACK })), delivered(30, seg(stranger, { seq: 1, flags: ACK }))];
    expect(message([...orphaned, ...strays, fromPeer(1_500), hostReset(1_500)])).toBeNull();
  });
});
