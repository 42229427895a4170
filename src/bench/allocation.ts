/**
 * Bytes allocated by a piece of work, from V8's own accounting: the heap in use before each
 * collection minus the heap in use after the one before it, summed over the collections the
 * work caused (node:v8 `GCProfiler`), plus what is in use at the end. A count of bytes does not
 * depend on how loaded the machine is, so it is the figure to compare when timings are noisy.
 *
 * It counts the JavaScript heap (objects, arrays, strings, closures, Map tables), not the
 * backing stores of typed arrays, which live outside it; and it counts the whole process, so
 * measure in a thread that does nothing else meanwhile.
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';

export interface Allocation<T> {
  readonly result: T;
  readonly allocatedBytes: number;
  /** Collections during the work, and the time V8 says they took. */
  readonly collections: number;
  readonly collectionMs: number;
}

interface GcStatistic {
  readonly cost: number;
  readonly beforeGC: { readonly heapStatistics: { readonly usedHeapSize: number } };
  readonly afterGC: { readonly heapStatistics: { readonly usedHeapSize: number } };
}

export function measureAllocation<T>(work: () => T): Allocation<T> {
  const profiler = new GCProfiler();
  const usedAtStart = getHeapStatistics().used_heap_size;
  profiler.start();
  const result = work();
  const usedAtEnd = getHeapStatistics().used_heap_size;
  const statistics = (profiler.stop()?.statistics ?? []) as readonly GcStatistic[];
  let allocatedBytes = 0;
  let usedAfterPrevious = usedAtStart;
  let collectionUs = 0;
  for (const gc of statistics) {
    allocatedBytes += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - usedAfterPrevious);
    usedAfterPrevious = gc.afterGC.heapStatistics.usedHeapSize;
    collectionUs += gc.cost;
  }
  allocatedBytes += Math.max(0, usedAtEnd - usedAfterPrevious);
  return { result, allocatedBytes, collections: statistics.length, collectionMs: collectionUs / 1000 };
}
