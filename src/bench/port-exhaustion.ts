/**
 * Port exhaustion by TIME-WAIT, the scale question users ask: one client host opens short
 * connections to one server port (connect, send 1,000 bytes, close), one every millisecond.
 * Each active close leaves its 4-tuple in TIME-WAIT for 2·MSL, and connect() may not reuse a
 * 4-tuple in TIME-WAIT (Linux __inet_hash_connect), so with Linux's 28,232 ephemeral ports
 * (32768–60999) and 2·MSL = 60 s, the ports run out after about 28 s at 1,000 connections/s:
 * connect() fails with EADDRNOTAVAIL until the oldest TIME-WAITs expire, and from then on the
 * client gets only as many connections as TIME-WAIT releases (28,232 per 60 s, ~470/s).
 *
 * The variants show what changes that:
 * - SO_REUSEADDR on the client socket: nothing. It relaxes bind()'s rule (C11–C13), not the
 *   4-tuple check of connect()'s port choice.
 * - SO_LINGER{on,0}: close() aborts with RST and leaves no TIME-WAIT (C14), so ports never run
 *   out — but the abort discards what was not yet acknowledged and the server sees a reset, not
 *   an end-of-file: the hazard TIME-WAIT exists to prevent comes back (C10).
 * - A shorter MSL (TIME-WAIT = 2·MSL): below 28,232 connections per 2·MSL, no exhaustion.
 * - tcp_tw_reuse (Linux tcp_twsk_unique): with 1, connect()'s port search takes a 4-tuple whose
 *   TIME-WAIT used timestamps and is older than tcp_tw_reuse_delay (1 s), so ports run out only
 *   past 28,232 connections per second. Linux's default, 2, does that for loopback only: between
 *   two hosts, as here, it is 0.
 *
 * `npm run bench -- port-exhaustion` prints the table, writes `reports/port-exhaustion.csv`
 * (replaced on each run) and adds one row per variant to `reports/bench.csv`.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import type { Benchmark, Measurement } from './benchmark.js';
import { benchEnvironment } from './csv.js';
import { LifecycleWorkload } from './lifecycle-workload.js';

export const PORT_EXHAUSTION_CSV_PATH = fileURLToPath(new URL('../../reports/port-exhaustion.csv', import.meta.url));

const SECOND_US = 1_000_000;

export interface ExhaustionVariant {
  readonly name: string;
  readonly mslUs: number;
  readonly reuseAddr: boolean;
  readonly lingerZero: boolean;
  /** The client's Linux tcp_tw_reuse (default 2, which between two hosts acts as 0). */
  readonly twReuse?: 0 | 1 | 2;
  /** The client's Linux tcp_tw_reuse_delay (default 1 s). */
  readonly twReuseDelayUs?: number;
}

export interface ExhaustionScenario {
  /** Virtual time between connect() calls. */
  readonly intervalUs: number;
  /** How long the client keeps connecting. */
  readonly durationUs: number;
  /** The client's ephemeral port range (Linux ip_local_port_range). */
  readonly ephemeralPortMin: number;
  readonly ephemeralPortMax: number;
  /** Virtual time between samples of the client's TIME-WAIT count. */
  readonly sampleUs: number;
  readonly seed: number;
}

export interface ExhaustionResult {
  readonly variant: ExhaustionVariant;
  readonly attempts: number;
  readonly connected: number;
  readonly eaddrnotavail: number;
  /** Virtual time of the first failed connect(), or null when none failed. */
  readonly firstFailureUs: number | null;
  /** connect() calls that succeeded before the first failure. */
  readonly connectedBeforeFailure: number;
  /** Most client connections in TIME-WAIT at any sample. */
  readonly peakTimeWait: number;
  /** Connections per second the client still got once ports ran out (from the first failure to the end). */
  readonly connectsPerSecondAfterExhaustion: number | null;
  /** Requests the server received whole, up to end-of-file. */
  readonly serverCompleted: number;
  /** Connections the server saw reset (ECONNRESET) instead of closed. */
  readonly serverResets: number;
}

export const LINUX_SCENARIO: ExhaustionScenario = {
  intervalUs: 1_000,
  durationUs: 90 * SECOND_US,
  ephemeralPortMin: 32768,
  ephemeralPortMax: 60999,
  sampleUs: 100_000,
  seed: 1,
};

export const VARIANTS: readonly ExhaustionVariant[] = [
  { name: 'Linux defaults (MSL 30 s, tcp_tw_reuse 2)', mslUs: 30 * SECOND_US, reuseAddr: false, lingerZero: false },
  { name: 'tcp_tw_reuse 0', mslUs: 30 * SECOND_US, reuseAddr: false, lingerZero: false, twReuse: 0 },
  { name: 'tcp_tw_reuse 1', mslUs: 30 * SECOND_US, reuseAddr: false, lingerZero: false, twReuse: 1 },
  { name: 'SO_REUSEADDR on the client', mslUs: 30 * SECOND_US, reuseAddr: true, lingerZero: false },
  { name: 'SO_LINGER{on,0} on the client', mslUs: 30 * SECOND_US, reuseAddr: false, lingerZero: true },
  { name: 'MSL 15 s (TIME-WAIT 30 s)', mslUs: 15 * SECOND_US, reuseAddr: false, lingerZero: false },
  { name: 'MSL 10 s (TIME-WAIT 20 s)', mslUs: 10 * SECOND_US, reuseAddr: false, lingerZero: false },
];

/** Run one variant of the scenario. Deterministic: a function of the scenario and the variant. */
export function runPortExhaustion(scenario: ExhaustionScenario, variant: ExhaustionVariant): ExhaustionResult {
  const attempts = Math.ceil(scenario.durationUs / scenario.intervalUs);
  const workload = new LifecycleWorkload({
    seed: scenario.seed,
    connections: attempts,
    intervalUs: scenario.intervalUs,
    requestBytes: 1_000,
    lossRate: 0,
    clientHosts: 1,
    stack: { mslUs: variant.mslUs, timeWaitUs: 2 * variant.mslUs },
    clientStack: {
      ephemeralPortMin: scenario.ephemeralPortMin,
      ephemeralPortMax: scenario.ephemeralPortMax,
      ...(variant.twReuse !== undefined ? { twReuse: variant.twReuse } : {}),
      ...(variant.twReuseDelayUs !== undefined ? { twReuseDelayUs: variant.twReuseDelayUs } : {}),
    },
    clientReuseAddr: variant.reuseAddr,
    clientLingerZero: variant.lingerZero,
    keepClosedConnections: false,
  });
  const client = workload.clients[0]!;
  let peakTimeWait = 0;
  for (let atUs = scenario.sampleUs; workload.remaining > 0; atUs += scenario.sampleUs) {
    workload.run(atUs);
    let timeWait = 0;
    for (const tcb of client.liveTcbs()) if (tcb.state === 'TIME-WAIT') timeWait++;
    peakTimeWait = Math.max(peakTimeWait, timeWait);
  }
  // Let every connection finish (TIME-WAIT included), so the server's counts are final.
  workload.run();
  const tally = workload.tally;
  const first = tally.firstFailures[0];
  const firstFailureUs = first === undefined ? null : first.atUs;
  const connectedBeforeFailure = first === undefined ? tally.connectsStarted - tally.connectFailures : first.index;
  const connected = tally.connectsStarted - tally.connectFailures;
  const lastAttemptUs = (attempts - 1) * scenario.intervalUs;
  const afterUs = firstFailureUs === null ? 0 : lastAttemptUs - firstFailureUs;
  return {
    variant,
    attempts: tally.connectsStarted,
    connected,
    eaddrnotavail: tally.connectFailuresByErrno.EADDRNOTAVAIL ?? 0,
    firstFailureUs,
    connectedBeforeFailure,
    peakTimeWait,
    connectsPerSecondAfterExhaustion: firstFailureUs === null || afterUs <= 0 ? null : Math.round(((connected - connectedBeforeFailure) * SECOND_US) / afterUs),
    serverCompleted: tally.serverEofs,
    serverResets: tally.serverErrors,
  };
}

export const portExhaustionBenchmark: Benchmark = {
  name: 'port-exhaustion',
  description: 'one client, one connection per ms to one server port: when TIME-WAIT exhausts 28,232 ephemeral ports, and what SO_REUSEADDR, SO_LINGER{on,0}, a shorter MSL and tcp_tw_reuse 0/1/2 change',
  run(): Measurement[] {
    const results = VARIANTS.map((variant) => runPortExhaustion(LINUX_SCENARIO, variant));
    printTable(results);
    writeCsv(results);
    console.log(`(written to ${PORT_EXHAUSTION_CSV_PATH})`);
    return results.flatMap((r) => [
      { figure: `port exhaustion, ${r.variant.name}: connect() EADDRNOTAVAIL of ${r.attempts} attempts`, value: r.eaddrnotavail, unit: 'failures' },
      ...(r.firstFailureUs !== null ? [{ figure: `port exhaustion, ${r.variant.name}: first EADDRNOTAVAIL`, value: r.firstFailureUs / SECOND_US, unit: 's' }] : []),
    ]);
  },
};

const COLUMNS = [
  'variant',
  'msl_s',
  'time_wait_s',
  'reuse_addr',
  'linger_zero',
  'tw_reuse',
  'attempts',
  'connected',
  'eaddrnotavail',
  'first_failure_s',
  'connected_before_failure',
  'peak_time_wait',
  'connects_per_s_after_exhaustion',
  'server_completed',
  'server_resets',
] as const;

function row(r: ExhaustionResult): (string | number | boolean)[] {
  return [
    r.variant.name,
    r.variant.mslUs / SECOND_US,
    (2 * r.variant.mslUs) / SECOND_US,
    r.variant.reuseAddr,
    r.variant.lingerZero,
    r.variant.twReuse ?? 2,
    r.attempts,
    r.connected,
    r.eaddrnotavail,
    r.firstFailureUs === null ? '' : r.firstFailureUs / SECOND_US,
    r.connectedBeforeFailure,
    r.peakTimeWait,
    r.connectsPerSecondAfterExhaustion ?? '',
    r.serverCompleted,
    r.serverResets,
  ];
}

function writeCsv(results: readonly ExhaustionResult[]): void {
  const environment = benchEnvironment();
  mkdirSync(dirname(PORT_EXHAUSTION_CSV_PATH), { recursive: true });
  const header = ['date', 'node', 'machine', ...COLUMNS];
  const body = results.map((r) => [environment.date, environment.node, environment.machine, ...row(r)]);
  writeFileSync(PORT_EXHAUSTION_CSV_PATH, stringify([header, ...body], { cast: { boolean: (value) => String(value) } }));
}

function printTable(results: readonly ExhaustionResult[]): void {
  const header = ['variant', 'TIME-WAIT', 'connected', 'EADDRNOTAVAIL', 'first failure', 'peak TIME-WAIT', 'conn/s after', 'server EOF', 'server resets'];
  const rows = results.map((r) => [
    r.variant.name,
    `${(2 * r.variant.mslUs) / SECOND_US} s`,
    String(r.connected),
    String(r.eaddrnotavail),
    r.firstFailureUs === null ? 'never' : `${(r.firstFailureUs / SECOND_US).toFixed(3)} s (after ${r.connectedBeforeFailure})`,
    String(r.peakTimeWait),
    r.connectsPerSecondAfterExhaustion === null ? '-' : String(r.connectsPerSecondAfterExhaustion),
    String(r.serverCompleted),
    String(r.serverResets),
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((cells) => cells[column]!.length)));
  console.log(`${LINUX_SCENARIO.intervalUs / 1000} ms between connects for ${LINUX_SCENARIO.durationUs / SECOND_US} s; ports ${LINUX_SCENARIO.ephemeralPortMin}-${LINUX_SCENARIO.ephemeralPortMax}`);
  for (const cells of all) console.log(cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  '));
}
