// Check Stryker survivors one at a time, by hand: node scripts/mutant-by-hand.mjs REPORT.json LINES -- VITEST_ARGS...
// REPORT is a Stryker JSON report (or incremental file); LINES like 402 or 99-107,296. Each surviving or uncovered
// mutant on those lines is applied to the source under $WT (default: the current directory), vitest is run with
// the arguments after --, the source is restored, and the mutant is printed as killed or SURVIVES. Use a worktree
// of its own: while a mutant is applied its source is wrong.
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
const [report, lines, ...rest] = process.argv.slice(2);
const sep = rest.indexOf('--');
const vitestArgs = rest.slice(sep + 1);
const wanted = new Set(lines.split(',').flatMap((s) => { const [a, b] = s.split('-').map(Number); const out = []; for (let i = a; i <= (b ?? a); i++) out.push(i); return out; }));
const r = JSON.parse(readFileSync(report, 'utf8'));
for (const [file, d] of Object.entries(r.files)) {
  const root = process.env.WT ?? process.cwd();
  const path = root + '/' + file;
  const orig = readFileSync(path, 'utf8');
  const lineStarts = [0]; for (let i = 0; i < orig.length; i++) if (orig[i] === '\n') lineStarts.push(i + 1);
  const off = (p) => lineStarts[p.line - 1] + p.column - 1;
  for (const m of d.mutants) {
    if (!(m.status === 'Survived' || m.status === 'NoCoverage')) continue;
    if (!wanted.has(m.location.start.line)) continue;
    const mutated = orig.slice(0, off(m.location.start)) + m.replacement + orig.slice(off(m.location.end));
    writeFileSync(path, mutated);
    let verdict;
    try { execFileSync('npx', ['vitest', 'run', ...vitestArgs], { cwd: root, stdio: 'pipe', timeout: 300000 }); verdict = 'SURVIVES'; }
    catch (e) { verdict = 'killed'; }
    finally { writeFileSync(path, orig); }
    console.log(`${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${JSON.stringify(m.replacement).slice(0, 70)} -> ${verdict}`);
  }
}
