/**
 * A campaign: every selected suite's runs, cut into fixed chunks so that the result does not
 * depend on how the work is spread. Chunk k of suite S has its own fast-check seed, derived
 * from (campaign seed, S, k), and runs `numRuns` = 50 (fewer for the last chunk). Chunks run
 * in worker threads (piscina) or in this thread; results are put back in chunk order. So the
 * rows, the failures and the CSV are the same for any --workers and any --shard split, and
 * each row's `{ seed, path }` (the chunk's seed, the run's index in it) replays that run.
 *
 * Wall-clock time is read here only to report how long runs took (wall-clock-ok: src/cli).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Piscina } from 'piscina';
import { EdgeCoverage } from '../check/coverage.js';
import type { Violation } from '../check/index.js';
import { formatFailure } from '../check/report.js';
import { executeRun, type RunOutcome } from '../scenario/execute.js';
import type { MonitorProfile } from '../check/profiles.js';
import { describeRunSpec, type RunSpec } from '../scenario/spec.js';
import { scaledRuns, suiteArbitrary, suiteByName, SUITES, type Suite } from '../suites.js';
import type { Endpoint } from '../tcp/endpoint.js';
import type { Edge } from '../tcp/state.js';
import { endpointByName } from './endpoints.js';
import { UsageError } from './errors.js';
import { PATH_RUN_INDEX_MAX, PATH_SHRINK_STEPS_MAX, WORKERS_MAX, type Shard } from './options.js';
import { SummaryAccumulator, type SuiteSummary } from './summary.js';
import { connectionRows, crashedRunRow, figuresOf, runRow, type ConnectionRow, type RowOrigin, type RunRow } from './rows.js';

/** Runs per chunk. Changing it changes every chunk seed: it is part of the campaign's definition. */
export const CHUNK_RUNS = 50;

/** Chunks handed to each worker thread at once: one running, one waiting in its queue. */
const CHUNKS_IN_FLIGHT_PER_WORKER = 2;

/** One unit of work, plain data so it can cross to a worker thread. */
export interface ChunkTask {
  readonly suite: string;
  readonly endpoint: string;
  readonly campaignSeed: number;
  /** Index of the chunk within its suite. */
  readonly chunk: number;
  /** fast-check seed of this chunk. */
  readonly seed: number;
  readonly numRuns: number;
  readonly perConnection: boolean;
  readonly timing: boolean;
  /** The monitor profile (src/check/profiles.ts); absent: the endpoint's default. */
  readonly profile?: MonitorProfile;
  /** What identifies the campaign and the shard in each CSV row (`campaignId`, `i/n`): merge checks them. */
  readonly campaign: string;
  readonly shard: string;
}

/** A property that failed, shrunk, with everything needed to report and replay it. */
export interface FailureRecord {
  readonly suite: string;
  readonly endpoint: string;
  /** The campaign and chunk it came from (null when replayed from the store). */
  readonly campaignSeed: number | null;
  readonly chunk: number | null;
  /** fast-check seed and the shrunk counterexample's path: `replay --seed S --path P`. */
  readonly seed: number;
  readonly path: string;
  /** Path of the run that first failed, before shrinking (its CSV row). */
  readonly runPath: string;
  readonly numShrinks: number;
  readonly spec: RunSpec;
  readonly violations: readonly Violation[];
  /** The invariant and claim broken, the scenario in words, the trace around the violation. */
  readonly report: string;
}

export interface ChunkResult {
  readonly task: ChunkTask;
  readonly rows: readonly RunRow[];
  readonly connectionRows: readonly ConnectionRow[];
  /** Edge counts summed over the chunk's runs, in EdgeCoverage's order. */
  readonly coverage: readonly (readonly [string, number])[];
  readonly failure: FailureRecord | null;
  /** Wall-clock time of the chunk, shrinking included (0 with timing off). */
  readonly wallMs: number;
}

/** FNV-1a over the name, as a 32-bit signed integer: a stable seed for each chunk. */
export function chunkSeed(campaignSeed: number, suite: string, chunk: number): number {
  const text = `${campaignSeed}/${suite}/${chunk}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/** The value fast-check generates at `{ seed, path }` for a suite: the run to replay. */
export function specAt(suite: Suite, seed: number, path: string): RunSpec {
  // Bounded (pathSchema): a run index past PATH_RUN_INDEX_MAX or too many shrink steps would not end.
  const parts = path.split(':');
  if (!/^\d+(:\d+)*$/.test(path) || parts.length > PATH_SHRINK_STEPS_MAX + 1 || parts.some((p) => Number(p) > PATH_RUN_INDEX_MAX)) {
    throw new UsageError(`path ${path} is not a replayable fast-check path (a run index up to ${PATH_RUN_INDEX_MAX}, at most ${PATH_SHRINK_STEPS_MAX} shrink steps)`);
  }
  let spec: RunSpec | undefined;
  try {
    [spec] = fc.sample(suiteArbitrary(suite), { seed, path, numRuns: 1 });
  } catch {
    spec = undefined;
  }
  if (spec === undefined) throw new UsageError(`path ${path} does not replay in suite ${suite.name} at seed ${seed}: fast-check has no such shrink step (was the path copied whole?)`);
  return spec;
}

export interface PlanOptions {
  readonly suites: readonly Suite[];
  /** Runs per suite; by default each suite's `defaultRuns` times TIMEWAIT_RUNS_SCALE. */
  readonly runs?: number;
  readonly runsScale?: number;
  readonly seed: number;
  readonly endpoint: string;
  readonly shard?: Shard;
  readonly perConnection?: boolean;
  readonly timing?: boolean;
  readonly profile?: MonitorProfile;
}

export interface SuitePlan {
  readonly suite: Suite;
  readonly runs: number;
  /** Every chunk of the suite, whichever shard runs it. */
  readonly chunks: readonly ChunkTask[];
}

export interface CampaignPlan {
  /** `seed/runs/suites` (see `campaignId`): written in every CSV row. */
  readonly id: string;
  readonly seed: number;
  readonly endpoint: string;
  readonly shard: Shard | null;
  readonly suites: readonly SuitePlan[];
  /** The chunks this process runs: all of them, or this shard's. In campaign order. */
  readonly tasks: readonly ChunkTask[];
}

/**
 * Suites run in SUITES order whatever order they were named in. Chunks are numbered across the
 * whole campaign for sharding (global chunk g goes to shard g % n), which spreads small suites
 * evenly; each chunk's seed depends only on its own suite and index.
 */
export function planCampaign(options: PlanOptions): CampaignPlan {
  const names = new Set(options.suites.map((s) => s.name));
  const suites = SUITES.filter((s) => names.has(s.name));
  for (const s of options.suites) if (!SUITES.includes(s)) throw new Error(`suite ${s.name} is not in SUITES`);
  const suitePlans: SuitePlan[] = [];
  const tasks: ChunkTask[] = [];
  const id = campaignId({ seed: options.seed, suites: suites.map((s) => s.name), ...(options.runs !== undefined ? { runs: options.runs } : {}), runsScale: options.runsScale ?? 1 });
  const shard = options.shard === undefined ? '0/1' : `${options.shard.index}/${options.shard.count}`;
  let global = 0;
  for (const suite of suites) {
    const runs = options.runs ?? scaledRuns(suite.defaultRuns, { TIMEWAIT_RUNS_SCALE: String(options.runsScale ?? 1) });
    const chunks: ChunkTask[] = [];
    for (let k = 0; k * CHUNK_RUNS < runs; k++) {
      const task: ChunkTask = {
        suite: suite.name,
        endpoint: options.endpoint,
        campaignSeed: options.seed,
        chunk: k,
        seed: chunkSeed(options.seed, suite.name, k),
        numRuns: Math.min(CHUNK_RUNS, runs - k * CHUNK_RUNS),
        perConnection: options.perConnection ?? false,
        timing: options.timing ?? true,
        ...(options.profile !== undefined ? { profile: options.profile } : {}),
        campaign: id,
        shard,
      };
      chunks.push(task);
      if (options.shard === undefined || global % options.shard.count === options.shard.index) tasks.push(task);
      global++;
    }
    suitePlans.push({ suite, runs, chunks });
  }
  return { id, seed: options.seed, endpoint: options.endpoint, shard: options.shard ?? null, suites: suitePlans, tasks };
}

/**
 * A campaign's identity as the CSV rows carry it: `SEED/RUNS/SUITES`, RUNS the `--runs` value or
 * `xSCALE` (TIMEWAIT_RUNS_SCALE), SUITES `all` or the names joined by `+`. `timewait merge`
 * parses it back (`parseCampaignId`) to plan the campaign again and check that the shards it is
 * given are all of it. The endpoint is a column of its own.
 */
export function campaignId(definition: { readonly seed: number; readonly suites: readonly string[]; readonly runs?: number; readonly runsScale?: number }): string {
  const all = definition.suites.length === SUITES.length && SUITES.every((s) => definition.suites.includes(s.name));
  const runs = definition.runs !== undefined ? String(definition.runs) : `x${definition.runsScale ?? 1}`;
  return `${definition.seed}/${runs}/${all ? 'all' : definition.suites.join('+')}`;
}

export function parseCampaignId(id: string): { seed: number; suites: readonly Suite[]; runs?: number; runsScale?: number } | null {
  const match = /^(-?\d+)\/(\d+|x[0-9.e+-]+)\/([a-z0-9+-]+)$/.exec(id);
  if (match === null) return null;
  const seed = Number(match[1]);
  const suites = match[3] === 'all' ? [...SUITES] : match[3]!.split('+').map((name) => suiteByName(name));
  if (suites.some((s) => s === undefined)) return null;
  const runsText = match[2]!;
  if (runsText.startsWith('x')) {
    const runsScale = Number(runsText.slice(1));
    return Number.isFinite(runsScale) && runsScale > 0 ? { seed, suites: suites as Suite[], runsScale } : null;
  }
  return { seed, suites: suites as Suite[], runs: Number(runsText) };
}

/** Run one chunk: fast-check generates `numRuns` runs from the chunk's seed; a failure is shrunk. */
export function runChunk(task: ChunkTask, endpointOverride?: Endpoint): ChunkResult {
  const suite = suiteByName(task.suite);
  if (suite === undefined) throw new Error(`unknown suite ${task.suite}`);
  const endpoint = endpointOverride ?? endpointByName(task.endpoint);
  if (endpoint === undefined) throw new Error(`unknown endpoint ${task.endpoint}`);
  const started = task.timing ? performance.now() : 0; // wall-clock-ok
  const rows: RunRow[] = [];
  const connRows: ConnectionRow[] = [];
  const coverage = new EdgeCoverage();
  let index = 0;
  let shrinking = false;
  const property = fc.property(suiteArbitrary(suite), (spec) => {
    // After the first failure fast-check only shrinks: those runs are not rows.
    const judged = task.profile !== undefined ? { endpoint, profile: task.profile } : { endpoint };
    if (shrinking) return !executeRun(spec, judged).failed;
    const origin: RowOrigin = { suite: suite.name, endpoint: endpoint.name, chunk: task.chunk, seed: task.seed, path: String(index++), campaign: task.campaign, shard: task.shard };
    const hosts = spec.clients + spec.servers;
    const t0 = task.timing ? performance.now() : 0; // wall-clock-ok
    let outcome: RunOutcome;
    try {
      outcome = executeRun(spec, judged);
    } catch (error) {
      rows.push(crashedRunRow(origin, hosts, task.timing ? performance.now() - t0 : null)); // wall-clock-ok
      shrinking = true;
      throw error;
    }
    rows.push(runRow(origin, figuresOf(outcome), hosts, task.timing ? performance.now() - t0 : null)); // wall-clock-ok
    if (task.perConnection) connRows.push(...connectionRows(origin, outcome.connections));
    coverage.merge(outcome.coverage);
    if (outcome.failed) shrinking = true;
    return !outcome.failed;
  });
  const details = fc.check(property, { seed: task.seed, numRuns: task.numRuns });
  let failure: FailureRecord | null = null;
  if (details.failed && details.counterexample !== null) {
    const spec = details.counterexample[0];
    const path = details.counterexamplePath ?? '';
    failure = {
      ...describeFailure(spec, endpoint, task.profile),
      suite: suite.name,
      endpoint: endpoint.name,
      campaignSeed: task.campaignSeed,
      chunk: task.chunk,
      seed: task.seed,
      path,
      runPath: path.split(':')[0] ?? path,
      numShrinks: details.numShrinks,
      spec,
    };
  }
  return {
    task,
    rows,
    connectionRows: connRows,
    coverage: [...coverage.counts],
    failure,
    wallMs: task.timing ? performance.now() - started : 0, // wall-clock-ok
  };
}

/** Re-run a failing spec with the trace recorded: its violations and the failure report. */
export function describeFailure(spec: RunSpec, endpoint: Endpoint, profile?: MonitorProfile): { violations: readonly Violation[]; report: string } {
  try {
    const outcome = executeRun(spec, { endpoint, record: true, ...(profile !== undefined ? { profile } : {}) });
    if (!outcome.failed) {
      return { violations: [], report: `The run failed under fast-check but passes when run again: a nondeterminism bug.\n\nScenario:\n${describeRunSpec(spec)}` };
    }
    return { violations: outcome.violations, report: formatFailure(spec, outcome.violations, outcome.events) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const violation: Violation = { monitor: 'exception', claims: [], atUs: -1, eventIndex: -1, connId: -1, incarnation: -1, message };
    return { violations: [violation], report: `Exception thrown inside the simulation (an assertion): ${message}\n\nScenario:\n${describeRunSpec(spec)}` };
  }
}

export interface RunCampaignOptions {
  /** Worker threads; 1 runs in this thread. Default: the machine's available parallelism. */
  readonly workers?: number;
  /** Stops the campaign: chunks not finished are dropped, finished ones kept. */
  readonly signal?: AbortSignal;
  /** Called as each chunk finishes (in completion order, which varies; results are reordered). */
  readonly onChunk?: (result: ChunkResult) => void;
  /**
   * Called with each finished chunk in campaign order (after an interruption, the chunks that
   * finished after a gap come last, still in order). The CLI streams the CSV rows from here.
   */
  readonly onOrderedChunk?: (result: ChunkResult) => void;
  /**
   * Keep every chunk, row and failure in the result (the default, for library use). The CLI
   * passes false: the result then holds aggregates only (summary, coverage, failure counts, the
   * first `failuresKeptPerSuite` failures), so memory does not grow with the number of runs.
   */
  readonly retainRows?: boolean;
  /** With retainRows false: failures kept per suite (the rest are counted). Default 3. */
  readonly failuresKeptPerSuite?: number;
  /** A custom endpoint object (library use); forces in-thread execution. */
  readonly endpoint?: Endpoint;
  /**
   * Worker threads started before (`createCampaignPool`), used instead of a pool of this
   * campaign's own and left running: several campaigns in a row, or a benchmark that times a
   * pool already warm, pay the threads' start-up once. Overrides `workers`.
   */
  readonly pool?: CampaignPool;
}

/** Worker threads for campaigns, started once (see `RunCampaignOptions.pool`). */
export interface CampaignPool {
  readonly threads: number;
  run(task: ChunkTask): Promise<ChunkResult>;
  destroy(): Promise<void>;
}

/** Start `threads` worker threads for campaigns, or null when running from TypeScript sources (no compiled worker). */
export function createCampaignPool(threads: number): CampaignPool | null {
  const script = workerScript();
  if (script === null) return null;
  const piscina = new Piscina<ChunkTask, ChunkResult>({ filename: script.href, minThreads: threads, maxThreads: threads, concurrentTasksPerWorker: CHUNKS_IN_FLIGHT_PER_WORKER });
  return { threads, run: (task) => piscina.run(task), destroy: () => piscina.destroy() };
}

export interface CampaignResult {
  readonly plan: CampaignPlan;
  /** Finished chunks, in campaign order (empty unless retainRows). */
  readonly chunks: readonly ChunkResult[];
  /** Every run's row, in campaign order (empty unless retainRows). */
  readonly rows: readonly RunRow[];
  readonly connectionRows: readonly ConnectionRow[];
  /** Failures in campaign order: all of them, or with retainRows false the first few per suite. */
  readonly failures: readonly FailureRecord[];
  /** Failures per suite, all counted. */
  readonly failureCounts: ReadonlyMap<string, number>;
  /** The summary table's figures per suite, from every finished run. */
  readonly summaries: readonly SuiteSummary[];
  readonly chunksFinished: number;
  readonly coverage: EdgeCoverage;
  readonly interrupted: boolean;
  /** Wall-clock time of the whole campaign. */
  readonly elapsedMs: number;
  /** Worker threads actually used (1 = this thread). */
  readonly workers: number;
}


export async function runCampaign(plan: CampaignPlan, options: RunCampaignOptions = {}): Promise<CampaignResult> {
  const started = performance.now(); // wall-clock-ok
  const tasks = plan.tasks;
  const retain = options.retainRows ?? true;
  const keepPerSuite = retain ? Infinity : (options.failuresKeptPerSuite ?? 3);
  const wanted = Math.max(1, Math.min(options.workers ?? availableParallelism(), tasks.length, WORKERS_MAX));
  const given = options.endpoint === undefined ? options.pool : undefined;
  const script = given === undefined ? workerScript() : null;
  const workers = given !== undefined ? given.threads : options.endpoint !== undefined || script === null ? 1 : wanted;

  // Aggregates, and the chunks that finished ahead of an unfinished one (fewer than two per thread).
  const kept: ChunkResult[] = [];
  const failures: FailureRecord[] = [];
  const failureCounts = new Map<string, number>();
  const summary = new SummaryAccumulator();
  const coverage = new EdgeCoverage();
  const waiting = new Map<number, ChunkResult>();
  let nextInOrder = 0;
  let finished = 0;
  const deliver = (result: ChunkResult) => {
    finished++;
    for (const row of result.rows) summary.add(row);
    for (const [edge, count] of result.coverage) coverage.add(edge as Edge, count);
    if (result.failure !== null) {
      const n = failureCounts.get(result.failure.suite) ?? 0;
      failureCounts.set(result.failure.suite, n + 1);
      if (n < keepPerSuite) failures.push(result.failure);
    }
    if (retain) kept.push(result);
    options.onOrderedChunk?.(result);
  };
  const finishedAt = (i: number, result: ChunkResult) => {
    options.onChunk?.(result);
    waiting.set(i, result);
    while (waiting.has(nextInOrder)) {
      const ready = waiting.get(nextInOrder)!;
      waiting.delete(nextInOrder);
      nextInOrder++;
      deliver(ready);
    }
  };

  if (workers === 1) {
    for (let i = 0; i < tasks.length; i++) {
      if (options.signal?.aborted) break;
      finishedAt(i, runChunk(tasks[i]!, options.endpoint));
      // Let a Ctrl-C (or a progress bar redraw) in between chunks.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } else {
    // Keep two chunks per thread in flight and hand out the next as one finishes, so a thread
    // that finishes a chunk starts its second at once instead of waiting for this thread (busy
    // with rows and the progress bar) to send it one. Near the end only one per thread: a
    // second chunk queued behind a thread's last one would leave another thread idle for a
    // whole chunk at the finish. On abort, nothing new starts and the chunks in flight finish
    // (they are short), then we stop.
    const pool = given ?? createCampaignPool(workers)!;
    let next = 0;
    const lane = async (laneIndex: number): Promise<void> => {
      while (next < tasks.length && !options.signal?.aborted) {
        // The second lane of each thread stops once the chunks left no longer fill both.
        if (laneIndex >= workers && tasks.length - next <= workers) return;
        const i = next++;
        finishedAt(i, await pool.run(tasks[i]!));
      }
    };
    try {
      await Promise.all(Array.from({ length: workers * CHUNKS_IN_FLIGHT_PER_WORKER }, (_, laneIndex) => lane(laneIndex)));
    } finally {
      if (given === undefined) await pool.destroy();
    }
  }
  // Interrupted: what finished after a gap, still in campaign order.
  for (const i of [...waiting.keys()].sort((a, b) => a - b)) deliver(waiting.get(i)!);
  return {
    plan,
    chunks: kept,
    rows: kept.flatMap((c) => c.rows),
    connectionRows: kept.flatMap((c) => c.connectionRows),
    failures,
    failureCounts,
    summaries: summary.summaries(),
    chunksFinished: finished,
    coverage,
    interrupted: finished < tasks.length,
    elapsedMs: performance.now() - started, // wall-clock-ok
    workers,
  };
}

/** The compiled worker beside this module, or null when running from TypeScript sources. */
export function workerScript(): URL | null {
  const url = new URL('./worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : null;
}
