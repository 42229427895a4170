/**
 * Memory per connection, with 10^5 connections alive at once in one run:
 * - in TIME-WAIT: 10^5 lifecycles started 100 µs apart; 0.5 s after the last one every client
 *   end is in TIME-WAIT (2·MSL = 60 s) and every server end is gone;
 * - idle ESTABLISHED: 10^5 connections opened and left idle, buffers empty, the server parked
 *   in recv on each.
 *
 * A figure is the growth of the JavaScript heap plus ArrayBuffer memory between a world with
 * its hosts and listener and the same world with the 10^5 connections, after full garbage
 * collections, divided by the connections counted in that state. Everything the run keeps for a
 * connection counts: both endpoints, table entries, timers, incarnation numbers, the idle
 * server's parked application object.
 */
import type { Benchmark, Measurement } from './benchmark.js';
import { LifecycleWorkload } from './lifecycle-workload.js';

const CONNECTIONS = 100_000;
const INTERVAL_US = 100;
/** 20,000 connections per client host: well inside its 28,232 ephemeral ports. */
const CLIENT_HOSTS = 5;

export const memoryBenchmark: Benchmark = {
  name: 'memory',
  description: 'heap bytes per connection with 10^5 alive at once: in TIME-WAIT, and idle ESTABLISHED (both ends)',
  run(): Measurement[] {
    const timeWait = measure('lifecycle', 'TIME-WAIT');
    const established = measure('hold', 'ESTABLISHED');
    return [
      { figure: `bytes per TIME-WAIT connection, ${timeWait.count} in TIME-WAIT at once`, value: timeWait.bytesPerConnection, unit: 'bytes', target: { op: '<=', value: 1024 } },
      {
        figure: `bytes per idle ESTABLISHED connection (both ends, buffers empty), ${established.count} at once`,
        value: established.bytesPerConnection,
        unit: 'bytes',
        target: { op: '<=', value: 4096 },
      },
      { figure: 'connections alive at once in one run (idle ESTABLISHED)', value: established.count, unit: 'connections', target: { op: '>=', value: CONNECTIONS } },
      { figure: 'connections alive at once in one run (TIME-WAIT)', value: timeWait.count, unit: 'connections', target: { op: '>=', value: CONNECTIONS } },
    ];
  },
};

interface MemoryFigure {
  /** Connections counted in the state (an ESTABLISHED connection counts once for its two ends). */
  readonly count: number;
  readonly bytesPerConnection: number;
}

function measure(mode: 'lifecycle' | 'hold', state: 'TIME-WAIT' | 'ESTABLISHED'): MemoryFigure {
  const workload = new LifecycleWorkload({
    seed: 1,
    connections: CONNECTIONS,
    intervalUs: INTERVAL_US,
    requestBytes: 1_000,
    lossRate: 0,
    clientHosts: CLIENT_HOSTS,
    mode,
    keepClosedConnections: false,
  });
  // The listener is up and the code paths have run once before the first reading.
  workload.run(10 * INTERVAL_US);
  const before = memoryInUse();
  workload.run(CONNECTIONS * INTERVAL_US + 500_000);
  const after = memoryInUse();
  let endpoints = 0;
  for (const host of [workload.server, ...workload.clients]) for (const tcb of host.liveTcbs()) if (tcb.state === state) endpoints++;
  const count = state === 'ESTABLISHED' ? endpoints / 2 : endpoints;
  if (count < CONNECTIONS * 0.99) throw new Error(`only ${count} connections in ${state}; the workload did not get there`);
  return { count, bytesPerConnection: Math.round((after - before) / count) };
}

/** Heap plus ArrayBuffer bytes in use after full collections; needs node --expose-gc. */
export function memoryInUse(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the memory benchmark needs node --expose-gc (npm run bench passes it)');
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}
