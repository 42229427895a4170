/**
 * The black-box monitors on handcrafted traces: each promise broken one way and the other, and
 * kept, with the exact message each monitor gives. A monitor weakened in a small way (a check
 * dropped, a comparison off by one) fails one of these.
 */
import { describe, expect, it } from 'vitest';
import { ACK, FIN, RST, SYN, type Segment } from '../tcp/segment.js';
import type { ConnInfo, TraceEvent } from '../world/trace.js';
import type { Monitor, MonitorContext } from './monitor.js';
import { A, B, call, conn, CONTEXT, delivered, judge, seg, sent, state, type SegmentEvent } from './trace-test-support.js';
import { AbortMonitor, OrphanFinWait2Monitor, StreamMonitor } from './close-monitors.js';
import { TerminationMonitor } from './lifecycle-monitors.js';
import { TimestampsMonitor } from './timestamp-monitors.js';
import { TimeWait2MslMonitor, TimeWaitSideMonitor } from './time-wait-monitors.js';
import { ConnectResultMonitor, EphemeralPortMonitor, HostResetMonitor, ListenConflictMonitor, TimeWaitSynMonitor } from './wire-monitors.js';

describe('time-wait-2msl, restarts from the wire', () => {
  // The holder a:1000 entered TIME-WAIT at 100 after ACKing the peer's FIN (its ACK says RCV.NXT = 501).
  const holder = conn(1, 'a', 1000, 80);
  const peer = conn(2, 'b', 80, 1000);
  const entry: TraceEvent[] = [state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'), sent(100, seg(holder, { seq: 301, ack: 501, flags: ACK }))];
  const retransmittedFin = (atUs: number) => delivered(atUs, seg(peer, { seq: 500, ack: 301, flags: FIN | ACK }));

  it('C8: exactly 2·MSL with no segment arriving passes; a microsecond either way fails', () => {
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, state(300, holder, 'TIME-WAIT', 'CLOSED')])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, state(299, holder, 'TIME-WAIT', 'CLOSED')])).toBe('TIME-WAIT lasted 199 us since the last segment that restarted it, expected 2·MSL = 200 us');
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, state(301, holder, 'TIME-WAIT', 'CLOSED')])).toBe('TIME-WAIT lasted 201 us since the last segment that restarted it, expected 2·MSL = 200 us');
  });

  it('C9: a retransmitted FIN restarts 2·MSL whatever the endpoint reports; ending at the first expiry fails', () => {
    const restarted = [...entry, retransmittedFin(150)];
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...restarted, state(350, holder, 'TIME-WAIT', 'CLOSED')])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...restarted, state(300, holder, 'TIME-WAIT', 'CLOSED')])).toBe('TIME-WAIT lasted 150 us since the last segment that restarted it, expected 2·MSL = 200 us');
  });

  it('C9: a restart the endpoint reports with no segment arriving is a violation', () => {
    const fake: TraceEvent = { type: 'time-wait-restart', atUs: 150, conn: holder, cause: 'rcv FIN' };
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, fake])).toBe('TIME-WAIT restarted (rcv FIN) with no segment arriving to restart it');
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, retransmittedFin(150), fake, state(350, holder, 'TIME-WAIT', 'CLOSED')])).toBeNull();
  });

  it('C9: a RST from the 4-tuple while TIME-WAIT lasts, even one the host sends, is a violation', () => {
    const hostRst = seg({ ip: A, port: 1000, toIp: B, toPort: 80 }, { seq: 301, flags: RST });
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, retransmittedFin(150), sent(150, hostRst)])).toBe('a RST (seq 301) left the 4-tuple while it is in TIME-WAIT (last restart at 150 us); it must answer with an ACK');
  });

  it('an early end is justified only by what arrived at that instant: an in-window RST (RFC 1337 off), a SYN above RCV.NXT', () => {
    const rst = delivered(150, seg(peer, { seq: 501, flags: RST }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, rst, state(150, holder, 'TIME-WAIT', 'CLOSED')])).toBeNull();
    expect(judge(new TimeWait2MslMonitor({ ...CONTEXT, rfc1337: true }), [...entry, rst, state(150, holder, 'TIME-WAIT', 'CLOSED')])).toBe('TIME-WAIT lasted 0 us since the last segment that restarted it, expected 2·MSL = 200 us'); // tcp_rfc1337: the RST restarts 2·MSL
    const outOfWindowRst = delivered(150, seg(peer, { seq: 502, flags: RST }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, outOfWindowRst, state(150, holder, 'TIME-WAIT', 'CLOSED')])).not.toBeNull();
    const synAbove = delivered(150, seg(peer, { seq: 0x8000_0000, flags: SYN }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, synAbove, state(150, holder, 'TIME-WAIT', 'CLOSED')])).toBeNull();
    const synBelow = delivered(150, seg(peer, { seq: 400, flags: SYN }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, synBelow, state(150, holder, 'TIME-WAIT', 'CLOSED')])).not.toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, state(150, holder, 'TIME-WAIT', 'CLOSED', 'rcv RST in TIME-WAIT')])).not.toBeNull();
  });

  it('a TIME-WAIT left for anything but CLOSED, or held past 2·MSL at the end, is a violation', () => {
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, state(300, holder, 'TIME-WAIT', 'ESTABLISHED')])).toBe('TIME-WAIT left for ESTABLISHED, not CLOSED');
    expect(judge(new TimeWait2MslMonitor(CONTEXT), entry, 301)).toBe('TIME-WAIT last restarted at 100 us still held at 301 us, past 2·MSL');
    expect(judge(new TimeWait2MslMonitor(CONTEXT), entry, 300)).toBeNull();
  });
});

describe('abort, linger from the calls', () => {
  const child = conn(5, 'b', 80, 1000, true);
  const listenerCalls: TraceEvent[] = [
    call(0, 'b', { op: 'socket', sock: 'listener' }, 'ok', 3),
    call(0, 'b', { op: 'setsockopt', sock: 'listener', option: 'SO_LINGER', onoff: true, lingerSec: 0 }, 'ok', 3),
    state(10, child, 'LISTEN', 'SYN-RECEIVED'),
    state(20, child, 'SYN-RECEIVED', 'ESTABLISHED'),
    call(20, 'b', { op: 'accept', sock: 'listener', as: 'conn' }, 'ok', 4, 5),
  ];

  it('C15: an accepted socket inherits the listener\'s SO_LINGER{on,0}; its close must send RST', () => {
    const graceful = [...listenerCalls, state(50, child, 'ESTABLISHED', 'FIN-WAIT-1'), sent(50, seg(child, { seq: 1, ack: 1, flags: FIN | ACK })), call(50, 'b', { op: 'close', sock: 'conn' }, 'ok', 4, 5)];
    expect(judge(new AbortMonitor(CONTEXT), graceful)).toBe('close() with SO_LINGER{on,0} in ESTABLISHED did not send RST');
    const reset = [...listenerCalls, sent(50, seg(child, { seq: 1, ack: 1, flags: RST | ACK })), state(50, child, 'ESTABLISHED', 'CLOSED'), call(50, 'b', { op: 'close', sock: 'conn' }, 'ok', 4, 5)];
    expect(judge(new AbortMonitor(CONTEXT), reset)).toBeNull();
  });

  it('C14: without SO_LINGER on the listener, or with it switched off, a graceful close is right', () => {
    const noLinger = listenerCalls.filter((e) => !(e.type === 'call' && e.call.op === 'setsockopt'));
    const graceful = (events: TraceEvent[]) => [...events, state(50, child, 'ESTABLISHED', 'FIN-WAIT-1'), sent(50, seg(child, { seq: 1, ack: 1, flags: FIN | ACK })), call(50, 'b', { op: 'close', sock: 'conn' }, 'ok', 4, 5)];
    expect(judge(new AbortMonitor(CONTEXT), graceful(noLinger))).toBeNull();
    const switchedOff = [...listenerCalls, call(30, 'b', { op: 'setsockopt', sock: 'conn', option: 'SO_LINGER', onoff: false, lingerSec: 0 }, 'ok', 4, 5)];
    expect(judge(new AbortMonitor(CONTEXT), graceful(switchedOff))).toBeNull();
  });

  it('C14: after the RST nothing more leaves, and no TIME-WAIT follows on either side', () => {
    const aborted = [...listenerCalls, sent(50, seg(child, { seq: 1, ack: 1, flags: RST | ACK })), state(50, child, 'ESTABLISHED', 'CLOSED'), call(50, 'b', { op: 'close', sock: 'conn' }, 'ok', 4, 5)];
    expect(judge(new AbortMonitor(CONTEXT), [...aborted, sent(60, seg(child, { seq: 1, ack: 1, flags: FIN | ACK }))])).toBe('aborted connection sent another segment (flags 17, 0 bytes)');
    expect(judge(new AbortMonitor(CONTEXT), [...aborted, state(60, child, 'CLOSED', 'TIME-WAIT')])).toBe('entered TIME-WAIT after the connection was aborted with SO_LINGER{on,0}');
  });
});

describe('connect-result', () => {
  const client = conn(1, 'a', 40000, 80);
  const syn = (atUs: number) => sent(atUs, seg(client, { seq: 1000, flags: SYN }));
  const connect = (atUs: number, result: string) => call(atUs, 'a', { op: 'connect', sock: 'c', host: 'b', port: 80 }, result, 3, 1);
  const from = { ip: B, port: 80, toIp: A, toPort: 40000 };

  it('C2: ok only after a SYN,ACK acking ISN+1 (or a SYN: simultaneous open)', () => {
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), delivered(5, seg(from, { seq: 7, ack: 1001, flags: SYN | ACK })), connect(5, 'ok')])).toBeNull();
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), delivered(5, seg(from, { seq: 7, flags: SYN })), connect(9, 'ok')])).toBeNull();
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), delivered(5, seg(from, { seq: 7, ack: 1002, flags: SYN | ACK })), connect(5, 'ok')])).toBe('connect() returned ok, but no SYN,ACK acknowledging its SYN (ISN 1000) arrived');
  });

  it('C1: ECONNREFUSED exactly after a RST,ACK acking the SYN', () => {
    const refusal = delivered(5, seg(from, { seq: 0, ack: 1001, flags: RST | ACK }));
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), refusal, connect(5, 'ECONNREFUSED')])).toBeNull();
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), refusal, connect(5, 'ECONNRESET')])).toBe('a RST,ACK acknowledging the SYN arrived, but connect() returned ECONNRESET, not ECONNREFUSED');
    const wrongAck = delivered(5, seg(from, { seq: 0, ack: 1000, flags: RST | ACK }));
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), wrongAck, connect(5, 'ECONNREFUSED')])).toBe('connect() returned ECONNREFUSED, but no RST acknowledging its SYN arrived');
  });

  it('ETIMEDOUT only after 1 + tcp_syn_retries unanswered SYNs', () => {
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), syn(1), syn(3), connect(7, 'ETIMEDOUT')])).toBeNull();
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), syn(1), connect(7, 'ETIMEDOUT')])).toBe('connect() returned ETIMEDOUT after 2 SYNs; tcp_syn_retries gives 3');
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), syn(1), syn(3), syn(7), connect(15, 'ETIMEDOUT')])).toBe('connect() returned ETIMEDOUT after 4 SYNs; tcp_syn_retries gives 3');
  });
});

describe('host-reset', () => {
  const toClosed = { ip: A, port: 40000, toIp: B, toPort: 9 };
  const back = { ip: B, port: 9, toIp: A, toPort: 40000 };

  it('RFC 9293 §3.10.7.1: a SYN to an unused port gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>, window 0', () => {
    const syn = delivered(5, seg(toClosed, { seq: 99, flags: SYN }));
    expect(judge(new HostResetMonitor(CONTEXT), [syn, sent(5, seg(back, { seq: 0, ack: 100, flags: RST | ACK }))])).toBeNull();
    expect(judge(new HostResetMonitor(CONTEXT), [syn, sent(5, seg(back, { seq: 0, ack: 101, flags: RST | ACK }))])).toBe('host RST answering seg #' + syn.seg.id + ': ack 101, expected SEG.SEQ+SEG.LEN 100');
    expect(judge(new HostResetMonitor(CONTEXT), [syn, sent(5, seg(back, { seq: 1, ack: 100, flags: RST | ACK }))])).toBe('host RST answering seg #' + syn.seg.id + ': seq 1, expected 0');
    expect(judge(new HostResetMonitor(CONTEXT), [syn, sent(5, seg(back, { seq: 0, ack: 100, flags: RST }))])).toBe('host RST answering seg #' + syn.seg.id + ': flags 4, expected RST,ACK (the segment had no ACK)');
    expect(judge(new HostResetMonitor(CONTEXT), [syn, sent(5, seg(back, { seq: 0, ack: 100, flags: RST | ACK, window: 512 }))])).toBe('host RST answering seg #' + syn.seg.id + ': window 512, Linux sends 0');
    expect(judge(new HostResetMonitor(CONTEXT), [syn, delivered(6, seg(toClosed, { seq: 99, flags: SYN }))])).toBe(`a SYN to port 9, which no socket of its host ever used, got no RST,ACK (seg #${syn.seg.id})`);
  });

  it('a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>; a RST is never answered; a reset answers something', () => {
    const ack = delivered(5, seg(toClosed, { seq: 99, ack: 555, flags: ACK | FIN }));
    expect(judge(new HostResetMonitor(CONTEXT), [ack, sent(5, seg(back, { seq: 555, flags: RST }))])).toBeNull();
    expect(judge(new HostResetMonitor(CONTEXT), [ack, sent(5, seg(back, { seq: 556, flags: RST }))])).toBe(`host RST answering seg #${ack.seg.id}: seq 556, expected SEG.ACK 555`);
    expect(judge(new HostResetMonitor(CONTEXT), [ack, sent(5, seg(back, { seq: 555, ack: 100, flags: RST | ACK }))])).toBe(`host RST answering seg #${ack.seg.id}: flags 20, expected RST alone (the segment had ACK)`);
    const rst = delivered(5, seg(toClosed, { seq: 99, flags: RST }));
    expect(judge(new HostResetMonitor(CONTEXT), [rst, sent(5, seg(back, { seq: 0, ack: 100, flags: RST | ACK }))])).toBe(`a host answered a RST (seg #${rst.seg.id}) with a RST; a reset is never answered`);
    expect(judge(new HostResetMonitor(CONTEXT), [ack, sent(6, seg(back, { seq: 555, flags: RST }))])).toBe('a host sent a RST (seq 555) to port 40000 that answers no segment arriving from there');
  });

  it('a SYN to a port a socket bound, or to a crashed host, needs no reset', () => {
    const syn = delivered(5, seg(toClosed, { seq: 99, flags: SYN }));
    expect(judge(new HostResetMonitor(CONTEXT), [call(0, 'b', { op: 'bind', sock: 's', port: 9 }, 'ok', 3), syn, delivered(6, seg(toClosed, { seq: 99, flags: SYN }))])).toBeNull();
    expect(judge(new HostResetMonitor(CONTEXT), [{ type: 'host', atUs: 0, host: 'b', event: 'crash' }, syn, delivered(6, seg(toClosed, { seq: 99, flags: SYN }))])).toBeNull();
  });
});

describe('time-wait-syn', () => {
  // The server b:80 holds TIME-WAIT; its last ACK says RCV.NXT = 0xfffffff0, SND.NXT = 700.
  const holder = conn(2, 'b', 80, 40000);
  const listening: TraceEvent[] = [
    call(0, 'b', { op: 'socket', sock: 'l' }, 'ok', 3),
    call(0, 'b', { op: 'bind', sock: 'l', port: 80 }, 'ok', 3),
    call(0, 'b', { op: 'listen', sock: 'l', backlog: 8 }, 'ok', 3),
    state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT'),
    sent(100, seg(holder, { seq: 700, ack: 0xffff_fff0, flags: ACK })),
  ];
  const from = { ip: A, port: 40000, toIp: B, toPort: 80 };
  const back = { ip: B, port: 80, toIp: A, toPort: 40000 };
  const newSyn = (s: number) => delivered(150, seg(from, { seq: s, flags: SYN }));
  const synAck = (s: number, ack: number) => sent(150, seg(back, { seq: s, ack, flags: SYN | ACK, connId: 9 }));
  const after = state(151, holder, 'CLOSED', 'CLOSED');

  it('C10: a SYN above RCV.NXT across the wrap opens the new incarnation with ISN = SND.NXT + 65537', () => {
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...listening, newSyn(5), synAck(700 + 65537, 6), after])).toBeNull();
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...listening, newSyn(5), after])).toBe('SYN seq 5 above TIME-WAIT\'s RCV.NXT on a listening port opened no new incarnation (no SYN,ACK)');
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...listening, newSyn(5), synAck(700 + 65537, 7), after])).toBe('the new incarnation\'s SYN,ACK acks 7, expected SYN seq + 1 = 6');
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...listening, newSyn(5), synAck(700 + 65536, 6), after])).toBe('the new incarnation\'s ISN is 66236, expected the old SND.NXT + 65537 = 66237 (Linux tcp_timewait_state_process)');
  });

  it('C10: a SYN at or below RCV.NXT (mod 2^32) opens nothing', () => {
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...listening, newSyn(0xffff_fff0), after])).toBeNull();
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...listening, newSyn(0x7fff_fff0), synAck(1, 0x7fff_fff1), after])).toBe('SYN seq 2147483632, not above TIME-WAIT\'s RCV.NXT, opened a new incarnation (SYN,ACK seq 1)');
  });

  it('with no listener on the port, a SYN above RCV.NXT need not open anything', () => {
    const closedListener = [...listening, call(120, 'b', { op: 'close', sock: 'l' }, 'ok', 3)];
    expect(judge(new TimeWaitSynMonitor(CONTEXT), [...closedListener, newSyn(5), after])).toBeNull();
  });
});

describe('listen-conflict', () => {
  const twoBound: TraceEvent[] = [
    call(0, 'b', { op: 'socket', sock: 'l' }, 'ok', 3),
    call(0, 'b', { op: 'bind', sock: 'l', port: 80 }, 'ok', 3),
    call(0, 'b', { op: 'socket', sock: 't' }, 'ok', 4),
    call(0, 'b', { op: 'bind', sock: 't', port: 80 }, 'ok', 4),
    call(0, 'b', { op: 'listen', sock: 'l', backlog: 8 }, 'ok', 3),
  ];
  const listenTwin = (result: string) => call(1, 'b', { op: 'listen', sock: 't', backlog: 8 }, result, 4);

  it('C13: two SO_REUSEADDR sockets bound to one port: the second listen() fails with EADDRINUSE', () => {
    expect(judge(new ListenConflictMonitor(CONTEXT), [...twoBound, listenTwin('EADDRINUSE')])).toBeNull();
    expect(judge(new ListenConflictMonitor(CONTEXT), [...twoBound, listenTwin('ok')])).toBe('b: listen() on port 80 succeeded while socket 3 listens on it (Linux: EADDRINUSE)');
  });

  it('C13: once the first listener is closed (or on another host), listen() must succeed', () => {
    const closed = [...twoBound, call(1, 'b', { op: 'close', sock: 'l' }, 'ok', 3)];
    expect(judge(new ListenConflictMonitor(CONTEXT), [...closed, listenTwin('ok')])).toBeNull();
    expect(judge(new ListenConflictMonitor(CONTEXT), [...closed, listenTwin('EADDRINUSE')])).toBe('b: listen() on port 80 failed with EADDRINUSE, but no other socket listens on it');
  });
});

describe('ephemeral-port', () => {
  const c = conn(1, 'a', 33000, 80);
  const connect = (fd = 3) => call(5, 'a', { op: 'connect', sock: 'c', host: 'b', port: 80 }, 'ok', fd, 1);

  it('C12: an unbound connect() uses a port of ip_local_port_range', () => {
    expect(judge(new EphemeralPortMonitor(CONTEXT), [state(0, c, 'CLOSED', 'SYN-SENT'), sent(0, seg(c, { seq: 1, flags: SYN })), connect()])).toBeNull();
    const low = conn(1, 'a', 1024, 80);
    expect(judge(new EphemeralPortMonitor(CONTEXT), [state(0, low, 'CLOSED', 'SYN-SENT'), sent(0, seg(low, { seq: 1, flags: SYN })), connect()])).toBe('connect() picked port 1024, outside the ephemeral range 32768-60999');
    const high = conn(1, 'a', 61000, 80);
    expect(judge(new EphemeralPortMonitor(CONTEXT), [state(0, high, 'CLOSED', 'SYN-SENT'), sent(0, seg(high, { seq: 1, flags: SYN })), connect()])).toBe('connect() picked port 61000, outside the ephemeral range 32768-60999');
  });

  it('C12: never a 4-tuple still held (TIME-WAIT included); a bound socket uses its port', () => {
    const old = conn(7, 'a', 33000, 80);
    const held = [state(0, old, 'FIN-WAIT-2', 'TIME-WAIT'), state(1, c, 'CLOSED', 'SYN-SENT'), sent(1, seg(c, { seq: 1, flags: SYN })), connect()];
    expect(judge(new EphemeralPortMonitor(CONTEXT), held)).toBe('connect() picked port 33000, whose 4-tuple connection #7 still holds');
    const released = [state(0, old, 'FIN-WAIT-2', 'TIME-WAIT'), state(0, old, 'TIME-WAIT', 'CLOSED'), state(1, c, 'CLOSED', 'SYN-SENT'), sent(1, seg(c, { seq: 1, flags: SYN })), connect()];
    expect(judge(new EphemeralPortMonitor(CONTEXT), released)).toBeNull();
    const bound = [call(0, 'a', { op: 'socket', sock: 'c' }, 'ok', 3), call(0, 'a', { op: 'bind', sock: 'c', port: 40000 }, 'ok', 3), state(1, c, 'CLOSED', 'SYN-SENT'), sent(1, seg(c, { seq: 1, flags: SYN })), connect()];
    expect(judge(new EphemeralPortMonitor(CONTEXT), bound)).toBe('connect() on a socket bound to port 40000 sent its SYN from port 33000');
  });
});

describe('timestamps (RFC 7323 §3.2, §5.2)', () => {
  const client = conn(1, 'a', 1000, 80);
  const server = conn(2, 'b', 80, 1000, true);
  const withTs = (s: Segment, tsVal: number, tsEcr: number): Segment => ({ ...s, tsVal, tsEcr });
  const opening = [sent(1, withTs(seg(client, { seq: 0, flags: SYN }), 500, 0)), sent(2, withTs(seg(server, { seq: 0, ack: 1, flags: SYN | ACK }), 9000, 500))];

  it('passes TSvals that rise, wrap past 2^32 and echo what the peer sent', () => {
    // Act
    const message = judge(new TimestampsMonitor(CONTEXT), [
      ...opening,
      sent(3, withTs(seg(client, { seq: 1, ack: 1, flags: ACK }), 0x8000_0000, 9000)),
      sent(4, withTs(seg(client, { seq: 1, ack: 1, flags: ACK }), 0xffff_fff0, 9000)),
      sent(5, withTs(seg(client, { seq: 1, ack: 1, flags: ACK }), 5, 9000)),
    ]);
    // Assert
    expect(message).toBeNull();
  });

  it('catches a TSval that goes backwards', () => {
    // Act
    const backwards = withTs(seg(client, { seq: 1, ack: 1, flags: ACK }), 499, 9000);
    const message = judge(new TimestampsMonitor(CONTEXT), [...opening, sent(3, backwards)]);
    // Assert
    expect(message).toBe(`segment #${backwards.id} from port 1000 has TSval 499, older than the 500 the connection sent before`);
  });

  it('catches a TSecr the peer never sent, from a host under test, and leaves a scripted peer\'s (not a host) alone', () => {
    // Arrange: the same bogus echo, once from host a, once from 10.0.0.9, which no host has.
    const bogus = sent(3, withTs(seg(client, { seq: 1, ack: 1, flags: ACK }), 501, 9001));
    const stranger = { ip: 0x0a000009, port: 80, toIp: A, toPort: 1000 };
    const fromPeer = [sent(1, withTs(seg(client, { seq: 0, flags: SYN }), 500, 0)), sent(2, withTs(seg(stranger, { seq: 0, ack: 1, flags: SYN | ACK }), 9000, 504))];
    // Act
    const fromHost = judge(new TimestampsMonitor(CONTEXT), [...opening, bogus]);
    const fromScriptedPeer = judge(new TimestampsMonitor(CONTEXT), fromPeer);
    // Assert
    expect(fromHost).toBe(`segment #${bogus.seg.id} from port 1000 echoes TSecr 9001, which the peer never sent as a TSval`);
    expect(fromScriptedPeer).toBeNull();
  });

  it('catches an echo on a 4-tuple the peer never sent on, and judges every sender when the context names no hosts', () => {
    // Arrange: an ACK with a TSecr before anything came from b:80; the same bogus echo from a stranger.
    const early = sent(1, withTs(seg(client, { seq: 0, ack: 1, flags: ACK }), 500, 7));
    const stranger = { ip: 0x0a000009, port: 80, toIp: A, toPort: 1000 };
    const fromStranger = [sent(1, withTs(seg(client, { seq: 0, flags: SYN }), 500, 0)), sent(2, withTs(seg(stranger, { seq: 0, ack: 1, flags: SYN | ACK }), 9000, 504))];
    const { hostIps: _judgedHosts, ...everySender } = CONTEXT;
    // Act
    const beforeAnything = judge(new TimestampsMonitor(CONTEXT), [early]);
    const strangerJudged = judge(new TimestampsMonitor(everySender), fromStranger);
    // Assert
    expect(beforeAnything).toBe(`segment #${early.seg.id} from port 1000 echoes TSecr 7, which the peer never sent as a TSval`);
    expect(strangerJudged).toBe(`segment #${fromStranger[1]!.seg.id} from port 80 echoes TSecr 504, which the peer never sent as a TSval`);
  });
});

describe('connect-result, EADDRNOTAVAIL', () => {
  // A port range of three ports; the client's SYNs toward b:80 show which it used.
  const SMALL: MonitorContext = { ...CONTEXT, ephemeralPortMin: 40000, ephemeralPortMax: 40002 };
  const synFrom = (port: number, connId: number) => sent(0, seg({ ip: A, port, toIp: B, toPort: 80 }, { seq: 1, flags: SYN, connId }));
  const noPort = call(10, 'a', { op: 'connect', sock: 'c', host: 'b', port: 80 }, 'EADDRNOTAVAIL', 9);

  it('is right once every port of the range was used toward the destination (all in TIME-WAIT, say)', () => {
    expect(judge(new ConnectResultMonitor(SMALL), [synFrom(40000, 1), synFrom(40001, 2), synFrom(40002, 3), noPort])).toBeNull();
  });

  it('is wrong while a port of the range was never used toward it; one used toward another destination does not count', () => {
    expect(judge(new ConnectResultMonitor(SMALL), [synFrom(40000, 1), synFrom(40002, 3), noPort])).toBe('a: connect() to b:80 returned EADDRNOTAVAIL, but port 40001 of ip_local_port_range 40000-40002 was never used toward it');
    const elsewhere = sent(0, seg({ ip: A, port: 40001, toIp: B, toPort: 81 }, { seq: 1, flags: SYN, connId: 2 }));
    expect(judge(new ConnectResultMonitor(SMALL), [synFrom(40000, 1), elsewhere, synFrom(40002, 3), noPort])).not.toBeNull();
  });

  it('a port bound with bind() is skipped by the search, and a bound socket is not searched for at all', () => {
    const bindOther = [call(0, 'a', { op: 'socket', sock: 'o' }, 'ok', 7), call(0, 'a', { op: 'bind', sock: 'o', port: 40001 }, 'ok', 7)];
    expect(judge(new ConnectResultMonitor(SMALL), [...bindOther, synFrom(40000, 1), synFrom(40002, 3), noPort])).toBeNull();
    const boundSelf = [call(0, 'a', { op: 'socket', sock: 'c' }, 'ok', 9), call(0, 'a', { op: 'bind', sock: 'c', port: 50000 }, 'ok', 9)];
    expect(judge(new ConnectResultMonitor(SMALL), [...boundSelf, noPort])).toBeNull();
  });
});

describe('timestamps, more cases', () => {
  const a = conn(1, 'a', 1000, 80);
  const b = conn(2, 'b', 80, 1000);
  const ts = (from: ConnInfo, atUs: number, flags: number, tsVal: number, tsEcr: number): TraceEvent => sent(atUs, { ...seg(from, { seq: 1, ack: 1, flags }), tsVal, tsEcr });
  const handshake = [ts(a, 0, SYN, 100, 0), ts(b, 1, SYN | ACK, 5000, 100), ts(a, 2, ACK, 100, 5000)];

  it('RFC 7323: TSvals that stay or rise, each TSecr a TSval the peer sent, pass', () => {
    expect(judge(new TimestampsMonitor(CONTEXT), [...handshake, ts(a, 3, ACK, 101, 5000), ts(b, 4, ACK, 5000, 101)])).toBeNull();
  });

  it('a TSval below the one the connection sent before fails, modulo 2^32', () => {
    expect(judge(new TimestampsMonitor(CONTEXT), [...handshake, ts(a, 3, ACK, 99, 5000)])).toMatch(/has TSval 99, older than the 100 the connection sent before$/);
    const nearWrap = [ts(a, 0, SYN, 0xffff_fff0, 0), ts(b, 1, SYN | ACK, 7, 0xffff_fff0)];
    expect(judge(new TimestampsMonitor(CONTEXT), [...nearWrap, ts(a, 2, ACK, 3, 7)])).toBeNull();
    expect(judge(new TimestampsMonitor(CONTEXT), [...nearWrap, ts(a, 2, ACK, 0xffff_ffef, 7)])).not.toBeNull();
  });

  it('a TSecr the peer never sent fails; a RST and a segment without timestamps are not judged', () => {
    expect(judge(new TimestampsMonitor(CONTEXT), [...handshake, ts(a, 3, ACK, 101, 5001)])).toMatch(/echoes TSecr 5001, which the peer never sent as a TSval$/);
    expect(judge(new TimestampsMonitor(CONTEXT), [...handshake, ts(a, 3, RST | ACK, 1, 9)])).toBeNull();
    expect(judge(new TimestampsMonitor(CONTEXT), [...handshake, ts(a, 3, ACK, -1, 9)])).toBeNull();
  });
});

describe('TIME-WAIT take-overs and bucket overflows, checked against the wire', () => {
  const holder = conn(1, 'a', 1000, 80);
  const peer = conn(2, 'b', 80, 1000);
  const stamped = (from: ConnInfo, atUs: number, fields: { seq: number; ack: number; flags: number }): TraceEvent => sent(atUs, { ...seg(from, fields), tsVal: 1, tsEcr: 1 });
  const entry: TraceEvent[] = [stamped(holder, 100, { seq: 301, ack: 501, flags: ACK }), state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT')];
  const takenOver = state(150, holder, 'TIME-WAIT', 'CLOSED', 'TIME-WAIT reused by connect (tcp_twsk_unique)');

  it('tcp_tw_reuse: a take-over passes when a SYN leaves the 4-tuple at that instant, and fails without one', () => {
    const syn = sent(150, seg({ ip: A, port: 1000, toIp: B, toPort: 80 }, { seq: 70000, flags: SYN, connId: 3 }));
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, takenOver, syn])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, takenOver])).toBe('TIME-WAIT ended as taken over by connect(), but no SYN left its 4-tuple');
    const plainEntry = [sent(100, seg(holder, { seq: 301, ack: 501, flags: ACK })), state(100, holder, 'FIN-WAIT-2', 'TIME-WAIT')];
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...plainEntry, takenOver, syn])).toBe('TIME-WAIT without timestamps taken over by connect(); Linux tcp_twsk_unique allows it only with timestamps');
  });

  it('a host crash ends its TIME-WAITs early: the crash event comes just after their state changes', () => {
    const crash: TraceEvent = { type: 'host', atUs: 150, host: 'a', event: 'crash' };
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, state(150, holder, 'TIME-WAIT', 'CLOSED', 'host crash'), crash])).toBeNull();
    expect(judge(new TimeWait2MslMonitor(CONTEXT), [...entry, state(150, holder, 'TIME-WAIT', 'CLOSED', 'host crash')])).not.toBeNull();
  });

  it('tcp_max_tw_buckets: skipping TIME-WAIT is right only with every bucket of the host in use', () => {
    const other = conn(4, 'a', 1001, 80);
    const overflow = (atUs: number) => state(atUs, holder, 'FIN-WAIT-2', 'CLOSED', 'TIME-WAIT bucket overflow');
    const one: MonitorContext = { ...CONTEXT, maxTwBuckets: 1 };
    expect(judge(new TimeWaitSideMonitor(one), [state(0, other, 'ESTABLISHED', 'FIN-WAIT-1'), state(0, other, 'FIN-WAIT-1', 'TIME-WAIT'), overflow(10)])).toBeNull();
    expect(judge(new TimeWaitSideMonitor(one), [overflow(10)])).toBe('active closer skipped TIME-WAIT for a full tcp_max_tw_buckets, but only 0 of 1 are in use on a');
    expect(judge(new TimeWaitSideMonitor(one), [state(0, other, 'ESTABLISHED', 'FIN-WAIT-1'), state(0, other, 'FIN-WAIT-1', 'TIME-WAIT'), state(5, other, 'TIME-WAIT', 'CLOSED'), overflow(10)])).not.toBeNull();
    void peer;
  });
});

describe('what a crash or a reset leaves behind', () => {
  const client = conn(1, 'a', 1000, 80);
  const server = conn(2, 'b', 80, 1000, true);

  it('RFC 9293 §3.5.2: a connection left idle and half-open by its peer\'s crash may stay ESTABLISHED; without the crash it may not', () => {
    const opened = [state(0, client, 'SYN-SENT', 'ESTABLISHED'), state(0, server, 'SYN-RECEIVED', 'ESTABLISHED')];
    const crash: TraceEvent = { type: 'host', atUs: 5, host: 'b', event: 'crash' };
    expect(judge(new TerminationMonitor(CONTEXT), [...opened, state(5, server, 'ESTABLISHED', 'CLOSED', 'host crash'), crash])).toBeNull();
    expect(judge(new TerminationMonitor(CONTEXT), [...opened, state(5, server, 'ESTABLISHED', 'CLOSED')])).toBe('connection still ESTABLISHED when the run ended (idle) at 10000 us');
    expect(judge(new TerminationMonitor(CONTEXT), [...opened, state(5, server, 'ESTABLISHED', 'CLOSED', 'host crash'), crash, state(6, client, 'ESTABLISHED', 'LAST-ACK')])).toBe('connection still LAST-ACK when the run ended (idle) at 10000 us');
  });

  it('C6: a read of 0 after the connection was reset is no early end-of-file', () => {
    const peerSent = { ...call(1, 'b', { op: 'send', sock: 'conn', bytes: 1 }, 'sent 1', 4, 2), data: new Uint8Array([7]) };
    const base = [state(0, client, 'SYN-SENT', 'ESTABLISHED'), state(0, server, 'SYN-RECEIVED', 'ESTABLISHED'), peerSent];
    const eof = call(9, 'a', { op: 'recv-until-eof', sock: 'conn' }, 'eof', 3, 1);
    expect(judge(new StreamMonitor(CONTEXT), [...base, call(8, 'a', { op: 'recv', sock: 'conn', bytes: 1 }, 'ECONNRESET', 3, 1), eof])).toBeNull();
    expect(judge(new StreamMonitor(CONTEXT), [...base, eof])).toBe("end-of-file after 0 bytes, but the peer's application sent 1");
  });

  it('C14: close() with SO_LINGER{on,0} on a connection a RST already closed sends nothing more', () => {
    const lingered = [call(0, 'a', { op: 'socket', sock: 'conn' }, 'ok', 3), call(0, 'a', { op: 'setsockopt', sock: 'conn', option: 'SO_LINGER', onoff: true, lingerSec: 0 }, 'ok', 3), state(1, client, 'SYN-SENT', 'ESTABLISHED')];
    const reset = [state(50, client, 'ESTABLISHED', 'CLOSED', 'rcv RST'), call(50, 'a', { op: 'recv', sock: 'conn', bytes: 1 }, 'ECONNRESET', 3, 1)];
    expect(judge(new AbortMonitor(CONTEXT), [...lingered, ...reset, call(50, 'a', { op: 'close', sock: 'conn' }, 'ok', 3, 1)])).toBeNull();
    // The same instant, but the state change is close()'s own (no call in between): it had to send RST.
    expect(judge(new AbortMonitor(CONTEXT), [...lingered, state(50, client, 'ESTABLISHED', 'CLOSED'), call(50, 'a', { op: 'close', sock: 'conn' }, 'ok', 3, 1)])).toBe('close() with SO_LINGER{on,0} in ESTABLISHED did not send RST');
  });
});

describe('connect-result after a simultaneous open', () => {
  const client = conn(1, 'a', 40000, 80);
  const from = { ip: B, port: 80, toIp: A, toPort: 40000 };
  const syn = (atUs: number) => sent(atUs, seg(client, { seq: 1000, flags: SYN }));
  const connect = (atUs: number, result: string) => call(atUs, 'a', { op: 'connect', sock: 'c', host: 'b', port: 80 }, result, 3, 1);

  it("C3: the peer's bare SYN does not acknowledge ours, so ETIMEDOUT may follow it; after an ACK of ISN+1 it may not", () => {
    const bareSyn = delivered(5, seg(from, { seq: 7, flags: SYN }));
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), syn(1), bareSyn, syn(3), connect(9, 'ETIMEDOUT')])).toBeNull();
    const ackOfSyn = delivered(6, seg(from, { seq: 8, ack: 1001, flags: ACK }));
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), syn(1), bareSyn, ackOfSyn, syn(3), connect(9, 'ETIMEDOUT')])).toBe('connect() returned ETIMEDOUT after its SYN was acknowledged');
  });

  it('C3: once a bare SYN answered, the SYN count says nothing (SYN-RECEIVED resends SYN,ACKs, which Linux counts too); without it, it does', () => {
    // Arrange: two SYNs where tcp_syn_retries 2 gives three, the second answered by the peer's bare SYN.
    const bareSyn = delivered(2, seg(from, { seq: 7, flags: SYN }));
    // Act
    const answered = judge(new ConnectResultMonitor(CONTEXT), [syn(0), syn(1), bareSyn, connect(10, 'ETIMEDOUT')]);
    const unanswered = judge(new ConnectResultMonitor(CONTEXT), [syn(0), syn(1), connect(10, 'ETIMEDOUT')]);
    // Assert
    expect(answered).toBeNull();
    expect(unanswered).toBe('connect() returned ETIMEDOUT after 2 SYNs; tcp_syn_retries gives 3');
  });
});

describe('orphan-fin-wait-2 under a TIME-WAIT bucket limit', () => {
  // a:1000 closed at 10 and its FIN (seq 300) was ACKed at 20: an orphan in FIN-WAIT-2 from 20.
  const orphan = conn(1, 'a', 1000, 80);
  const peer = conn(2, 'b', 80, 1000);
  const context: MonitorContext = { ...CONTEXT, finWait2TimeoutUs: 1_000, maxTwBuckets: 1 };
  const orphaned: TraceEvent[] = [
    state(0, orphan, 'SYN-SENT', 'ESTABLISHED'),
    state(0, peer, 'SYN-RECEIVED', 'ESTABLISHED'),
    call(10, 'a', { op: 'close', sock: 's' }, 'ok', 3, 1),
    sent(10, seg(orphan, { seq: 300, ack: 500, flags: FIN | ACK })),
    delivered(20, seg(peer, { seq: 500, ack: 301, flags: ACK })),
  ];
  const ackFromPeer = () => delivered(30, seg(peer, { seq: 500, ack: 301, flags: ACK }));
  const finFromPeer = () => delivered(30, seg(peer, { seq: 500, ack: 301, flags: FIN | ACK }));
  const hostReset = () => sent(30, seg({ ip: A, port: 1000, toIp: B, toPort: 80 }, { seq: 301, flags: RST }));

  it('C5: the FIN found no bucket, so a reset after it may answer its copy, even with an ACK awaited from the same instant', () => {
    expect(judge(new OrphanFinWait2Monitor(context), [...orphaned, ackFromPeer(), finFromPeer(), finFromPeer(), hostReset()])).toBeNull();
  });

  it('C5: a reset sent before the FIN arrived is still an early end', () => {
    const ack = ackFromPeer();
    expect(judge(new OrphanFinWait2Monitor(context), [...orphaned, ack, hostReset(), finFromPeer()])).toBe(
      `the orphaned FIN-WAIT-2 was gone 10 us after it began, before tcp_fin_timeout (1000 us): seg #${ack.seg.id} got a reset`,
    );
  });
});

/** A monitor on its own, as a caller without a MonitorSet uses it: it is handed every event, of every kind. */
function judgeAlone(monitor: Monitor, events: readonly TraceEvent[], endUs = 10_000): string | null {
  events.forEach((event, index) => monitor.onEvent(event, index));
  monitor.atEnd({ atUs: endUs, stoppedBy: 'idle', eventCount: events.length });
  return monitor.violation?.message ?? null;
}

/** What a connect-result monitor still keeps, read from its private tables (issue #13: nothing once a connection is judged or forgotten). */
function keptOpenings(monitor: ConnectResultMonitor): { byConn: number; byTuple: number } {
  return { byConn: monitor['byConn'].size, byTuple: monitor['byTuple'].size };
}

describe('connect-result, what counts as its SYN and its answer', () => {
  const client = conn(1, 'a', 40000, 80);
  const from = { ip: B, port: 80, toIp: A, toPort: 40000 };
  const syn = (atUs: number, iss = 1000, c: ConnInfo = client) => sent(atUs, seg(c, { seq: iss, flags: SYN }));
  const synAck = (atUs: number, ack: number) => delivered(atUs, seg(from, { seq: 7, ack, flags: SYN | ACK }));
  const connect = (atUs: number, result: string, connId = 1) => call(atUs, 'a', { op: 'connect', sock: 'c', host: 'b', port: 80 }, result, 3, connId);

  it('C2: a connection with id 0 is judged like any other (ids from 0 up are connections, -1 is none; the World counts from 1, other trace sources need not)', () => {
    const first = conn(0, 'a', 40000, 80);
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0, 1000, first), connect(5, 'ok', 0)])).toBe('connect() returned ok, but no SYN,ACK acknowledging its SYN (ISN 1000) arrived');
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0, 1000, first), synAck(5, 1001), connect(5, 'ok', 0)])).toBeNull();
  });

  it('only connect() gives a connect result: another call on the connecting socket returning ok is none', () => {
    const setsockopt = call(1, 'a', { op: 'setsockopt', sock: 'c', option: 'SO_REUSEADDR', value: true }, 'ok', 3, 1);
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), setsockopt, synAck(5, 1001), connect(5, 'ok')])).toBeNull();
  });

  it('C1: a non-blocking connect() returning EINPROGRESS with its SYN out is no ETIMEDOUT', () => {
    const nonBlocking = call(0, 'a', { op: 'fcntl', sock: 'c', nonBlocking: true }, 'ok', 3);
    expect(judge(new ConnectResultMonitor(CONTEXT), [nonBlocking, syn(0), connect(0, 'EINPROGRESS')])).toBeNull();
  });

  it('C1-C3: a non-blocking connect() is judged by the connect() that gives its outcome, after EINPROGRESS and EALREADY', () => {
    const nonBlocking = call(0, 'a', { op: 'fcntl', sock: 'c', nonBlocking: true }, 'ok', 3);
    const started = [nonBlocking, syn(0), connect(0, 'EINPROGRESS')];
    expect(judge(new ConnectResultMonitor(CONTEXT), [...started, connect(9, 'ok')])).toBe('connect() returned ok, but no SYN,ACK acknowledging its SYN (ISN 1000) arrived');
    expect(judge(new ConnectResultMonitor(CONTEXT), [...started, connect(2, 'EALREADY'), synAck(5, 1001), connect(9, 'ok')])).toBeNull();
    const refusal = delivered(5, seg(from, { seq: 0, ack: 1001, flags: RST | ACK }));
    expect(judge(new ConnectResultMonitor(CONTEXT), [...started, refusal, connect(9, 'ECONNREFUSED')])).toBeNull();
    expect(judge(new ConnectResultMonitor(CONTEXT), [...started, connect(9, 'ECONNREFUSED')])).toBe('connect() returned ECONNREFUSED, but no RST acknowledging its SYN arrived');
    expect(judge(new ConnectResultMonitor(CONTEXT), [...started, connect(2, 'EALREADY'), connect(9, 'ok')])).toBe('connect() returned ok, but no SYN,ACK acknowledging its SYN (ISN 1000) arrived');
  });

  it('C3: only ETIMEDOUT is judged by the SYN count; another error after one SYN (ECONNABORTED) is not', () => {
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), connect(9, 'ECONNABORTED')])).toBeNull();
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), connect(9, 'ETIMEDOUT')])).toBe('connect() returned ETIMEDOUT after 1 SYNs; tcp_syn_retries gives 3');
  });

  it('connect() again on a connected socket (EISCONN) has no SYN of its own to judge', () => {
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), synAck(5, 1001), connect(5, 'ok'), connect(6, 'EISCONN')])).toBeNull();
  });

  it('RFC 9293 §3.10.7.3: a RST without ACK is dropped in SYN-SENT, whatever its ack field holds, so it refuses nothing', () => {
    const bareRst = delivered(5, seg(from, { seq: 0, ack: 1001, flags: RST }));
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), bareRst, connect(5, 'ECONNREFUSED')])).toBe('connect() returned ECONNREFUSED, but no RST acknowledging its SYN arrived');
  });

  it('a segment with no connection (a scripted peer\'s SYN on the same 4-tuple) is no connect of its own and hides no answer', () => {
    const scripted = sent(1, seg({ ip: A, port: 40000, toIp: B, toPort: 80 }, { seq: 5000, flags: SYN }));
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), scripted, synAck(5, 1001), connect(5, 'ok')])).toBeNull();
  });

  it('C2: a SYN with another ISN starts the opening over: only an ACK of the new ISN+1 lets connect() succeed', () => {
    expect(judge(new ConnectResultMonitor(CONTEXT), [syn(0), synAck(1, 1001), syn(2, 2000), connect(3, 'ok')])).toBe('connect() returned ok, but no SYN,ACK acknowledging its SYN (ISN 2000) arrived');
  });

  it('two connections opening one 4-tuple at once: each connect() is judged by the answer to its own SYN', () => {
    // Arrange: #1 sends its three SYNs and times out while #2, on the same 4-tuple, has its SYN out.
    const second = { ...client, connId: 2 };
    const events = [state(0, client, 'CLOSED', 'SYN-SENT'), syn(0), syn(1), syn(3), syn(4, 5000, second), connect(7, 'ETIMEDOUT'), synAck(8, 5001), connect(8, 'ok', 2)];
    // Act
    const verdict = judge(new ConnectResultMonitor(CONTEXT), events);
    // Assert
    expect(verdict).toBeNull();
  });

  it('a connection forgotten before its connect() returned takes nothing from a newer connection of its 4-tuple', () => {
    // Arrange: #1's SYN is lost and its program closes it at 2; #2 (no state reported yet) sends
    // its SYN on the same 4-tuple at 2, lost too; #1 is forgotten after the event at 3.
    const second = { ...client, connId: 2 };
    const lostSyn = (atUs: number, s: Segment): TraceEvent => ({ type: 'segment', atUs, fate: 'dropped', seg: s, reason: 'loss' });
    const syn1 = seg(client, { seq: 1000, flags: SYN });
    const syn2 = seg(second, { seq: 5000, flags: SYN });
    const events: TraceEvent[] = [
      state(0, client, 'CLOSED', 'SYN-SENT'),
      sent(0, syn1),
      lostSyn(1, syn1),
      state(2, client, 'SYN-SENT', 'CLOSED'),
      call(2, 'a', { op: 'close', sock: 'c' }, 'ok', 3, 1),
      sent(2, syn2),
      lostSyn(2, syn2),
      call(3, 'b', { op: 'socket', sock: 'x' }, 'ok', 5),
      syn(4, 5000, second),
      synAck(5, 5001),
      connect(5, 'ok', 2),
    ];
    // Act
    const verdict = judge(new ConnectResultMonitor(CONTEXT), events);
    // Assert
    expect(verdict).toBeNull();
  });

  it('keeps nothing for a connection once its connect() returned, or once it is forgotten', () => {
    // Arrange
    const returned = new ConnectResultMonitor(CONTEXT);
    const forgotten = new ConnectResultMonitor(CONTEXT);
    const lost = seg(client, { seq: 1000, flags: SYN });
    // Act
    judge(returned, [state(0, client, 'CLOSED', 'SYN-SENT'), syn(0), synAck(5, 1001), connect(5, 'ok')]);
    judge(forgotten, [state(0, client, 'CLOSED', 'SYN-SENT'), sent(0, lost), { type: 'segment', atUs: 1, fate: 'dropped', seg: lost, reason: 'loss' }, state(2, client, 'SYN-SENT', 'CLOSED'), call(2, 'a', { op: 'close', sock: 'c' }, 'ok', 3, 1), call(3, 'b', { op: 'socket', sock: 'x' }, 'ok', 5)]);
    // Assert
    expect(keptOpenings(returned)).toEqual({ byConn: 0, byTuple: 0 });
    expect(keptOpenings(forgotten)).toEqual({ byConn: 0, byTuple: 0 });
  });

  it('C3: with tcp_syn_retries unknown, any number of SYNs before ETIMEDOUT is accepted', () => {
    const { synRetries: _unknown, ...noRetries } = CONTEXT;
    expect(judge(new ConnectResultMonitor(noRetries), [syn(0), syn(1), connect(7, 'ETIMEDOUT')])).toBeNull();
  });

  it('on its own (no MonitorSet) it is handed every kind of event and reads only segments and calls', () => {
    const events = [state(0, client, 'CLOSED', 'SYN-SENT'), syn(0), { type: 'timer', atUs: 1, conn: client, timer: 'retransmit' } as TraceEvent, synAck(5, 1001), connect(5, 'ok')];
    expect(judgeAlone(new ConnectResultMonitor(CONTEXT), events)).toBeNull();
  });
});

describe('connect-result, EADDRNOTAVAIL: which ports count as used, which sockets as bound', () => {
  // The range has three ports, 40000-40002; the socket that connects is fd 9 on a.
  const SMALL: MonitorContext = { ...CONTEXT, ephemeralPortMin: 40000, ephemeralPortMax: 40002 };
  const fromPort = (port: number, flags: number, connId = port - 39999) => sent(0, seg({ ip: A, port, toIp: B, toPort: 80 }, { seq: 1, flags, connId }));
  const synFrom = (port: number) => fromPort(port, SYN);
  const noPort = (from = 'a', to = 'b') => call(10, from, { op: 'connect', sock: 'c', host: to, port: 80 }, 'EADDRNOTAVAIL', 9);
  const never = (port: number) => `a: connect() to b:80 returned EADDRNOTAVAIL, but port ${port} of ip_local_port_range 40000-40002 was never used toward it`;

  it('every port of the range is searched, the last one included', () => {
    expect(judge(new ConnectResultMonitor(SMALL), [synFrom(40000), synFrom(40001), noPort()])).toBe(never(40002));
  });

  it('one port used toward the destination covers that port alone', () => {
    expect(judge(new ConnectResultMonitor(SMALL), [synFrom(40000), noPort()])).toBe(never(40001));
  });

  it('with no port ever used toward the destination, the first of the range proves the error wrong', () => {
    expect(judge(new ConnectResultMonitor(SMALL), [noPort()])).toBe(never(40000));
  });

  it('an ACK or a RST from a port opens no connection from it, so it leaves the port free', () => {
    const stray = [fromPort(40001, ACK, -1), fromPort(40001, RST, -1)];
    expect(judge(new ConnectResultMonitor(SMALL), [synFrom(40000), ...stray, synFrom(40002), noPort()])).toBe(never(40001));
  });

  it('a port from an earlier bind() on each of two sockets is skipped, both of them', () => {
    const binds = [call(0, 'a', { op: 'socket', sock: 'o' }, 'ok', 7), call(0, 'a', { op: 'bind', sock: 'o', port: 40001 }, 'ok', 7), call(0, 'a', { op: 'socket', sock: 'p' }, 'ok', 8), call(0, 'a', { op: 'bind', sock: 'p', port: 40002 }, 'ok', 8)];
    expect(judge(new ConnectResultMonitor(SMALL), [...binds, synFrom(40000), noPort()])).toBeNull();
  });

  it('a socket counts as bound only after a bind() that succeeded, and only until its descriptor is a new socket', () => {
    const used = [synFrom(40000), synFrom(40002)];
    const failedBind = [call(0, 'a', { op: 'socket', sock: 'c' }, 'ok', 9), call(0, 'a', { op: 'bind', sock: 'c', port: 40001 }, 'EADDRINUSE', 9)];
    expect(judge(new ConnectResultMonitor(SMALL), [...failedBind, ...used, noPort()])).toBe(never(40001));
    const otherCall = [call(0, 'a', { op: 'socket', sock: 'c' }, 'ok', 9), call(0, 'a', { op: 'setsockopt', sock: 'c', option: 'SO_REUSEADDR', value: true }, 'ok', 9)];
    expect(judge(new ConnectResultMonitor(SMALL), [...otherCall, ...used, noPort()])).toBe(never(40001));
    // fd 9 was bound (to a port outside the range), closed, and given to a new, unbound socket.
    const fdReused = [call(0, 'a', { op: 'socket', sock: 'old' }, 'ok', 9), call(0, 'a', { op: 'bind', sock: 'old', port: 50000 }, 'ok', 9), call(1, 'a', { op: 'close', sock: 'old' }, 'ok', 9), call(2, 'a', { op: 'socket', sock: 'c' }, 'ok', 9)];
    expect(judge(new ConnectResultMonitor(SMALL), [...fdReused, ...used, noPort()])).toBe(never(40001));
  });

  it('a connect() that fails before any SYN with another error (EISCONN on a listener) is no EADDRNOTAVAIL', () => {
    const onListener = call(10, 'a', { op: 'connect', sock: 'c', host: 'b', port: 80 }, 'EISCONN', 9);
    expect(judge(new ConnectResultMonitor(SMALL), [onListener])).toBeNull();
  });

  it('is not judged when a host has no address in the context, or the context names none', () => {
    const { hostIps: _none, ...noHosts } = SMALL;
    expect(judge(new ConnectResultMonitor(noHosts), [noPort()])).toBeNull();
    expect(judge(new ConnectResultMonitor(SMALL), [noPort('a', 'c')])).toBeNull();
    expect(judge(new ConnectResultMonitor(SMALL), [noPort('c', 'b')])).toBeNull();
  });
});

describe('host-reset, which segment a reset answers and who is judged', () => {
  const C = 0x0a000003; // an address no host of the run has
  const toClosed = { ip: A, port: 40000, toIp: B, toPort: 9 };
  const back = { ip: B, port: 9, toIp: A, toPort: 40000 };
  const synTo = (atUs: number, to: { ip: number; port: number; toIp: number; toPort: number }) => delivered(atUs, seg(to, { seq: 99, flags: SYN }));
  const resetOf = (atUs: number, from = back, fields: { seq?: number; ack?: number; bytes?: number } = {}) => sent(atUs, seg(from, { seq: fields.seq ?? 0, ack: fields.ack ?? 100, flags: RST | ACK, bytes: fields.bytes ?? 0 }));
  const noCause = 'a host sent a RST (seq 0) to port 40000 that answers no segment arriving from there';
  const missing = (s: SegmentEvent) => `a SYN to port ${s.seg.dstPort}, which no socket of its host ever used, got no RST,ACK (seg #${s.seg.id})`;

  it('RFC 9293 §3.10.7.1: the reset answers a segment of its own 4-tuple: one differing in any of the four fields is no cause', () => {
    expect(judge(new HostResetMonitor(CONTEXT), [synTo(5, { ...toClosed, ip: C }), resetOf(5)])).toBe(noCause);
    expect(judge(new HostResetMonitor(CONTEXT), [synTo(5, { ...toClosed, port: 40001 }), resetOf(5)])).toBe(noCause);
    expect(judge(new HostResetMonitor(CONTEXT), [synTo(5, { ...toClosed, toIp: C }), resetOf(5)])).toBe(noCause);
    expect(judge(new HostResetMonitor(CONTEXT), [synTo(5, { ...toClosed, toPort: 10 }), resetOf(5)])).toBe(noCause);
  });

  it('two SYNs to unused ports at one instant each get their own reset', () => {
    const other = { ip: A, port: 40001, toIp: B, toPort: 9 };
    const events = [synTo(5, toClosed), synTo(5, other), resetOf(5), resetOf(5, { ip: B, port: 9, toIp: A, toPort: 40001 })];
    expect(judge(new HostResetMonitor(CONTEXT), events)).toBeNull();
  });

  it('a reset answering another segment does not stand in for the one a SYN to an unused port is owed', () => {
    // Arrange: at 5 a SYN to b:9 and a FIN,ACK to b:10 arrive; b resets the FIN,ACK only.
    const syn = synTo(5, toClosed);
    const finAck = delivered(5, seg({ ip: A, port: 40001, toIp: B, toPort: 10 }, { seq: 7, ack: 555, flags: FIN | ACK }));
    const itsReset = sent(5, seg({ ip: B, port: 10, toIp: A, toPort: 40001 }, { seq: 555, flags: RST }));
    // Act
    const verdict = judge(new HostResetMonitor(CONTEXT), [syn, finAck, itsReset]);
    // Assert
    expect(verdict).toBe(missing(syn));
  });

  it('a reset owed at the last instant of the run is missing at its end, found at the end (event index -1)', () => {
    // Arrange
    const monitor = new HostResetMonitor(CONTEXT);
    const syn = synTo(5, toClosed);
    // Act
    const verdict = judge(monitor, [syn]);
    // Assert
    expect(verdict).toBe(missing(syn));
    expect(monitor.violation?.eventIndex).toBe(-1);
  });

  it('a reset carries no data (Linux tcp_v4_send_reset)', () => {
    const syn = synTo(5, toClosed);
    expect(judge(new HostResetMonitor(CONTEXT), [syn, resetOf(5, back, { bytes: 3 })])).toBe(`host RST answering seg #${syn.seg.id}: 3 data bytes`);
  });

  it('a host sending with no connection sends only resets; its connections (any id from 0 up) and scripted peers are not judged here', () => {
    const stray = sent(5, seg({ ip: A, port: 40000, toIp: B, toPort: 80 }, { seq: 1, flags: SYN }));
    expect(judge(new HostResetMonitor(CONTEXT), [stray])).toBe('a host sent a segment with no connection that is not a RST (flags 2)');
    expect(judge(new HostResetMonitor(CONTEXT), [sent(5, seg(conn(0, 'a', 40000, 80), { seq: 1, flags: SYN }))])).toBeNull();
    expect(judge(new HostResetMonitor(CONTEXT), [sent(5, seg({ ip: C, port: 40000, toIp: B, toPort: 80 }, { seq: 1, flags: SYN }))])).toBeNull();
  });

  it('with no host addresses in the context, every sender with no connection is judged', () => {
    const { hostIps: _none, ...noHosts } = CONTEXT;
    const syn = synTo(5, toClosed);
    const events = [call(0, 'b', { op: 'bind', sock: 's', port: 7 }, 'ok', 3), syn, resetOf(5, back, { seq: 1 })];
    expect(judge(new HostResetMonitor(noHosts), events)).toBe(`host RST answering seg #${syn.seg.id}: seq 1, expected 0`);
  });

  it('a SYN to an address no host has is nobody\'s to answer', () => {
    expect(judge(new HostResetMonitor(CONTEXT), [synTo(5, { ...toClosed, toIp: C })])).toBeNull();
  });

  it('a host that crashed and restarted answers a SYN to an unused port again', () => {
    const syn = synTo(5, toClosed);
    const events: TraceEvent[] = [{ type: 'host', atUs: 0, host: 'b', event: 'crash' }, { type: 'host', atUs: 1, host: 'b', event: 'restart' }, syn];
    expect(judge(new HostResetMonitor(CONTEXT), events)).toBe(missing(syn));
  });

  it('only bind() to a port of its own uses a port: connect()\'s destination port and bind(0) do not', () => {
    // a connects to b:80: port 80 of a stays unused, so a SYN to a:80 is owed a reset.
    const toA80 = synTo(5, { ip: B, port: 50000, toIp: A, toPort: 80 });
    expect(judge(new HostResetMonitor(CONTEXT), [call(0, 'a', { op: 'connect', sock: 'c', host: 'b', port: 80 }, 'ECONNREFUSED', 3), toA80])).toBe(missing(toA80));
    const toB0 = synTo(5, { ...toClosed, toPort: 0 });
    expect(judge(new HostResetMonitor(CONTEXT), [call(0, 'b', { op: 'bind', sock: 's', port: 0 }, 'port 40005', 3), toB0])).toBe(missing(toB0));
  });

  it('on its own (no MonitorSet) it is handed every kind of event and reads only segments, calls and hosts', () => {
    const events = [state(0, conn(1, 'a', 40000, 9), 'CLOSED', 'SYN-SENT'), synTo(5, toClosed), resetOf(5)];
    expect(judgeAlone(new HostResetMonitor(CONTEXT), events)).toBeNull();
  });
});

describe('listen-conflict, which sockets listen (ListenerModel, from the calls)', () => {
  // b's sockets 3, 4 and 5 are bound to port 80 (SO_REUSEADDR on each) before socket 3 listens:
  // Linux refuses a bind() next to a listener, not next to a bound socket (inet_csk_bind_conflict).
  const bindTo = (fd: number, port = 80, result = 'ok', host = 'b') => [call(0, host, { op: 'socket', sock: `s${fd}` }, 'ok', fd), call(0, host, { op: 'bind', sock: `s${fd}`, port }, result, fd)];
  const listenOn = (atUs: number, fd: number, result: string, host = 'b') => call(atUs, host, { op: 'listen', sock: `s${fd}`, backlog: 8 }, result, fd);
  const threeBound: TraceEvent[] = [...bindTo(3), ...bindTo(4), ...bindTo(5), listenOn(1, 3, 'ok')];
  const succeededWhile = (fd: number) => `b: listen() on port 80 succeeded while socket ${fd} listens on it (Linux: EADDRINUSE)`;
  const noOther = 'b: listen() on port 80 failed with EADDRINUSE, but no other socket listens on it';

  it('C13: listen() again on the listening socket only sets its backlog (Linux inet_listen; seen on Linux 6.18): no conflict with itself', () => {
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, listenOn(2, 3, 'ok')])).toBeNull();
  });

  it('C13: a listener on another host is no conflict', () => {
    expect(judge(new ListenConflictMonitor(CONTEXT), [...bindTo(3, 80, 'ok', 'a'), listenOn(1, 3, 'ok', 'a'), ...bindTo(4), listenOn(2, 4, 'ok')])).toBeNull();
  });

  it('C13: a bind() that failed leaves the socket unbound, so its listen() takes an ephemeral port and conflicts with nothing (seen on Linux 6.18)', () => {
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, ...bindTo(6, 80, 'EADDRINUSE'), listenOn(2, 6, 'ok')])).toBeNull();
  });

  it('C13: a listen() that failed makes no listener: once socket 3 closes, port 80 is free for socket 5', () => {
    const events = [...threeBound, listenOn(2, 4, 'EADDRINUSE'), call(3, 'b', { op: 'close', sock: 's3' }, 'ok', 3), listenOn(4, 5, 'ok')];
    expect(judge(new ListenConflictMonitor(CONTEXT), events)).toBeNull();
  });

  it('C13, C15: other calls on the listening socket (setsockopt SO_LINGER, as the article\'s demo makes) leave it listening', () => {
    const linger = call(2, 'b', { op: 'setsockopt', sock: 's3', option: 'SO_LINGER', onoff: true, lingerSec: 0 }, 'ok', 3);
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, linger, listenOn(3, 4, 'EADDRINUSE')])).toBeNull();
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, linger, listenOn(3, 4, 'ok')])).toBe(succeededWhile(3));
  });

  // Found by helper ports (survivor 494:39): the listener model dropped a listener on any connect().
  // connect() on a listening socket fails (Linux 6.18, seen here: EISCONN) and the socket goes on listening.
  it('C13: connect() on the listening socket fails and leaves it listening', () => {
    const connectOnListener = call(2, 'b', { op: 'connect', sock: 's3', host: 'a', port: 9 }, 'EISCONN', 3);
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, connectOnListener, listenOn(3, 4, 'ok')])).toBe(succeededWhile(3));
  });

  it('C13: a port from bind() stays with the socket through a failed connect() (Linux: SOCK_BINDPORT_LOCK), so a listen() that then succeeds listens on it', () => {
    // (Linux 6.18 refuses that listen() with EINVAL, seen here; the simulator allows it. Either way, a listen() that succeeds is on the bound port.)
    const refused = call(1, 'b', { op: 'connect', sock: 's4', host: 'a', port: 9 }, 'ECONNREFUSED', 4);
    expect(judge(new ListenConflictMonitor(CONTEXT), [...bindTo(4), ...bindTo(5), refused, listenOn(2, 4, 'ok'), listenOn(3, 5, 'ok')])).toBe(succeededWhile(4));
  });

  it('C13: socket() returns only a descriptor not in use (POSIX), so whatever socket 3 was, the new socket 3 listens on nothing', () => {
    const reopened = call(2, 'b', { op: 'socket', sock: 'again' }, 'ok', 3);
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, reopened, listenOn(3, 4, 'ok')])).toBeNull();
  });

  it('C13: a crash closes every socket of its host, and only of its host', () => {
    const crash = (host: string, atUs = 2): TraceEvent => ({ type: 'host', atUs, host, event: 'crash' });
    const restart: TraceEvent = { type: 'host', atUs: 3, host: 'b', event: 'restart' };
    const afterRestart = [call(4, 'b', { op: 'socket', sock: 'new' }, 'ok', 7), call(4, 'b', { op: 'bind', sock: 'new', port: 80 }, 'ok', 7), listenOn(5, 7, 'ok')];
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, crash('b'), restart, ...afterRestart])).toBeNull();
    // a's crash leaves b's listener and b's bound sockets.
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, crash('a'), listenOn(3, 4, 'ok')])).toBe(succeededWhile(3));
  });

  it('C13: a restart (no crash before it) closes nothing', () => {
    const restart: TraceEvent = { type: 'host', atUs: 2, host: 'b', event: 'restart' };
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, restart, listenOn(3, 4, 'ok')])).toBe(succeededWhile(3));
  });

  it('C13: listen() on a socket never bound takes an ephemeral port the calls do not show, so its EADDRINUSE (no port left) is not judged', () => {
    const unbound = [call(0, 'b', { op: 'socket', sock: 'u' }, 'ok', 6), listenOn(2, 6, 'EADDRINUSE')];
    expect(judge(new ListenConflictMonitor(CONTEXT), [...threeBound, ...unbound])).toBeNull();
  });

  it('C13: on its own (no MonitorSet) it is handed every kind of event and reads only calls and hosts', () => {
    const listener = conn(1, 'b', 80, 40000, true);
    const events = [state(0, listener, 'LISTEN', 'SYN-RECEIVED'), sent(0, seg(listener, { seq: 1, ack: 1, flags: SYN | ACK })), ...threeBound, listenOn(2, 4, 'EADDRINUSE')];
    expect(judgeAlone(new ListenConflictMonitor(CONTEXT), events)).toBeNull();
  });
});

describe('ephemeral-port, which connect() is judged and what holds a 4-tuple', () => {
  const client = conn(1, 'a', 33000, 80);
  const synOf = (atUs: number, c: ConnInfo) => sent(atUs, seg(c, { seq: 1, flags: SYN }));
  const opens = (atUs: number, c: ConnInfo): TraceEvent[] => [state(atUs, c, 'CLOSED', 'SYN-SENT'), synOf(atUs, c)];
  const connectOf = (atUs: number, c: ConnInfo, fd = 3, result = 'ok') => call(atUs, c.host, { op: 'connect', sock: `s${fd}`, host: c.host === 'a' ? 'b' : 'a', port: c.remotePort }, result, fd, c.connId);
  const holds = (port: number, id: number) => `connect() picked port ${port}, whose 4-tuple connection #${id} still holds`;

  it('C12: the connection is named in the violation', () => {
    const monitor = new EphemeralPortMonitor(CONTEXT);
    const low = conn(1, 'a', 1024, 80);
    expect(judge(monitor, [...opens(0, low), connectOf(5, low)])).toBe('connect() picked port 1024, outside the ephemeral range 32768-60999');
    expect(monitor.violation?.connId).toBe(1);
  });

  it('C12: connection id 0 is judged like any other, as connect()er and as holder', () => {
    const first = conn(0, 'a', 1024, 80);
    expect(judge(new EphemeralPortMonitor(CONTEXT), [...opens(0, first), connectOf(5, first)])).toBe('connect() picked port 1024, outside the ephemeral range 32768-60999');
    const old = conn(0, 'a', 33000, 80);
    expect(judge(new EphemeralPortMonitor(CONTEXT), [state(0, old, 'FIN-WAIT-2', 'TIME-WAIT'), ...opens(1, client), connectOf(5, client)])).toBe(holds(33000, 0));
  });

  it('C12: connect() on an accepted socket (EISCONN) sent no SYN of its own: the SYN,ACK of its passive open is no choice of port', () => {
    const child = conn(5, 'b', 80, 40000, true);
    const events: TraceEvent[] = [
      state(0, child, 'LISTEN', 'SYN-RECEIVED'),
      sent(0, seg(child, { seq: 7, ack: 1001, flags: SYN | ACK })),
      state(1, child, 'SYN-RECEIVED', 'ESTABLISHED'),
      call(2, 'b', { op: 'accept', sock: 'l', as: 's4' }, 'ok', 4, 5),
      connectOf(3, child, 4, 'EISCONN'),
    ];
    expect(judge(new EphemeralPortMonitor(CONTEXT), events)).toBeNull();
  });

  it('C12: a descriptor that socket() hands out again is a new socket, not bound to the port the closed one had', () => {
    const old = [call(0, 'a', { op: 'socket', sock: 'old' }, 'ok', 3), call(0, 'a', { op: 'bind', sock: 'old', port: 40000 }, 'ok', 3), call(1, 'a', { op: 'close', sock: 'old' }, 'ok', 3)];
    const reopened = call(2, 'a', { op: 'socket', sock: 's3' }, 'ok', 3);
    expect(judge(new EphemeralPortMonitor(CONTEXT), [...old, reopened, ...opens(3, client), connectOf(5, client)])).toBeNull();
  });

  it('C12: bind() to port 0 leaves the port to the stack, which takes it from ip_local_port_range', () => {
    const anyPort = [call(0, 'a', { op: 'socket', sock: 's3' }, 'ok', 3), call(0, 'a', { op: 'bind', sock: 's3', port: 0 }, 'ok', 3)];
    expect(judge(new EphemeralPortMonitor(CONTEXT), [...anyPort, ...opens(1, client), connectOf(5, client)])).toBeNull();
  });

  it('C11, C12: a passive connection holds its 4-tuple too (a server that closed first, in TIME-WAIT); back in LISTEN (RFC 9293 §3.10.7.4, a RST in SYN-RECEIVED) it holds nothing', () => {
    // b listened on 33000, a port of the range; its child for a:40000 and, later, b's own connect() to a:40000 from that port.
    const child = conn(5, 'b', 33000, 40000, true);
    const outgoing = conn(6, 'b', 33000, 40000);
    const listenerClosed = call(4, 'b', { op: 'close', sock: 'l' }, 'ok', 3);
    const inTimeWait = [state(0, child, 'LISTEN', 'SYN-RECEIVED'), state(1, child, 'SYN-RECEIVED', 'ESTABLISHED'), state(2, child, 'ESTABLISHED', 'FIN-WAIT-1'), state(3, child, 'FIN-WAIT-2', 'TIME-WAIT'), listenerClosed];
    expect(judge(new EphemeralPortMonitor(CONTEXT), [...inTimeWait, ...opens(5, outgoing), connectOf(6, outgoing, 7)])).toBe(holds(33000, 5));
    const reset = [state(0, child, 'LISTEN', 'SYN-RECEIVED'), state(1, child, 'SYN-RECEIVED', 'LISTEN', 'rcv RST'), listenerClosed];
    expect(judge(new EphemeralPortMonitor(CONTEXT), [...reset, ...opens(5, outgoing), connectOf(6, outgoing, 7)])).toBeNull();
  });

  it('C12: an older connection that closes leaves the 4-tuple held by the newer one that took it over', () => {
    // #7 in TIME-WAIT on a:33000->b:80; #1, bound to 33000, takes the 4-tuple over (tcp_twsk_unique) before #7's end is reported; then #2, unbound, picks 33000.
    const old = conn(7, 'a', 33000, 80);
    const second = conn(2, 'a', 33000, 80);
    const bound = [call(0, 'a', { op: 'socket', sock: 's3' }, 'ok', 3), call(0, 'a', { op: 'bind', sock: 's3', port: 33000 }, 'ok', 3)];
    const events = [state(0, old, 'FIN-WAIT-2', 'TIME-WAIT'), ...bound, ...opens(1, client), connectOf(2, client), state(2, old, 'TIME-WAIT', 'CLOSED'), ...opens(3, second), connectOf(4, second, 4)];
    expect(judge(new EphemeralPortMonitor(CONTEXT), events)).toBe(holds(33000, 1));
  });

  it('C12: a port is judged by what held its 4-tuple when the connection opened, not by one that joined it later', () => {
    // #1 opens a:33000->b:80, free; #2, bound to 33000, opens the same 4-tuple while #1's handshake runs.
    const second = conn(2, 'a', 33000, 80);
    const bound = [call(0, 'a', { op: 'socket', sock: 's4' }, 'ok', 4), call(0, 'a', { op: 'bind', sock: 's4', port: 33000 }, 'ok', 4)];
    const events = [...bound, ...opens(1, client), ...opens(2, second), state(3, client, 'SYN-SENT', 'ESTABLISHED'), connectOf(3, client)];
    expect(judge(new EphemeralPortMonitor(CONTEXT), events)).toBeNull();
  });

  it('keeps nothing for a connection once it is forgotten, even one whose connect() never returned (its host crashed)', () => {
    // Arrange: #1 opens on the 4-tuple #7 holds in TIME-WAIT; its SYN is lost; a crashes; later, an event of another host.
    const monitor = new EphemeralPortMonitor(CONTEXT);
    const old = conn(7, 'a', 33000, 80);
    const syn = seg(client, { seq: 1, flags: SYN });
    const events: TraceEvent[] = [
      state(0, old, 'FIN-WAIT-2', 'TIME-WAIT'),
      state(1, client, 'CLOSED', 'SYN-SENT'),
      sent(1, syn),
      { type: 'segment', atUs: 2, fate: 'dropped', seg: syn, reason: 'loss' },
      state(3, old, 'TIME-WAIT', 'CLOSED', 'host crash'),
      state(3, client, 'SYN-SENT', 'CLOSED', 'host crash'),
      { type: 'host', atUs: 3, host: 'a', event: 'crash' },
      call(4, 'b', { op: 'socket', sock: 'x' }, 'ok', 5),
    ];
    // Act
    const verdict = judge(monitor, events);
    // Assert
    expect(verdict).toBeNull();
    expect({ firstSynPort: monitor['firstSynPort'].size, clashWith: monitor['clashWith'].size }).toEqual({ firstSynPort: 0, clashWith: 0 });
  });

  it('on its own (no MonitorSet) it is handed every kind of event and reads only sent segments, calls and states', () => {
    const events: TraceEvent[] = [{ type: 'host', atUs: 0, host: 'b', event: 'restart' }, ...opens(0, client), { type: 'timer', atUs: 1, conn: client, timer: 'retransmit' } as TraceEvent, connectOf(5, client)];
    expect(judgeAlone(new EphemeralPortMonitor(CONTEXT), events)).toBeNull();
  });
});
