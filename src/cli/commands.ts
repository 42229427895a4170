/** The smaller commands: `list`, `replay`, `scenario`, `merge`. `run` is in run.ts. */
import { formatViolation } from '../check/report.js';
import { describeMonitors } from '../check/index.js';
import { MUTANTS } from '../check/mutants.js';
import { scaledRuns, SUITES } from '../suites.js';
import type { RunSpec } from '../scenario/spec.js';
import type { TraceEvent } from '../world/trace.js';
import { canonicalJson, loadCounterexample } from './counterexample.js';
import { stringify } from 'csv-stringify/sync';
import { parseCsv, toCsv } from './csv.js';
import { ENDPOINTS } from './endpoints.js';
import { EXIT, UsageError } from './errors.js';
import { readUserFile, writeFileAtomic } from './fs.js';
import { resolvePath, type CliIo } from './io.js';
import { replayCommand, replayFooter, replayHeader, replayJson, replayRows, replayRun, type ReplayResult } from './replay.js';
import { writeReplayReport } from './report.js';
import { CONNECTION_COLUMNS, connectionRows, RUN_COLUMNS, runRow, type RunRow } from './rows.js';
import { loadScenarioFile, runScenario, scenarioName, type ScenarioResult } from './scenario-file.js';
import { formatSummary, formatVirtualTime, summarize } from './summary.js';
import { commentLines, traceJsonLines, tracePcap, traceText, type TraceFormat } from './trace-output.js';

// ---------------------------------------------------------------------------------------------
// list
// ---------------------------------------------------------------------------------------------

export function listCommand(io: CliIo, runsScale: number | undefined): number {
  const lines: string[] = ['Suites (timewait run [SUITE...]):'];
  const nameWidth = Math.max(...SUITES.map((s) => s.name.length));
  const claimsWidth = Math.max(...SUITES.map((s) => s.claims.join(' ').length));
  for (const suite of SUITES) {
    const runs = scaledRuns(suite.defaultRuns, { TIMEWAIT_RUNS_SCALE: String(runsScale ?? 1) });
    lines.push(`  ${suite.name.padEnd(nameWidth)}  ${suite.claims.join(' ').padEnd(claimsWidth)} ${String(runs).padStart(6)} runs  ${suite.description}`);
  }
  lines.push('', 'Monitors (each watches every run; a violation fails the property):');
  const monitors = describeMonitors();
  const monitorWidth = Math.max(...monitors.map((m) => m.name.length));
  for (const m of monitors) lines.push(`  ${m.name.padEnd(monitorWidth)}  ${m.claims.join(', ').padEnd(22)} ${m.description}`);
  lines.push('', 'Endpoints (timewait run --endpoint NAME; the mutants are broken on purpose):');
  const endpointWidth = Math.max(...ENDPOINTS.map((e) => e.name.length));
  for (const e of ENDPOINTS) {
    const mutant = MUTANTS.find((m) => m.endpoint === e);
    lines.push(`  ${e.name.padEnd(endpointWidth)}  ${e.description}${mutant !== undefined ? ` (caught by ${mutant.caughtBy})` : ''}`);
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

// ---------------------------------------------------------------------------------------------
// Output shared by replay and scenario
// ---------------------------------------------------------------------------------------------

export interface OutputOptions {
  readonly format: TraceFormat;
  readonly out?: string;
  /** For pcap: one host's interface instead of the wire. */
  readonly host?: string;
  readonly csv?: string;
  readonly perConnection: boolean;
  /** replay: also write DIR/report.html (src/report/html.ts). */
  readonly report?: string;
}

/** Write the trace (or the capture) to --out or stdout. */
function emitTrace(io: CliIo, options: OutputOptions, text: () => string, events: readonly TraceEvent[], summary: string): void {
  if (options.format === 'pcap') {
    const ip = options.host === undefined ? undefined : hostIpOf(events, options.host);
    const pcap = tracePcap(events, ip);
    const path = resolvePath(io, options.out!);
    writeFileAtomic(path, pcap);
    io.stdout.write(`${summary}\n# wrote ${options.out} (${options.host === undefined ? 'wire capture' : `capture of ${options.host}`}, ${pcap.length} bytes)\n`);
    return;
  }
  if (options.out !== undefined) {
    writeFileAtomic(resolvePath(io, options.out), text());
    io.stdout.write(`${summary}\n# wrote ${options.out}\n`);
    return;
  }
  io.stdout.write(text());
}

function hostIpOf(events: readonly TraceEvent[], host: string): number {
  const seen = new Set<string>();
  for (const event of events) {
    if (event.type === 'state' || event.type === 'timer' || event.type === 'accepted' || event.type === 'time-wait-restart') {
      if (event.conn.host === host) return event.conn.localIp;
      seen.add(event.conn.host);
    }
  }
  throw new UsageError(`--host ${host}: no connection on a host of that name in this run${seen.size > 0 ? ` (hosts: ${[...seen].join(', ')})` : ''}`);
}

function writeCsvs(io: CliIo, options: OutputOptions, run: RunRow, connections: readonly ReturnType<typeof connectionRows>[number][]): void {
  if (options.csv === undefined) return;
  const path = resolvePath(io, options.csv);
  writeFileAtomic(path, toCsv(RUN_COLUMNS, [run]));
  if (options.perConnection) writeFileAtomic(path.replace(/(\.csv)?$/i, '-connections.csv'), toCsv(CONNECTION_COLUMNS, connections));
}

// ---------------------------------------------------------------------------------------------
// replay
// ---------------------------------------------------------------------------------------------

export type ReplaySource = { readonly from: string } | { readonly suite: string; readonly seed: number; readonly path: string; readonly endpoint: string };

export function replayCommandHandler(source: ReplaySource, options: OutputOptions, io: CliIo): number {
  let result: ReplayResult;
  if ('from' in source) {
    const file = loadCounterexample(resolvePath(io, source.from));
    const fresh = replayRun({ suite: file.suite, seed: file.seed, path: file.path, endpoint: file.endpoint });
    if (canonicalJson(fresh.spec) === canonicalJson(file.spec)) result = fresh;
    else {
      io.stderr.write(`note: ${source.from}: the suite's generator has changed since the file was written; replaying the scenario saved in the file\n`);
      result = replayRun({ suite: file.suite, seed: file.seed, path: file.path, endpoint: file.endpoint }, { spec: file.spec as RunSpec });
    }
  } else {
    result = replayRun(source);
  }
  emitTrace(io, options, () => (options.format === 'json' ? replayJson(result) : `${replayHeader(result)}\n${traceText(result.events)}${replayFooter(result)}\n`), result.events, `${replayHeader(result)}\n${replayFooter(result)}`);
  const rows = replayRows(result);
  writeCsvs(io, options, rows.run, rows.connections);
  if (options.report !== undefined) {
    const command = replayCommand(io.invocation, { suite: result.suite.name, seed: result.seed, path: result.path, endpoint: result.endpoint.name });
    // On stderr: stdout may be the trace itself.
    io.stderr.write(`wrote ${writeReplayReport(resolvePath(io, options.report), result, { generatedBy: `${command} --report ${options.report}`, invocation: io.invocation })}\n`);
  }
  return result.violations.length > 0 ? EXIT.failed : EXIT.ok;
}

// ---------------------------------------------------------------------------------------------
// scenario
// ---------------------------------------------------------------------------------------------

export function scenarioCommandHandler(file: string, options: OutputOptions & { readonly endpoint?: string }, io: CliIo): number {
  const scenario = loadScenarioFile(resolvePath(io, file));
  const endpoint = options.endpoint === undefined ? undefined : ENDPOINTS.find((e) => e.name === options.endpoint);
  const result = runScenario(scenario, { name: scenarioName(file), ...(endpoint !== undefined ? { endpoint } : {}) });
  emitTrace(io, options, () => (options.format === 'json' ? scenarioJson(result) : scenarioText(result)), result.events, `${scenarioHeader(result)}\n${scenarioFooter(result)}`);
  const origin = { suite: `scenario:${result.name}`, endpoint: endpoint?.name ?? 'reference', chunk: '' as const, seed: scenario.seed, path: '' };
  writeCsvs(io, options, runRow(origin, result, scenario.hosts.length, null), connectionRows(origin, result.connections));
  return result.passed ? EXIT.ok : EXIT.failed;
}

export function scenarioText(result: ScenarioResult): string {
  return `${scenarioHeader(result)}\n${traceText(result.events)}${scenarioFooter(result)}\n`;
}

export function scenarioHeader(result: ScenarioResult): string {
  const s = result.scenario;
  const lines = [`scenario ${result.name}${s.description !== undefined ? `: ${s.description}` : ''}`];
  if (s.claims !== undefined && s.claims.length > 0) lines.push(`claims: ${s.claims.join(', ')}`);
  lines.push(`seed ${s.seed}; hosts: ${s.hosts.map((h) => h.name).join(', ')}; ${result.context.cleanNetwork ? 'clean links' : 'faulty links'}; MSL ${formatVirtualTime(result.context.mslUs)}`);
  return commentLines(lines.join('\n'));
}

export function scenarioFooter(result: ScenarioResult): string {
  const lines = [
    `result: ${result.passed ? 'pass' : 'FAIL'}; ${result.expectations.met} of ${result.expectations.total} expectations met; ${result.violations.length === 0 ? 'no invariant broken' : `${result.violations.length} invariant${result.violations.length === 1 ? '' : 's'} broken`}; ${result.stats.events} events, run ended by ${result.end.stoppedBy} at ${result.end.endUs} us`,
  ];
  for (const m of result.mismatches) {
    lines.push(m.step < 0 ? `  expected ${m.what}: ${m.expected}, got ${m.got}` : `  ${m.host} step ${m.step} ${m.what}: expected ${m.expected}, got ${m.got}`);
  }
  for (const v of result.violations) lines.push(`  ${formatViolation(v)}`);
  return commentLines(lines.join('\n'));
}

export function scenarioJson(result: ScenarioResult): string {
  const s = result.scenario;
  const header = { type: 'scenario', name: result.name, description: s.description ?? null, claims: s.claims ?? [], seed: s.seed };
  const footer = {
    type: 'result',
    passed: result.passed,
    expectations: result.expectations,
    mismatches: result.mismatches,
    violations: result.violations,
    events: result.stats.events,
    virtualUs: result.stats.virtualUs,
    stoppedBy: result.end.stoppedBy,
  };
  return `${JSON.stringify(header)}\n${traceJsonLines(result.events)}${JSON.stringify(footer)}\n`;
}

// ---------------------------------------------------------------------------------------------
// merge
// ---------------------------------------------------------------------------------------------

/**
 * Join the CSV files of a sharded campaign into the file one machine would have written: same
 * header required, rows put back in campaign order (suite order, chunk, run), and a
 * row found in two files is an error (the same shard merged twice). Field text is kept as it
 * was written, so merging the shards of a campaign gives its unsharded file byte for byte.
 */
export function mergeCommand(files: readonly string[], out: string | undefined, io: CliIo): number {
  if (files.length === 0) throw new UsageError('merge needs the CSV files to join');
  const runHeader = RUN_COLUMNS.map((c) => c.key).join(',');
  const connectionHeader = CONNECTION_COLUMNS.map((c) => c.key).join(',');
  let header: readonly string[] | null = null;
  const rows: { record: readonly string[]; file: string }[] = [];
  for (const file of files) {
    const text = readUserFile(resolvePath(io, file), 'CSV file');
    let parsed;
    try {
      parsed = parseCsv(text);
    } catch (error) {
      throw new UsageError(`CSV file ${file} is malformed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const joined = parsed.header.join(',');
    if (joined !== runHeader && joined !== connectionHeader) throw new UsageError(`CSV file ${file} does not have the columns of a timewait campaign CSV (see docs/cli.md)`);
    if (header === null) header = parsed.header;
    else if (joined !== header.join(',')) throw new UsageError(`CSV file ${file} has different columns from ${files[0]}: merge campaign files with campaign files, -connections files with -connections files`);
    for (const record of parsed.records) rows.push({ record, file });
  }
  const columns = header!;
  const col = (name: string) => columns.indexOf(name);
  const field = (record: readonly string[], name: string) => (col(name) < 0 ? '' : record[col(name)]!);
  const num = (record: readonly string[], name: string) => {
    const value = Number(field(record, name));
    return Number.isFinite(value) ? value : 0;
  };
  const seen = new Map<string, string>();
  for (const row of rows) {
    const r = row.record;
    const key = ['suite', 'endpoint', 'seed', 'path', 'conn_id'].map((name) => field(r, name)).join('\u0000');
    const other = seen.get(key);
    if (other !== undefined) throw new UsageError(`the row for suite ${field(r, 'suite')} seed ${field(r, 'seed')} path ${field(r, 'path')} is in both ${other} and ${row.file}: was a shard given twice?`);
    seen.set(key, row.file);
  }
  const suiteOrder = (name: string) => {
    const i = SUITES.findIndex((s) => s.name === name);
    return i < 0 ? SUITES.length : i;
  };
  // A stable sort: a run's connection rows, all from one file, keep the order they were written in.
  rows.sort((a, b) => {
    const sa = field(a.record, 'suite');
    const sb = field(b.record, 'suite');
    return suiteOrder(sa) - suiteOrder(sb) || (sa < sb ? -1 : sa > sb ? 1 : 0) || num(a.record, 'chunk') - num(b.record, 'chunk') || num(a.record, 'path') - num(b.record, 'path');
  });
  const target = out ?? 'reports/campaign.csv';
  writeFileAtomic(resolvePath(io, target), stringify([columns, ...rows.map((r) => r.record)] as string[][], { record_delimiter: '\n' }));
  io.stdout.write(`merged ${rows.length} rows from ${files.length} file${files.length === 1 ? '' : 's'} into ${target}\n`);
  if (columns.join(',') !== runHeader) return EXIT.ok;
  const runRows = rows.map((r) => ({
    suite: field(r.record, 'suite'),
    segments_sent: num(r.record, 'segments_sent'),
    virtual_us: num(r.record, 'virtual_us'),
    violations: num(r.record, 'violations'),
    wall_ms: field(r.record, 'wall_ms') === '' ? ('' as const) : num(r.record, 'wall_ms'),
  }));
  io.stdout.write(`\n${formatSummary(summarize(runRows), { elapsedMs: null })}`);
  return runRows.some((r) => r.violations > 0) ? EXIT.failed : EXIT.ok;
}
