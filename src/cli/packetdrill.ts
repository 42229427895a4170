/**
 * `timewait packetdrill FILE…`: packetdrill scripts on the simulated stack, exactly in virtual
 * time (src/packetdrill). One line per script, PASS or FAIL; a failure carries packetdrill's
 * kind of message (the script line, expected and actual packet or result, the time with its
 * tolerance), then the trace; `N passed, N failed` closes the run. Exit codes as for `scenario`:
 * 0 all passed, 1 one failed (or could not be interpreted), 2 bad input.
 */
import { formatViolation } from '../check/report.js';
import type { Endpoint } from '../tcp/endpoint.js';
import type { Script } from '../packetdrill/ast.js';
import { describePerturbation, runFuzz, type FuzzResult } from '../packetdrill/fuzz.js';
import { parseScript, ScriptSyntaxError } from '../packetdrill/parser.js';
import { runScript, seconds, type ScriptResult } from '../packetdrill/runner.js';
import { ladderSvg, esc } from '../report/ladder.js';
import { endpointByName } from './endpoints.js';
import { toCsv } from './csv.js';
import { EXIT, UsageError } from './errors.js';
import { readUserFile, writeFileAtomic } from './fs.js';
import { resolvePath, type CliIo } from './io.js';
import type { Column } from './rows.js';
import { traceJsonLines, tracePcap, traceText, type TraceFormat } from './trace-output.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface PacketdrillOptions {
  readonly format: TraceFormat;
  readonly out?: string;
  readonly csv?: string;
  readonly report?: string;
  readonly endpoint?: string;
  readonly exact: boolean;
  readonly lenient: boolean;
  /** Print the trace of passing scripts too. */
  readonly verbose: boolean;
  readonly fuzz?: number;
  readonly seed?: number;
  readonly path?: string;
}

interface Outcome {
  readonly file: string;
  readonly result: ScriptResult;
  readonly fuzz: FuzzResult | null;
  readonly passed: boolean;
}

export function packetdrillCommand(files: readonly string[], options: PacketdrillOptions, io: CliIo): number {
  if (options.format === 'pcap' && files.length !== 1) throw new UsageError('--format pcap writes one capture: give exactly one script');
  if (options.path !== undefined && options.fuzz === undefined) throw new UsageError('--path replays a --fuzz counterexample: give --fuzz N and --seed S with it');
  const endpoint: Endpoint | undefined = options.endpoint === undefined ? undefined : endpointByName(options.endpoint);
  if (options.endpoint !== undefined && endpoint === undefined) throw new UsageError(`--endpoint ${options.endpoint}: no such endpoint (timewait list shows them)`);
  // Parse everything first: a bad script stops the run before anything is written (exit 2).
  const scripts: { file: string; script: Script }[] = files.map((file) => ({ file, script: parseFile(io, file) }));
  const seed = options.seed ?? 1;
  const outcomes: Outcome[] = scripts.map(({ file, script }) => {
    const runOptions = { file, exact: options.exact, lenient: options.lenient, ...(endpoint !== undefined ? { endpoint } : {}) };
    if (options.fuzz !== undefined) {
      const fuzz = runFuzz(script, { ...runOptions, runs: options.fuzz, seed, ...(options.path !== undefined ? { path: options.path } : {}) });
      const result = fuzz.counterexample?.result ?? fuzz.baseline;
      return { file, result, fuzz, passed: fuzz.counterexample === null && fuzz.baseline.status !== 'refused' };
    }
    const result = runScript(script, runOptions);
    return { file, result, fuzz: null, passed: result.status === 'pass' };
  });
  const text = options.format === 'json' ? outcomes.map((o) => `${JSON.stringify(outcomeJson(o, options, io))}\n`).join('') : outcomes.map((o) => outcomeText(o, options, io)).join('');
  const passed = outcomes.filter((o) => o.passed).length;
  const closing = `${passed} passed, ${outcomes.length - passed} failed\n`;
  if (options.format === 'pcap') {
    const pcap = tracePcap(outcomes[0]!.result.events);
    writeFileAtomic(resolvePath(io, options.out!), pcap);
    io.stdout.write(`${outcomes.map((o) => statusLine(o)).join('\n')}\n# wrote ${options.out} (wire capture, ${pcap.length} bytes)\n${closing}`);
  } else if (options.out !== undefined) {
    writeFileAtomic(resolvePath(io, options.out), text + closing);
    io.stdout.write(`${outcomes.map((o) => statusLine(o)).join('\n')}\n# wrote ${options.out}\n${closing}`);
  } else {
    io.stdout.write(text + (options.format === 'json' ? JSON.stringify({ type: 'summary', passed, failed: outcomes.length - passed }) + '\n' : closing));
  }
  if (options.csv !== undefined) writeFileAtomic(resolvePath(io, options.csv), toCsv(CSV_COLUMNS, outcomes.map(csvRow)));
  if (options.report !== undefined) io.stderr.write(`wrote ${writeReport(resolvePath(io, options.report), outcomes)}\n`);
  return passed === outcomes.length ? EXIT.ok : EXIT.failed;
}

function parseFile(io: CliIo, file: string): Script {
  const text = readUserFile(resolvePath(io, file), 'script');
  try {
    return parseScript(text, file);
  } catch (error) {
    if (error instanceof ScriptSyntaxError) throw new UsageError(error.message);
    throw error;
  }
}

function statusLine(o: Outcome): string {
  const r = o.result;
  let line = `${o.passed ? 'PASS' : 'FAIL'} ${o.file}`;
  if (o.fuzz !== null) line += o.fuzz.counterexample === null ? ` (fuzz: ${o.fuzz.runs} perturbed runs, no monitor broken)` : ` (fuzz: a monitor broke; shrunk in ${o.fuzz.counterexample.shrinks} steps)`;
  else if (r.status === 'refused') line += ' (not interpretable)';
  if (r.skipped.length > 0) line += ` (lenient: ${r.skipped.length} line${r.skipped.length === 1 ? '' : 's'} skipped)`;
  return line;
}

function outcomeText(o: Outcome, options: PacketdrillOptions, io: CliIo): string {
  const r = o.result;
  const lines = [statusLine(o)];
  const failure = r.failure;
  if (o.fuzz === null && failure !== null) {
    lines.push(`  ${o.file}:${failure.line}: ${failure.source}`);
    for (const part of failure.message.split('\n')) lines.push(`  ${part.trim()}`);
    lines.push(`  at ${seconds(failure.atUs)} sec (virtual time)`);
  }
  for (const v of r.violations) lines.push(`  monitor ${formatViolation(v)}`);
  if (o.fuzz?.counterexample != null) {
    const c = o.fuzz.counterexample;
    lines.push(`  perturbation (shrunk): ${c.perturbations.map(describePerturbation).join('; ')}`);
    for (const a of c.result.advisories) lines.push(`  advisory: ${o.file}:${a.line}: ${a.message.split('\n')[0]}`);
    lines.push(`  replay: ${io.invocation} packetdrill ${o.file} --fuzz ${options.fuzz} --seed ${o.fuzz.seed} --path ${c.path}${options.endpoint !== undefined ? ` --endpoint ${options.endpoint}` : ''}`);
  }
  for (const s of r.skipped) lines.push(`  skipped ${s}`);
  if (!o.passed || options.verbose) {
    for (const n of r.notes) lines.push(`  note: ${n}`);
    lines.push('  trace:');
    for (const t of traceText(r.events).split('\n')) if (t !== '') lines.push(`    ${t}`);
  }
  return `${lines.join('\n')}\n`;
}

function outcomeJson(o: Outcome, options: PacketdrillOptions, io: CliIo): Record<string, unknown> {
  const r = o.result;
  const c = o.fuzz?.counterexample ?? null;
  return {
    type: 'script',
    file: o.file,
    status: o.passed ? 'pass' : 'fail',
    interpretable: r.status !== 'refused',
    failure: r.failure,
    violations: r.violations,
    skipped: r.skipped,
    notes: r.notes,
    endUs: r.endUs,
    toleranceUs: options.exact ? 0 : r.settings.toleranceUs,
    fuzz:
      o.fuzz === null
        ? null
        : {
            runs: o.fuzz.runs,
            seed: o.fuzz.seed,
            counterexample: c === null ? null : { perturbations: c.perturbations, path: c.path, shrinks: c.shrinks, replay: `${io.invocation} packetdrill ${o.file} --fuzz ${options.fuzz} --seed ${o.fuzz.seed} --path ${c.path}` },
          },
    trace: traceJsonLines(r.events)
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as unknown),
  };
}

interface CsvRow {
  readonly file: string;
  readonly status: string;
  readonly interpretable: boolean;
  readonly line: number | '';
  readonly message: string;
  readonly monitors: string;
  readonly skipped: number;
  readonly end_us: number;
  readonly segments: number;
  readonly fuzz_runs: number | '';
  readonly fuzz_seed: number | '';
  readonly fuzz_path: string;
}

const CSV_COLUMNS: readonly Column<CsvRow>[] = (['file', 'status', 'interpretable', 'line', 'message', 'monitors', 'skipped', 'end_us', 'segments', 'fuzz_runs', 'fuzz_seed', 'fuzz_path'] as const).map(
  (key) => ({ key, doc: key }),
);

function csvRow(o: Outcome): CsvRow {
  const r = o.result;
  return {
    file: o.file,
    status: o.passed ? 'pass' : 'fail',
    interpretable: r.status !== 'refused',
    line: r.failure?.line ?? '',
    message: r.failure?.message.split('\n')[0] ?? '',
    monitors: r.violations.map((v) => v.monitor).join(' '),
    skipped: r.skipped.length,
    end_us: r.endUs,
    segments: r.events.filter((e) => e.type === 'segment' && e.fate === 'sent').length,
    fuzz_runs: o.fuzz?.runs ?? '',
    fuzz_seed: o.fuzz?.seed ?? '',
    fuzz_path: o.fuzz?.counterexample?.path ?? '',
  };
}

/** DIR/packetdrill.html: one section per script, with its result and its ladder diagram. */
function writeReport(dir: string, outcomes: readonly Outcome[]): string {
  mkdirSync(dir, { recursive: true });
  const sections = outcomes.map((o) => {
    const r = o.result;
    const detail = r.failure !== null ? `<pre>${esc(`${o.file}:${r.failure.line}: ${r.failure.source}\n${r.failure.message}`)}</pre>` : '';
    const monitors = r.violations.map((v) => `<li>${esc(formatViolation(v))}</li>`).join('');
    return `<section><h2>${o.passed ? 'PASS' : 'FAIL'} ${esc(o.file)}</h2>${detail}${monitors !== '' ? `<ul>${monitors}</ul>` : ''}${ladderSvg(r.events.slice(0, 4_000))}</section>`;
  });
  const passed = outcomes.filter((o) => o.passed).length;
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>timewait packetdrill</title><style>body{font-family:sans-serif;margin:2em}pre{background:#f4f4f4;padding:.5em}</style></head><body><h1>timewait packetdrill: ${passed} passed, ${outcomes.length - passed} failed</h1>${sections.join('\n')}</body></html>\n`;
  const path = join(dir, 'packetdrill.html');
  writeFileAtomic(path, html);
  return path;
}
