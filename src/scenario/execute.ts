/**
 * Run one generated spec with every monitor watching, and say how it went. The building block
 * of the property suites, the CLI's campaigns and replays.
 */
import { EdgeCoverage } from '../check/coverage.js';
import { createMonitors, MonitorSet, type Monitor, type MonitorContext, type Violation } from '../check/index.js';
import type { RunEnd } from '../sim/scheduler.js';
import { LINUX_DEFAULTS, stackConfig } from '../tcp/config.js';
import { unansweredSynSchedule } from '../tcp/tcb-timers.js';
import type { Endpoint } from '../tcp/endpoint.js';
import type { StackFactory } from '../tcp/stack.js';
import { monitorInProfile, type MonitorProfile } from '../check/profiles.js';
import { runPrograms } from '../world/run-script.js';
import { TraceRecorder, type TraceEvent } from '../world/trace.js';
import { buildRun, stackFor, terminationBoundUs } from './build.js';
import { isCleanPlan, type CloseOrder, type RunSpec } from './spec.js';
import { StatsCollector, type ConnectionStats, type RunStats } from './stats.js';

export interface ExecuteOptions {
  /** The TCP implementation under test; the reference endpoint by default. */
  readonly endpoint?: Endpoint;
  /** A whole-host stack under test instead (an external stack, src/stack/); overrides `endpoint`. */
  readonly stackFactory?: StackFactory;
  /**
   * Which monitors judge the run (src/check/profiles.ts): `linux` (all) by default for the
   * reference and its mutants, `rfc` for an external stack.
   */
  readonly profile?: MonitorProfile;
  /** Keep every trace event (for reports and replays). */
  readonly record?: boolean;
  /** Only these monitors (all by default). */
  readonly monitors?: ReadonlySet<string>;
  /** Event budget; passing it is a `termination` violation, never a hang. */
  readonly maxEvents?: number;
  /**
   * A stand-in for the monitor of the same name (a weakened variant, to prove some test notices
   * it: properties/monitor-mutation.test.ts). Made from the run's context like the others.
   */
  readonly replaceMonitor?: { readonly name: string; make(context: MonitorContext): Monitor };
}

interface OutcomeCommon {
  readonly spec: RunSpec;
  readonly end: RunEnd;
  readonly stats: RunStats;
  readonly connections: readonly ConnectionStats[];
  readonly coverage: EdgeCoverage;
  /** Present when `record` was set. */
  readonly events?: readonly TraceEvent[];
}

export type RunOutcome = (OutcomeCommon & { readonly failed: false }) | (OutcomeCommon & { readonly failed: true; readonly violations: readonly Violation[] });

export const DEFAULT_MAX_EVENTS = 400_000;

/**
 * Close orders that leave TIME-WAIT in place. C10 promises no stale segment only when TIME-WAIT
 * is honoured — no abort (C14), no crash that forgets it, no RST that assassinates it (RFC 1337
 * protection on) — and segments die within MSL.
 */
const GRACEFUL: ReadonlySet<CloseOrder> = new Set(['client-first', 'server-first', 'simultaneous', 'half-close']);

export function monitorContextFor(spec: RunSpec): MonitorContext {
  return {
    mslUs: spec.mslUs,
    expectedTimeWaitUs: 2 * spec.mslUs,
    // With the stack's default left alone, the monitors expect Linux's (TCP_DELACK_MIN), not the endpoint's own.
    delayedAckUs: spec.defaultDelayedAck === true ? LINUX_DEFAULTS.delayedAckUs : spec.delayedAckUs,
    jiffyUs: LINUX_DEFAULTS.jiffyUs,
    finWait2TimeoutUs: stackFor(spec).finWait2TimeoutUs!,
    cleanNetwork: isCleanPlan(spec.faults),
    // A crash forgets TIME-WAIT, and so does a full tcp_max_tw_buckets.
    staleSegmentsImpossible: spec.enforceMsl && spec.rfc1337 && spec.crashAfterUs === undefined && spec.maxTwBuckets === undefined && spec.connections.every((c) => GRACEFUL.has(c.closeOrder)),
    rfc1337: spec.rfc1337,
    synRetries: stackFor(spec).synRetries!,
    ...(spec.ephemeralPorts !== undefined ? { ephemeralPortMin: spec.ephemeralPorts[0], ephemeralPortMax: spec.ephemeralPorts[1] } : {}),
    maxTwBuckets: spec.maxTwBuckets ?? LINUX_DEFAULTS.maxTwBuckets,
    synsBeforeTimeout: unansweredSynSchedule(stackConfig(stackFor(spec))).synTimesUs.length,
  };
}

/** The profile a run is judged by: the one asked for, else `rfc` for an external stack and `linux` for the reference. */
export function profileFor(options: ExecuteOptions): MonitorProfile {
  return options.profile ?? (options.stackFactory !== undefined || options.endpoint?.stackFactory !== undefined ? 'rfc' : 'linux');
}

export function executeRun(spec: RunSpec, options: ExecuteOptions = {}): RunOutcome {
  const { world, programs } = buildRun(spec, options.endpoint, options.stackFactory);
  const hostIps = new Map(world.hosts.map((host) => [host.name, host.ip] as const));
  const profile = profileFor(options);
  const context: MonitorContext = { ...monitorContextFor(spec), hostIps };
  const replace = options.replaceMonitor;
  const chosen = createMonitors(context, options.monitors).filter((m) => monitorInProfile(m.name, profile));
  const monitors = new MonitorSet(replace === undefined ? chosen : chosen.map((m) => (m.name === replace.name ? replace.make(context) : m)));
  const stats = new StatsCollector();
  const coverage = new EdgeCoverage();
  world.addListener(monitors);
  world.addListener(stats);
  world.addListener(coverage);
  const recorder = options.record ? new TraceRecorder() : null;
  if (recorder !== null) world.addListener(recorder);
  const { end } = runPrograms(world, programs, { maxEvents: options.maxEvents ?? DEFAULT_MAX_EVENTS, maxTimeUs: terminationBoundUs(spec) });
  monitors.atEnd({ atUs: end.endUs, stoppedBy: end.stoppedBy, eventCount: stats.run.events });
  const common: OutcomeCommon = {
    spec,
    end,
    stats: stats.finish(),
    connections: [...stats.perConnection.values()],
    coverage,
    ...(recorder !== null ? { events: recorder.events } : {}),
  };
  const violations = monitors.violations();
  return violations.length === 0 ? { ...common, failed: false } : { ...common, failed: true, violations };
}
