/**
 * `timewait replay`: reproduce one run exactly from `{ suite, seed, path }` (or a saved
 * counterexample) and print its whole trace. The run is a function of those values alone, so
 * the output is byte-identical on every machine and whatever --workers the campaign used.
 */
import type { Violation } from '../check/index.js';
import { formatViolation } from '../check/report.js';
import { executeRun, type RunOutcome } from '../scenario/execute.js';
import type { MonitorProfile } from '../check/profiles.js';
import { describeRunSpec, type RunSpec } from '../scenario/spec.js';
import { suiteByName, type Suite } from '../suites.js';
import type { Endpoint } from '../tcp/endpoint.js';
import type { TraceEvent } from '../world/trace.js';
import { specAt } from './campaign.js';
import { endpointByName } from './endpoints.js';
import { UsageError } from './errors.js';
import { shellWord } from './io.js';
import { connectionRows, figuresOf, runRow, type ConnectionRow, type RunRow } from './rows.js';
import { commentLines, traceJsonLines, traceText } from './trace-output.js';

export interface ReplayTarget {
  readonly suite: string;
  readonly seed: number;
  readonly path: string;
  /** Endpoint name (default `reference`). */
  readonly endpoint?: string;
  /** Monitor profile (src/check/profiles.ts); absent: the endpoint's default. */
  readonly profile?: MonitorProfile;
}

export interface ReplayResult {
  readonly suite: Suite;
  readonly endpoint: Endpoint;
  readonly seed: number;
  readonly path: string;
  readonly spec: RunSpec;
  readonly outcome: RunOutcome;
  readonly events: readonly TraceEvent[];
  readonly violations: readonly Violation[];
}

/**
 * Replay one run with its trace recorded. `spec` overrides the generated value (a saved
 * counterexample whose generator has since changed); `endpoint` an endpoint object not in the zoo.
 */
export function replayRun(target: ReplayTarget, options: { readonly spec?: RunSpec; readonly endpoint?: Endpoint } = {}): ReplayResult {
  const suite = suiteByName(target.suite);
  if (suite === undefined) throw new UsageError(`unknown suite "${target.suite}" (timewait list shows the suites)`);
  const endpoint = options.endpoint ?? endpointByName(target.endpoint ?? 'reference');
  if (endpoint === undefined) throw new UsageError(`unknown endpoint "${target.endpoint}" (timewait list shows the endpoints)`);
  const spec = options.spec ?? specAt(suite, target.seed, target.path);
  const outcome = executeRun(spec, { endpoint, record: true, ...(target.profile !== undefined ? { profile: target.profile } : {}) });
  return { suite, endpoint, seed: target.seed, path: target.path, spec, outcome, events: outcome.events ?? [], violations: outcome.failed ? outcome.violations : [] };
}

/** The command that replays a run, as the user can paste it. */
export function replayCommand(invocation: string, target: { suite: string; seed: number; path: string; endpoint: string; profile?: MonitorProfile }): string {
  const words = [invocation, 'replay', '--suite', target.suite, target.seed < 0 ? `--seed=${target.seed}` : `--seed ${target.seed}`, '--path', target.path];
  if (target.endpoint !== 'reference') words.push('--endpoint', target.endpoint);
  if (target.profile !== undefined) words.push('--profile', target.profile);
  return words.map((w) => (w === invocation || w.startsWith('--seed') ? w : shellWord(w))).join(' ');
}

/** The text form: a commented header, the trace, a commented result. */
export function replayText(result: ReplayResult): string {
  return `${replayHeader(result)}\n${traceText(result.events)}${replayFooter(result)}\n`;
}

export function replayHeader(result: ReplayResult): string {
  const lines = [
    `replay of suite ${result.suite.name}, endpoint ${result.endpoint.name}, seed ${result.seed}, path ${result.path}`,
    `suite ${result.suite.name} (${result.suite.claims.join(', ')}): ${result.suite.description}`,
    `endpoint ${result.endpoint.name}: ${result.endpoint.description}`,
    ...describeRunSpec(result.spec).split('\n'),
  ];
  return commentLines(lines.join('\n'));
}

export function replayFooter(result: ReplayResult): string {
  const stats = result.outcome.stats;
  const lines = [`result: ${result.violations.length === 0 ? 'no invariant broken' : `${result.violations.length} invariant${result.violations.length === 1 ? '' : 's'} broken`}; ${stats.events} events, ${stats.virtualUs} us of virtual time, run ended by ${result.outcome.end.stoppedBy}`];
  for (const v of result.violations) lines.push(`  ${formatViolation(v)}`);
  return commentLines(lines.join('\n'));
}

/** JSON lines: a `replay` header object, one object per event, a `result` object. */
export function replayJson(result: ReplayResult): string {
  const header = { type: 'replay', suite: result.suite.name, claims: result.suite.claims, endpoint: result.endpoint.name, seed: result.seed, path: result.path, spec: result.spec };
  const footer = {
    type: 'result',
    failed: result.violations.length > 0,
    violations: result.violations,
    events: result.outcome.stats.events,
    virtualUs: result.outcome.stats.virtualUs,
    stoppedBy: result.outcome.end.stoppedBy,
  };
  return `${JSON.stringify(header)}\n${traceJsonLines(result.events)}${JSON.stringify(footer)}\n`;
}

/** The statistics rows of a replayed run (the campaign CSV's columns; wall time left empty). */
export function replayRows(result: ReplayResult): { run: RunRow; connections: ConnectionRow[] } {
  const origin = { suite: result.suite.name, endpoint: result.endpoint.name, chunk: '' as const, seed: result.seed, path: result.path };
  return { run: runRow(origin, figuresOf(result.outcome), result.spec.clients + result.spec.servers, null), connections: connectionRows(origin, result.outcome.connections) };
}
