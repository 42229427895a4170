/**
 * EdgeCoverage: each RFC 9293 edge taken, each timer fired and each state a crash found, counted
 * so the coverage report (and issue 14's "a timer kind that never fires fails") can say what
 * runs never reach.
 */
import { describe, expect, it } from 'vitest';
import { DIAGRAM_EDGES, EXTRA_EDGES } from '../tcp/state.js';
import { TIMER_NAMES, type TraceEvent } from '../world/trace.js';
import { EdgeCoverage, timerKey } from './coverage.js';
import { conn, state } from './trace-test-support.js';

const c = conn(1, 'a', 40000, 80);
const timer = (name: (typeof TIMER_NAMES)[number]): TraceEvent => ({ type: 'timer', atUs: 1, conn: c, timer: name });

describe('EdgeCoverage', () => {
  it('starts with every edge of Figure 5 and of the text, and every timer kind, at zero', () => {
    const coverage = new EdgeCoverage();
    expect(coverage.counts.size).toBe(new Set([...DIAGRAM_EDGES, ...EXTRA_EDGES]).size + TIMER_NAMES.length);
    expect([...coverage.counts.values()].every((count) => count === 0)).toBe(true);
    expect(coverage.missingDiagramEdges()).toEqual(DIAGRAM_EDGES);
    expect(coverage.missingTimers()).toEqual(TIMER_NAMES);
    expect(coverage.coveredCount()).toBe(0);
    expect(timerKey('fin-wait-2')).toBe('timer:fin-wait-2');
  });

  it('counts state changes and listener changes as edges, timers by kind, and a crash by the state it found', () => {
    const coverage = new EdgeCoverage();
    coverage.onEvent(state(0, c, 'SYN-SENT', 'ESTABLISHED'));
    coverage.onEvent(state(1, c, 'SYN-SENT', 'ESTABLISHED'));
    coverage.onEvent(state(2, c, 'ESTABLISHED', 'CLOSED', 'host crash'));
    coverage.onEvent({ type: 'listen', atUs: 3, host: 'b', port: 80, from: 'CLOSED', to: 'LISTEN' });
    coverage.onEvent(timer('fin-wait-2'));
    coverage.onEvent(timer('loss-probe'));
    coverage.onEvent(timer('loss-probe'));
    coverage.onEvent({ type: 'host', atUs: 4, host: 'a', event: 'crash' });
    expect([coverage.counts.get('SYN-SENT=>ESTABLISHED'), coverage.counts.get('ESTABLISHED=>CLOSED'), coverage.counts.get('CLOSED=>LISTEN')]).toEqual([2, 1, 1]);
    expect([coverage.timersFired('fin-wait-2'), coverage.timersFired('loss-probe'), coverage.timersFired('retransmit')]).toEqual([1, 2, 0]);
    expect([coverage.crashesIn('ESTABLISHED'), coverage.crashesIn('SYN-SENT')]).toEqual([1, 0]);
    // Edges only: two of Figure 5 and one of the text, not the timers nor the crash.
    expect(coverage.coveredCount()).toBe(3);
    expect(coverage.missingDiagramEdges()).toEqual(DIAGRAM_EDGES.filter((edge) => edge !== 'SYN-SENT=>ESTABLISHED' && edge !== 'CLOSED=>LISTEN'));
    expect(coverage.missingTimers()).toEqual(TIMER_NAMES.filter((name) => name !== 'fin-wait-2' && name !== 'loss-probe'));
  });

  it('merges another run\'s counts by adding them, keys it alone has included', () => {
    const one = new EdgeCoverage();
    one.add('TIME-WAIT=>CLOSED', 2);
    one.add('timer:time-wait', 2);
    const other = new EdgeCoverage();
    other.add('TIME-WAIT=>CLOSED', 3);
    other.add('crash:LISTEN', 1);
    one.merge(other);
    expect([one.counts.get('TIME-WAIT=>CLOSED'), one.timersFired('time-wait'), one.crashesIn('LISTEN')]).toEqual([5, 2, 1]);
    expect(one.coveredCount()).toBe(1);
  });
});
