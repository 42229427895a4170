/**
 * Scenario files: a JSON description of hosts, link faults and, per host, a script of blocking
 * socket calls with the result each call must return. One zod schema (`scenarioSchema`) is the
 * whole definition of the format: it checks types, ranges and cross-references (a link or a
 * connect naming a host that does not exist) and its messages name the field and what was
 * expected. docs/cli.md describes the format; examples/ holds one file per claim C1–C15.
 */
import { basename } from 'node:path';
import { z } from 'zod';
import { EdgeCoverage } from '../check/coverage.js';
import { createMonitors, describeMonitors, MonitorSet, type MonitorContext, type Violation } from '../check/index.js';
import { formatIpv4, hostIp, parseIpv4 } from '../net/address.js';
import { isFaulty, linkFaults, type LinkFaults } from '../net/faults.js';
import { StatsCollector, type ConnectionStats, type RunStats } from './stats.js';
import type { RunEnd } from '../sim/scheduler.js';
import { stackConfig, type StackConfig } from '../tcp/config.js';
import type { Endpoint } from '../tcp/endpoint.js';
import type { StackFactory } from '../tcp/stack.js';
import { monitorInProfile, type MonitorProfile } from '../check/profiles.js';
import type { Errno } from '../tcp/tcb.js';
import { describeCall, type Call, type ProgramStep } from '../world/program.js';
import { runPrograms, type ProgramSpec } from '../world/run-script.js';
import { TraceRecorder, type TraceEvent } from '../world/trace.js';
import { World } from '../world/world.js';
import { parseOrThrow } from './input-errors.js';

// ---------------------------------------------------------------------------------------------
// The schema
// ---------------------------------------------------------------------------------------------

const ERRNOS = ['EADDRINUSE', 'EADDRNOTAVAIL', 'EAGAIN', 'EALREADY', 'EBADF', 'ECONNABORTED', 'ECONNREFUSED', 'ECONNRESET', 'EINPROGRESS', 'EINVAL', 'EISCONN', 'ENOPROTOOPT', 'ENOTCONN', 'EOPNOTSUPP', 'EPIPE', 'ETIMEDOUT'] as const satisfies readonly Errno[];
// Every Errno is listed: this line fails to compile when src/tcp adds one.
const ERRNOS_COMPLETE: Exclude<Errno, (typeof ERRNOS)[number]> extends never ? true : false = true;
void ERRNOS_COMPLETE;

const RESULT_PATTERN = new RegExp(`^(ok|eof|sent \\d+|recv \\d+|port \\d+|value (\\d+|${ERRNOS.join('|')})|${ERRNOS.join('|')})$`);

/**
 * Bounds. Every number has one the simulator can honour: times and sizes stay far from 2^53
 * when added up (a time plus a delay, a window times two), lists stay small enough to check,
 * and a run stays within its memory budget (SCENARIO_MEMORY_BUDGET_BYTES).
 */
export const SCENARIO_BOUNDS = {
  /** 10^12 µs: 11.6 days of virtual time, any time or delay in the file. */
  timeUs: 1_000_000_000_000,
  /** Bytes one send or recv call moves: 16 MiB (the run's trace keeps a copy of what is sent). */
  callBytes: 16 * 1024 * 1024,
  /** Socket send buffer (Linux's tcp_wmem maximum is 4 MiB). */
  sendBufferBytes: 64 * 1024 * 1024,
  /** Retry counts (Linux caps tcp_syn_retries at 127). */
  retries: 255,
  /** Other counts: listen backlog, SO_LINGER seconds, quick ACKs, expected figures. */
  count: 1_000_000_000,
  hosts: 254,
  stepsPerHost: 10_000,
  links: 10_000,
  windows: 1_000,
  dropIndexes: 10_000,
  /** Scheduler events per run (limits.maxEvents); the memory budget may stop a run sooner. */
  events: 10_000_000,
} as const;

const bounded = (what: string, max: number) => z.int({ error: `expected ${what} from 0 to ${max}` }).min(0, { error: `expected ${what} from 0 to ${max}` }).max(max, { error: `expected ${what} from 0 to ${max}` });
const microseconds = bounded('a whole number of microseconds', SCENARIO_BOUNDS.timeUs);
const probability = z.number({ error: 'expected a probability between 0 and 1' }).min(0, { error: 'expected a probability between 0 and 1' }).max(1, { error: 'expected a probability between 0 and 1' });
const port = bounded('a port number', 65535);
const count = bounded('a whole number', SCENARIO_BOUNDS.count);
const retries = bounded('a retry count', SCENARIO_BOUNDS.retries);
const callBytes = z.int({ error: `expected a number of bytes from 1 to ${SCENARIO_BOUNDS.callBytes}` }).min(1, { error: `expected a number of bytes from 1 to ${SCENARIO_BOUNDS.callBytes}` }).max(SCENARIO_BOUNDS.callBytes, { error: `expected a number of bytes from 1 to ${SCENARIO_BOUNDS.callBytes}` });
const list = <T extends z.ZodType>(item: T, max: number, what: string) => z.array(item).max(max, { error: `expected at most ${max} ${what}` });
const positiveBounded = (what: string, max: number) => z.int({ error: `expected ${what} from 1 to ${max}` }).min(1, { error: `expected ${what} from 1 to ${max}` }).max(max, { error: `expected ${what} from 1 to ${max}` });
const sock = z.string({ error: 'expected a socket name (a string such as "srv")' }).min(1, { error: 'expected a non-empty socket name' });
const hostName = z.string({ error: 'expected a host name' }).regex(/^[A-Za-z][A-Za-z0-9_-]*$/, { error: 'expected a host name: a letter, then letters, digits, - or _' });
const expect = z
  .string({ error: 'expected a call result as a string' })
  .regex(RESULT_PATTERN, { error: `expected a call result: ok, eof, "sent N", "recv N", "port N", "value N" or an errno (${ERRNOS.join(', ')})` })
  .optional();

const window = z
  .strictObject({ fromUs: microseconds, toUs: microseconds })
  .refine((w) => w.fromUs < w.toUs, { error: 'expected fromUs < toUs (a window is [fromUs, toUs))' });

/** Link faults, field by field as src/net/faults.ts `LinkFaults` names them; all optional. */
const faultsShape = {
  delayUs: microseconds.optional(),
  jitterUs: microseconds.optional(),
  lossRate: probability.optional(),
  burst: z.strictObject({ enterBadRate: probability, leaveBadRate: probability, lossRateBad: probability }).nullable().optional(),
  duplicateRate: probability.optional(),
  reorderRate: probability.optional(),
  reorderDelayUsMax: microseconds.optional(),
  oldDuplicateRate: probability.optional(),
  oldDuplicateDelayUsMax: microseconds.optional(),
  partitions: list(window, SCENARIO_BOUNDS.windows, 'windows').optional(),
  holds: list(window, SCENARIO_BOUNDS.windows, 'windows').optional(),
  /** Lose the k-th segments sent this way (0-based). */
  dropSegmentIndexes: list(count, SCENARIO_BOUNDS.dropIndexes, 'segment indexes').optional(),
};

const linkSchema = z.strictObject({
  from: hostName,
  to: hostName,
  /** By default a link entry sets both directions; true sets only from -> to. */
  oneWay: z.boolean().optional(),
  ...faultsShape,
});

const isnSchema = z.union([z.enum(['rfc6528', 'random']), z.strictObject({ fixed: bounded('an ISN', 0xffffffff) })], { error: 'expected "rfc6528", "random" or { "fixed": N } with N from 0 to 4294967295' });

/** Stack settings (src/tcp/config.ts `StackConfig`); Linux defaults for what is left out. */
const stackSchema = z.strictObject({
  mslUs: positiveBounded('a number of microseconds', SCENARIO_BOUNDS.timeUs).optional(),
  timeWaitUs: microseconds.optional(),
  finWait2TimeoutUs: microseconds.optional(),
  rtoInitialUs: microseconds.optional(),
  rtoMinUs: microseconds.optional(),
  rtoMaxUs: microseconds.optional(),
  synRetries: retries.optional(),
  synLinearTimeouts: retries.optional(),
  synAckRetries: retries.optional(),
  abortOnOverflow: z.boolean().optional(),
  sack: z.boolean().optional(),
  earlyRetrans: bounded('tcp_early_retrans, 0 to 4 (3 and 4 turn the tail-loss probe on)', 4).optional(),
  dataRetries: retries.optional(),
  mss: positiveBounded('an MSS in bytes', 65495).optional(),
  receiveBufferBytes: positiveBounded('a receive buffer in bytes', 65535).optional(),
  sendBufferBytes: positiveBounded('a send buffer in bytes', SCENARIO_BOUNDS.sendBufferBytes).optional(),
  delayedAckUs: microseconds.optional(),
  quickAcks: count.optional(),
  jiffyUs: positiveBounded('a timer tick in microseconds', 1_000_000).optional(),
  invalidRateLimitUs: microseconds.optional(),
  rfc1337: z.boolean().optional(),
  ephemeralPortMin: positiveBounded('a port number', 65535).optional(),
  ephemeralPortMax: positiveBounded('a port number', 65535).optional(),
  isn: isnSchema.optional(),
  timestamps: z.union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected 0, 1 or 2 (Linux tcp_timestamps)' }).optional(),
  windowScaling: z.boolean().optional(),
  rmemMaxBytes: positiveBounded('a buffer size in bytes', SCENARIO_BOUNDS.sendBufferBytes).optional(),
  netCoreRmemMaxBytes: positiveBounded('a buffer size in bytes', SCENARIO_BOUNDS.sendBufferBytes).optional(),
  netCoreWmemMaxBytes: positiveBounded('a buffer size in bytes', SCENARIO_BOUNDS.sendBufferBytes).optional(),
  twReuse: z.union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected 0, 1 or 2 (Linux tcp_tw_reuse)' }).optional(),
  twReuseDelayUs: microseconds.optional(),
  maxTwBuckets: count.optional(),
});
// Every StackConfig setting can be given in a file: this line fails to compile when src/tcp adds
// a setting the schema above does not name. Add it there (and, if Linux has a sysctl for it, to
// src/kernel/kernel-run.ts's sysctl map).
const STACK_KEYS_COMPLETE: Exclude<keyof StackConfig, keyof z.output<typeof stackSchema>> extends never ? true : false = true;
void STACK_KEYS_COMPLETE;

const withExpect = <T extends z.core.$ZodLooseShape>(shape: T) => z.strictObject({ ...shape, expect });

/** One blocking socket call, as src/world/program.ts `Call` spells it, plus `expect`. */
const stepSchema = z.discriminatedUnion('op', [
  withExpect({ op: z.literal('socket'), sock }),
  z.discriminatedUnion('option', [
    withExpect({ op: z.literal('setsockopt'), sock, option: z.literal('SO_REUSEADDR'), value: z.boolean() }),
    withExpect({ op: z.literal('setsockopt'), sock, option: z.literal('SO_LINGER'), onoff: z.boolean(), lingerSec: count }),
    withExpect({ op: z.literal('setsockopt'), sock, option: z.literal('SO_RCVBUF'), value: callBytes }),
    withExpect({ op: z.literal('setsockopt'), sock, option: z.literal('SO_SNDBUF'), value: callBytes }),
  ]),
  withExpect({ op: z.literal('bind'), sock, port, address: z.ipv4({ error: 'expected an IPv4 address such as "0.0.0.0" or "127.0.0.1"' }).optional() }),
  withExpect({ op: z.literal('fcntl'), sock, nonBlocking: z.boolean() }),
  withExpect({ op: z.literal('getsockopt'), sock, option: z.enum(['SO_ERROR', 'SO_REUSEADDR', 'SO_SNDBUF', 'SO_RCVBUF', 'SO_TYPE']) }),
  withExpect({ op: z.literal('read'), sock, bytes: z.int().min(1, { error: 'expected at least 1 byte' }) }),
  withExpect({ op: z.literal('listen'), sock, backlog: count.default(16) }),
  withExpect({ op: z.literal('accept'), sock, as: sock }),
  withExpect({ op: z.literal('connect'), sock, host: hostName, port: positiveBounded('a port number', 65535) }),
  withExpect({ op: z.literal('send'), sock, bytes: callBytes }),
  withExpect({ op: z.literal('recv'), sock, bytes: callBytes }),
  withExpect({ op: z.literal('recv-until-eof'), sock }),
  withExpect({ op: z.literal('shutdown'), sock, how: z.enum(['SHUT_RD', 'SHUT_WR', 'SHUT_RDWR']) }),
  withExpect({ op: z.literal('close'), sock }),
  withExpect({ op: z.literal('sleep'), us: microseconds }),
  withExpect({ op: z.literal('sleep-until'), atUs: microseconds }),
  withExpect({ op: z.literal('crash') }),
  withExpect({ op: z.literal('restart') }),
]);

const hostSchema = z.strictObject({
  name: hostName,
  /** IPv4 address; by default 10.0.0.1, 10.0.0.2, … in order. */
  ip: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}$/, { error: 'expected an IPv4 address like 10.0.0.1' })
    .refine((ip) => ip.split('.').every((o) => Number(o) <= 255), { error: 'expected an IPv4 address like 10.0.0.1' })
    .optional(),
  /** Stack settings for this host, over the scenario's. */
  stack: stackSchema.optional(),
  /** When the host's script starts. */
  startUs: microseconds.optional(),
  script: list(stepSchema, SCENARIO_BOUNDS.stepsPerHost, 'steps').optional(),
});

const monitorNames = describeMonitors().map((m) => m.name) as [string, ...string[]];

const runExpectSchema = z.strictObject({
  segmentsSent: count.optional(),
  rsts: count.optional(),
  retransmissions: count.optional(),
  timeWaitEntries: count.optional(),
  /** Segments dropped for outliving MSL (C10: old duplicates die out). */
  segmentsExpired: count.optional(),
  /** Exactly the hosts on which some connection entered TIME-WAIT (C8, C11, C14, C15). */
  timeWaitHosts: list(hostName, SCENARIO_BOUNDS.hosts, 'hosts').optional(),
  closes: z
    .strictObject({ threeSegment: count.optional(), fourSegment: count.optional(), simultaneous: count.optional(), abort: count.optional() })
    .optional(),
  bytesDelivered: count.optional(),
});

export const scenarioSchema = z
  .strictObject({
    /** What the scenario shows, in a sentence. */
    description: z.string().max(10_000, { error: 'expected a description of at most 10000 characters' }).optional(),
    /** Claim ids (C1–C15) it demonstrates. */
    claims: list(z.string().regex(/^C([1-9]|1[0-5])$/, { error: 'expected a claim id from C1 to C15' }), 15, 'claim ids').optional(),
    /** Seed of every random draw (ISNs, ephemeral ports, link faults). */
    seed: z.int().min(-(2 ** 31)).max(2 ** 31 - 1).default(1),
    stack: stackSchema.optional(),
    /** False lets segments outlive MSL (to show C10's hazard). */
    enforceMsl: z.boolean().default(true),
    /** Random link faults apply only to segments sent before this time. */
    faultsEndUs: microseconds.optional(),
    /** Faults of every link direction not listed in `links` (default: clean, 1 ms delay). */
    defaultLink: z.strictObject(faultsShape).optional(),
    links: list(linkSchema, SCENARIO_BOUNDS.links, 'links').default([]),
    hosts: z.array(hostSchema).min(1, { error: 'expected at least one host' }).max(SCENARIO_BOUNDS.hosts, { error: `expected at most ${SCENARIO_BOUNDS.hosts} hosts` }),
    /** Monitors to leave out (all watch by default). */
    skipMonitors: list(z.enum(monitorNames, { error: `expected a monitor name: ${monitorNames.join(', ')}` }), monitorNames.length, 'monitor names').default([]),
    /** Whole-run expectations, checked after the run like the per-call ones. */
    expect: runExpectSchema.optional(),
    limits: z.strictObject({ maxEvents: positiveBounded('a number of events', SCENARIO_BOUNDS.events).optional(), maxTimeUs: positiveBounded('a number of microseconds', SCENARIO_BOUNDS.timeUs).optional() }).optional(),
  })
  .superRefine((file, ctx) => {
    const names = new Map<string, number>();
    file.hosts.forEach((host, i) => {
      if (names.has(host.name)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'name'], message: `host "${host.name}" is already defined (hosts[${names.get(host.name)}])` });
      else names.set(host.name, i);
    });
    const known = (name: string) => names.has(name);
    const list = [...names.keys()].join(', ');
    file.links.forEach((link, i) => {
      if (!known(link.from)) ctx.addIssue({ code: 'custom', path: ['links', i, 'from'], message: `no host "${link.from}" (hosts: ${list})` });
      if (!known(link.to)) ctx.addIssue({ code: 'custom', path: ['links', i, 'to'], message: `no host "${link.to}" (hosts: ${list})` });
    });
    file.hosts.forEach((host, i) => {
      host.script?.forEach((step, j) => {
        if (step.op === 'connect' && !known(step.host)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'script', j, 'host'], message: `no host "${step.host}" (hosts: ${list})` });
      });
      const stack = { ...file.stack, ...host.stack };
      if (stack.ephemeralPortMin !== undefined && stack.ephemeralPortMax !== undefined && stack.ephemeralPortMin > stack.ephemeralPortMax) {
        ctx.addIssue({ code: 'custom', path: host.stack?.ephemeralPortMin !== undefined ? ['hosts', i, 'stack', 'ephemeralPortMin'] : ['stack', 'ephemeralPortMin'], message: 'expected ephemeralPortMin <= ephemeralPortMax' });
      }
      if (stack.rtoMinUs !== undefined && stack.rtoMaxUs !== undefined && stack.rtoMinUs > stack.rtoMaxUs) {
        ctx.addIssue({ code: 'custom', path: host.stack?.rtoMinUs !== undefined ? ['hosts', i, 'stack', 'rtoMinUs'] : ['stack', 'rtoMinUs'], message: 'expected rtoMinUs <= rtoMaxUs' });
      }
    });
    // The ephemeral range is one setting: given in halves, the other half would be Linux's and
    // could fall on the wrong side of it.
    const stacks: [readonly PropertyKey[], z.output<typeof stackSchema> | undefined][] = [[['stack'], file.stack], ...file.hosts.map((h, i): [readonly PropertyKey[], z.output<typeof stackSchema> | undefined] => [['hosts', i, 'stack'], h.stack])];
    for (const [path, stack] of stacks) {
      if (stack === undefined) continue;
      if ((stack.ephemeralPortMin === undefined) !== (stack.ephemeralPortMax === undefined)) {
        const given = stack.ephemeralPortMin !== undefined ? 'ephemeralPortMin' : 'ephemeralPortMax';
        ctx.addIssue({ code: 'custom', path: [...path, given], message: 'expected ephemeralPortMin and ephemeralPortMax together (the range is one setting)' });
      }
    }
    // Unique addresses, explicit or by default (10.0.0.1, 10.0.0.2, … by position).
    const ips = new Map<string, number>();
    file.hosts.forEach((host, i) => {
      const ip = formatIpv4(host.ip !== undefined ? parseIpv4(host.ip) : hostIp(i));
      const other = ips.get(ip);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['hosts', i, host.ip !== undefined ? 'ip' : 'name'], message: `address ${ip} is already hosts[${other}]'s${host.ip === undefined ? ' (the default address of this position)' : ''}: give each host its own ip` });
      else ips.set(ip, i);
    });
    file.expect?.timeWaitHosts?.forEach((name, i) => {
      if (!known(name)) ctx.addIssue({ code: 'custom', path: ['expect', 'timeWaitHosts', i], message: `no host "${name}" (hosts: ${list})` });
    });
  });

export type ScenarioFile = z.output<typeof scenarioSchema>;

export function parseScenario(json: unknown, subject = 'scenario'): ScenarioFile {
  return parseOrThrow(scenarioSchema, json, subject);
}

// ---------------------------------------------------------------------------------------------
// Running one
// ---------------------------------------------------------------------------------------------

/** A call whose result differs from its expectation, or an expectation about the whole run not met. */
export interface Mismatch {
  readonly host: string | null;
  /** Step index in the host's script, or -1 for a whole-run expectation. */
  readonly step: number;
  readonly what: string;
  readonly expected: string;
  readonly got: string;
}

export interface ScenarioResult {
  readonly scenario: ScenarioFile;
  /** The file's name without directory and extension (`c07-three-way-close`). */
  readonly name: string;
  readonly events: readonly TraceEvent[];
  readonly end: RunEnd;
  readonly stats: RunStats;
  readonly connections: readonly ConnectionStats[];
  readonly coverage: EdgeCoverage;
  readonly violations: readonly Violation[];
  readonly mismatches: readonly Mismatch[];
  /** Calls with an expectation, and how many returned what was expected. */
  readonly expectations: { readonly total: number; readonly met: number };
  readonly context: MonitorContext;
  readonly passed: boolean;
  /** What ended the run: the scheduler's reason, or `memory budget`. */
  readonly stoppedBy: string;
}

export const SCENARIO_DEFAULT_LIMITS = { maxEvents: 1_000_000, maxTimeUs: 24 * 3600 * 1_000_000 };

/**
 * A scenario run records its whole trace (for the text, JSON and pcap output). Memory is
 * budgeted deterministically, by trace events: a run that would record more than the budget
 * allows stops there and fails with "memory budget", rather than being killed for want of
 * memory. 4 KiB per scheduler event is above what the trace events it records cost with
 * full-sized payloads (about 1.2 KiB per trace event measured, payload copy included).
 */
export const SCENARIO_MEMORY_BUDGET_BYTES = 1024 * 1024 * 1024;
export const RECORDED_EVENT_BYTES = 4096;
export const SCENARIO_MEMORY_EVENTS = Math.floor(SCENARIO_MEMORY_BUDGET_BYTES / RECORDED_EVENT_BYTES);

/** What the monitors need to know, derived from the file (MonitorContext). */
export function scenarioMonitorContext(scenario: ScenarioFile): MonitorContext {
  const stack = stackConfig(stackOverrides(scenario.stack));
  const links = [scenario.defaultLink, ...scenario.links].filter((l) => l !== undefined).map((l) => faultsOf(l));
  return {
    mslUs: stack.mslUs,
    expectedTimeWaitUs: 2 * stack.mslUs,
    delayedAckUs: stack.delayedAckUs,
    jiffyUs: stack.jiffyUs,
    finWait2TimeoutUs: stack.finWait2TimeoutUs,
    cleanNetwork: !links.some(isFaulty),
    staleSegmentsImpossible: scenario.enforceMsl && stack.timeWaitUs >= 2 * stack.mslUs,
  };
}

export function runScenario(
  scenario: ScenarioFile,
  options: { readonly name?: string; readonly endpoint?: Endpoint; readonly stackFactory?: StackFactory; readonly profile?: MonitorProfile; /** Events the memory budget allows (tests lower it). */ readonly memoryBudgetEvents?: number } = {},
): ScenarioResult {
  const world = new World({
    seed: scenario.seed,
    stack: stackOverrides(scenario.stack),
    enforceMsl: scenario.enforceMsl,
    ...(scenario.faultsEndUs !== undefined ? { faultsEndUs: scenario.faultsEndUs } : {}),
    ...(scenario.defaultLink !== undefined ? { defaultFaults: faultsOf(scenario.defaultLink) } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.stackFactory !== undefined ? { stackFactory: options.stackFactory } : {}),
  });
  for (const host of scenario.hosts) {
    world.addStack(host.name, {
      ...(host.ip !== undefined ? { ip: parseIpv4(host.ip) } : {}),
      ...(host.stack !== undefined ? { stack: stackOverrides({ ...scenario.stack, ...host.stack }) } : {}),
    });
  }
  for (const link of scenario.links) {
    const faults = faultsOf(link, scenario.defaultLink);
    const from = world.host(link.from).ip;
    const to = world.host(link.to).ip;
    world.fabric.configureLink(from, to, faults);
    if (link.oneWay !== true) world.fabric.configureLink(to, from, faults);
  }
  const context = scenarioMonitorContext(scenario);
  const skip = new Set(scenario.skipMonitors);
  // An external stack is judged by the rfc profile unless told otherwise (src/check/profiles.ts).
  const profile = options.profile ?? (options.stackFactory !== undefined || options.endpoint?.stackFactory !== undefined ? 'rfc' : 'linux');
  const monitors = new MonitorSet(createMonitors(context).filter((m) => !skip.has(m.name) && monitorInProfile(m.name, profile)));
  const stats = new StatsCollector();
  const coverage = new EdgeCoverage();
  const recorder = new TraceRecorder();
  world.addListener(monitors);
  world.addListener(stats);
  world.addListener(coverage);
  world.addListener(recorder);
  const programs: ProgramSpec[] = [];
  const programHosts: string[] = [];
  for (const host of scenario.hosts) {
    if (host.script === undefined || host.script.length === 0) continue;
    programs.push({ host: host.name, startUs: host.startUs ?? 0, steps: host.script.map(toStep) });
    programHosts.push(host.name);
  }
  const asked = { ...SCENARIO_DEFAULT_LIMITS, ...scenario.limits };
  const budgetEvents = options.memoryBudgetEvents ?? SCENARIO_MEMORY_EVENTS;
  const memoryBound = asked.maxEvents > budgetEvents;
  const limits = { ...asked, maxEvents: Math.min(asked.maxEvents, budgetEvents) };
  const run = runPrograms(world, programs, limits);
  const stoppedBy = memoryBound && run.end.stoppedBy === 'event-budget' ? 'memory budget' : run.end.stoppedBy;
  monitors.atEnd({ atUs: run.end.endUs, stoppedBy: run.end.stoppedBy, eventCount: stats.run.events });
  const runStats = stats.finish();
  const connections = [...stats.perConnection.values()];

  const mismatches: Mismatch[] = [];
  let total = 0;
  let met = 0;
  run.programs.forEach((program, p) => {
    const host = programHosts[p]!;
    for (const outcome of program.outcomes) {
      if (outcome.expect === undefined) continue;
      total++;
      if (outcome.result === outcome.expect) met++;
      else mismatches.push({ host, step: outcome.step, what: describeCall(outcome.call), expected: outcome.expect, got: outcome.result });
    }
    if (!program.finished) {
      const blocked = program.blockedAt;
      const steps = program.steps;
      for (let i = blocked; i < steps.length; i++) if (steps[i]!.expect !== undefined) total++;
      mismatches.push({ host, step: blocked, what: describeCall(steps[blocked]!.call), expected: 'the script to run to its end', got: `still blocked when the run ended (${stoppedBy}) at ${run.end.endUs} us` });
    }
  });
  if (stoppedBy === 'memory budget') {
    mismatches.push({ host: null, step: -1, what: 'run', expected: `to end within the memory budget (${budgetEvents} events of ${RECORDED_EVENT_BYTES} bytes, ${Math.round((budgetEvents * RECORDED_EVENT_BYTES) / 2 ** 20)} MiB)`, got: `stopped by the memory budget at ${run.end.endUs} us` });
  }
  mismatches.push(...runExpectationMismatches(scenario, runStats, connections));
  const violations = monitors.violations();
  return {
    scenario,
    name: options.name ?? 'scenario',
    events: recorder.events,
    end: run.end,
    stats: runStats,
    connections,
    coverage,
    violations,
    mismatches,
    expectations: { total: total + runExpectationCount(scenario), met: met + runExpectationCount(scenario) - mismatches.filter((m) => m.step === -1).length },
    context,
    passed: violations.length === 0 && mismatches.length === 0,
    stoppedBy,
  };
}

/** The file name a scenario result is known by: `examples/c07-three-way-close.json` -> `c07-three-way-close`. */
export function scenarioName(path: string): string {
  return basename(path).replace(/\.json$/i, '');
}

function runExpectationCount(scenario: ScenarioFile): number {
  const e = scenario.expect;
  if (e === undefined) return 0;
  let n = 0;
  for (const key of ['segmentsSent', 'rsts', 'retransmissions', 'timeWaitEntries', 'segmentsExpired', 'timeWaitHosts', 'bytesDelivered'] as const) if (e[key] !== undefined) n++;
  if (e.closes !== undefined) n += Object.values(e.closes).filter((v) => v !== undefined).length;
  return n;
}

function runExpectationMismatches(scenario: ScenarioFile, stats: RunStats, connections: readonly ConnectionStats[]): Mismatch[] {
  const e = scenario.expect;
  if (e === undefined) return [];
  const found: Mismatch[] = [];
  const check = (what: string, expected: number | undefined, got: number) => {
    if (expected !== undefined && expected !== got) found.push({ host: null, step: -1, what, expected: String(expected), got: String(got) });
  };
  check('segments sent', e.segmentsSent, stats.segmentsSent);
  check('RSTs sent', e.rsts, stats.rsts);
  check('retransmissions', e.retransmissions, stats.retransmissions);
  check('TIME-WAIT entries', e.timeWaitEntries, stats.timeWaitEntries);
  check('segments expired (older than MSL)', e.segmentsExpired, stats.segmentsExpired);
  check('bytes delivered', e.bytesDelivered, stats.bytesDelivered);
  check('three-segment closes', e.closes?.threeSegment, stats.closesThreeSegment);
  check('four-segment closes', e.closes?.fourSegment, stats.closesFourSegment);
  check('simultaneous closes', e.closes?.simultaneous, stats.closesSimultaneous);
  check('aborts', e.closes?.abort, stats.closesAbort);
  if (e.timeWaitHosts !== undefined) {
    const hosts = scenario.hosts.map((h) => h.name).filter((name) => connections.some((c) => c.host === name && c.timeWaitEntries > 0));
    const expected = [...e.timeWaitHosts].sort();
    const got = [...hosts].sort();
    if (expected.join(',') !== got.join(',')) found.push({ host: null, step: -1, what: 'hosts with TIME-WAIT', expected: expected.length === 0 ? 'none' : expected.join(', '), got: got.length === 0 ? 'none' : got.join(', ') });
  }
  return found;
}

function toStep(step: z.output<typeof stepSchema>): ProgramStep {
  const { expect: expected, ...call } = step;
  return expected === undefined ? { call: call as Call } : { call: call as Call, expect: expected };
}

function stackOverrides(stack: z.output<typeof stackSchema> | undefined): Partial<StackConfig> {
  if (stack === undefined) return {};
  const { isn, ...rest } = stack;
  const overrides: Partial<StackConfig> = { ...rest };
  if (isn !== undefined) return { ...overrides, isn: typeof isn === 'string' ? { kind: isn } : { kind: 'fixed', value: isn.fixed } };
  return overrides;
}

type FileFaults = { [K in keyof typeof faultsShape]?: z.output<(typeof faultsShape)[K]> };

function faultsOf(link: FileFaults, base?: FileFaults): LinkFaults {
  const merged: FileFaults = { ...base, ...link };
  const overrides: Partial<LinkFaults> = {};
  for (const key of Object.keys(faultsShape) as (keyof FileFaults)[]) {
    const value = merged[key];
    if (value !== undefined) (overrides as Record<string, unknown>)[key] = value;
  }
  return linkFaults(overrides);
}
