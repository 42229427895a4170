/**
 * Property throughput: runs per second of a two-host, one-connection property with faults (the
 * kind of run the suites do, with every monitor, statistics and coverage), on one worker and on
 * two. fast-check generates each run from a seed; a run is a function of its spec, so spreading
 * the runs over workers must not change any of them — the benchmark checks it by comparing
 * per-chunk digests of every run's outcome between the one- and two-worker passes.
 *
 * Workers are worker threads, and also child processes: on the 2-vCPU machines of the targets,
 * two threads of one process reach only about 1.4x (so does plain allocation-heavy JavaScript:
 * the isolates of one process share its GC helper threads and its address space), while two
 * processes reach about 1.8x.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { runSpecArb, type RunShape } from '../scenario/arbitraries.js';
import { executeRun } from '../scenario/execute.js';
import type { Benchmark, Measurement } from './benchmark.js';
import type { WorkerInput } from './property-worker.js';

/** Issue targets: 2,000 runs/s on one worker; linear speed-up to two (90 % efficiency accepted). */
const TARGET_RUNS_PER_SECOND = 2_000;
const TARGET_SPEEDUP = 1.8;

/** Two hosts, one connection, faults on: the generated runs of the handshake and close suites, scaled down to one connection. */
export const PROPERTY_SHAPE: RunShape = {
  closeOrders: ['client-first', 'server-first', 'half-close', 'simultaneous'],
  faults: true,
  maxConnections: 1,
  maxClients: 1,
  maxServers: 1,
  maxIncarnations: 1,
};

/** One fast-check property run of `numRuns` runs from `seed`. */
export interface Chunk {
  readonly seed: number;
  readonly numRuns: number;
}

const RUNS_PER_CHUNK = 4_000;
const KERNEL_ROUNDS = 20_000_000;
const WARMUP_RUNS = 1_500;
const SEED = 20_251_125;

export const propertyBenchmark: Benchmark = {
  name: 'property',
  description: 'runs/s of a two-host, one-connection property with faults (fast-check + every monitor), 1 and 2 worker threads',
  async run(): Promise<Measurement[]> {
    const chunks: Chunk[] = [
      { seed: SEED, numRuns: RUNS_PER_CHUNK },
      { seed: SEED + 1, numRuns: RUNS_PER_CHUNK },
    ];
    const runs = 2 * RUNS_PER_CHUNK;
    const measurements: Measurement[] = [];
    // The machine's own 2-thread scaling of allocation-heavy JavaScript, to read the figures by.
    const kernelOne = await runOnWorkers('thread', [[]], 2 * KERNEL_ROUNDS);
    const kernelTwo = await runOnWorkers('thread', [[], []], KERNEL_ROUNDS);
    measurements.push({ figure: 'machine speed-up, 2 threads over 1, plain allocation loop (no simulator)', value: Math.round((kernelOne.elapsedMs / kernelTwo.elapsedMs) * 100) / 100, unit: 'x' });
    for (const kind of ['thread', 'process'] as const) {
      const one = await runOnWorkers(kind, [chunks]);
      const two = await runOnWorkers(kind, [[chunks[0]!], [chunks[1]!]]);
      if (one.digests.join() !== two.digests.join()) {
        throw new Error(`runs differ between one and two ${kind} workers: ${one.digests.join()} vs ${two.digests.join()}`);
      }
      const rateOne = (runs * 1000) / one.elapsedMs;
      const rateTwo = (runs * 1000) / two.elapsedMs;
      measurements.push(
        { figure: `property runs/s, two hosts, one connection, faults, 1 worker ${kind}`, value: Math.round(rateOne), unit: 'runs/s', target: { op: '>=', value: TARGET_RUNS_PER_SECOND } },
        { figure: `property runs/s, two hosts, one connection, faults, 2 worker ${kind === "thread" ? "threads" : "processes"}`, value: Math.round(rateTwo), unit: 'runs/s' },
        { figure: `property speed-up, 2 worker ${kind === "thread" ? "threads" : "processes"} over 1 (same runs, same digests)`, value: Math.round((rateTwo / rateOne) * 100) / 100, unit: 'x', target: { op: '>=', value: TARGET_SPEEDUP } },
      );
    }
    return measurements;
  },
};

/**
 * Run the property for one chunk and return a digest of every run's outcome (statistics, end,
 * violations) in order. Throws when a run fails: the benchmark measures a passing property.
 */
export function runPropertyChunk(chunk: Chunk): string {
  const hash = createHash('sha256');
  const details = fc.check(
    fc.property(runSpecArb(PROPERTY_SHAPE), (spec) => {
      const outcome = executeRun(spec);
      hash.update(JSON.stringify([outcome.stats, outcome.end, outcome.failed ? outcome.violations : []]));
      return !outcome.failed;
    }),
    { seed: chunk.seed, numRuns: chunk.numRuns },
  );
  if (details.failed) throw new Error(`the benchmark property failed: ${fc.defaultReportMessage(details)}`);
  return hash.digest('hex').slice(0, 16);
}

/** A worker as the benchmark drives it: a thread or a child process. */
interface WorkerHandle {
  next(): Promise<unknown>;
  post(message: unknown): void;
  stop(): Promise<unknown>;
}

/** One worker per entry of `plan`; the clock runs from `go` until the last worker is done. */
async function runOnWorkers(kind: 'thread' | 'process', plan: readonly (readonly Chunk[])[], kernelRounds?: number): Promise<{ elapsedMs: number; digests: string[] }> {
  const script = new URL('./property-worker.js', import.meta.url);
  const input = (chunks: readonly Chunk[]): WorkerInput => ({ chunks, warmupRuns: WARMUP_RUNS, ...(kernelRounds !== undefined ? { kernelRounds } : {}) });
  const workers = plan.map((chunks) => (kind === 'thread' ? threadWorker(script, input(chunks)) : processWorker(script, input(chunks))));
  try {
    await Promise.all(workers.map((worker) => worker.next()));
    const startMs = performance.now();
    const done = workers.map((worker) => worker.next());
    for (const worker of workers) worker.post('go');
    const results = (await Promise.all(done)) as { digests: string[] }[];
    return { elapsedMs: performance.now() - startMs, digests: results.flatMap((r) => r.digests) };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}

function threadWorker(script: URL, input: WorkerInput): WorkerHandle {
  const worker = new Worker(script, { workerData: input });
  return { next: () => nextMessage(worker), post: (m) => worker.postMessage(m), stop: () => worker.terminate() };
}

function processWorker(script: URL, input: WorkerInput): WorkerHandle {
  const child = fork(fileURLToPath(script), [], { env: { ...process.env, TIMEWAIT_PROPERTY_WORKER: JSON.stringify(input) } });
  return {
    next: () => nextMessage(child),
    post: (m) => child.send(m as string),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', resolve);
        child.kill();
      }),
  };
}

/** The next message from a worker thread or child process; its error or early exit rejects. */
function nextMessage(source: Worker | ReturnType<typeof fork>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    const onExit = (code: number | null): void => reject(new Error(`property worker exited with ${code} before answering`));
    source.once('error', onError);
    source.once('exit', onExit);
    source.once('message', (message: unknown) => {
      source.off('error', onError);
      source.off('exit', onExit);
      resolve(message);
    });
  });
}
