/** A failure as told to the user: the violation in one line, and the trace up to its event. */
import { describe, expect, it } from 'vitest';
import { ACK, SYN } from '../tcp/segment.js';
import { formatTrace, type TraceEvent } from '../world/trace.js';
import { CLEAN_PLAN, describeRunSpec, type RunSpec } from '../scenario/spec.js';
import { formatFailure, formatViolation, traceAround } from './report.js';
import { conn, seg, sent, state } from './trace-test-support.js';

const c = conn(1, 'a', 40000, 80);
const events: TraceEvent[] = [
  sent(0, seg(c, { seq: 1, flags: SYN })),
  state(1, c, 'SYN-SENT', 'ESTABLISHED'),
  sent(1, seg(c, { seq: 2, ack: 9, flags: ACK })),
  sent(2, seg(c, { seq: 2, ack: 9, flags: ACK, bytes: 3 })),
];

describe('report', () => {
  it('a violation names its monitor, claims, time, event and connection; without a connection it names none', () => {
    const base = { monitor: 'syn-ack', claims: ['C2', 'C3'], atUs: 5, eventIndex: 7, message: 'ACK of SYN is 1' };
    expect(formatViolation({ ...base, connId: 4, incarnation: 2 })).toBe('syn-ack (C2, C3) violated at 5 us (event 7, connection #4 incarnation 2): ACK of SYN is 1');
    expect(formatViolation({ ...base, connId: 0, incarnation: 1 })).toBe('syn-ack (C2, C3) violated at 5 us (event 7, connection #0 incarnation 1): ACK of SYN is 1');
    expect(formatViolation({ ...base, eventIndex: -1, connId: -1, incarnation: -1 })).toBe('syn-ack (C2, C3) violated at 5 us (event -1): ACK of SYN is 1');
  });

  it('the trace around a violation: the lines before its event and the event marked; at the end, the last lines unmarked', () => {
    const rendered = formatTrace(events);
    expect(traceAround(events, 2, 1).split('\n')).toEqual([`   ${rendered[1]}`, `>> ${rendered[2]}`]);
    expect(traceAround(events, 0, 2).split('\n')).toEqual([`>> ${rendered[0]}`]);
    expect(traceAround(events, -1, 1).split('\n')).toEqual([`   ${rendered[2]}`, `   ${rendered[3]}`]);
    // An index past the trace shows its end.
    expect(traceAround(events, 99, 0).split('\n')).toEqual([`   ${rendered[3]}`]);
    expect(traceAround(events, 3).split('\n').length).toBe(4);
  });

  it('a failure: the first violation, every other one as "Also broken", the scenario, and the trace up to the first', () => {
    const spec: RunSpec = {
      seed: 7, mslUs: 500_000, delayedAckUs: 40_000, isn: 'rfc6528', clients: 1, servers: 1,
      connections: [{ client: 0, server: 0, startUs: 0, requestBytes: 1, responseBytes: 1, closeOrder: 'client-first', passiveCloseDelayUs: 0, incarnations: 1, gapUs: 0, clientReuseAddr: false, serverReuseAddr: false }],
      faults: CLEAN_PLAN, faultsEndUs: 0, enforceMsl: true, rfc1337: false,
    };
    const first = { monitor: 'syn-ack', claims: ['C2'], atUs: 1, eventIndex: 1, message: 'one', connId: 1, incarnation: 1 };
    const second = { ...first, monitor: 'fin-ack', claims: ['C3'], message: 'two' };
    const third = { ...first, monitor: 'rst', claims: ['C14'], message: 'three' };
    const scenario = describeRunSpec(spec).split('\n');
    expect(formatFailure(spec, [first, second, third], events).split('\n')).toEqual([
      `Invariant broken: ${formatViolation(first)}`,
      `Also broken: ${formatViolation(second)}`,
      `Also broken: ${formatViolation(third)}`,
      '',
      'Scenario:',
      ...scenario,
      '',
      'Trace up to the violation:',
      ...traceAround(events, 1).split('\n'),
    ]);
    // Without events, no trace section; with one violation, no "Also broken".
    expect(formatFailure(spec, [first]).split('\n')).toEqual([`Invariant broken: ${formatViolation(first)}`, '', 'Scenario:', ...scenario]);
  });
});
