/**
 * Memory a campaign keeps per run: `timewait run` streams each chunk's CSV rows to the
 * temporary file as chunks finish and keeps only aggregates (summary, coverage, failure counts,
 * the first failures), so what it holds must not grow with the number of runs.
 *
 * What a campaign keeps is the growth of the JavaScript heap plus ArrayBuffer memory, after full
 * garbage collections, from before it to its end (its result still held, its CSV written to a
 * temporary file as the CLI does). The figure is the slope: what a campaign three times larger
 * keeps beyond the smaller one, per extra run, so fixed costs (compiled code, caches) cancel. The same campaign
 * kept whole (library use, `retainRows`) is given beside it for comparison.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planCampaign, runCampaign, type CampaignResult } from '../cli/campaign.js';
import { csvHeader, csvRecords } from '../cli/csv.js';
import { checkOutputFile, openOutput } from '../cli/output.js';
import { RUN_COLUMNS } from '../cli/rows.js';
import { SUITES } from '../suites.js';
import type { Benchmark, Measurement } from './benchmark.js';

const RUNS_PER_SUITE = 500;

export const campaignMemoryBenchmark: Benchmark = {
  name: 'campaign-memory',
  description: `bytes a campaign keeps per run (${RUNS_PER_SUITE} runs of each of the ${SUITES.length} suites, in this thread)`,
  async run(): Promise<Measurement[]> {
    const dir = mkdtempSync(join(tmpdir(), 'timewait-bench-'));
    try {
      await measure(dir, 100, false); // warm-up: compile the code paths
      // The slope between a campaign and one three times larger: what each further run adds.
      const small = await measure(dir, RUNS_PER_SUITE, false);
      const large = await measure(dir, 3 * RUNS_PER_SUITE, false);
      const streamed = { runs: large.runs, bytesPerRun: Math.round((large.bytes - small.bytes) / (large.runs - small.runs)) };
      const keptSmall = await measure(dir, RUNS_PER_SUITE, true);
      const keptLarge = await measure(dir, 3 * RUNS_PER_SUITE, true);
      const kept = { runs: keptLarge.runs, bytesPerRun: Math.round((keptLarge.bytes - keptSmall.bytes) / (keptLarge.runs - keptSmall.runs)) };
      return [
        { figure: `bytes kept per run, timewait run (rows streamed to the CSV), ${streamed.runs} runs`, value: streamed.bytesPerRun, unit: 'bytes', target: { op: '<=', value: 100 } },
        { figure: `bytes kept per run, rows kept in the result (library runCampaign), ${kept.runs} runs`, value: kept.bytesPerRun, unit: 'bytes' },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

async function measure(dir: string, runsPerSuite: number, retainRows: boolean): Promise<{ runs: number; bytes: number }> {
  const plan = planCampaign({ suites: SUITES, runs: runsPerSuite, seed: 5, endpoint: 'reference', timing: false });
  const runs = plan.tasks.reduce((n, t) => n + t.numRuns, 0);
  const csv = openOutput(checkOutputFile(join(dir, `campaign-${runsPerSuite}-${retainRows}.csv`), 'bench'));
  csv.write(csvHeader(RUN_COLUMNS));
  const before = memoryInUse();
  const result: CampaignResult = await runCampaign(plan, { workers: 1, retainRows, onOrderedChunk: (chunk) => csv.write(csvRecords(RUN_COLUMNS, chunk.rows)) });
  const after = memoryInUse();
  csv.commit();
  if (result.chunksFinished !== plan.tasks.length) throw new Error('the campaign did not finish');
  return { runs, bytes: after - before };
}

function memoryInUse(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the campaign-memory benchmark needs node --expose-gc (npm run bench passes it)');
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}
