/**
 * The TIME-WAIT record (time-wait.ts) must be invisible: a run where hosts swap closed TIME-WAIT
 * connections for records gives the same trace, byte for byte, as one where they keep full
 * TCBs. Generated runs with loss, duplicates, old duplicates, retransmitted FINs, RSTs (RFC 1337
 * on and off), reused 4-tuples and aborts exercise every effect of `timeWaitEffect`. When
 * this fails after a change to Tcb.timeWaitInput, make the same change in TimeWaitConnection.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runSpecArb, type RunShape } from '../scenario/arbitraries.js';
import { buildRun } from '../scenario/build.js';
import { runPrograms } from '../world/run-script.js';
import { formatEvent, TraceRecorder } from '../world/trace.js';
import type { RunSpec } from '../scenario/spec.js';
import { Host } from './host.js';
import { stackConfig } from './config.js';
import { ACK, FIN, NO_OPTIONS, RST, SYN, tcpdumpFlags, type Segment } from './segment.js';
import { TimerKind, type SegmentFields } from './tcb.js';
import { quietTcbEnv } from './test-support.js';
import { TimeWaitConnection, timeWaitEffect, type TimeWaitHandover } from './time-wait.js';

const SHAPES: readonly RunShape[] = [
  { closeOrders: ['client-first', 'server-first', 'simultaneous', 'half-close'], faults: true, oldDuplicates: true, maxConnections: 3, maxIncarnations: 3, rfc1337: true },
  { closeOrders: ['client-first', 'server-first', 'simultaneous', 'half-close'], faults: true, oldDuplicates: true, maxConnections: 3, maxIncarnations: 3, rfc1337: false },
  { closeOrders: ['abort-client', 'abort-server', 'unread-close', 'server-first', 'crash-server', 'abort-reconnect'], faults: true, maxConnections: 3, maxIncarnations: 2 },
];

/** The whole trace of a run, and how many TIME-WAIT records its hosts made. */
function trace(spec: RunSpec, compact: boolean): { text: string; records: number } {
  const { world, programs } = buildRun(spec);
  for (const host of world.hosts) if (host instanceof Host) host.compactTimeWaitConnections = compact;
  const recorder = new TraceRecorder();
  world.addListener(recorder);
  const { end } = runPrograms(world, programs, { maxEvents: 400_000, maxTimeUs: 24 * 3600 * 1_000_000 });
  const records = world.hosts.reduce((sum, host) => sum + host.allTcbs.filter((tcb) => tcb instanceof TimeWaitConnection).length, 0);
  return { text: `${recorder.events.map(formatEvent).join('\n')}\nend ${end.stoppedBy} ${end.events} ${end.endUs}`, records };
}

describe('TIME-WAIT records', () => {
  it.each(SHAPES.map((shape, index) => [index, shape] as const))('C8–C10: swapping closed TIME-WAIT TCBs for records changes no trace (shape %i)', (_index, shape) => {
    let records = 0;
    fc.assert(
      fc.property(runSpecArb(shape), (spec) => {
        // Arrange + Act
        const full = trace(spec, false);
        const compact = trace(spec, true);
        records += compact.records;
        // Assert
        expect(full.records).toBe(0);
        expect(compact.text).toBe(full.text);
      }),
      { numRuns: 60, seed: 1125 + shape.closeOrders.length },
    );
    // The swap did happen, or the comparison proved nothing.
    expect(records).toBeGreaterThan(0);
  });
});

/** A segment from the peer to a connection in TIME-WAIT (addresses as the records below use). */
const twSegment = (seq: number, flags: number, tsVal: number, len = 0): Segment => ({
  id: 0, srcIp: 2, srcPort: 1000, dstIp: 1, dstPort: 80, seq, ack: 9000, flags, window: 512, ...NO_OPTIONS, tsVal, tsEcr: 0,
  payload: new Uint8Array(len), sentAtUs: 0, incarnation: 1, connId: 2, retransmission: false, copyOf: -1,
});
const RCV_NXT = 5000;
const DAY_US = 24 * 3600 * 1_000_000;

describe('timeWaitEffect: PAWS bounds (Linux tcp_timewait_state_process, tcp_paws_reject)', () => {
  /** What a bare ACK at RCV.NXT with an old TSval (999 < TS.Recent 1000) does. */
  const oldAck = (stampUs: number, nowUs: number) => timeWaitEffect(twSegment(RCV_NXT, ACK, 999), RCV_NXT, false, 1000, stampUs, nowUs);

  it('C10: TS.Recent stamped at time 0 is a stamp like any other; a TSval of 0 is a TSval like any other', () => {
    expect(oldAck(0, 1_000_000).restartCause).toBe('rcv old timestamp (PAWS)');
    const zero = timeWaitEffect(twSegment(RCV_NXT, ACK, 0), RCV_NXT, false, 5, 1_000, 2_000);
    expect([zero.accept, zero.answer, zero.restartCause]).toEqual([false, true, 'rcv old timestamp (PAWS)']);
  });

  it('PAWS gives up after 24 days idle (TCP_PAWS_24DAYS), measured from the stamp: at exactly 24 days the old TSval is taken', () => {
    expect(oldAck(1_000, 1_000 + DAY_US * 24).restartCause).toBe('rcv ACK');
    expect(oldAck(1_000, 1_000 + DAY_US * 24 - 1).restartCause).toBe('rcv old timestamp (PAWS)');
    // 13 days stamped, 14 days now: one day idle, still rejected.
    expect(oldAck(13 * DAY_US, 14 * DAY_US).restartCause).toBe('rcv old timestamp (PAWS)');
  });

  it('a RST with an old TSval passes once TS.Recent is 60 s old (TCP_PAWS_MSL), counted from the stamp, not from time 0', () => {
    const rst = (stampUs: number, nowUs: number) => timeWaitEffect(twSegment(RCV_NXT, RST, 999), RCV_NXT, false, 1000, stampUs, nowUs).closeCause;
    expect(rst(5_000_000, 65_000_000)).toBe('rcv RST in TIME-WAIT');
    expect(rst(5_000_000, 64_999_999)).toBe(null);
    expect(rst(40_000_000, 50_000_000)).toBe(null);
  });

  it('C10: data at RCV.NXT is not a bare ACK: answered, not accepted', () => {
    const data = timeWaitEffect(twSegment(RCV_NXT, ACK, 1001, 10), RCV_NXT, false, 1000, 1_000, 2_000);
    expect([data.accept, data.answer, data.restartCause]).toEqual([false, true, 'rcv segment']);
  });

  it('C10: a SYN below RCV.NXT opens a new incarnation only with a TSval strictly newer than TS.Recent', () => {
    const same = timeWaitEffect(twSegment(100, SYN, 1000), RCV_NXT, false, 1000, 1_000, 2_000);
    expect([same.newSyn, same.answer]).toEqual([false, true]);
  });
});

describe('TimeWaitConnection, the TIME-WAIT record', () => {
  const NOW = 100_000_000;
  /** A record with RCV.NXT 5000, SND.NXT 9000; timestamps when `stampUs` >= 0. */
  function record(stampUs: number, tsRecent = 1000, lastAckUs = -Infinity) {
    const sent: string[] = [];
    const timers: string[] = [];
    const states: string[] = [];
    const env = quietTcbEnv({
      transmit: (_tcb, f: SegmentFields) => sent.push(`[${tcpdumpFlags(f.flags)}] ${f.seq}:${f.ack}${f.tsVal >= 0 ? ` ts ${f.tsVal} ecr ${f.tsEcr}` : ''}`),
      setTimer: (_tcb, kind, atUs) => timers.push(`set ${kind} ${atUs}`),
      stateChanged: (_tcb, from, to, cause) => states.push(`${from}>${to} ${cause}`),
    });
    const tw = new TimeWaitConnection({
      id: { connId: 7, localIp: 1, localPort: 80, remoteIp: 2, remotePort: 1000 },
      config: stackConfig(), env, options: { reuseAddr: false, lingerSec: null }, passive: false, incarnation: 1, retransmissions: 0,
      sndNxt: 9000, rcvNxt: RCV_NXT, window: 512, tsOk: stampUs >= 0, tsRecent, tsRecentStampUs: stampUs, tsOffset: 0,
      lastOutOfWindowAckUs: lastAckUs, timeWaitEnteredUs: 0,
    });
    return { tw, sent, timers, states };
  }
  const FIN_AGAIN = () => twSegment(RCV_NXT - 1, FIN | ACK, -1, 0);

  it('C10: a SYN above RCV.NXT is handed to the host as a new incarnation', () => {
    const { tw, sent } = record(-1);
    expect(tw.timeWaitInput(NOW, twSegment(RCV_NXT + 10, SYN, -1))).toBe('new-syn');
    expect(tw.timeWaitInput(NOW, twSegment(RCV_NXT - 10, SYN, -1))).toBe('handled');
    expect(sent).toEqual(['[.] 9000:5000']);
  });

  it('without timestamps a TSval on a bare ACK is not kept: its answers carry none', () => {
    const { tw, sent } = record(-1);
    tw.timeWaitInput(NOW, twSegment(RCV_NXT, ACK, 500));
    tw.timeWaitInput(NOW + 1, FIN_AGAIN());
    expect(sent).toEqual(['[.] 9000:5000']);
    expect(tw.timeWaitReuse()).toBe(null);
  });

  it('RFC 7323: a stamp of 0 is timestamps in use: TS.Recent is taken from a bare ACK and echoed, and tcp_tw_reuse sees it', () => {
    const { tw, sent } = record(0);
    expect(tw.timeWaitReuse()).toEqual({ sndNxt: 9000, tsRecent: 1000, tsRecentStampUs: 0, enteredUs: 0 });
    tw.timeWaitInput(NOW, FIN_AGAIN());
    tw.timeWaitInput(NOW + 1, twSegment(RCV_NXT, ACK, 1005));
    tw.timeWaitInput(NOW + 2, FIN_AGAIN());
    const ms = Math.floor(NOW / 1000);
    expect(sent).toEqual([`[.] 9000:5000 ts ${ms} ecr 1000`, `[.] 9000:5000 ts ${ms} ecr 1005`]);
  });

  it('C4: TS.Recent wraps: a TSval of 0 after 2^32 - 16 is newer, is taken, and stamps the time', () => {
    const { tw } = record(1_000, 0xfffffff0);
    tw.timeWaitInput(NOW, twSegment(RCV_NXT, ACK, 0));
    expect(tw.timeWaitReuse()).toEqual({ sndNxt: 9000, tsRecent: 0, tsRecentStampUs: NOW, enteredUs: 0 });
  });

  it('the out-of-window ACK rate limit (tcp_invalid_ratelimit, 500 ms): suppressed inside it, sent again at exactly 500 ms', () => {
    const { tw, sent } = record(-1, 0, NOW);
    tw.timeWaitInput(NOW + 499_999, twSegment(RCV_NXT - 10, SYN, -1));
    tw.timeWaitInput(NOW + 500_000, twSegment(RCV_NXT - 10, SYN, -1));
    expect(sent).toEqual(['[.] 9000:5000']);
  });

  it('C8: only the 2·MSL timer ends it; then it is CLOSED and offers no take-over', () => {
    const { tw, states } = record(0);
    tw.onTimer(NOW, TimerKind.Retransmit);
    expect(tw.state).toBe('TIME-WAIT');
    tw.onTimer(NOW, TimerKind.TimeWait);
    expect(states).toEqual(['TIME-WAIT>CLOSED 2MSL timeout']);
    expect(tw.timeWaitReuse()).toBe(null);
  });

  it('answers the socket calls as a closed socket would, and refuses to be driven like a TCB', () => {
    const { tw } = record(-1);
    expect(tw.send()).toBe('EPIPE');
    expect(tw.recv()).toBe('eof');
    expect(() => tw.connect()).toThrow('TIME-WAIT record 7 cannot connect');
    expect(() => tw.acceptSyn()).toThrow('TIME-WAIT record 7 cannot accept a SYN');
    expect(() => tw.input()).toThrow('TIME-WAIT input goes through timeWaitInput');
    tw.abort(NOW, 'crash');
    expect(tw.state).toBe('CLOSED');
    expect(() => tw.input()).not.toThrow();
  });
});

describe('a TIME-WAIT record made over (Host.spareRecords)', () => {
  it('is, field by field, the record its handover would make new', () => {
    // Two handovers that differ in every field, so a field takeOver forgot keeps the first's value.
    const env = { which: 'first' } as unknown as TimeWaitHandover['env'];
    const config = { which: 'first' } as unknown as TimeWaitHandover['config'];
    const first: TimeWaitHandover = {
      id: { connId: 1, localIp: 1, localPort: 1001, remoteIp: 2, remotePort: 80 },
      config,
      env,
      options: { reuseAddr: false, lingerSec: null },
      passive: false,
      incarnation: 1,
      retransmissions: 0,
      sndNxt: 100,
      rcvNxt: 200,
      window: 1000,
      tsOk: true,
      tsRecent: 300,
      tsRecentStampUs: 4_000,
      tsOffset: 5,
      lastOutOfWindowAckUs: 6_000,
      timeWaitEnteredUs: 7_000,
    };
    const second: TimeWaitHandover = {
      id: { connId: 9, localIp: 3, localPort: 2002, remoteIp: 4, remotePort: 443 },
      config: { which: 'second' } as unknown as TimeWaitHandover['config'],
      env: { which: 'second' } as unknown as TimeWaitHandover['env'],
      options: { reuseAddr: true, lingerSec: 5 },
      passive: true,
      incarnation: 2,
      retransmissions: 3,
      sndNxt: 0xffff_fff0,
      rcvNxt: 0x8000_0001,
      window: 2000,
      tsOk: false,
      tsRecent: 0xffff_0000,
      tsRecentStampUs: 8_000,
      tsOffset: 0x9000_0000,
      lastOutOfWindowAckUs: -Infinity,
      timeWaitEnteredUs: 9_000,
    };
    const record = new TimeWaitConnection(first);
    // As a record whose TIME-WAIT ended is when the host keeps it.
    record.state = 'CLOSED';
    record.error = 'ECONNRESET';
    record.hostEntry = {};
    record.orphaned = false;
    // Act
    record.takeOver(second);
    // Assert
    expect(record).toEqual(new TimeWaitConnection(second));
    expect(Object.keys(record)).toEqual(Object.keys(new TimeWaitConnection(second)));
  });
});
