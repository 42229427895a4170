/**
 * The monitor set: which events each monitor is handed (its interests), violations in the order
 * they happened, and which monitors a run gets (no-stale-segment only where C10 promises it).
 */
import { describe, expect, it } from 'vitest';
import { ACK } from '../tcp/segment.js';
import type { TraceEvent } from '../world/trace.js';
import { createMonitors, MonitorSet } from './index.js';
import { BaseMonitor, type EndOfRun, type MonitorInterest } from './monitor.js';
import { call, conn, CONTEXT, delivered, seg, sent, state } from './trace-test-support.js';

/** Records the kinds of event it is handed; reports at the event `reportAt` (or at the end, if -1). */
class Recorder extends BaseMonitor {
  readonly name: string;
  readonly claims = ['C1'];
  readonly description = '';
  readonly blackBox = true;
  readonly seen: string[] = [];
  ended = false;
  constructor(name: string, readonly interests: readonly MonitorInterest[] | undefined, private readonly reportAt = -2) {
    super(CONTEXT);
    this.name = name;
  }
  onEvent(event: TraceEvent, index: number): void {
    this.seen.push(event.type === 'segment' ? `segment-${event.fate}` : event.type);
    if (index === this.reportAt) this.report(event.atUs, index, null, `at ${index}`);
  }
  override atEnd(end: EndOfRun): void {
    this.ended = true;
    if (this.reportAt === -1) this.report(end.atUs, -1, null, 'at the end');
  }
}

const c = conn(1, 'a', 40000, 80);
const events: TraceEvent[] = [
  state(0, c, 'SYN-SENT', 'ESTABLISHED'),
  sent(1, seg(c, { seq: 1, flags: ACK })),
  delivered(2, seg(c, { seq: 1, flags: ACK })),
  { type: 'listen', atUs: 3, host: 'b', port: 80, from: 'CLOSED', to: 'LISTEN' },
  { type: 'time-wait-restart', atUs: 4, conn: c, cause: 'rcv FIN' },
  { type: 'accepted', atUs: 5, conn: c, seg: seg(c, { seq: 1, flags: ACK }) },
  { type: 'timer', atUs: 6, conn: c, timer: 'retransmit' },
  call(7, 'a', { op: 'socket', sock: 's' }, 'ok', 3),
  { type: 'host', atUs: 8, host: 'a', event: 'crash' },
];

describe('MonitorSet', () => {
  it('hands each monitor the kinds its interests name: segment means every fate, segment-sent only sent ones, none means all', () => {
    const all = new Recorder('all', undefined);
    const segments = new Recorder('segments', ['segment']);
    const sentOnly = new Recorder('sent', ['segment-sent']);
    const each = ['state', 'listen', 'time-wait-restart', 'accepted', 'timer', 'call', 'host'].map((kind) => new Recorder(kind, [kind as MonitorInterest]));
    const set = new MonitorSet([all, segments, sentOnly, ...each]);
    for (const event of events) set.onEvent(event);
    set.atEnd({ atUs: 9, stoppedBy: 'idle', eventCount: events.length });
    expect(all.seen).toEqual(['state', 'segment-sent', 'segment-delivered', 'listen', 'time-wait-restart', 'accepted', 'timer', 'call', 'host']);
    expect(segments.seen).toEqual(['segment-sent', 'segment-delivered']);
    expect(sentOnly.seen).toEqual(['segment-sent']);
    expect(each.map((m) => m.seen)).toEqual([['state'], ['listen'], ['time-wait-restart'], ['accepted'], ['timer'], ['call'], ['host']]);
    expect([all, segments, sentOnly, ...each].every((m) => m.ended)).toBe(true);
  });

  it('gives violations in the order of their events, those found at the end last', () => {
    const atEnd = new Recorder('end', undefined, -1);
    const late = new Recorder('late', undefined, 5);
    const early = new Recorder('early', undefined, 2);
    const quiet = new Recorder('quiet', undefined);
    const set = new MonitorSet([atEnd, late, quiet, early]);
    for (const event of events) set.onEvent(event);
    set.atEnd({ atUs: 9, stoppedBy: 'idle', eventCount: events.length });
    expect(set.violations().map((v) => [v.monitor, v.eventIndex])).toEqual([['early', 2], ['late', 5], ['end', -1]]);
  });

  it('orders any mix: an event at index 0 first, every end-of-run violation after every event', () => {
    const monitors = [new Recorder('end 1', undefined, -1), new Recorder('at 3', undefined, 3), new Recorder('end 2', undefined, -1), new Recorder('at 0', undefined, 0), new Recorder('at 1', undefined, 1)];
    const set = new MonitorSet(monitors);
    for (const event of events) set.onEvent(event);
    set.atEnd({ atUs: 9, stoppedBy: 'idle', eventCount: events.length });
    expect(set.violations().map((v) => v.eventIndex)).toEqual([0, 1, 3, -1, -1]);
  });
});

describe('createMonitors', () => {
  it('no-stale-segment joins only where stale segments are impossible (C10), unless named', () => {
    const names = (staleSegmentsImpossible: boolean, only?: ReadonlySet<string>) => createMonitors({ ...CONTEXT, staleSegmentsImpossible }, only).map((m) => m.name);
    expect(names(true)).toContain('no-stale-segment');
    expect(names(false)).not.toContain('no-stale-segment');
    expect(names(true).length).toBe(names(false).length + 1);
    expect(names(false, new Set(['no-stale-segment', 'syn-ack']))).toEqual(['syn-ack', 'no-stale-segment']);
  });
});
