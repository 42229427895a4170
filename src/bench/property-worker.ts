/**
 * One worker of the property-throughput benchmark (property.ts): a worker thread, or a child
 * process (`fork`). It is told which chunks of runs to do; it warms up, says it is ready, waits
 * for `go`, runs its chunks and answers with one digest per chunk. A chunk is a fast-check
 * property run, `{ seed, numRuns }`: the same chunk gives the same runs on any worker, so the
 * digests must match however chunks are spread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runPropertyChunk, type Chunk } from './property.js';

export interface WorkerInput {
  readonly chunks: readonly Chunk[];
  readonly warmupRuns: number;
  /** Instead of the property, run this many rounds of a plain allocation loop (`allocationKernel`). */
  readonly kernelRounds?: number;
}

/** Messages both ways, whether over a worker thread's port or a child process's IPC channel. */
interface Channel {
  post(message: unknown): void;
  once(listener: (message: unknown) => void): void;
}

function channel(): { input: WorkerInput; channel: Channel } {
  if (parentPort !== null) {
    const port = parentPort;
    return { input: workerData as WorkerInput, channel: { post: (m) => port.postMessage(m), once: (l) => port.once('message', l) } };
  }
  if (process.send === undefined) throw new Error('property-worker.js runs as a worker thread or a forked process');
  const input = JSON.parse(process.env['TIMEWAIT_PROPERTY_WORKER'] ?? '') as WorkerInput;
  return { input, channel: { post: (m) => process.send!(m), once: (l) => process.once('message', l) } };
}

const { input, channel: link } = channel();
if (input.kernelRounds === undefined) runPropertyChunk({ seed: -1, numRuns: input.warmupRuns });
else allocationKernel(input.kernelRounds);
link.post({ type: 'ready' });
link.once(() => {
  const digests = input.kernelRounds === undefined ? input.chunks.map((chunk) => runPropertyChunk(chunk)) : [String(allocationKernel(input.kernelRounds))];
  link.post({ type: 'done', digests });
  if (parentPort === null) process.disconnect();
});

/**
 * The machine's own scaling, for comparison: short-lived small objects, a few kept a while,
 * much as a simulation allocates, and nothing of the simulator.
 */
function allocationKernel(rounds: number): number {
  let kept: { a: number; b: number[]; c: { d: number } }[] = [];
  let total = 0;
  for (let i = 0; i < rounds; i++) {
    const o = { a: i, b: [i, i + 1], c: { d: i } };
    total += o.b[1]! - o.c.d;
    if ((i & 255) === 0) kept.push(o);
    if (kept.length > 4096) kept = [];
  }
  return total;
}
