/**
 * The project's own packetdrill scripts (examples/packetdrill/, one or more per claim C1–C15,
 * written here): each passes on the reference endpoint, exactly in virtual time, and each
 * mutant of the zoo fails at least one of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../check/mutants.js';
import { parseScript } from './parser.js';
import { runScript } from './runner.js';

const DIR = resolve(import.meta.dirname, '../../examples/packetdrill');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.pkt'))
  .sort();
const SCRIPTS = FILES.map((file) => ({ file, script: parseScript(readFileSync(join(DIR, file), 'utf8'), file) }));

describe('examples/packetdrill on the reference endpoint', () => {
  it('has a script for every claim C1–C15', () => {
    const claims = new Set(FILES.map((f) => /^c(\d\d)-/.exec(f)?.[1]).filter((c) => c !== undefined).map(Number));
    expect([...claims].sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it.each(SCRIPTS)('$file passes, exactly (--exact) and with packetdrill\'s tolerance', ({ file, script }) => {
    for (const exact of [false, true]) {
      const result = runScript(script, { file, exact });
      expect(result.failure, result.failure?.message).toBeNull();
      expect(result.violations).toEqual([]);
      expect(result.status).toBe('pass');
    }
  });

  it('the article\'s captures: 44722 → 8848 closes in three segments, 39624 → 6666 ends with RST', () => {
    const wire = (file: string) =>
      runScript(SCRIPTS.find((s) => s.file === file)!.script, { file })
        .events.filter((e) => e.type === 'segment' && e.fate === 'sent')
        .map((e) => (e.type === 'segment' ? `${e.seg.srcPort}>${e.seg.dstPort} ${flagsOf(e.seg.flags)}` : ''));
    expect(wire('c07-three-way-close-8848.pkt').slice(3)).toEqual(['44722>8848 F.', '8848>44722 F.', '44722>8848 .']);
    expect(wire('c07-three-way-close-44722.pkt').slice(3)).toEqual(['44722>8848 F.', '8848>44722 F.', '44722>8848 .']);
    expect(wire('c15-linger-listener-6666.pkt').slice(3)).toEqual(['39624>6666 F.', '6666>39624 R.']);
  });
});

function flagsOf(flags: number): string {
  return (flags & 2 ? 'S' : '') + (flags & 1 ? 'F' : '') + (flags & 4 ? 'R' : '') + (flags & 8 ? 'P' : '') + (flags & 16 ? '.' : '');
}

describe('every zoo mutant fails at least one script', () => {
  // A mutant that no script can express says why (src/check/mutants.ts, `noScript`).
  it.each(MUTANTS.filter((m) => m.noScript === undefined).map((m) => ({ name: m.endpoint.name, endpoint: m.endpoint })))('$name', ({ endpoint }) => {
    const failing = SCRIPTS.filter(({ file, script }) => runScript(script, { file, endpoint }).status !== 'pass').map((s) => s.file);
    expect(failing.length).toBeGreaterThan(0);
  });
});
