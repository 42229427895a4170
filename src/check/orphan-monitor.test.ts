/**
 * orphan-fin-wait-2 and the black-box close-shape on real runs of the reference (conformance
 * harness traces), judged with the right context and with one that expects something else: the
 * promise kept, and broken one way and the other.
 */
import { describe, expect, it } from 'vitest';
import { runConformance, SEC } from '../conformance/harness.js';
import { createMonitors, MonitorSet, type MonitorContext } from './index.js';

const SERVER = ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c'];
const BASE: MonitorContext = { mslUs: 30 * SEC, expectedTimeWaitUs: 60 * SEC, delayedAckUs: 40_000, jiffyUs: 4_000, cleanNetwork: true, staleSegmentsImpossible: true, finWait2TimeoutUs: 60 * SEC };

function judge(events: ReturnType<typeof runConformance>['events'], monitor: string, context: MonitorContext): string[] {
  const set = new MonitorSet(createMonitors(context, new Set([monitor])));
  for (const event of events) set.onEvent(event);
  set.atEnd({ atUs: events[events.length - 1]!.atUs + 1, stoppedBy: 'idle', eventCount: events.length });
  return set.violations().map((v) => v.message);
}

describe('orphan-fin-wait-2', () => {
  // The client closes at 12 ms, its FIN is ACKed at 17 ms; the server's FIN comes at 70.013 s.
  const run = runConformance({
    programs: [
      { host: 'server', steps: [...SERVER, 'recv-eof c', 'sleep 70s', 'close c'] },
      { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'close s'] },
    ],
  });

  it('passes the reference: gone at 60.017 s, the late FIN gets the bare RST', () => {
    expect(judge(run.events, 'orphan-fin-wait-2', BASE)).toEqual([]);
  });

  it('expecting a 75 s tcp_fin_timeout, the RST at 70.014 s came too early', () => {
    expect(judge(run.events, 'orphan-fin-wait-2', { ...BASE, finWait2TimeoutUs: 75 * SEC })).toEqual([
      'the orphaned FIN-WAIT-2 was gone 69997000 us after it began, before tcp_fin_timeout (75000000 us): seg #6 got a reset',
    ]);
  });

  it('expecting a 30 s tcp_fin_timeout, a FIN ACKed at 45 s means the orphan outlived it', () => {
    const late = runConformance({
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'sleep 45s', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'close s'] },
      ],
    });
    expect(judge(late.events, 'orphan-fin-wait-2', BASE)).toEqual([]);
    expect(judge(late.events, 'orphan-fin-wait-2', { ...BASE, finWait2TimeoutUs: 30 * SEC })).toEqual([
      'the orphaned FIN-WAIT-2 outlived tcp_fin_timeout (30000000 us): it answered seg #6 44997000 us after it began',
    ]);
  });
});

describe('close-shape (black-box)', () => {
  it('a FIN before any data: a close 10 ms later takes four segments, as the rule says; a 40 ms rule would want three', () => {
    const run = runConformance({
      programs: [
        { host: 'server', steps: [...SERVER, 'recv-eof c', 'sleep 10ms', 'close c'] },
        { host: 'client', steps: ['socket s', 'connect s server 8848', 'sleep 10ms', 'close s'] },
      ],
    });
    expect(judge(run.events, 'close-shape', BASE)).toEqual([]);
    // A tick as long as the delayed ACK makes the 10 ms close prompt: three segments expected.
    expect(judge(run.events, 'close-shape', { ...BASE, jiffyUs: 40_000 })).toEqual([
      'passive closer closed 10000 us after the FIN (no data before it: ACK due at the next tick, 27000 us): expected the 3-segment close, saw 4 segments',
    ]);
  });
});
