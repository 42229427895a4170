/**
 * One worker of the property-throughput benchmark (property.ts). It is told which chunks of
 * runs to do; it warms up, says it is ready, waits for `go`, runs its chunks and answers with
 * one digest per chunk. A chunk is a fast-check property run, `{ seed, numRuns }`: the same
 * chunk gives the same runs on any worker, so the digests must match however chunks are spread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runPropertyChunk, type Chunk } from './property.js';

interface WorkerInput {
  readonly chunks: readonly Chunk[];
  readonly warmupRuns: number;
}

const input = workerData as WorkerInput;
const port = parentPort!;
runPropertyChunk({ seed: -1, numRuns: input.warmupRuns });
port.postMessage({ type: 'ready' });
port.once('message', () => {
  const digests = input.chunks.map((chunk) => runPropertyChunk(chunk));
  port.postMessage({ type: 'done', digests });
});
