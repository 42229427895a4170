/**
 * The campaign report as one self-contained HTML file: the summary table; per failure its
 * replay command, shrunk scenario and ladder diagram with the violation marked; plots of the
 * campaign (close kinds, TIME-WAIT durations, retransmissions against loss, segments per
 * connection); and RFC 9293's state diagram with each edge's count.
 *
 * Everything is inline and static: CSS in a `<style>`, every figure an inline `<svg>`, no
 * script, no font, no link out (a Content-Security-Policy forbids any), so the file opens
 * offline, in a mail attachment or a CI artefact. `renderHtmlReport` is pure: the same data
 * gives the same bytes (no clock unless `generatedAt` is passed in).
 *
 * `campaign-report.ts` builds `ReportData` from a campaign's `RunOutcome`s and writes the file.
 */
import { DIAGRAM_EDGES, EXTRA_EDGES, type Edge } from '../tcp/state.js';
import type { TraceEvent } from '../world/trace.js';
import { esc, formatDuration, ladderSvg, type ViolationMarker } from './ladder.js';
import { PALETTE, histogramSvg, scatterSvg, stackedBarsSvg, type Group } from './plots.js';
import { DRAWN_EDGES, EDGE_EVENTS, stateDiagramSvg } from './state-diagram.js';

export interface ReportData {
  readonly title: string;
  /** The command line that made the report, shown at the top. */
  readonly generatedBy: string;
  /** Printed as given; leave it out for byte-identical reports of identical campaigns. */
  readonly generatedAt?: string;
  /** The endpoint under test, when not the reference one. */
  readonly endpoint?: string;
  /** One row per suite, in the order they ran. */
  readonly summary: readonly SummaryRow[];
  /** One row per run, feeding the plots. */
  readonly runs: readonly RunRow[];
  /** How often each edge was taken over the whole campaign (every edge of Figure 5 listed, zeros too). */
  readonly coverage: readonly EdgeCount[];
  readonly failures: readonly FailureReport[];
}

export interface CloseCounts {
  readonly threeSegment: number;
  readonly fourSegment: number;
  readonly simultaneous: number;
  readonly abort: number;
}

export interface SummaryRow {
  readonly suite: string;
  readonly claims: readonly string[];
  readonly description: string;
  readonly runs: number;
  readonly failedRuns: number;
  readonly connections: number;
  readonly segmentsSent: number;
  readonly segmentsLost: number;
  readonly retransmissions: number;
  readonly closes: CloseCounts;
  readonly timeWaitEntries: number;
  /** Edges of Figure 5 this suite's runs took at least once. */
  readonly diagramEdgesCovered: number;
}

export interface RunRow {
  readonly suite: string;
  /** The run's simulation seed. */
  readonly seed: number;
  readonly failed: boolean;
  /** The run's MSL, when known: the TIME-WAIT plot draws a line at each 2·MSL. */
  readonly mslUs?: number;
  /** The link loss rate the run was generated with, per mille (bursts and partitions come on top), when known. */
  readonly lossPermille?: number;
  /** Segments the network lost (drops other than MSL expiry) over segments sent, in [0, 1]. */
  readonly lossRate: number;
  readonly connections: number;
  readonly segmentsSent: number;
  readonly segmentsLost: number;
  readonly retransmissions: number;
  readonly closes: CloseCounts;
  readonly timeWaitEntries: number;
  /** Per connection that left TIME-WAIT: how long it spent there. */
  readonly timeWaitUs: readonly number[];
  /** Segments each connection sent. */
  readonly segmentsPerConnection: readonly number[];
}

export interface EdgeCount {
  readonly edge: Edge;
  readonly count: number;
}

export interface FailureReport {
  readonly suite: string;
  /** The endpoint that failed, when not the reference one. */
  readonly endpoint?: string;
  /** One line per violation (`formatViolation`); the first is the one marked on the ladder. */
  readonly violations: readonly string[];
  /** Where the ladder's red band goes. */
  readonly marker: ViolationMarker;
  /** The shrunk scenario in words (`describeRunSpec`). */
  readonly scenario: string;
  /** fast-check's seed and path of the shrunk counterexample. */
  readonly seed: number;
  readonly path: string;
  readonly replayCommand: string;
  /** The failing run's trace (run again with `record: true`). */
  readonly events: readonly TraceEvent[];
  /** The trace lines up to the violation (`traceAround`). */
  readonly traceExcerpt?: string;
}

/** A ladder never draws more events than this; the rest of a long trace is cut (and said so). */
export const LADDER_MAX_EVENTS = 4_000;
/** How many events after the violation the ladder still shows. */
const LADDER_EVENTS_AFTER = 150;

export function renderHtmlReport(data: ReportData): string {
  const groups = suiteGroups(data);
  const failed = data.failures.length > 0 || data.summary.some((row) => row.failedRuns > 0);
  const out: string[] = [];
  out.push(
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing may load from anywhere: the report is whole as it is.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="timewait">`,
    `<title>${esc(data.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${esc(data.title)}</h1>`,
    `<p class="verdict ${failed ? 'failed' : 'passed'}">${failed ? `${data.failures.length} failure${data.failures.length === 1 ? '' : 's'}` : 'All runs passed'}; ${data.runs.length} run${data.runs.length === 1 ? '' : 's'}${data.endpoint !== undefined ? `; endpoint ${esc(data.endpoint)}` : ''}</p>`,
    `<p class="generated-by">Generated by <code>${esc(data.generatedBy)}</code>${data.generatedAt !== undefined ? ` at ${esc(data.generatedAt)}` : ''}</p>`,
    '<nav><a href="#summary">Summary</a> · <a href="#failures">Failures</a> · <a href="#campaign">Campaign plots</a> · <a href="#coverage">State-diagram coverage</a></nav>',
    '</header>',
    '<main>',
  );
  out.push(summarySection(data));
  out.push(failuresSection(data));
  out.push(campaignSection(data, groups));
  out.push(coverageSection(data));
  out.push('</main>', '</body>', '</html>', '');
  return out.join('\n');
}

// -----------------------------------------------------------------------------------------
// Sections
// -----------------------------------------------------------------------------------------

function summarySection(data: ReportData): string {
  const out: string[] = ['<section id="summary">', '<h2>Summary</h2>'];
  if (data.summary.length === 0) {
    out.push('<p class="empty">No suites ran.</p>', '</section>');
    return out.join('\n');
  }
  out.push(
    '<table class="summary">',
    '<thead><tr><th rowspan="2">Suite</th><th rowspan="2">Claims</th><th rowspan="2">Runs</th><th rowspan="2">Failed</th><th rowspan="2">Conns</th><th rowspan="2">Segments</th><th rowspan="2">Lost</th><th rowspan="2">Retx</th><th colspan="4">Closes</th><th rowspan="2">TIME-WAIT</th><th rowspan="2">Fig. 5 edges</th></tr>',
    '<tr><th>3-seg</th><th>4-seg</th><th>simult.</th><th>abort</th></tr></thead>',
    '<tbody>',
  );
  for (const row of data.summary) out.push(summaryRow(row, false));
  out.push('</tbody>');
  if (data.summary.length > 1) {
    const sum = (pick: (row: SummaryRow) => number): number => data.summary.reduce((total, row) => total + pick(row), 0);
    const covered = data.coverage.filter((c) => (DIAGRAM_EDGES as readonly string[]).includes(c.edge) && c.count > 0).length;
    const total: SummaryRow = {
      suite: 'all',
      claims: [],
      description: 'every suite together',
      runs: sum((r) => r.runs),
      failedRuns: sum((r) => r.failedRuns),
      connections: sum((r) => r.connections),
      segmentsSent: sum((r) => r.segmentsSent),
      segmentsLost: sum((r) => r.segmentsLost),
      retransmissions: sum((r) => r.retransmissions),
      closes: {
        threeSegment: sum((r) => r.closes.threeSegment),
        fourSegment: sum((r) => r.closes.fourSegment),
        simultaneous: sum((r) => r.closes.simultaneous),
        abort: sum((r) => r.closes.abort),
      },
      timeWaitEntries: sum((r) => r.timeWaitEntries),
      diagramEdgesCovered: covered,
    };
    out.push(`<tfoot>${summaryRow(total, true)}</tfoot>`);
  }
  out.push('</table>', '</section>');
  return out.join('\n');
}

function summaryRow(row: SummaryRow, total: boolean): string {
  const cells = [
    `<th scope="row" title="${esc(row.description)}">${esc(row.suite)}</th>`,
    `<td>${esc(row.claims.join(', '))}</td>`,
    num(row.runs),
    `<td class="num${row.failedRuns > 0 ? ' bad' : ''}">${row.failedRuns}</td>`,
    num(row.connections),
    num(row.segmentsSent),
    num(row.segmentsLost),
    num(row.retransmissions),
    num(row.closes.threeSegment),
    num(row.closes.fourSegment),
    num(row.closes.simultaneous),
    num(row.closes.abort),
    num(row.timeWaitEntries),
    `<td class="num">${row.diagramEdgesCovered}/${DIAGRAM_EDGES.length}</td>`,
  ];
  return `<tr class="${total ? 'total' : row.failedRuns > 0 ? 'failed' : 'passed'}">${cells.join('')}</tr>`;
}

function failuresSection(data: ReportData): string {
  const out: string[] = ['<section id="failures">', `<h2>Failures (${data.failures.length})</h2>`];
  if (data.failures.length === 0) out.push('<p class="empty">No monitor was violated.</p>');
  data.failures.forEach((failure, i) => out.push(failureArticle(failure, i + 1)));
  out.push('</section>');
  return out.join('\n');
}

function failureArticle(failure: FailureReport, number: number): string {
  const id = `failure-${number}`;
  const { events, cut } = ladderEvents(failure.events, failure.marker.atUs);
  const out: string[] = [
    `<article class="failure" id="${id}">`,
    `<h3>Failure ${number}: ${esc(failure.suite)}${failure.endpoint !== undefined ? ` (endpoint ${esc(failure.endpoint)})` : ''}</h3>`,
    `<pre class="violation">${failure.violations.map((line, i) => esc(`${i === 0 ? 'Invariant broken' : 'Also broken'}: ${line}`)).join('\n')}</pre>`,
    '<h4>Replay</h4>',
    `<p class="seed-path"><code>${esc(`{ seed: ${failure.seed}, path: "${failure.path}" }`)}</code></p>`,
    `<pre class="replay"><code>${esc(failure.replayCommand)}</code></pre>`,
    '<h4>Shrunk scenario</h4>',
    `<pre class="scenario">${esc(failure.scenario)}</pre>`,
    '<h4>Ladder diagram</h4>',
    `<p class="caption">Time goes down; the red band is where the check failed (${esc(formatTimeS(failure.marker.atUs))}). Hover an arrow for the full segment.${cut > 0 ? ` The trace is cut after ${events.length} of ${events.length + cut} events.` : ''}</p>`,
    `<div class="ladder-wrap">${inlineLadder(events, failure, id)}</div>`,
  ];
  if (failure.traceExcerpt !== undefined) {
    out.push(`<details><summary>Trace up to the violation</summary><pre class="trace">${esc(failure.traceExcerpt)}</pre></details>`);
  }
  out.push('</article>');
  return out.join('\n');
}

function campaignSection(data: ReportData, groups: readonly Group[]): string {
  const groupOf = new Map(groups.map((g, i) => [g.name, i]));
  const gi = (suite: string): number => groupOf.get(suite) ?? 0;
  const runs = data.runs;
  const out: string[] = ['<section id="campaign">', '<h2>Campaign plots</h2>'];
  out.push(`<p class="legend">${groups.map((g) => `<span class="chip" style="background:${g.color}"></span>${esc(g.name)}`).join(' ')}</p>`);
  out.push('<div class="plots">');

  const kinds = ['3-segment', '4-segment', 'simultaneous', 'abort'] as const;
  const closeValues = groups.map((g) => {
    const mine = runs.filter((r) => r.suite === g.name);
    const sum = (pick: (c: CloseCounts) => number): number => mine.reduce((total, r) => total + pick(r.closes), 0);
    return [sum((c) => c.threeSegment), sum((c) => c.fourSegment), sum((c) => c.simultaneous), sum((c) => c.abort)];
  });
  out.push(
    figure(
      stackedBarsSvg({ id: 'plot-close-kinds', title: 'Close kinds', xLabel: 'how each connection closed', yLabel: 'connections', categories: kinds, groups, values: closeValues }),
      'Each close counted once: three segments (C7, FIN+ACK), four (C5), simultaneous (FINs crossed) or abort (RST, C14/C15).',
    ),
  );

  const msls = [...new Set(runs.flatMap((r) => (r.mslUs === undefined ? [] : [r.mslUs])))].sort((a, b) => a - b);
  out.push(
    figure(
      histogramSvg({
        id: 'plot-time-wait',
        title: 'TIME-WAIT durations',
        xLabel: 'time spent in TIME-WAIT (s)',
        yLabel: 'connections',
        unit: 's',
        groups,
        values: runs.flatMap((r) => r.timeWaitUs.map((us) => ({ value: us / 1e6, group: gi(r.suite) }))),
        references: msls.map((us) => ({ x: (2 * us) / 1e6, label: `2·MSL = ${formatDuration(2 * us)}` })),
      }),
      'Per connection that left TIME-WAIT (C8): bars on a dashed 2·MSL line held it exactly; longer ones were restarted by a retransmitted FIN (C9), shorter ones ended early (an RST with RFC 1337 off).',
    ),
  );

  out.push(
    figure(
      scatterSvg({
        id: 'plot-retransmissions',
        title: 'Retransmissions against loss',
        xLabel: 'segments lost by the network (% of segments sent)',
        yLabel: 'retransmissions in the run',
        groups,
        xDecimals: 1,
        points: runs.map((r) => ({ x: 100 * r.lossRate, y: r.retransmissions, group: gi(r.suite) })),
      }),
      'One point per run (overlapping runs merge into a bigger circle). Loss counts random loss, bursts and partitions.',
    ),
  );

  out.push(
    figure(
      histogramSvg({
        id: 'plot-segments',
        title: 'Segments per connection',
        xLabel: 'segments the connection sent',
        yLabel: 'connections',
        unit: 'segments',
        integer: true,
        groups,
        values: runs.flatMap((r) => r.segmentsPerConnection.map((count) => ({ value: count, group: gi(r.suite) }))),
      }),
      'Each endpoint of each connection counted separately, retransmissions included.',
    ),
  );
  out.push('</div>', '</section>');
  return out.join('\n');
}

function coverageSection(data: ReportData): string {
  const counts = new Map<Edge, number>();
  for (const { edge, count } of data.coverage) counts.set(edge, (counts.get(edge) ?? 0) + count);
  const out: string[] = ['<section id="coverage">', '<h2>State-diagram coverage</h2>'];
  out.push(
    figure(
      stateDiagramSvg(counts, { id: 'plot-state-diagram' }),
      "RFC 9293 Figure 5 with how many times the campaign took each edge (CLOSED drawn twice, as in the figure). Edges never taken are grey: the generators never reach them.",
      'wide',
    ),
  );
  const drawn = new Set<string>(DRAWN_EDGES);
  const others = [...counts].filter(([edge]) => !drawn.has(edge) && !edge.startsWith('timer:') && !edge.startsWith('crash:'));
  // Timers fired and the states host crashes found connections in, in one table.
  const timers = [...counts].filter(([edge]) => edge.startsWith('timer:') || edge.startsWith('crash:'));
  const inFigure = new Set<string>(DIAGRAM_EDGES);
  out.push('<h3>Edges outside the figure</h3>');
  out.push('<p class="caption">Resets (§3.10.7.4), ABORT (§3.10.5), retransmission give-up (§3.8.3) and Linux\'s orphaned FIN-WAIT-2 timeout; an edge the RFC does not allow at all is marked.</p>');
  out.push('<table class="edges"><thead><tr><th>Edge</th><th>Taken</th></tr></thead><tbody>');
  for (const [edge, count] of others) {
    const known = inFigure.has(edge) || KNOWN_EXTRA.has(edge);
    out.push(`<tr class="${count > 0 ? 'taken' : 'untaken'}${known ? '' : ' illegal'}"><td><code>${esc(edge.replace('=>', ' → '))}</code>${known ? '' : ' <strong>not in RFC 9293</strong>'}</td><td class="num">${count}</td></tr>`);
  }
  out.push('</tbody></table>');
  if (timers.length > 0) {
    out.push('<h3>Timers fired</h3>');
    out.push('<p class="caption">Each timer kind, how many times it fired: one that never fires is a rule the generators never test.</p>');
    out.push('<table class="edges"><thead><tr><th>Timer</th><th>Fired</th></tr></thead><tbody>');
    for (const [key, count] of timers) out.push(`<tr class="${count > 0 ? 'taken' : 'untaken'}"><td><code>${esc(key.slice('timer:'.length))}</code></td><td class="num">${count}</td></tr>`);
    out.push('</tbody></table>');
  }
  out.push('</section>');
  return out.join('\n');
}

// -----------------------------------------------------------------------------------------
// Helpers
// -----------------------------------------------------------------------------------------

const KNOWN_EXTRA: ReadonlySet<string> = new Set(EXTRA_EDGES);

/** Suites in summary order, then any others in run order, each with its colour. */
function suiteGroups(data: ReportData): Group[] {
  const names: string[] = [];
  for (const name of [...data.summary.map((s) => s.suite), ...data.runs.map((r) => r.suite)]) if (!names.includes(name)) names.push(name);
  return names.map((name, i) => ({ name, color: PALETTE[i % PALETTE.length]! }));
}

function figure(svg: string, caption: string, kind = ''): string {
  return `<figure class="plot-figure${kind === '' ? '' : ` ${kind}`}">${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
}

function num(value: number): string {
  return `<td class="num">${value}</td>`;
}

/** The trace up to a little after the violation, at most `LADDER_MAX_EVENTS` events. */
function ladderEvents(all: readonly TraceEvent[], violationAtUs: number): { events: readonly TraceEvent[]; cut: number } {
  let end = all.length;
  const after = all.findIndex((e) => e.atUs > violationAtUs);
  if (after >= 0) end = Math.min(all.length, after + LADDER_EVENTS_AFTER);
  end = Math.min(end, LADDER_MAX_EVENTS);
  return { events: all.slice(0, end), cut: all.length - end };
}

/** The ladder as an inline `<svg>`: no XML prolog, ids made unique within the page. */
function inlineLadder(events: readonly TraceEvent[], failure: FailureReport, id: string): string {
  const svg = ladderSvg(events, { violation: failure.marker, title: `${failure.suite}: ${failure.marker.label}` });
  return svg
    .replace(/^<\?xml[^>]*>\n/, '')
    .replace('<svg ', `<svg id="${id}-ladder" class="ladder" `)
    .replace(/(id="|url\(#)head-/g, `$1${id}-head-`)
    .trimEnd();
}

function formatTimeS(us: number): string {
  return `${(us / 1e6).toFixed(6)} s`;
}

const CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 20px 40px; color: #222; background: #fff; line-height: 1.4; }
header { border-bottom: 2px solid #1f4e79; margin-bottom: 12px; }
h1 { margin: 18px 0 4px; font-size: 24px; }
h2 { margin: 28px 0 10px; font-size: 20px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { margin: 18px 0 8px; font-size: 17px; }
h4 { margin: 14px 0 6px; font-size: 14px; }
nav { margin: 6px 0 12px; }
a { color: #1f4e79; }
code, pre { font-family: ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 4px; padding: 8px 10px; overflow-x: auto; white-space: pre; margin: 4px 0; }
pre.violation { background: #fdecea; border-color: #e6b0aa; color: #7b241c; white-space: pre-wrap; }
pre.replay { background: #eaf2f8; border-color: #a9cce3; }
.verdict { font-weight: bold; margin: 2px 0; }
.verdict.failed { color: #b03a2e; }
.verdict.passed { color: #1e8449; }
.generated-by { color: #555; margin: 2px 0; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; }
thead th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bad { color: #b03a2e; font-weight: bold; }
tr.failed th { color: #b03a2e; }
tr.total { font-weight: bold; background: #f6f8fa; }
article.failure { border: 1px solid #e6b0aa; border-left: 5px solid #b03a2e; border-radius: 4px; padding: 4px 14px 12px; margin: 14px 0; }
.caption, figcaption { color: #555; font-size: 13px; margin: 4px 0; }
.ladder-wrap { overflow: auto; max-height: 1400px; border: 1px solid #ddd; border-radius: 4px; }
.ladder-wrap svg { display: block; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 12px; }
figure.plot-figure { margin: 0; border: 1px solid #e1e4e8; border-radius: 4px; padding: 6px; }
figure.plot-figure svg { display: block; max-width: 100%; height: auto; }
figure.wide { overflow-x: auto; }
figure.wide svg { max-width: none; }
.legend .chip { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin: 0 4px 0 10px; vertical-align: -1px; }
table.edges tr.untaken td { color: #999; }
table.edges tr.illegal td { color: #b03a2e; }
.empty { color: #555; font-style: italic; }
`.trim();
