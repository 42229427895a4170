/** A failure as told to the user: the violation in one line, and the trace up to its event. */
import { describe, expect, it } from 'vitest';
import { ACK, SYN } from '../tcp/segment.js';
import { formatTrace, type TraceEvent } from '../world/trace.js';
import { formatViolation, traceAround } from './report.js';
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
});
