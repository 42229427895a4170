/**
 * The simulator side of `timewait kernel`, which runs without root: what it takes as each call's
 * result, and how a conformance spec becomes a file it can run.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../scenario/scenario-file.js';
import { scenarioFileOfSpec } from '../conformance/scenario-export.js';
import { firstControlDifference, planFor, simCallResults, simulatorSide } from './kernel-run.js';

const SERVER = ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv c 5000', 'recv-eof c', 'close c'];
const CLIENT = ['socket s', 'connect s server 8848', 'send s 5000', 'close s'];

describe('simCallResults', () => {
  it('C5: a recv that waits for 5,000 bytes across a lost segment returned 5,000, not its last chunk', () => {
    // Arrange: the client's fourth segment (its second data segment) is lost, so the server's
    // recv gets 1,448 bytes, waits for the retransmission, then the other 3,552.
    const exported = scenarioFileOfSpec(
      { programs: [{ host: 'server', steps: SERVER }, { host: 'client', steps: CLIENT }] },
      [{ from: 'client', to: 'server', index: 3 }],
      'a lost middle segment',
    );
    if (!('file' in exported)) throw new Error(exported.cannotExpress.join('; '));
    // Act
    const sim = simulatorSide(parseScenario(exported.file));
    const results = simCallResults(sim);
    // Assert: the trace has the two chunks; the call's result is their sum.
    const chunks = sim.events.flatMap((e) => (e.type === 'call' && e.host === 'server' && e.step === 4 ? [e.result] : []));
    expect(chunks).toEqual(['recv 1448', 'recv 3552']);
    expect(results.get('server/4')).toBe('recv 5000');
    expect(results.get('client/2')).toBe('sent 5000');
    expect(results.get('server/5')).toBe('eof');
  });
});

describe('conformance specs as scenario files (scenarioFileOfSpec)', () => {
  it('keeps programs, stack settings, per-host settings and per-direction drops; programs start 1 µs apart in the order listed', () => {
    // Act
    const exported = scenarioFileOfSpec(
      {
        seed: 7,
        stack: { rfc1337: true, isn: { kind: 'fixed', value: 4_294_967_000 } },
        hostStacks: { server: { receiveBufferBytes: 2920 } },
        programs: [{ host: 'server', steps: SERVER }, { host: 'client', steps: ['socket s', 'connect s server 8848 => ECONNREFUSED'] }],
      },
      [{ from: 'server', to: 'client', index: 2 }, { from: 'server', to: 'client', index: 0 }],
      'd',
    );
    // Assert
    if (!('file' in exported)) throw new Error(exported.cannotExpress.join('; '));
    const file = parseScenario(exported.file);
    expect(file.seed).toBe(7);
    expect(file.stack).toEqual({ rfc1337: true, isn: { fixed: 4_294_967_000 } });
    expect(file.links).toEqual([{ from: 'server', to: 'client', oneWay: true, dropSegmentIndexes: [0, 2] }]);
    expect(file.hosts.map((h) => [h.name, h.startUs, h.stack])).toEqual([['client', 1, undefined], ['server', undefined, { receiveBufferBytes: 2920 }]]);
    expect(file.hosts[0]!.script).toEqual([{ op: 'socket', sock: 's' }, { op: 'connect', sock: 's', host: 'server', port: 8848, expect: 'ECONNREFUSED' }]);
    expect(planFor(file).nft).toContain('ip saddr 10.0.0.2 ip daddr 10.0.0.1 meta l4proto tcp numgen inc mod 1000000000 { 0, 2 } counter drop');
  });

  it('refuses two programs on one host, saying why', () => {
    // Act
    const exported = scenarioFileOfSpec({ programs: [{ host: 'client', steps: ['socket a'] }, { host: 'client', steps: ['socket b'] }] }, [], 'd');
    // Assert
    expect(exported).toEqual({ cannotExpress: ['programs: two programs on host client (a scenario file has one script per host)'] });
  });
});

describe('firstControlDifference: one simulator instant is a multiset', () => {
  const at = (atUs: number, text: string) => ({ atUs, text });
  // The simulator resends the client's SYN and the server's SYN,ACK at the same microsecond;
  // Linux's timer wheel ran the server's timer first.
  const sim = [at(1, 'c1 client>server [S] seq 0'), at(1, 'c1 server>client [S.] seq 0 ack 1'), at(1_000_001, 'c1 client>server [S] seq 0'), at(1_000_001, 'c1 server>client [S.] seq 0 ack 1'), at(1_000_001, 'c1 client>server [.] seq 1 ack 1')];

  it('accepts the segments of one instant in another order', () => {
    // Arrange
    const kernel = [sim[0]!, sim[1]!, at(1_030_000, sim[3]!.text), at(1_030_050, sim[2]!.text), at(1_030_060, sim[4]!.text)];
    // Act / Assert
    expect(firstControlDifference(kernel, sim)).toBeNull();
  });

  it('does not reorder across instants, and names the first place an instant differs', () => {
    // Arrange: the handshake's ACK swapped with the first SYN,ACK (different instants), and an
    // instant with a FIN where the simulator has a SYN.
    const acrossInstants = [sim[0]!, sim[4]!, sim[2]!, sim[3]!, sim[1]!];
    const wrongSegment = [sim[0]!, sim[1]!, sim[3]!, at(0, 'c1 client>server [F.] seq 1 ack 1'), sim[4]!];
    // Act / Assert
    expect(firstControlDifference(acrossInstants, sim)).toEqual({ index: 1, kernel: 'c1 client>server [.] seq 1 ack 1', sim: 'c1 server>client [S.] seq 0 ack 1' });
    expect(firstControlDifference(wrongSegment, sim)).toEqual({ index: 2, kernel: 'c1 client>server [F.] seq 1 ack 1', sim: 'c1 client>server [S] seq 0' });
  });

  it('names a missing or an extra segment at the end', () => {
    expect(firstControlDifference(sim.slice(0, 4), sim)).toEqual({ index: 4, kernel: undefined, sim: 'c1 client>server [.] seq 1 ack 1' });
    expect(firstControlDifference([...sim, at(2_000_000, 'c1 client>server [F.] seq 1 ack 1')], sim)).toEqual({ index: 5, kernel: 'c1 client>server [F.] seq 1 ack 1', sim: undefined });
  });
});
