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
import { describeRunSpec, type RunSpec } from '../scenario/spec.js';
import { scaledRuns, suiteArbitrary, suiteByName, SUITES, type Suite } from '../suites.js';
import type { Endpoint } from '../tcp/endpoint.js';
import type { Edge } from '../tcp/state.js';
import { endpointByName } from './endpoints.js';
import type { Shard } from './options.js';
import { connectionRows, crashedRunRow, figuresOf, runRow, type ConnectionRow, type RowOrigin, type RunRow } from './rows.js';

/** Runs per chunk. Changing it changes every chunk seed: it is part of the campaign's definition. */
export const CHUNK_RUNS = 50;

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
  const [spec] = fc.sample(suiteArbitrary(suite), { seed, path, numRuns: 1 });
  if (spec === undefined) throw new Error(`fast-check produced no value at seed ${seed} path ${path}`);
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
}

export interface SuitePlan {
  readonly suite: Suite;
  readonly runs: number;
  /** Every chunk of the suite, whichever shard runs it. */
  readonly chunks: readonly ChunkTask[];
}

export interface CampaignPlan {
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
      };
      chunks.push(task);
      if (options.shard === undefined || global % options.shard.count === options.shard.index) tasks.push(task);
      global++;
    }
    suitePlans.push({ suite, runs, chunks });
  }
  return { seed: options.seed, endpoint: options.endpoint, shard: options.shard ?? null, suites: suitePlans, tasks };
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
    if (shrinking) return !executeRun(spec, { endpoint }).failed;
    const origin: RowOrigin = { suite: suite.name, endpoint: endpoint.name, chunk: task.chunk, seed: task.seed, path: String(index++) };
    const hosts = spec.clients + spec.servers;
    const t0 = task.timing ? performance.now() : 0; // wall-clock-ok
    let outcome: RunOutcome;
    try {
      outcome = executeRun(spec, { endpoint });
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
      ...describeFailure(spec, endpoint),
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
export function describeFailure(spec: RunSpec, endpoint: Endpoint): { violations: readonly Violation[]; report: string } {
  try {
    const outcome = executeRun(spec, { endpoint, record: true });
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
  /** A custom endpoint object (library use); forces in-thread execution. */
  readonly endpoint?: Endpoint;
}

export interface CampaignResult {
  readonly plan: CampaignPlan;
  /** Finished chunks, in campaign order. */
  readonly chunks: readonly ChunkResult[];
  readonly rows: readonly RunRow[];
  readonly connectionRows: readonly ConnectionRow[];
  readonly failures: readonly FailureRecord[];
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
  const results: (ChunkResult | undefined)[] = new Array(tasks.length).fill(undefined);
  const wanted = Math.max(1, Math.min(options.workers ?? availableParallelism(), tasks.length));
  const script = workerScript();
  const workers = options.endpoint !== undefined || script === null ? 1 : wanted;
  if (workers === 1) {
    for (let i = 0; i < tasks.length; i++) {
      if (options.signal?.aborted) break;
      const result = runChunk(tasks[i]!, options.endpoint);
      results[i] = result;
      options.onChunk?.(result);
      // Let a Ctrl-C (or a progress bar redraw) in between chunks.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } else {
    // Keep one chunk per thread in flight and hand out the next as one finishes: on abort,
    // nothing new starts and the chunks in progress finish (they are short), then we stop.
    const pool = new Piscina<ChunkTask, ChunkResult>({ filename: script!.href, minThreads: workers, maxThreads: workers });
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < tasks.length && !options.signal?.aborted) {
        const i = next++;
        const result = await pool.run(tasks[i]!);
        results[i] = result;
        options.onChunk?.(result);
      }
    };
    try {
      await Promise.all(Array.from({ length: workers }, lane));
    } finally {
      await pool.destroy();
    }
  }
  const chunks = results.filter((r): r is ChunkResult => r !== undefined);
  const coverage = new EdgeCoverage();
  for (const chunk of chunks) for (const [edge, count] of chunk.coverage) coverage.add(edge as Edge, count);
  return {
    plan,
    chunks,
    rows: chunks.flatMap((c) => c.rows),
    connectionRows: chunks.flatMap((c) => c.connectionRows),
    failures: chunks.flatMap((c) => (c.failure === null ? [] : [c.failure])),
    coverage,
    interrupted: chunks.length < tasks.length,
    elapsedMs: performance.now() - started, // wall-clock-ok
    workers,
  };
}

/** The compiled worker beside this module, or null when running from TypeScript sources. */
export function workerScript(): URL | null {
  const url = new URL('./worker.js', import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : null;
}
