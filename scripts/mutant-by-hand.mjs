// Check Stryker survivors one at a time, by hand:
//   node scripts/mutant-by-hand.mjs REPORT.json LINES -- TEST_FILES...
// REPORT is a Stryker JSON report (or incremental file); LINES like 402 or 99-107,296. Each surviving or
// uncovered mutant on those lines is applied to the source under $WT (default: the current directory),
// vitest is run with the arguments after --, the source is restored, and the mutant is printed as killed,
// timed out or SURVIVES. A file changed since the report is skipped (exit 1), as its locations no longer
// hold. The tests must pass on the unmutated source first, or nothing is judged (a wrong path would
// otherwise "kill" every mutant). Use a worktree of its own: while a mutant is applied its source is wrong.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const RUN_TIMEOUT_MS = 300_000;
const args = process.argv.slice(2);
const sep = args.indexOf('--');
if (sep !== 2 || args.length === 3) {
  console.error('usage: node scripts/mutant-by-hand.mjs REPORT.json LINES -- TEST_FILES...');
  process.exit(2);
}
const [reportPath, lineSpec] = args;
// `vitest run` is this script's own; a leading `run` would be taken as a file filter too
// (matching src/cli/run.test.ts and others), so it is dropped.
const vitestArgs = args.slice(sep + 1);
if (vitestArgs[0] === 'run') vitestArgs.shift();
const wanted = new Set();
for (const part of lineSpec.split(',')) {
  const [first, last = first] = part.split('-').map(Number);
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first) {
    console.error(`LINES: "${part}" is not a line or a range like 99-107`);
    process.exit(2);
  }
  for (let line = first; line <= last; line++) wanted.add(line);
}
let report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch (error) {
  console.error(`REPORT: cannot read ${reportPath} as JSON (${error.message})`);
  process.exit(2);
}
const root = process.env.WT ?? process.cwd();

/** The vitest run under way, killed if this process is told to stop. */
let child = null;
/** 'pass', 'fail' or 'timeout' for one vitest run. Asynchronous, so a signal is handled while it runs. */
function runTests() {
  return new Promise((resolve) => {
    child = spawn('npx', ['vitest', 'run', ...vitestArgs], { cwd: root, stdio: 'ignore', detached: true });
    const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), RUN_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      child = null;
      resolve(signal === 'SIGKILL' ? 'timeout' : code === 0 ? 'pass' : 'fail');
    });
  });
}

if ((await runTests()) !== 'pass') {
  console.error(`the tests fail on the unmutated source: vitest run ${vitestArgs.join(' ')} (in ${root})`);
  process.exit(1);
}
// Ctrl-C, or the SIGTERM of `timeout`: stop the vitest run, put the source back, and leave. (A
// synchronous loop never saw the signal; a SIGTERM then left a mutant in the source.)
/** The file a mutant is applied to, and its text, while one is. */
let applied = null;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child !== null) process.kill(-child.pid, 'SIGKILL');
    if (applied !== null) writeFileSync(applied.path, applied.original);
    console.error(`${signal}: stopped; the source is restored`);
    process.exit(130);
  });
}
let skippedFiles = 0;
for (const [file, entry] of Object.entries(report.files)) {
  const path = join(root, file);
  const original = readFileSync(path, 'utf8');
  // A report's locations hold only for the source it was made from.
  if (entry.source !== undefined && entry.source !== original) {
    console.error(`${file}: the source has changed since the report was made; its locations no longer hold (skipped)`);
    skippedFiles++;
    continue;
  }
  const lineStarts = [0];
  for (let i = 0; i < original.length; i++) if (original[i] === '\n') lineStarts.push(i + 1);
  const offset = (at) => lineStarts[at.line - 1] + at.column - 1;
  for (const mutant of entry.mutants) {
    if (mutant.status !== 'Survived' && mutant.status !== 'NoCoverage') continue;
    const { start, end } = mutant.location;
    if (!wanted.has(start.line)) continue;
    applied = { path, original };
    writeFileSync(path, original.slice(0, offset(start)) + mutant.replacement + original.slice(offset(end)));
    let outcome;
    try {
      outcome = await runTests();
    } finally {
      writeFileSync(path, original);
      applied = null;
    }
    const verdict = { pass: 'SURVIVES', fail: 'killed', timeout: 'timed out' }[outcome];
    console.log(`${file}:${start.line}:${start.column} ${mutant.mutatorName} ${JSON.stringify(mutant.replacement).slice(0, 70)} -> ${verdict}`);
  }
}
if (skippedFiles > 0) process.exit(1);
