/**
 * connect() and a 4-tuple in TIME-WAIT (Linux tcp_twsk_unique, __inet_check_established), and
 * the TIME-WAIT bucket limit (tcp_max_tw_buckets, tcp_time_wait).
 *
 * The client's ephemeral range is one port, so its second connect() to the same server must take
 * the 4-tuple its first connection holds in TIME-WAIT, or fail with EADDRNOTAVAIL.
 */
import { describe, expect, it } from 'vitest';
import { StatsCollector } from '../scenario/stats.js';
import type { StackConfig } from '../tcp/config.js';
import { MS, runConformance } from './harness.js';

const ONE_PORT = { ephemeralPortMin: 40000, ephemeralPortMax: 40000 };

/** The client closes first (so it holds TIME-WAIT on 40000), then connects again `gap` later. */
function reconnectAfter(gap: string, stack: Partial<StackConfig>, serverHost = 'server') {
  return {
    stack: { ...ONE_PORT, ...stack },
    programs: [
      { host: serverHost, steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv-eof c', 'close c', 'accept srv d', 'recv-eof d', 'close d'] },
      { host: 'client', startUs: 1 * MS, steps: ['socket a', `connect a ${serverHost} 8848`, 'close a', `sleep ${gap}`, 'socket b', `connect b ${serverHost} 8848`, 'close b'] },
    ],
  };
}

/** What the second connect() returned. */
const secondConnect = (run: ReturnType<typeof runConformance>): string => run.calls(1).find((c) => c.startsWith('connect(b'))!;

describe('tcp_tw_reuse (Linux tcp_twsk_unique)', () => {
  it('tcp_tw_reuse = 0: the TIME-WAIT 4-tuple is never taken, at 0, 0.5 or 1.5 s', () => {
    for (const gap of ['0ms', '500ms', '1500ms']) {
      // Act
      const run = runConformance(reconnectAfter(gap, { twReuse: 0 }));
      // Assert
      expect(secondConnect(run)).toBe('connect(b, server:8848) = EADDRNOTAVAIL');
    }
  });

  it('tcp_tw_reuse = 1: taken only once the TIME-WAIT is older than tcp_tw_reuse_delay (1 s): not at 0 or 0.5 s, at 1.5 s', () => {
    // Act
    const results = ['0ms', '500ms', '1500ms'].map((gap) => secondConnect(runConformance(reconnectAfter(gap, { twReuse: 1 }))));
    // Assert
    expect(results).toEqual(['connect(b, server:8848) = EADDRNOTAVAIL', 'connect(b, server:8848) = EADDRNOTAVAIL', 'connect(b, server:8848) = ok']);
  });

  it('tcp_tw_reuse = 1 at 1.5 s: the new ISN is the old SND.NXT + 65537 and its SYN echoes the old TS.Recent', () => {
    // Act
    const run = runConformance(reconnectAfter('1500ms', { twReuse: 1 }));
    // Assert: the client's first connection ends TIME-WAIT as the second one's SYN goes out.
    const oldLastAck = run.sent[5]!.seg;
    const newSyn = run.sent[6]!.seg;
    expect(run.wire({ time: true, ports: true }).slice(5, 8)).toEqual([
      '0.005000 client.40000 > server.8848 [.] seq 2 ack 2',
      '1.503000 client.40000 > server.8848 [S] seq 0 mss 1460',
      '1.504000 server.8848 > client.40000 [S.] seq 0 ack 1 mss 1460',
    ]);
    expect(newSyn.seq).toBe((oldLastAck.seq + 65537) >>> 0);
    // Linux tcp_syn_options echoes ts_recent, which tcp_twsk_unique carried over: the server's last TSval.
    expect(newSyn.tsEcr).toBe(run.sent[4]!.seg.tsVal);
    expect(run.states({ time: true, causes: true, host: 'client' }).filter((l) => l.includes('TIME-WAIT=>'))).toEqual([
      '1.503000 client.40000 TIME-WAIT=>CLOSED (TIME-WAIT reused by connect (tcp_twsk_unique))',
      '61.507000 client.40000 TIME-WAIT=>CLOSED (2MSL timeout)',
    ]);
    expect(run.mismatches()).toEqual([]);
  });

  it('tcp_tw_reuse = 1 without timestamps: never taken (PAWS is what makes the reuse safe)', () => {
    // Act
    const run = runConformance(reconnectAfter('1500ms', { twReuse: 1, timestamps: 0 }));
    // Assert
    expect(secondConnect(run)).toBe('connect(b, server:8848) = EADDRNOTAVAIL');
  });

  it('tcp_tw_reuse = 2 (the default): only for loopback — two hosts never, both ends on one host after the delay', () => {
    // Act
    const twoHosts = ['0ms', '500ms', '1500ms'].map((gap) => secondConnect(runConformance(reconnectAfter(gap, {}))));
    const oneHost = ['0ms', '500ms', '1500ms'].map((gap) => secondConnect(runConformance(reconnectAfter(gap, {}, 'client'))));
    // Assert
    expect(twoHosts).toEqual(['connect(b, server:8848) = EADDRNOTAVAIL', 'connect(b, server:8848) = EADDRNOTAVAIL', 'connect(b, server:8848) = EADDRNOTAVAIL']);
    expect(oneHost).toEqual(['connect(b, client:8848) = EADDRNOTAVAIL', 'connect(b, client:8848) = EADDRNOTAVAIL', 'connect(b, client:8848) = ok']);
  });

  it('connect from a port from bind() takes a TIME-WAIT 4-tuple at once when it used timestamps, whatever tcp_tw_reuse says', () => {
    // Arrange
    const spec = {
      stack: { twReuse: 0 as const },
      programs: [
        { host: 'server', steps: ['socket srv', 'bind srv 8848', 'listen srv', 'accept srv c', 'recv-eof c', 'close c', 'accept srv d', 'recv-eof d', 'close d'] },
        { host: 'client', steps: ['socket a', 'reuseaddr a', 'bind a 44722', 'connect a server 8848', 'close a', 'sleep 10ms', 'socket x', 'reuseaddr x', 'bind x 44722', 'connect x server 8848', 'close x'] },
      ],
    };
    // Act
    const run = runConformance(spec);
    // Assert: Linux __inet_check_established with twp = NULL; ISN = old SND.NXT + 65537.
    expect(run.calls(1).slice(8, 10)).toEqual(['bind(x, 44722) = ok', 'connect(x, server:8848) = ok']);
    expect(run.sent[6]!.seg.seq).toBe((run.sent[5]!.seg.seq + 65537) >>> 0);
    expect(run.wire({ time: true }).slice(5, 8)).toEqual([
      '0.004000 client > server [.] seq 2 ack 2',
      '0.012000 client > server [S] seq 0 mss 1460',
      '0.013000 server > client [S.] seq 0 ack 1 mss 1460',
    ]);
    expect(run.states({ time: true, causes: true, host: 'client' })[5]).toBe('0.012000 client.44722 TIME-WAIT=>CLOSED (TIME-WAIT reused by connect (tcp_twsk_unique))');
  });
});

describe('tcp_max_tw_buckets (Linux tcp_time_wait, TCPTimeWaitOverflow)', () => {
  it('with the limit at 2, of 4 connections that close first two enter TIME-WAIT and two are closed at once', () => {
    // Arrange: four client sockets close one after the other, 10 ms apart.
    const client: string[] = [];
    for (const s of ['a', 'b', 'c', 'd']) client.push(`socket ${s}`, `connect ${s} server 8848`, `close ${s}`, 'sleep 10ms');
    const server = ['socket srv', 'bind srv 8848', 'listen srv'];
    for (const c of ['c1', 'c2', 'c3', 'c4']) server.push(`accept srv ${c}`, `recv-eof ${c}`, `close ${c}`);
    // Act
    const run = runConformance({ hostStacks: { client: { maxTwBuckets: 2 } }, programs: [{ host: 'server', steps: server }, { host: 'client', steps: client }] });
    // Assert
    const clientEnds = run.states({ causes: true, host: 'client' }).filter((l) => l.includes('FIN-WAIT-2=>')).map((l) => l.replace(/\.\d+ /, ' '));
    expect(clientEnds).toEqual([
      'client FIN-WAIT-2=>TIME-WAIT (rcv FIN)',
      'client FIN-WAIT-2=>TIME-WAIT (rcv FIN)',
      'client FIN-WAIT-2=>CLOSED (TIME-WAIT bucket overflow)',
      'client FIN-WAIT-2=>CLOSED (TIME-WAIT bucket overflow)',
    ]);
    expect(run.timeWaitHolders()).toHaveLength(2);
    // Counted as Linux's TCPTimeWaitOverflow, in the statistics (and the CSV's time_wait_overflows).
    const stats = new StatsCollector();
    for (const event of run.events) stats.onEvent(event);
    expect([stats.run.timeWaitEntries, stats.run.timeWaitOverflows]).toEqual([2, 2]);
    // The closes still end with the last ACK on the wire: only the TIME-WAIT is skipped.
    expect(run.wire().filter((l) => l.startsWith('client > server [.]'))).toHaveLength(8);
  });
});
