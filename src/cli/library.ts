/**
 * The library face of the CLI: what `timewait run`, `replay` and `scenario` do, as functions a
 * user calls from their own vitest suites (re-exported by src/index.ts; docs/cli.md has an
 * example).
 */
import type { Endpoint } from '../tcp/endpoint.js';
import { suiteByName, SUITES } from '../suites.js';
import { planCampaign, runCampaign, type CampaignResult } from './campaign.js';
import { endpointByName } from './endpoints.js';
import { UsageError } from './errors.js';
import { figuresOf, connectionRows, runRow, type ConnectionRow, type RowOrigin, type RunRow } from './rows.js';
import type { RunOutcome } from '../scenario/execute.js';

export interface RunSuitesOptions {
  /** Suite names (default: all). */
  readonly suites?: readonly string[];
  /** Runs per suite (default: each suite's default). */
  readonly runs?: number;
  /** Campaign seed (default 0: the same campaign every time). */
  readonly seed?: number;
  /** An endpoint name from the zoo, or your own `Endpoint` (which runs in this thread). */
  readonly endpoint?: string | Endpoint;
  /** Worker threads (only for named endpoints; default 1). */
  readonly workers?: number;
  readonly perConnection?: boolean;
}

/**
 * Run property suites as `timewait run` does and return every run's row and every shrunk
 * failure. Deterministic: the same options give the same result.
 */
export async function runSuites(options: RunSuitesOptions = {}): Promise<CampaignResult> {
  const suites = (options.suites ?? SUITES.map((s) => s.name)).map((name) => {
    const suite = suiteByName(name);
    if (suite === undefined) throw new UsageError(`unknown suite "${name}"`);
    return suite;
  });
  const custom = typeof options.endpoint === 'object' ? options.endpoint : undefined;
  const name = typeof options.endpoint === 'string' ? options.endpoint : (custom?.name ?? 'reference');
  if (custom === undefined && endpointByName(name) === undefined) throw new UsageError(`unknown endpoint "${name}"`);
  const plan = planCampaign({
    suites,
    ...(options.runs !== undefined ? { runs: options.runs } : {}),
    seed: options.seed ?? 0,
    endpoint: name,
    perConnection: options.perConnection ?? false,
    timing: false,
  });
  return runCampaign(plan, { workers: options.workers ?? 1, ...(custom !== undefined ? { endpoint: custom } : {}) });
}

/** One suite: `runSuite('close', { runs: 200 })`. */
export function runSuite(name: string, options: Omit<RunSuitesOptions, 'suites'> = {}): Promise<CampaignResult> {
  return runSuites({ ...options, suites: [name] });
}

/** The statistics rows of any run outcome (`executeRun`'s result), as the CSV has them. */
export function statisticsRows(outcome: RunOutcome, origin: Partial<RowOrigin> = {}): { run: RunRow; connections: ConnectionRow[] } {
  const full: RowOrigin = { suite: origin.suite ?? '', endpoint: origin.endpoint ?? 'reference', chunk: origin.chunk ?? '', seed: origin.seed ?? outcome.spec.seed, path: origin.path ?? '' };
  return { run: runRow(full, figuresOf(outcome), outcome.spec.clients + outcome.spec.servers, null), connections: connectionRows(full, outcome.connections) };
}
