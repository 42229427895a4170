/**
 * `timewait run`: the property campaign. Retries the stored failing seeds first, runs the
 * suites' chunks (in worker threads with --workers), prints each failure the way STYLE.md asks
 * (invariant and claim, shrunk scenario, trace around the violation, `{ seed, path }`, the
 * replay command), then the summary table, and writes reports/: the CSV, summary.txt, one JSON
 * file per counterexample and the failing-seed store. All files are written atomically.
 *
 * Wall-clock time and randomness for `--seed random` are used here (src/cli only): wall-clock-ok.
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { executeRun } from '../scenario/execute.js';
import type { MonitorProfile } from '../check/profiles.js';
import { SUITES, suiteByName, type Suite } from '../suites.js';
import { describeFailure, planCampaign, runCampaign, specAt, type CampaignResult, type FailureRecord } from './campaign.js';
import { counterexampleJson, counterexamplePath } from './counterexample.js';
import { csvHeader, csvRecords } from './csv.js';
import { endpointByName } from './endpoints.js';
import { EXIT } from './errors.js';
import { checkOutputFile, openOutput, OutputSet, writeOutput, type OutputWriter } from './output.js';
import { resolvePath, type CliIo } from './io.js';
import type { Shard } from './options.js';
import { SEED_MAX, SEED_MIN } from './options.js';
import { replayCommand } from './replay.js';
import { CampaignReportBuilder } from './report.js';
import { CONNECTION_COLUMNS, RUN_COLUMNS } from './rows.js';
import { loadStore, saveStore, updateStore, type StoreEntry } from './store.js';
import { formatSummary } from './summary.js';
import type { RunSpec } from '../scenario/spec.js';

/** Failures shown per suite (the first in full); the rest are counted. */
export const FAILURES_LISTED_PER_SUITE = 3;

export interface RunOptions {
  readonly suites: readonly string[];
  readonly runs?: number;
  readonly runsScale?: number;
  readonly seed: number | 'random';
  readonly endpoint: string;
  /** The monitor profile (src/check/profiles.ts); absent: rfc for an external stack, linux otherwise. */
  readonly profile?: MonitorProfile;
  readonly workers?: number;
  readonly shard?: Shard;
  /** CSV path (default: <reportsDir>/campaign.csv). */
  readonly csv?: string;
  readonly perConnection: boolean;
  readonly reportsDir: string;
  /** Write reports (CSV, summary, counterexamples) — false with --no-reports. */
  readonly reports: boolean;
  /** Use the failing-seed store — false with --no-store. */
  readonly store: boolean;
  /** Measure wall-clock time — false with --no-timing (files then compare byte for byte). */
  readonly timing: boolean;
  /** Also write DIR/report.html (src/report/html.ts). */
  readonly report?: string;
}

export async function runCommand(options: RunOptions, io: CliIo): Promise<number> {
  const out = (text: string) => io.stdout.write(text);
  const suites: Suite[] = options.suites.length === 0 ? [...SUITES] : options.suites.map((name) => suiteByName(name)!);
  const seed = options.seed === 'random' ? randomInt(SEED_MIN, SEED_MAX + 1) : options.seed;
  const endpoint = endpointByName(options.endpoint)!;
  const shardSuffix = options.shard === undefined ? '' : `.shard-${options.shard.index}-of-${options.shard.count}`;

  // 0. Every output path is checked before anything runs: a bad one is exit 2 with nothing written.
  const outputs = new OutputSet();
  const writesReports = options.reports;
  const reportsDir = writesReports ? outputs.dir(resolvePath(io, options.reportsDir), '--reports-dir', options.reportsDir) : resolvePath(io, options.reportsDir);
  const csvShown = options.csv ?? (writesReports ? join(options.reportsDir, `campaign${shardSuffix}.csv`) : null);
  const csvTarget = csvShown === null ? null : outputs.file(resolvePath(io, csvShown), options.csv !== undefined ? '--csv' : '--reports-dir', csvShown);
  const connectionsTarget = csvTarget !== null && options.perConnection ? outputs.file(csvTarget.path.replace(/(\.csv)?$/i, '-connections.csv'), '--per-connection', csvShown!.replace(/(\.csv)?$/i, '-connections.csv')) : null;
  const summaryTarget = writesReports ? outputs.file(join(reportsDir, `summary${shardSuffix}.txt`), '--reports-dir') : null;
  const storePath = join(reportsDir, 'failing-seeds.json');
  // --no-reports writes nothing but --csv: the store is read, never written.
  const storeTarget = options.store && writesReports ? outputs.file(storePath, '--reports-dir') : null;
  const reportTarget = options.report !== undefined ? outputs.file(join(outputs.dir(resolvePath(io, options.report), '--report', options.report), 'report.html'), '--report', join(options.report, 'report.html')) : null;
  // Read (and check) the store before anything is printed: a file that is not a store is bad input;
  // a bad entry in it is reported and skipped.
  const store = options.store ? loadStore(storePath) : { entries: [], skipped: [] };
  for (const line of store.skipped) io.stderr.write(`note: failing-seed store ${relativeTo(io.cwd, storePath)}: ${line}\n`);
  const storeEntries = store.entries;

  const plan = planCampaign({
    suites,
    ...(options.runs !== undefined ? { runs: options.runs } : {}),
    ...(options.runsScale !== undefined ? { runsScale: options.runsScale } : {}),
    seed,
    endpoint: endpoint.name,
    ...(options.shard !== undefined ? { shard: options.shard } : {}),
    // The report plots per-connection figures (TIME-WAIT lengths, segments per connection).
    perConnection: options.perConnection || options.report !== undefined,
    timing: options.timing,
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
  });
  const totalRuns = plan.tasks.reduce((n, t) => n + t.numRuns, 0);
  const allRuns = plan.suites.reduce((n, s) => n + s.runs, 0);
  const reproduce = [io.invocation, 'run', ...(options.suites.length > 0 ? plan.suites.map((s) => s.suite.name) : []), seed < 0 ? `--seed=${seed}` : `--seed ${seed}`];
  if (options.runs !== undefined) reproduce.push('--runs', String(options.runs));
  if (endpoint.name !== 'reference') reproduce.push('--endpoint', endpoint.name);
  if (options.profile !== undefined) reproduce.push('--profile', options.profile);
  out(`timewait run: ${plan.suites.length} suite${plan.suites.length === 1 ? '' : 's'} (${plan.suites.map((s) => `${s.suite.name} ${s.runs}`).join(', ')}), endpoint ${endpoint.name}, seed ${seed}\n`);
  if (options.shard !== undefined) out(`shard ${options.shard.index}/${options.shard.count}: ${plan.tasks.length} chunks, ${totalRuns} of the campaign's ${allRuns} runs\n`);
  out(`this campaign again: ${reproduce.join(' ')}${options.shard !== undefined ? ` --shard ${options.shard.index}/${options.shard.count}` : ''}\n`);

  // 1. The failing-seed store: yesterday's failures first (each once, at most STORE_ENTRIES_PER_KEY per suite).
  let failed = false;
  const retried = storeEntries.filter((e) => e.endpoint === endpoint.name && plan.suites.some((s) => s.suite.name === e.suite));
  const stillFailing: StoreEntry[] = [];
  const unreplayable: StoreEntry[] = [];
  if (retried.length > 0) {
    out(`\nretrying ${retried.length} stored failing seed${retried.length === 1 ? '' : 's'} first (${relativeTo(io.cwd, storePath)}):\n`);
    for (const entry of retried) {
      const suite = suiteByName(entry.suite)!;
      let spec: RunSpec;
      try {
        spec = specAt(suite, entry.seed, entry.path);
      } catch (error) {
        // A path that does not replay is a bad entry: reported and dropped, never fatal.
        unreplayable.push(entry);
        out(`  ${entry.suite} seed ${entry.seed} path ${entry.path}: skipped and dropped from the store (${error instanceof Error ? error.message : String(error)})\n`);
        continue;
      }
      let broken: string[];
      try {
        const outcome = executeRun(spec, { endpoint, ...(options.profile !== undefined ? { profile: options.profile } : {}) });
        broken = outcome.failed ? outcome.violations.map((v) => v.monitor) : [];
      } catch {
        broken = ['exception'];
      }
      const command = replayCommand(io.invocation, { suite: entry.suite, seed: entry.seed, path: entry.path, endpoint: entry.endpoint, ...(options.profile !== undefined ? { profile: options.profile } : {}) });
      if (broken.length > 0) {
        stillFailing.push(entry);
        failed = true;
        const { violations, report } = describeFailure(spec, endpoint, options.profile);
        out(`  ${entry.suite} seed ${entry.seed} path ${entry.path}: still fails (${broken.join(', ')})\n`);
        out(`\n${failureBlock({ suite: entry.suite, endpoint: endpoint.name, campaignSeed: null, chunk: null, seed: entry.seed, path: entry.path, runPath: entry.path.split(':')[0]!, numShrinks: 0, spec, violations, report }, command, null, 'stored failing seed')}\n`);
      } else {
        out(`  ${entry.suite} seed ${entry.seed} path ${entry.path}: passes now; dropped from the store\n`);
      }
    }
  }

  // 2. The campaign. Rows go to the CSV files (temporary until the end) as chunks finish, in
  //    campaign order; the campaign keeps only aggregates, so memory does not grow with --runs.
  out('\n');
  const writers: OutputWriter[] = [];
  const csvWriter = csvTarget === null ? null : openOutput(csvTarget);
  if (csvWriter !== null) writers.push(csvWriter);
  const connectionsWriter = connectionsTarget === null ? null : openOutput(connectionsTarget);
  if (connectionsWriter !== null) writers.push(connectionsWriter);
  const reportBuilder = reportTarget === null ? null : new CampaignReportBuilder({ generatedBy: [...reproduce, '--report', options.report!].join(' '), invocation: io.invocation, endpoint: endpoint.name });
  try {
    csvWriter?.write(csvHeader(RUN_COLUMNS));
    connectionsWriter?.write(csvHeader(CONNECTION_COLUMNS));
    let bar: cliProgress.SingleBar | null = null;
    if (io.stdout.isTTY === true && totalRuns > 0) {
      bar = new cliProgress.SingleBar(
        { format: 'running {bar} {value}/{total} runs | {failures} failed | ETA {eta_formatted}', stream: io.stdout as NodeJS.WritableStream, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(totalRuns, 0, { failures: 0 });
    }
    let failures = 0;
    let result: CampaignResult;
    try {
      result = await runCampaign(plan, {
        ...(options.workers !== undefined ? { workers: options.workers } : {}),
        ...(io.signal !== undefined ? { signal: io.signal } : {}),
        retainRows: false,
        failuresKeptPerSuite: FAILURES_LISTED_PER_SUITE,
        onChunk: (chunk) => {
          if (chunk.failure !== null) failures++;
          bar?.increment(chunk.task.numRuns, { failures });
        },
        onOrderedChunk: (chunk) => {
          csvWriter?.write(csvRecords(RUN_COLUMNS, chunk.rows));
          connectionsWriter?.write(csvRecords(CONNECTION_COLUMNS, chunk.connectionRows));
          reportBuilder?.addChunk(chunk);
        },
      });
    } finally {
      bar?.stop();
    }

    // 3. Failures, in campaign order: the first of each suite in full, the next few in a line
    //    each, then a count (every one is in the CSV, its chunk replayable). The ones listed are
    //    saved and go to the store.
    const written: string[] = [];
    const counterexampleFiles: string[] = [];
    const listed: FailureRecord[] = [];
    const bySuite = new Map<string, FailureRecord[]>();
    for (const failure of result.failures) bySuite.set(failure.suite, [...(bySuite.get(failure.suite) ?? []), failure]);
    for (const [suite, failures] of bySuite) {
      failed = true;
      failures.slice(0, FAILURES_LISTED_PER_SUITE).forEach((failure, n) => {
        listed.push(failure);
        const command = replayCommand(io.invocation, { ...failure, ...(options.profile !== undefined ? { profile: options.profile } : {}) });
        let saved: string | null = null;
        if (writesReports) {
          saved = counterexamplePath(reportsDir, failure);
          writeOutput(checkOutputFile(saved, '--reports-dir'), counterexampleJson(failure, command));
          counterexampleFiles.push(saved);
        }
        if (n === 0) {
          out(`${failureBlock(failure, command, saved === null ? null : relativeTo(io.cwd, saved), `chunk ${failure.chunk}, run ${failure.runPath}`)}\n`);
        } else {
          const v = failure.violations[0];
          out(`also failed in ${suite} (chunk ${failure.chunk}, run ${failure.runPath}): ${v === undefined ? 'see the file' : `${v.monitor} (${v.claims.join(', ')})`}\n  replay: ${command}\n`);
        }
      });
      const more = (result.failureCounts.get(suite) ?? failures.length) - Math.min(failures.length, FAILURES_LISTED_PER_SUITE);
      if (more > 0) out(`… and ${more} more failure${more === 1 ? '' : 's'} in ${suite} (the CSV rows with violations > 0)\n`);
      out('\n');
    }

    // 4. Reports, then the summary.
    const summaryText = formatSummary(result.summaries, { elapsedMs: options.timing ? result.elapsedMs : null, workers: result.workers });
    const missing = result.coverage.missingDiagramEdges();
    const coverageLine = `state-diagram edges taken: ${result.coverage.coveredCount()} distinct${missing.length > 0 ? `; never taken: ${missing.join(', ')}` : '; every edge of RFC 9293 Figure 5'}\n`;
    const interruptedLine = result.interrupted ? `interrupted: ${result.chunksFinished} of ${plan.tasks.length} chunks finished; the files hold those\n` : '';
    if (csvWriter !== null) {
      csvWriter.commit();
      written.push(csvWriter.target.shown);
    }
    if (connectionsWriter !== null) {
      connectionsWriter.commit();
      written.push(connectionsWriter.target.shown);
    }
    if (summaryTarget !== null) {
      writeOutput(summaryTarget, `${reproduce.join(' ')}\n\n${summaryText}${coverageLine}${interruptedLine}`);
      written.push(summaryTarget.path);
    }
    if (reportTarget !== null) {
      writeOutput(reportTarget, reportBuilder!.html(result));
      written.push(reportTarget.path);
    }
    if (storeTarget !== null) {
      const found = listed.map((f) => storeEntry(f));
      const updated = updateStore(storeEntries, [...retried], stillFailing, found);
      if (JSON.stringify(updated) !== JSON.stringify(storeEntries) || found.length > 0 || store.skipped.length > 0 || unreplayable.length > 0) {
        saveStore(storeTarget, updated);
        written.push(storePath);
      }
    }

    out(summaryText);
    out(coverageLine);
    if (interruptedLine !== '') out(interruptedLine);
    if (counterexampleFiles.length > 0) written.push(`${counterexampleFiles.length} counterexample file${counterexampleFiles.length === 1 ? '' : 's'} (${relativeTo(io.cwd, reportsDir)}/counterexample-*.json)`);
    if (written.length > 0) out(`wrote ${written.map((p) => relativeTo(io.cwd, p)).join(', ')}\n`);
    // Interrupted, the campaign is not whole: the signal's exit code says so, whatever was found.
    if (result.interrupted) return interruptedExit(io.signal);
    if (failed) return EXIT.failed;
    return EXIT.ok;
  } finally {
    for (const writer of writers) writer.abandon();
  }
}

/** 143 after SIGTERM, 130 after Ctrl-C (and any other abort). */
export function interruptedExit(signal: AbortSignal | undefined): number {
  return signal?.reason === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
}

function storeEntry(failure: FailureRecord): StoreEntry {
  return { suite: failure.suite, endpoint: failure.endpoint, seed: failure.seed, path: failure.path, monitor: failure.violations[0]?.monitor ?? 'unknown' };
}

/**
 * One failure in full, in STYLE.md's order: the invariant and claim broken, the shrunk scenario
 * in words, the trace around the violation (the report from src/check), then `{ seed, path }`
 * and the replay command, then where the counterexample was saved.
 */
export function failureBlock(failure: FailureRecord, command: string, savedPath: string | null, where: string): string {
  const title = `FAIL ${failure.suite} against ${failure.endpoint} (${where}${failure.numShrinks > 0 ? `, shrunk ${failure.numShrinks} times` : ''})`;
  const lines = [title, '='.repeat(Math.min(title.length, 100)), failure.report, '', `{ seed: ${failure.seed}, path: "${failure.path}" }`, `replay: ${command}`];
  if (savedPath !== null) lines.push(`saved: ${savedPath}`);
  return `${lines.join('\n')}\n`;
}

function relativeTo(cwd: string, path: string): string {
  return path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path;
}

