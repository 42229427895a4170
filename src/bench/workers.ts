/**
 * Campaign throughput and how it scales to two worker threads, next to what the machine itself
 * gives: a pure arithmetic loop (no allocation, nothing shared) on one thread and on two at the
 * same time. The campaign's two-worker speed-up is reported as a fraction of the control's, so
 * a loaded or small machine does not count against the campaign (issue #13 target: >= 0.9).
 *
 * Two pairs of campaign passes. Warm, timed as the control is: the threads already started
 * and each has run campaign chunks before (a warm-up campaign of other seeds), so what is
 * compared is the campaign's own scaling (this thread for one worker, a pool of two worker
 * threads for two). Then `timewait run` in a fresh process each, as a user runs it: cold JIT,
 * worker start-up and all. Then where a campaign can lose against the control, each as its own
 * figure: starting the worker threads (they import the simulator), the structured clone of a
 * chunk's result on its way back, and the size of a chunk (runs are cut into fixed chunks of
 * CHUNK_RUNS).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CHUNK_RUNS, createCampaignPool, planCampaign, runCampaign, runChunk, type CampaignPlan, type CampaignPool } from '../cli/campaign.js';
import { suiteByName } from '../suites.js';
import type { Benchmark, Measurement } from './benchmark.js';

const TARGET_FRACTION_OF_CONTROL = 0.9;
/** Runs of the `close` suite per campaign pass: 80 chunks, enough for two threads to share. */
const CAMPAIGN_RUNS = 4_000;
/**
 * Runs of the warm-up campaign before a warm pass (another seed), per thread: each thread is
 * its own V8 isolate and compiles the simulator for itself; a pool of two warmed up with 500
 * runs a thread still spent twice the CPU of one warm thread on the next 1,000 runs.
 */
const WARM_UP_RUNS_PER_THREAD = 2_000;
const CONTROL_ROUNDS = 400_000_000;
const SEED = 13;

export const workersBenchmark: Benchmark = {
  name: 'workers',
  description: `property campaign (close suite, ${CAMPAIGN_RUNS} runs) on 1 and 2 worker threads, against an arithmetic control loop on 1 and 2 threads; worker start-up, result clone, chunk size`,
  async run(): Promise<Measurement[]> {
    const measurements: Measurement[] = [{ figure: `machine load average (1 min) as the workers benchmark started, on ${availableParallelism()} CPUs`, value: Math.round(loadavg()[0]! * 100) / 100, unit: 'load' }];
    const controlOneMs = await controlMs(1);
    const controlTwoMs = await controlMs(2);
    // Both passes as a user runs them: `timewait run` in a fresh process, cold JIT and all
    // (a worker thread starts cold, so a warmed-up main thread would not be a fair one-worker pass).
    const oneCpuBefore = childrenCpuMs();
    const oneMs = cliCampaignMs(1);
    const twoCpuBefore = childrenCpuMs();
    const twoMs = cliCampaignMs(2);
    const twoCpuAfter = childrenCpuMs();
    // Same total work on one thread and split over two: the speed-up is the ratio of the wall
    // times as they are (counting the split twice read 3.95x on two cores).
    const controlSpeedUp = controlOneMs / controlTwoMs;
    const campaignSpeedUp = oneMs / twoMs;
    // Warm: as the control is timed, after the threads started and ran chunks already.
    const warmOne = await warmCampaign(null);
    const pool = createCampaignPool(2);
    if (pool === null) throw new Error('no compiled campaign worker (is dist/ built?)');
    const warmTwo = await warmCampaign(pool).finally(() => pool.destroy());
    const warmOneMs = warmOne.elapsedMs;
    const warmTwoMs = warmTwo.elapsedMs;
    const warmSpeedUp = warmOneMs / warmTwoMs;
    measurements.push(
      { figure: 'control speed-up, arithmetic loop, 2 threads over 1', value: round2(controlSpeedUp), unit: 'x' },
      { figure: `campaign runs/s, close suite, ${CAMPAIGN_RUNS} runs, warm, 1 worker (this thread)`, value: Math.round((CAMPAIGN_RUNS * 1000) / warmOneMs), unit: 'runs/s' },
      { figure: `campaign runs/s, close suite, ${CAMPAIGN_RUNS} runs, warm, 2 worker threads (started and warmed up first)`, value: Math.round((CAMPAIGN_RUNS * 1000) / warmTwoMs), unit: 'runs/s' },
      { figure: 'campaign speed-up, 2 worker threads over 1, warm', value: round2(warmSpeedUp), unit: 'x' },
      { figure: 'campaign speed-up as a fraction of the control speed-up, warm', value: round2(warmSpeedUp / controlSpeedUp), unit: 'x', target: { op: '>=', value: TARGET_FRACTION_OF_CONTROL } },
      // The load does not change this one: what the same runs cost in CPU on two workers (every thread of the process) over one.
      { figure: 'CPU time of the warm 2-worker pass over the warm 1-thread pass (same runs; 1 = no overhead)', value: round2(warmTwo.cpuMs / warmOne.cpuMs), unit: 'x' },
      { figure: `campaign runs/s, close suite, ${CAMPAIGN_RUNS} runs, timewait run --workers 1 (fresh process)`, value: Math.round((CAMPAIGN_RUNS * 1000) / oneMs), unit: 'runs/s' },
      { figure: `campaign runs/s, close suite, ${CAMPAIGN_RUNS} runs, timewait run --workers 2 (fresh process)`, value: Math.round((CAMPAIGN_RUNS * 1000) / twoMs), unit: 'runs/s' },
      { figure: 'campaign speed-up, 2 worker threads over 1, fresh processes', value: round2(campaignSpeedUp), unit: 'x' },
      { figure: 'campaign speed-up as a fraction of the control speed-up, fresh processes (start-up and cold JIT included)', value: round2(campaignSpeedUp / controlSpeedUp), unit: 'x', target: { op: '>=', value: TARGET_FRACTION_OF_CONTROL } },
      ...(oneCpuBefore === null || twoCpuBefore === null || twoCpuAfter === null
        ? []
        : [{ figure: 'CPU time of timewait run --workers 2 over --workers 1, fresh processes (each worker thread compiles the simulator for itself)', value: round2((twoCpuAfter - twoCpuBefore) / (twoCpuBefore - oneCpuBefore)), unit: 'x' }]),
    );
    // Where the time goes besides the runs themselves.
    const startUpMs = await campaignMs(oneRunPerChunk(planOf(CHUNK_RUNS + 1)), 2);
    const task = planOf(CHUNK_RUNS).tasks[0]!;
    runChunk(task); // warm-up: the figure is a warm chunk's
    const chunkStarted = performance.now();
    const result = runChunk(task);
    const chunkMs = performance.now() - chunkStarted;
    const cloneStarted = performance.now();
    for (let i = 0; i < 20; i++) structuredClone(result);
    const cloneMs = (performance.now() - cloneStarted) / 20;
    measurements.push(
      { figure: 'worker start-up: a 2-thread pool running one 1-run chunk each, end to end', value: Math.round(startUpMs), unit: 'ms' },
      { figure: `one chunk (${CHUNK_RUNS} runs, close suite) in this thread, warm`, value: round2(chunkMs), unit: 'ms' },
      { figure: 'structured clone of one chunk result (what a worker posts back)', value: round2(cloneMs), unit: 'ms' },
    );
    return measurements;
  },
};

function planOf(runs: number): CampaignPlan {
  return planCampaign({ suites: [suiteByName('close')!], runs, seed: SEED, endpoint: 'reference', timing: false });
}

/**
 * Wall time of a CAMPAIGN_RUNS campaign after a warm-up one of another seed (WARM_UP_RUNS_PER_THREAD
 * runs a thread): in this thread (`pool` null) or on the pool, which stays up between the two.
 */
async function warmCampaign(pool: CampaignPool | null): Promise<{ elapsedMs: number; cpuMs: number }> {
  const options = pool === null ? { workers: 1, retainRows: false } : { pool, retainRows: false };
  const warmUpRuns = WARM_UP_RUNS_PER_THREAD * (pool?.threads ?? 1);
  await runCampaign(planCampaign({ suites: [suiteByName('close')!], runs: warmUpRuns, seed: SEED + 1, endpoint: 'reference', timing: false }), options);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const result = await runCampaign(planOf(CAMPAIGN_RUNS), options);
  const cpu = process.cpuUsage(cpuStarted);
  const elapsedMs = performance.now() - started;
  if (result.failureCounts.size > 0) throw new Error('the benchmark campaign found a failure: it measures a passing campaign');
  if (result.workers !== (pool?.threads ?? 1)) throw new Error(`asked for ${pool?.threads ?? 1} workers, got ${result.workers}`);
  return { elapsedMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Wall time of `timewait run close --runs CAMPAIGN_RUNS --workers N` in a new process. */
function cliCampaignMs(workers: number): number {
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const args = [cli, 'run', 'close', '--runs', String(CAMPAIGN_RUNS), '--workers', String(workers), '--seed', String(SEED), '--no-reports', '--no-store'];
  const started = performance.now();
  const child = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const elapsedMs = performance.now() - started;
  if (child.status !== 0) throw new Error(`timewait run --workers ${workers} exited with ${child.status}: ${child.stderr}`);
  if (!child.stdout.includes(`on ${workers} worker thread`)) throw new Error(`timewait run did not use ${workers} workers (is dist/ built?): ${child.stdout}`);
  return elapsedMs;
}

/**
 * CPU time of this process's finished children, from /proc/self/stat (cutime + cstime, in clock
 * ticks of 10 ms); null where there is no /proc (the figure is then left out).
 */
function childrenCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces, so it is skipped by its closing parenthesis).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return null;
  }
}

/** The plan with every chunk cut to one run: what is left of a pass is starting the pool. */
function oneRunPerChunk(plan: CampaignPlan): CampaignPlan {
  return { ...plan, tasks: plan.tasks.map((task) => ({ ...task, numRuns: 1 })) };
}

async function campaignMs(plan: CampaignPlan, workers: number): Promise<number> {
  const started = performance.now();
  const result = await runCampaign(plan, { workers, retainRows: false });
  const elapsedMs = performance.now() - started;
  if (result.failureCounts.size > 0) throw new Error('the benchmark campaign found a failure: it measures a passing campaign');
  if (result.workers !== workers) throw new Error(`asked for ${workers} workers, got ${result.workers} (is dist/ built?)`);
  return elapsedMs;
}

/** `threads` threads each run the loop CONTROL_ROUNDS / threads times (same total work); wall time until all are done. */
async function controlMs(threads: number): Promise<number> {
  const rounds = CONTROL_ROUNDS / threads;
  // xorshift32: integer arithmetic only, no allocation, no memory traffic to share.
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    parentPort.once('message', () => {
      let x = 2463534242;
      for (let i = 0; i < workerData; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; }
      parentPort.postMessage(x);
    });
    parentPort.postMessage('ready');`;
  const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true, workerData: rounds }));
  try {
    await Promise.all(workers.map((w) => nextMessage(w)));
    const started = performance.now();
    const done = workers.map((w) => nextMessage(w));
    for (const w of workers) w.postMessage('go');
    await Promise.all(done);
    return performance.now() - started;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
