/**
 * `--report DIR` for `run` and `replay`: the campaign, or the one replayed run, as the
 * self-contained page DIR/report.html (src/report/html.ts). Bridges the campaign's numbers
 * (its CSV rows and per-chunk edge counts; outcomes stay in the worker threads) to the
 * report's `ReportCollector`, and re-runs each shown failure with its trace recorded for the
 * ladder diagram.
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { ReportCollector } from '../report/campaign-report.js';
import { renderHtmlReport } from '../report/html.js';
import type { RunRow as ReportRunRow } from '../report/html.js';
import type { RunSpec } from '../scenario/spec.js';
import { suiteArbitrary, suiteByName } from '../suites.js';
import type { CampaignResult, ChunkResult } from './campaign.js';
import { checkOutputDir, checkOutputFile, writeOutput, type OutputTarget } from './output.js';
import { replayCommand, replayRun, type ReplayResult } from './replay.js';
import type { ConnectionRow, RunRow } from './rows.js';

/** Failures drawn per suite (as many as `run` prints in full or in a line); the rest are counted in the summary. */
export const REPORT_FAILURES_PER_SUITE = 3;

export interface ReportOptions {
  /** The command line as typed, shown at the top of the page. */
  readonly generatedBy: string;
  /** `timewait`, or `node dist/cli.js`: the prefix of replay commands. */
  readonly invocation: string;
  readonly endpoint: string;
}

/**
 * The campaign's report, built chunk by chunk as the campaign streams them (`addChunk`, in
 * campaign order), so the campaign itself need not keep its rows. Needs the per-connection rows
 * (plan the campaign with `perConnection: true`) for the TIME-WAIT and segments-per-connection plots.
 */
export class CampaignReportBuilder {
  private readonly collector: ReportCollector;

  constructor(private readonly options: ReportOptions) {
    this.collector = new ReportCollector({ title: 'timewait run', generatedBy: options.generatedBy, ...(options.endpoint !== 'reference' ? { endpoint: options.endpoint } : {}) });
  }

  addChunk(chunk: ChunkResult): void {
    const connectionsOf = new Map<string, ConnectionRow[]>();
    for (const c of chunk.connectionRows) {
      const list = connectionsOf.get(c.path);
      if (list === undefined) connectionsOf.set(c.path, [c]);
      else list.push(c);
    }
    // The chunk's runs again, without running them: run k of a chunk is fast-check's k-th value
    // for the chunk's seed (what `replay --path k` uses), which gives each run's MSL and loss rate.
    const suite = suiteByName(chunk.task.suite);
    const specs: readonly RunSpec[] = suite === undefined || chunk.rows.length === 0 ? [] : fc.sample(suiteArbitrary(suite), { seed: chunk.task.seed, numRuns: chunk.rows.length });
    for (const row of chunk.rows) this.collector.addRunRow(reportRow(row, connectionsOf.get(row.path) ?? [], specs[Number(row.path)]));
    this.collector.addCoverage(chunk.task.suite, chunk.coverage);
  }

  /** The page, with the campaign's (kept) failures drawn. */
  html(result: Pick<CampaignResult, 'failures'>): string {
    const shown = new Map<string, number>();
    for (const failure of result.failures) {
      const n = shown.get(failure.suite) ?? 0;
      if (n >= REPORT_FAILURES_PER_SUITE) continue;
      let replayed: ReplayResult;
      try {
        replayed = replayRun({ suite: failure.suite, seed: failure.seed, path: failure.path, endpoint: failure.endpoint }, { spec: failure.spec });
      } catch {
        continue; // An exception inside the stack: no trace to draw; the summary still counts the run.
      }
      if (!replayed.outcome.failed) continue;
      shown.set(failure.suite, n + 1);
      this.collector.addFailure({
        suite: failure.suite,
        seed: failure.seed,
        path: failure.path,
        outcome: replayed.outcome,
        ...(failure.endpoint !== 'reference' ? { endpoint: failure.endpoint } : {}),
        replayCommand: replayCommand(this.options.invocation, failure),
      });
    }
    return renderHtmlReport(this.collector.build());
  }
}

/** The report of a campaign whose rows were kept (library use): DIR/report.html. Returns the file. */
export function writeCampaignReport(dir: string, result: CampaignResult, options: ReportOptions): string {
  const builder = new CampaignReportBuilder(options);
  for (const chunk of result.chunks) builder.addChunk(chunk);
  return writeReportPage(dir, builder.html(result));
}

/** DIR/report.html through the CLI's output rules (output.ts). */
export function writeReportPage(dir: string, html: string, role = '--report'): string {
  const target = checkOutputFile(join(checkOutputDir(dir, role), 'report.html'), role);
  writeOutput(target, html);
  return target.path;
}

/** One replayed run's report: its numbers, and its ladder when it failed. */
export function writeReplayReport(where: string | OutputTarget, result: ReplayResult, options: Omit<ReportOptions, 'endpoint'>): string {
  const target = typeof where === 'string' ? checkOutputFile(join(checkOutputDir(where, '--report'), 'report.html'), '--report') : where;
  const endpoint = result.endpoint.name;
  const collector = new ReportCollector({ title: `timewait replay: ${result.suite.name} seed ${result.seed} path ${result.path}`, generatedBy: options.generatedBy, ...(endpoint !== 'reference' ? { endpoint } : {}) });
  collector.addRun(result.suite.name, result.outcome);
  if (result.outcome.failed) {
    collector.addFailure({
      suite: result.suite.name,
      seed: result.seed,
      path: result.path,
      outcome: result.outcome,
      ...(endpoint !== 'reference' ? { endpoint } : {}),
      replayCommand: replayCommand(options.invocation, { suite: result.suite.name, seed: result.seed, path: result.path, endpoint }),
    });
  }
  writeOutput(target, renderHtmlReport(collector.build()));
  return target.path;
}

function reportRow(row: RunRow, connections: readonly ConnectionRow[], spec: RunSpec | undefined): ReportRunRow {
  return {
    suite: row.suite,
    seed: row.seed,
    failed: row.violations > 0,
    ...(spec !== undefined ? { mslUs: spec.mslUs, lossPermille: spec.faults.lossPermille } : {}),
    lossRate: row.segments_sent > 0 ? row.segments_lost / row.segments_sent : 0,
    connections: row.connections,
    segmentsSent: row.segments_sent,
    segmentsLost: row.segments_lost,
    retransmissions: row.retransmissions,
    closes: { threeSegment: row.closes_three_segment, fourSegment: row.closes_four_segment, simultaneous: row.closes_simultaneous, abort: row.closes_abort },
    timeWaitEntries: row.time_wait_entries,
    // A connection still in TIME-WAIT when the run stopped has no length yet.
    timeWaitUs: connections.filter((c) => c.time_wait_entries > 0 && c.final_state !== 'TIME-WAIT').map((c) => c.time_wait_us),
    segmentsPerConnection: connections.map((c) => c.segments_sent),
  };
}
