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
import { ENDPOINTS, endpointByName } from './endpoints.js';
import type { MonitorProfile } from '../check/profiles.js';
import { EXIT, UsageError } from './errors.js';
import { INPUT_LIMIT_BYTES, readUserFile } from './fs.js';
import { OutputSet, writeOutput, type OutputTarget } from './output.js';
import { join } from 'node:path';
import { parseCampaignId, planCampaign } from './campaign.js';
import { resolvePath, type CliIo } from './io.js';
import { replayCommand, replayFooter, replayHeader, replayJson, replayRows, replayRun, type ReplayResult } from './replay.js';
import { writeReplayReport } from './report.js';
import { CONNECTION_COLUMNS, connectionRows, RUN_COLUMNS, runRow, type RunRow } from './rows.js';
import { runScenario, scenarioName, type ScenarioResult } from '../scenario/scenario-file.js';
import { loadScenarioFile } from './fs.js';
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
  lines.push(
    '',
    'External stacks (any language; docs/external-stack.md): timewait run --stack \'CMD ARGS\' (also replay, scenario, packetdrill).',
    '  A stack is a process speaking JSON lines on stdin/stdout; check one with timewait stack-check \'CMD ARGS\'.',
    '  In the repo: node dist/stack/reference-server.js (the reference, out of process);',
    '  native/lwip/build/timewait-lwip (lwIP 2.1.3; make -C native/lwip). External stacks are judged by the rfc monitor profile.',
  );
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

/** The output paths of a replay or scenario, checked before the run (output.ts). */
interface CheckedOutputs {
  readonly out: OutputTarget | null;
  readonly csv: OutputTarget | null;
  readonly connectionsCsv: OutputTarget | null;
  readonly report: OutputTarget | null;
}

function checkOutputs(io: CliIo, options: OutputOptions, inputs: readonly string[]): CheckedOutputs {
  const outputs = new OutputSet();
  for (const input of inputs) outputs.input(resolvePath(io, input), input);
  const csvConnections = options.csv?.replace(/(\.csv)?$/i, '-connections.csv');
  return {
    out: options.out === undefined ? null : outputs.file(resolvePath(io, options.out), '--out', options.out),
    csv: options.csv === undefined ? null : outputs.file(resolvePath(io, options.csv), '--csv', options.csv),
    connectionsCsv: csvConnections === undefined || !options.perConnection ? null : outputs.file(resolvePath(io, csvConnections), '--per-connection', csvConnections),
    report: options.report === undefined ? null : outputs.file(join(outputs.dir(resolvePath(io, options.report), '--report', options.report), 'report.html'), '--report', join(options.report, 'report.html')),
  };
}

/** Write the trace (or the capture) to --out or stdout. */
function emitTrace(io: CliIo, options: OutputOptions, targets: CheckedOutputs, text: () => string, events: readonly TraceEvent[], summary: string): void {
  if (options.format === 'pcap') {
    const ip = options.host === undefined ? undefined : hostIpOf(events, options.host);
    const pcap = tracePcap(events, ip);
    writeOutput(targets.out!, pcap);
    io.stdout.write(`${summary}\n# wrote ${options.out} (${options.host === undefined ? 'wire capture' : `capture of ${options.host}`}, ${pcap.length} bytes)\n`);
    return;
  }
  if (targets.out !== null) {
    writeOutput(targets.out, text());
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

function writeCsvs(targets: CheckedOutputs, run: RunRow, connections: readonly ReturnType<typeof connectionRows>[number][]): void {
  if (targets.csv !== null) writeOutput(targets.csv, toCsv(RUN_COLUMNS, [run]));
  if (targets.connectionsCsv !== null) writeOutput(targets.connectionsCsv, toCsv(CONNECTION_COLUMNS, connections));
}

// ---------------------------------------------------------------------------------------------
// replay
// ---------------------------------------------------------------------------------------------

export type ReplaySource = { readonly from: string } | { readonly suite: string; readonly seed: number; readonly path: string; readonly endpoint: string; readonly profile?: MonitorProfile };

export function replayCommandHandler(source: ReplaySource, options: OutputOptions, io: CliIo): number {
  const targets = checkOutputs(io, options, 'from' in source ? [source.from] : []);
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
  emitTrace(io, options, targets, () => (options.format === 'json' ? replayJson(result) : `${replayHeader(result)}\n${traceText(result.events)}${replayFooter(result)}\n`), result.events, `${replayHeader(result)}\n${replayFooter(result)}`);
  const rows = replayRows(result);
  writeCsvs(targets, rows.run, rows.connections);
  if (targets.report !== null) {
    const command = replayCommand(io.invocation, { suite: result.suite.name, seed: result.seed, path: result.path, endpoint: result.endpoint.name, ...('profile' in source && source.profile !== undefined ? { profile: source.profile } : {}) });
    // On stderr: stdout may be the trace itself.
    io.stderr.write(`wrote ${writeReplayReport(targets.report, result, { generatedBy: `${command} --report ${options.report}`, invocation: io.invocation })}\n`);
  }
  return result.violations.length > 0 ? EXIT.failed : EXIT.ok;
}

// ---------------------------------------------------------------------------------------------
// scenario
// ---------------------------------------------------------------------------------------------

export function scenarioCommandHandler(file: string, options: OutputOptions & { readonly endpoint?: string; readonly profile?: MonitorProfile }, io: CliIo): number {
  const targets = checkOutputs(io, options, [file]);
  const scenario = loadScenarioFile(resolvePath(io, file));
  const endpoint = options.endpoint === undefined ? undefined : endpointByName(options.endpoint);
  const result = runScenario(scenario, { name: scenarioName(file), ...(endpoint !== undefined ? { endpoint } : {}), ...(options.profile !== undefined ? { profile: options.profile } : {}) });
  emitTrace(io, options, targets, () => (options.format === 'json' ? scenarioJson(result) : scenarioText(result)), result.events, `${scenarioHeader(result)}\n${scenarioFooter(result)}`);
  const origin = { suite: `scenario:${result.name}`, endpoint: endpoint?.name ?? 'reference', chunk: '' as const, seed: scenario.seed, path: '' };
  writeCsvs(targets, runRow(origin, result, scenario.hosts.length, null), connectionRows(origin, result.connections));
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
    `result: ${result.passed ? 'pass' : 'FAIL'}; ${result.expectations.met} of ${result.expectations.total} expectations met; ${result.violations.length === 0 ? 'no invariant broken' : `${result.violations.length} invariant${result.violations.length === 1 ? '' : 's'} broken`}; ${result.stats.events} events, run ended by ${result.stoppedBy} at ${result.end.endUs} us`,
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
    stoppedBy: result.stoppedBy,
  };
  return `${JSON.stringify(header)}\n${traceJsonLines(result.events)}${JSON.stringify(footer)}\n`;
}

// ---------------------------------------------------------------------------------------------
// merge
// ---------------------------------------------------------------------------------------------

/**
 * Join the CSV files of a sharded campaign into the file one machine would have written: rows
 * put back in campaign order (suite order, chunk, run), the `shard` column set to `0/1`, field
 * text kept as it was written, so merging the shards of a campaign gives its unsharded file byte
 * for byte. Refused (exit 2, nothing written): files with different columns, rows of different
 * campaigns (seed, --runs, suites: the `campaign` column) or endpoints, a row in two files, a
 * file cut in the middle of a line, and, for the run CSVs, a set that is not the whole campaign
 * (a shard missing, a shard's file short of rows), checked against the campaign planned again.
 */
export function mergeCommand(files: readonly string[], out: string | undefined, io: CliIo): number {
  if (files.length === 0) throw new UsageError('merge needs the CSV files to join');
  const target = out ?? 'reports/campaign.csv';
  const outputs = new OutputSet();
  for (const file of files) outputs.input(resolvePath(io, file), file);
  const outTarget = outputs.file(resolvePath(io, target), '--out', target);
  const runHeader = RUN_COLUMNS.map((c) => c.key).join(',');
  const connectionHeader = CONNECTION_COLUMNS.map((c) => c.key).join(',');
  let header: readonly string[] | null = null;
  const rows: { record: readonly string[]; file: string }[] = [];
  for (const file of files) {
    const text = readUserFile(resolvePath(io, file), 'CSV file', INPUT_LIMIT_BYTES.csv);
    if (!text.endsWith('\n')) throw new UsageError(`CSV file ${file} ends in the middle of a line: it was cut short (a full disk, or a copy that did not finish)`);
    let parsed;
    try {
      parsed = parseCsv(text);
    } catch (error) {
      throw new UsageError(`CSV file ${file} is malformed: ${error instanceof Error ? error.message : String(error)}`);
    }
    const joined = parsed.header.join(',');
    if (joined !== runHeader && joined !== connectionHeader) {
      const old = !parsed.header.includes('campaign') && parsed.header.includes('suite');
      throw new UsageError(`CSV file ${file} does not have the columns of a timewait campaign CSV${old ? ' (it has no campaign and shard columns: written by an older timewait? run the shards again)' : ''} (see docs/cli.md)`);
    }
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

  // One campaign, one endpoint, one shard count, each file one shard.
  let campaign: { id: string; file: string } | null = null;
  let endpointSeen: { name: string; file: string } | null = null;
  let shardCount: { n: number; file: string } | null = null;
  const shardOfFile = new Map<string, number>();
  const fileOfShard = new Map<number, string>();
  for (const row of rows) {
    const id = field(row.record, 'campaign');
    const endpoint = field(row.record, 'endpoint');
    const shard = /^(\d+)\/(\d+)$/.exec(field(row.record, 'shard'));
    if (id === '' || shard === null) throw new UsageError(`CSV file ${row.file} has a row with no campaign or shard (a scenario's or a replay's CSV?): merge joins the shards of one \`timewait run\``);
    if (campaign === null) campaign = { id, file: row.file };
    else if (id !== campaign.id) throw new UsageError(`CSV files ${campaign.file} and ${row.file} are from different campaigns (${campaign.id} and ${id}: seed/runs/suites): merge only the shards of one campaign`);
    if (endpointSeen === null) endpointSeen = { name: endpoint, file: row.file };
    else if (endpoint !== endpointSeen.name) throw new UsageError(`CSV files ${endpointSeen.file} and ${row.file} test different endpoints (${endpointSeen.name} and ${endpoint}): merge only the shards of one campaign`);
    const [index, count] = [Number(shard[1]), Number(shard[2])];
    if (shardCount === null) shardCount = { n: count, file: row.file };
    else if (count !== shardCount.n) throw new UsageError(`CSV files ${shardCount.file} and ${row.file} split the campaign differently (into ${shardCount.n} and ${count} shards)`);
    const known = shardOfFile.get(row.file);
    if (known === undefined) {
      const other = fileOfShard.get(index);
      if (other !== undefined && other !== row.file) throw new UsageError(`shard ${index}/${count} is in both ${other} and ${row.file}: was a shard given twice?`);
      shardOfFile.set(row.file, index);
      fileOfShard.set(index, row.file);
    } else if (known !== index) throw new UsageError(`CSV file ${row.file} holds rows of shards ${known}/${count} and ${index}/${count}: not one shard's file`);
  }
  const seen = new Map<string, string>();
  for (const row of rows) {
    const r = row.record;
    const key = ['suite', 'endpoint', 'seed', 'path', 'conn_id'].map((name) => field(r, name)).join('\u0000');
    const other = seen.get(key);
    if (other !== undefined) throw new UsageError(`the row for suite ${field(r, 'suite')} seed ${field(r, 'seed')} path ${field(r, 'path')} is in both ${other} and ${row.file}: was a shard given twice?`);
    seen.set(key, row.file);
  }
  if (campaign !== null && shardCount !== null) checkWholeCampaign(campaign.id, endpointSeen!.name, shardCount.n, rows, fileOfShard, columns.join(',') === runHeader, field);

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
  // The merged file is the unsharded campaign's file.
  const shardColumn = col('shard');
  const merged = rows.map((r) => r.record.map((value, i) => (i === shardColumn ? '0/1' : value)));
  writeOutput(outTarget, stringify([columns, ...merged] as string[][], { record_delimiter: '\n' }));
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

/**
 * Plan the campaign again from its id and check the files hold all of it: every shard that has
 * runs is there, and (for run CSVs, one row per run) each shard's file has exactly its runs.
 * Connection CSVs have a variable number of rows per run, so only the shards are checked.
 */
function checkWholeCampaign(id: string, endpoint: string, shardCount: number, rows: readonly { record: readonly string[]; file: string }[], fileOfShard: ReadonlyMap<number, string>, runRows: boolean, field: (record: readonly string[], name: string) => string): void {
  const definition = parseCampaignId(id);
  if (definition === null) throw new UsageError(`CSV file ${rows[0]!.file}: campaign "${id}" is not one this timewait knows (its suites or format differ)`);
  const expectedRuns = new Map<string, { shard: number; runs: number }>();
  const runsPerShard = new Array<number>(shardCount).fill(0);
  for (let index = 0; index < shardCount; index++) {
    const plan = planCampaign({ suites: definition.suites, ...(definition.runs !== undefined ? { runs: definition.runs } : {}), ...(definition.runsScale !== undefined ? { runsScale: definition.runsScale } : {}), seed: definition.seed, endpoint, shard: { index, count: shardCount } });
    for (const task of plan.tasks) {
      expectedRuns.set(`${task.suite}\u0000${task.chunk}`, { shard: index, runs: task.numRuns });
      runsPerShard[index]! += task.numRuns;
    }
  }
  for (let index = 0; index < shardCount; index++) {
    if (runsPerShard[index]! > 0 && !fileOfShard.has(index)) throw new UsageError(`shard ${index}/${shardCount} of campaign ${id} is missing (${runsPerShard[index]} runs): give every shard's file`);
  }
  if (!runRows) return;
  const rowsPerShard = new Array<number>(shardCount).fill(0);
  for (const row of rows) {
    const expected = expectedRuns.get(`${field(row.record, 'suite')}\u0000${field(row.record, 'chunk')}`);
    const path = Number(field(row.record, 'path'));
    const shard = Number(field(row.record, 'shard').split('/')[0]);
    if (expected === undefined || expected.shard !== shard || !(path < expected.runs)) throw new UsageError(`CSV file ${row.file}: the row for suite ${field(row.record, 'suite')} chunk ${field(row.record, 'chunk')} path ${field(row.record, 'path')} is not part of campaign ${id} shard ${shard}/${shardCount}`);
    rowsPerShard[shard]!++;
  }
  for (const [index, file] of fileOfShard) {
    if (rowsPerShard[index] !== runsPerShard[index]) throw new UsageError(`CSV file ${file} (shard ${index}/${shardCount}) has ${rowsPerShard[index]} of its ${runsPerShard[index]} runs: cut short, or from an interrupted run`);
  }
}
