/**
 * External stacks (docs/external-stack.md): property runs/s through the protocol next to the same
 * runs in process, and the protocol's round trips/s. Stacks: the reference in a separate Node
 * process (dist/stack/reference-server.js), and the lwIP adapter when it is built
 * (`make -C native/lwip`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { runSpecArb } from '../scenario/arbitraries.js';
import { executeRun } from '../scenario/execute.js';
import type { RunSpec } from '../scenario/spec.js';
import { externalStack } from '../stack/external.js';
import type { StackFactory } from '../tcp/stack.js';
import type { Benchmark, Measurement } from './benchmark.js';
import { PROPERTY_SHAPE } from './property.js';

const RUNS = 400;
const SEED = 20_261_201;

const SERVER = fileURLToPath(new URL('../stack/reference-server.js', import.meta.url));
const LWIP = fileURLToPath(new URL('../../native/lwip/build/timewait-lwip', import.meta.url));

function runsPerSecond(specs: readonly RunSpec[], stackFactory?: StackFactory): number {
  const started = performance.now();
  for (const spec of specs) executeRun(spec, stackFactory !== undefined ? { stackFactory, profile: 'rfc' } : { profile: 'rfc' });
  return Math.round((specs.length * 1000) / (performance.now() - started));
}

export const externalBenchmark: Benchmark = {
  name: 'external',
  description: 'property runs/s (two hosts, one connection, faults, rfc monitors) in process and through the external-stack protocol',
  async run(): Promise<Measurement[]> {
    const specs = fc.sample(runSpecArb(PROPERTY_SHAPE), { seed: SEED, numRuns: RUNS });
    runsPerSecond(specs.slice(0, 100));
    const measurements: Measurement[] = [{ figure: 'property runs/s in process (reference), 1 thread', value: runsPerSecond(specs), unit: 'runs/s' }];
    const stacks: [string, string][] = [[`'${process.execPath}' '${SERVER}'`, 'reference stack as a separate Node process']];
    if (existsSync(LWIP)) stacks.push([`'${LWIP}'`, 'lwIP 2.1.3 adapter']);
    for (const [command, label] of stacks) {
      const factory = externalStack(command);
      try {
        runsPerSecond(specs.slice(0, 20), factory);
        const before = factory.requests;
        const started = performance.now();
        const rate = runsPerSecond(specs, factory);
        const elapsedMs = performance.now() - started;
        measurements.push(
          { figure: `property runs/s through the protocol, ${label}`, value: rate, unit: 'runs/s' },
          { figure: `protocol round trips/s, ${label}`, value: Math.round(((factory.requests - before) * 1000) / elapsedMs), unit: 'requests/s' },
          { figure: `protocol round trips per run, ${label}`, value: Math.round((factory.requests - before) / specs.length), unit: 'requests' },
        );
      } finally {
        factory.close();
      }
    }
    return measurements;
  },
};
