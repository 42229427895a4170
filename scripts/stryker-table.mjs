// Per-file counts of Stryker reports, as Stryker scores them ((killed + timed out) / all valid):
//   node scripts/stryker-table.mjs REPORT.json[@a-b]...
// `@a-b` keeps only the report's mutants that start on lines a to b (an incremental file keeps a
// file's earlier results outside the shard's range, so give each shard's report its range).
// (reports or incremental files, one per shard: its latest run). A mutant listed twice at the same
// place counts once, as the later report has it; shards of different sources are not matched up,
// so list each range once. Prints a Markdown row per file and the total.
import { readFileSync } from 'node:fs';

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error('usage: node scripts/stryker-table.mjs REPORT.json[@a-b]...');
  process.exit(2);
}
/** file -> mutant id (location and replacement) -> status */
const byFile = new Map();
for (const arg of paths) {
  const at = /^(.*)@(\d+)-(\d+)$/.exec(arg);
  const path = at === null ? arg : at[1];
  const [first, last] = at === null ? [1, Infinity] : [Number(at[2]), Number(at[3])];
  let report;
  try {
    report = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    console.error(`REPORT: cannot read ${path} as JSON (${error.message})`);
    process.exit(2);
  }
  for (const [file, entry] of Object.entries(report.files ?? {})) {
    const mutants = byFile.get(file) ?? new Map();
    for (const m of entry.mutants) if (m.location.start.line >= first && m.location.start.line <= last) mutants.set(`${m.location.start.line}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column} ${m.mutatorName} ${m.replacement}`, m.status);
    byFile.set(file, mutants);
  }
}
const total = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
console.log('| File | Mutants | Killed | Timed out | Survived | No coverage | Score |\n|---|---|---|---|---|---|---|');
const row = (name, c) => {
  const valid = c.Killed + c.Timeout + c.Survived + c.NoCoverage;
  console.log(`| ${name} | ${valid} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${valid === 0 ? '—' : ((100 * (c.Killed + c.Timeout)) / valid).toFixed(1) + ' %'} |`);
};
for (const [file, mutants] of [...byFile].sort()) {
  const counts = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 };
  for (const status of mutants.values()) if (status in counts) counts[status]++;
  for (const key of Object.keys(total)) total[key] += counts[key];
  row(`\`${file}\``, counts);
}
row('**total**', total);
