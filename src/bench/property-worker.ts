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
runPropertyChunk({ seed: -1, numRuns: input.warmupRuns });
link.post({ type: 'ready' });
link.once(() => {
  const digests = input.chunks.map((chunk) => runPropertyChunk(chunk));
  link.post({ type: 'done', digests });
  if (parentPort === null) process.disconnect();
});
