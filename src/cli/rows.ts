/**
 * Statistics rows: one per run (the campaign CSV) and, with --per-connection, one per
 * connection. The column lists below are the documentation: docs/cli.md is generated from the
 * same words (see `columnsMarkdown`), so the doc cannot drift from the file.
 */
import type { Violation } from '../check/index.js';
import type { RunOutcome } from '../scenario/execute.js';
import type { ConnectionStats, RunStats } from '../scenario/stats.js';

/** What a run row is made of: a RunOutcome has it all (`figuresOf`), so has a scenario result. */
export interface RunFigures {
  readonly stats: RunStats;
  readonly coverage: { coveredCount(): number };
  readonly violations: readonly Violation[];
}

export function figuresOf(outcome: RunOutcome): RunFigures {
  return { stats: outcome.stats, coverage: outcome.coverage, violations: outcome.failed ? outcome.violations : [] };
}

/** Where a row came from: enough to replay it (`timewait replay --suite S --seed S --path P`). */
export interface RowOrigin {
  /** Suite name, or `scenario:<file>` for a scenario file. */
  readonly suite: string;
  readonly endpoint: string;
  /** Chunk index within the suite ('' outside a campaign). */
  readonly chunk: number | '';
  /** The fast-check seed of the chunk (or the scenario's simulation seed). */
  readonly seed: number;
  /** fast-check path of the run within its chunk: its index ('' for a scenario). */
  readonly path: string;
  /** The campaign (`campaignId`) and shard (`i/n`) the row belongs to; '' outside a campaign. */
  readonly campaign?: string;
  readonly shard?: string;
}

export interface RunRow {
  suite: string;
  endpoint: string;
  chunk: number | '';
  seed: number;
  path: string;
  campaign: string;
  shard: string;
  hosts: number;
  connections: number;
  events: number;
  virtual_us: number;
  segments_sent: number;
  segments_delivered: number;
  segments_lost: number;
  segments_duplicated: number;
  segments_reordered: number;
  segments_expired: number;
  retransmissions: number;
  rsts: number;
  closes_three_segment: number;
  closes_four_segment: number;
  closes_simultaneous: number;
  closes_abort: number;
  time_wait_entries: number;
  time_wait_total_us: number;
  time_wait_overflows: number;
  bytes_delivered: number;
  edges_covered: number;
  violations: number;
  violated: string;
  wall_ms: number | '';
}

export interface ConnectionRow {
  suite: string;
  endpoint: string;
  chunk: number | '';
  seed: number;
  path: string;
  campaign: string;
  shard: string;
  conn_id: number;
  host: string;
  local_port: number;
  remote_port: number;
  incarnation: number;
  passive: boolean;
  segments_sent: number;
  retransmissions: number;
  rsts_sent: number;
  bytes_delivered: number;
  time_wait_entries: number;
  time_wait_us: number;
  final_state: string;
  close_kind: string;
}

export interface Column<R> {
  readonly key: keyof R & string;
  readonly doc: string;
}

const ORIGIN_DOCS = [
  { key: 'suite', doc: 'property suite (`timewait list`), or `scenario:<file>` for a scenario file' },
  { key: 'endpoint', doc: 'TCP implementation run: `reference` or a mutant name' },
  { key: 'chunk', doc: 'chunk of the suite the run belongs to (50 runs per chunk; empty for scenarios)' },
  { key: 'seed', doc: 'fast-check seed of the chunk (for scenarios: the file\'s simulation seed); with `path`, replays the run' },
  { key: 'path', doc: 'fast-check path of the run in its chunk (its index); `timewait replay --suite S --seed SEED --path PATH`' },
  { key: 'campaign', doc: 'the campaign the row belongs to: `SEED/RUNS/SUITES` (RUNS is `--runs` or `xSCALE`); `timewait merge` joins only rows of one campaign (empty for scenarios and replays)' },
  { key: 'shard', doc: 'the shard that wrote the row, `i/n` (`0/1` unsharded, and after `merge`); merge checks that all n are there (empty for scenarios and replays)' },
] as const;

export const RUN_COLUMNS: readonly Column<RunRow>[] = [
  ...ORIGIN_DOCS,
  { key: 'hosts', doc: 'hosts in the run (clients + servers)' },
  { key: 'connections', doc: 'TCP connections created (each end of each incarnation counts once; listeners do not)' },
  { key: 'events', doc: 'trace events (segment fates, state changes, timers, socket calls)' },
  { key: 'virtual_us', doc: 'virtual time the run covered, in microseconds' },
  { key: 'segments_sent', doc: 'segments handed to the network by any host, retransmissions included' },
  { key: 'segments_delivered', doc: 'segments (and network-made copies) delivered' },
  { key: 'segments_lost', doc: 'segments dropped by loss, burst loss, partitions, scripted drops or no route' },
  { key: 'segments_duplicated', doc: 'network-made copies (duplicates and old duplicates)' },
  { key: 'segments_reordered', doc: 'segments given an extra reordering delay' },
  { key: 'segments_expired', doc: 'segments dropped for outliving MSL' },
  { key: 'retransmissions', doc: 'segments the senders marked as retransmissions' },
  { key: 'rsts', doc: 'segments sent with RST' },
  { key: 'closes_three_segment', doc: 'closes that took three segments: FIN, FIN+ACK, ACK (C7)' },
  { key: 'closes_four_segment', doc: 'closes that took four or more segments (C5)' },
  { key: 'closes_simultaneous', doc: 'simultaneous closes (both sides through CLOSING)' },
  { key: 'closes_abort', doc: 'connections ended by RST (SO_LINGER{1,0}, unread data, crash: C14, C15)' },
  { key: 'time_wait_entries', doc: 'times any connection entered TIME-WAIT' },
  { key: 'time_wait_total_us', doc: 'virtual time spent in TIME-WAIT, summed over connections, in microseconds' },
  { key: 'time_wait_overflows', doc: 'closes that skipped TIME-WAIT because tcp_max_tw_buckets were in use (Linux TCPTimeWaitOverflow)' },
  { key: 'bytes_delivered', doc: 'bytes handed to applications by recv' },
  { key: 'edges_covered', doc: 'distinct RFC 9293 state-diagram edges (and reset/abort edges) taken' },
  { key: 'violations', doc: 'invariants broken (0 when every monitor held)' },
  { key: 'violated', doc: 'names of the monitors broken, space-separated' },
  { key: 'wall_ms', doc: 'wall-clock milliseconds the run took (empty with --no-timing; the only column that differs between machines)' },
];

export const CONNECTION_COLUMNS: readonly Column<ConnectionRow>[] = [
  ...ORIGIN_DOCS,
  { key: 'conn_id', doc: 'connection id in the trace (`host#id` in text traces)' },
  { key: 'host', doc: 'host the connection lives on' },
  { key: 'local_port', doc: 'local port' },
  { key: 'remote_port', doc: 'remote port' },
  { key: 'incarnation', doc: 'incarnation of the 4-tuple (1 for the first connection on it)' },
  { key: 'passive', doc: '`true` for the accepting side' },
  { key: 'segments_sent', doc: 'segments this end sent, retransmissions included' },
  { key: 'retransmissions', doc: 'retransmissions this end sent' },
  { key: 'rsts_sent', doc: 'RSTs this end sent' },
  { key: 'bytes_delivered', doc: 'bytes this end\'s application received' },
  { key: 'time_wait_entries', doc: 'times this end entered TIME-WAIT (0 or 1; more if restarted by a new incarnation)' },
  { key: 'time_wait_us', doc: 'virtual microseconds this end spent in TIME-WAIT' },
  { key: 'final_state', doc: 'state when the run ended (CLOSED normally)' },
  { key: 'close_kind', doc: '`three-segment`, `four-segment`, `simultaneous`, `abort` or `other` (did not close normally)' },
];

/**
 * The run row of one outcome. `wallMs` is null when timing is off. Rows are plain literals with
 * the origin written out: a row spread from `{ ...origin }` took V8's slow path (about 400 us a
 * row in a micro-benchmark, 4.7 % of a campaign's profile).
 */
export function runRow(origin: RowOrigin, figures: RunFigures, hosts: number, wallMs: number | null): RunRow {
  const s = figures.stats;
  const violations = figures.violations;
  return {
    suite: origin.suite,
    endpoint: origin.endpoint,
    chunk: origin.chunk,
    seed: origin.seed,
    path: origin.path,
    campaign: origin.campaign ?? '',
    shard: origin.shard ?? '',
    hosts,
    connections: s.connections,
    events: s.events,
    virtual_us: s.virtualUs,
    segments_sent: s.segmentsSent,
    segments_delivered: s.segmentsDelivered,
    segments_lost: s.segmentsLost,
    segments_duplicated: s.segmentsDuplicated,
    segments_reordered: s.segmentsReordered,
    segments_expired: s.segmentsExpired,
    retransmissions: s.retransmissions,
    rsts: s.rsts,
    closes_three_segment: s.closesThreeSegment,
    closes_four_segment: s.closesFourSegment,
    closes_simultaneous: s.closesSimultaneous,
    closes_abort: s.closesAbort,
    time_wait_entries: s.timeWaitEntries,
    time_wait_total_us: s.timeWaitTotalUs,
    time_wait_overflows: s.timeWaitOverflows,
    bytes_delivered: s.bytesDelivered,
    edges_covered: figures.coverage.coveredCount(),
    violations: violations.length,
    violated: violations.map((v) => v.monitor).join(' '),
    wall_ms: wallMs === null ? '' : roundMs(wallMs),
  };
}

/** A run that threw instead of finishing (an assertion inside the stack): a row of zeros. */
export function crashedRunRow(origin: RowOrigin, hosts: number, wallMs: number | null): RunRow {
  return {
    suite: origin.suite,
    endpoint: origin.endpoint,
    chunk: origin.chunk,
    seed: origin.seed,
    path: origin.path,
    campaign: origin.campaign ?? '',
    shard: origin.shard ?? '',
    hosts,
    connections: 0,
    events: 0,
    virtual_us: 0,
    segments_sent: 0,
    segments_delivered: 0,
    segments_lost: 0,
    segments_duplicated: 0,
    segments_reordered: 0,
    segments_expired: 0,
    retransmissions: 0,
    rsts: 0,
    closes_three_segment: 0,
    closes_four_segment: 0,
    closes_simultaneous: 0,
    closes_abort: 0,
    time_wait_entries: 0,
    time_wait_total_us: 0,
    time_wait_overflows: 0,
    bytes_delivered: 0,
    edges_covered: 0,
    violations: 1,
    violated: 'exception',
    wall_ms: wallMs === null ? '' : roundMs(wallMs),
  };
}

export function connectionRows(origin: RowOrigin, connections: readonly ConnectionStats[]): ConnectionRow[] {
  return connections.map((c) => ({
    suite: origin.suite,
    endpoint: origin.endpoint,
    chunk: origin.chunk,
    seed: origin.seed,
    path: origin.path,
    campaign: origin.campaign ?? '',
    shard: origin.shard ?? '',
    conn_id: c.connId,
    host: c.host,
    local_port: c.localPort,
    remote_port: c.remotePort,
    incarnation: c.incarnation,
    passive: c.passive,
    segments_sent: c.segmentsSent,
    retransmissions: c.retransmissions,
    rsts_sent: c.rstsSent,
    bytes_delivered: c.bytesDelivered,
    time_wait_entries: c.timeWaitEntries,
    time_wait_us: c.timeWaitUs,
    final_state: c.finalState,
    close_kind: c.closeKind,
  }));
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The column tables of docs/cli.md. */
export function columnsMarkdown<R>(columns: readonly Column<R>[]): string {
  return ['| column | meaning |', '|---|---|', ...columns.map((c) => `| \`${c.key}\` | ${c.doc} |`)].join('\n');
}
