/**
 * The property suites, one per group of claims. vitest (properties/) and the CLI run the same
 * definitions: a generator of whole runs, and the promise that no monitor is violated.
 */
import fc from 'fast-check';
import { formatFailure } from './check/report.js';
import { runSpecArb, type RunShape } from './scenario/arbitraries.js';
import { executeRun, type ExecuteOptions, type RunOutcome } from './scenario/execute.js';
import type { RunSpec } from './scenario/spec.js';

export interface Suite {
  readonly name: string;
  readonly claims: readonly string[];
  readonly description: string;
  readonly shape: RunShape;
  /** Runs in the default campaign (scaled by TIMEWAIT_RUNS_SCALE or --runs). */
  readonly defaultRuns: number;
}

export const SUITES: readonly Suite[] = [
  {
    name: 'handshake',
    claims: ['C1', 'C2', 'C3', 'C4'],
    description: 'opening under loss, duplication, reordering and partitions, simultaneous open, refused and unreachable connects, ISNs about to wrap: ACK of SYN is ISN+1',
    shape: { closeOrders: ['client-first', 'server-first', 'half-close', 'simultaneous', 'simultaneous-open', 'refused', 'unreachable'], faults: true, maxConnections: 3, maxIncarnations: 1, stackDefaults: true, wrapIsn: true },
    defaultRuns: 1000,
  },
  {
    name: 'close',
    claims: ['C4', 'C5', 'C6', 'C7'],
    description: 'four-way, three-way, half- and simultaneous close, a peer that never sends its FIN and one that sends it late, a server that crashes at any moment: every byte once, FIN acked at seq+1, the orphaned FIN-WAIT-2 gone after tcp_fin_timeout',
    shape: { closeOrders: ['client-first', 'server-first', 'half-close', 'simultaneous', 'silent-peer', 'late-peer'], faults: true, maxConnections: 3, maxIncarnations: 1, stackDefaults: true, wrapIsn: true, noData: true, midLifeCrash: true, sackKnob: true },
    defaultRuns: 1000,
  },
  {
    name: 'close-shape',
    claims: ['C5', 'C7'],
    description: 'on clean links, a prompt passive close takes three segments, a slow one or one with no data before the FIN four or more',
    shape: { closeOrders: ['client-first', 'server-first', 'half-close'], faults: false, maxConnections: 3, maxIncarnations: 1, stackDefaults: true, wrapIsn: true, noData: true },
    defaultRuns: 500,
  },
  {
    name: 'time-wait',
    claims: ['C8', 'C9', 'C10', 'C11', 'C12'],
    description: 'TIME-WAIT of exactly 2·MSL on the active closer; 4-tuples reused across incarnations with old duplicates in flight',
    // RFC 1337 protection on: with Linux's default an RST (even one answering a duplicated
    // ACK) may end TIME-WAIT early, and C10 no longer holds — see properties/hazards.test.ts.
    shape: { closeOrders: ['client-first', 'server-first', 'simultaneous', 'half-close'], faults: true, oldDuplicates: true, maxConnections: 3, maxIncarnations: 3, rfc1337: true, stackDefaults: true, secondListener: true, linuxKnobs: true },
    defaultRuns: 1000,
  },
  {
    name: 'reuse-linger',
    claims: ['C11', 'C13', 'C14', 'C15'],
    description: 'SO_REUSEADDR restarts, SO_LINGER{on,0} aborts, close with unread data, crash and restart (at any moment too), tcp_tw_reuse, tcp_max_tw_buckets, small port ranges',
    shape: { closeOrders: ['abort-client', 'abort-server', 'unread-close', 'server-first', 'crash-server'], faults: true, maxConnections: 3, maxIncarnations: 2, stackDefaults: true, secondListener: true, smallBuffers: true, linuxKnobs: true, midLifeCrash: true },
    defaultRuns: 1000,
  },
];

export function suiteByName(name: string): Suite | undefined {
  return SUITES.find((suite) => suite.name === name);
}

/** Runs scale with TIMEWAIT_RUNS_SCALE (a multiplier; default 1) for long campaigns. */
export function scaledRuns(runs: number, env: NodeJS.ProcessEnv = process.env): number {
  const scale = Number(env.TIMEWAIT_RUNS_SCALE ?? '1');
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`TIMEWAIT_RUNS_SCALE must be a positive number, got "${env.TIMEWAIT_RUNS_SCALE}"`);
  return Math.max(1, Math.round(runs * scale));
}

export function suiteArbitrary(suite: Suite): fc.Arbitrary<RunSpec> {
  return runSpecArb(suite.shape);
}

/** The property: run the spec; any violation is thrown with the failure report. */
export function checkRun(spec: RunSpec, options: ExecuteOptions = {}): RunOutcome {
  const outcome = executeRun(spec, options);
  if (outcome.failed) {
    const recorded = executeRun(spec, { ...options, record: true });
    throw new Error(formatFailure(spec, outcome.violations, recorded.events));
  }
  return outcome;
}
