/**
 * The monitors against the reference endpoint on a fixed sample of every suite: none may
 * report a violation (no false alarms), while each has already been shown, by the mutant zoo,
 * to catch its broken endpoint. A monitor mutated to be stricter than TCP's promise fails here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { executeRun } from '../scenario/execute.js';
import { SUITES, suiteArbitrary } from '../suites.js';

describe('monitors raise no false alarm on the reference endpoint', () => {
  for (const suite of SUITES) {
    it(`${suite.claims.join('–')}: 150 fixed runs of ${suite.name}, every monitor watching, no violation`, () => {
      // Arrange
      const specs = fc.sample(suiteArbitrary(suite), { numRuns: 150, seed: 4242 });
      // Act: every monitor, no-stale-segment included only where C10 promises it.
      const violations = specs.flatMap((spec) => {
        const outcome = executeRun(spec);
        return outcome.failed ? outcome.violations.map((v) => `${v.monitor}: ${v.message}`) : [];
      });
      // Assert
      expect(violations).toEqual([]);
    });
  }
});

describe('stream monitor', () => {
  const conn = (connId: number, local: number, remote: number) =>
    ({ connId, host: 'h', localIp: local, localPort: local, remoteIp: remote, remotePort: remote, incarnation: 1, passive: connId === 2, reuseAddr: false, lingerSec: null }) as const;
  const context = { mslUs: 1, expectedTimeWaitUs: 2, delayedAckUs: 0, cleanNetwork: false, staleSegmentsImpossible: true };
  const call = (connId: number, result: string, data?: Uint8Array) =>
    ({ type: 'call', atUs: 0, host: 'h', program: 0, step: 0, call: { op: 'recv-until-eof', sock: 's' }, text: '', result, fd: 3, connId, ...(data ? { data } : {}) }) as const;

  it('C5/C6: end-of-file before all the peer\'s bytes arrived is a violation; after all of them it is not', async () => {
    // Arrange: two connected endpoints; the client's application sent 4 bytes.
    const { StreamMonitor } = await import('./close-monitors.js');
    const run = (received: number[]) => {
      const monitor = new StreamMonitor(context);
      const events = [
        { type: 'state', atUs: 0, conn: conn(1, 1, 2), from: 'CLOSED', to: 'SYN-SENT', cause: '' },
        { type: 'state', atUs: 0, conn: conn(2, 2, 1), from: 'LISTEN', to: 'SYN-RECEIVED', cause: '' },
        call(1, 'sent 4', new Uint8Array([1, 2, 3, 4])),
        call(2, `recv ${received.length}`, new Uint8Array(received)),
        call(2, 'eof'),
      ];
      events.forEach((event, index) => monitor.onEvent(event as never, index));
      return monitor.violation?.message ?? null;
    };
    // Act + Assert
    expect(run([1, 2, 3, 4])).toBeNull();
    expect(run([1, 2])).toBe("end-of-file after 2 bytes, but the peer's application sent 4");
    expect(run([1, 2, 9, 4])).toBe('byte 2 is 9, the peer sent 3');
  });
});
