/**
 * The differential test: every example scenario runs through `timewait kernel` on this machine's
 * Linux. A difference fails unless docs/kernel-differences.md (src/kernel/known-differences.ts)
 * lists it with its reason. Timing differences are printed, not failed on: on CI's two shared
 * cores scheduling lateness of tens of milliseconds is common, and the wheel-granule tolerance is
 * for the kernel's timers, not for a loaded machine. Then the kernel's own captures go through
 * `timewait check`: no false alarm, and an edited one is caught.
 *
 * Run time: the scenarios run three at a time, each in its own namespace; none waits out a real
 * TIME-WAIT (ss reads it 1.2 s after the last packet), the longest sleeps 2.1 s (c08).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadScenarioFile } from './test-support.js';
import { checkCapture } from './check-capture.js';
import { kernelPrerequisites, runKernelScenario, type KernelComparison } from './kernel-run.js';
import { KNOWN_CONFORMANCE_DIFFERENCES, KNOWN_DIFFERENCES, NOT_COMPARED_CONFORMANCE, NOT_EXPRESSIBLE, NOT_EXPRESSIBLE_CONFORMANCE, knownReason } from './known-differences.js';

const EXAMPLES = readdirSync('examples').filter((f) => f.endsWith('.json')).sort().map((f) => f.replace(/\.json$/, ''));
const missing = kernelPrerequisites({ needNft: true });
if (missing.length > 0) console.log(`kernel differential test skipped: ${missing.join('; ')}`);

type Outcome = Awaited<ReturnType<typeof runKernelScenario>>;
const outcomes = new Map<string, Outcome>();

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

describe.skipIf(missing.length > 0)('timewait kernel: every example on this machine\'s Linux', () => {
  beforeAll(async () => {
    await pool(EXAMPLES, 3, async (name) => {
      outcomes.set(name, await runKernelScenario(loadScenarioFile(`examples/${name}.json`)));
    });
    // The table CI prints.
    const rows: string[] = [];
    let kernel = '';
    for (const name of EXAMPLES) {
      const o = outcomes.get(name)!;
      if (!o.ok) {
        rows.push(`${name.padEnd(42)} ${'cannotExpress' in o ? `not expressible: ${o.cannotExpress[0]}` : `cannot run: ${o.cannotRun[0]}`}`);
        continue;
      }
      kernel = `${o.comparison.kernel.kernel}; ${Object.entries(o.comparison.kernel.sysctls).map(([k, v]) => `${k.replace('net.ipv4.', '')}=${v}`).join(' ')}`;
      const diffs = o.comparison.differences.map((d) => `${d.aspect}: ${d.what}${knownReason(name, d) !== undefined ? ' [known]' : d.aspect === 'timing' ? ' [timing, not failed]' : ' [NEW]'}`);
      rows.push(`${name.padEnd(42)} ${diffs.length === 0 ? 'agree' : diffs.join(' | ')}`);
    }
    console.log(`kernel ${kernel}\n${rows.join('\n')}`);
  }, 600_000);

  it.each(EXAMPLES)('%s: the kernel agrees with the simulator, but for the documented differences', (name) => {
    const o = outcomes.get(name)!;
    if (!o.ok) {
      expect('cannotExpress' in o ? NOT_EXPRESSIBLE[name] : o.cannotRun.join('; ')).toBeDefined();
      expect('cannotExpress' in o).toBe(true);
      return;
    }
    expect(NOT_EXPRESSIBLE[name]).toBeUndefined();
    const unexplained = o.comparison.differences.filter((d) => d.aspect !== 'timing' && knownReason(name, d) === undefined);
    expect(unexplained).toEqual([]);
  });

  it.each(EXAMPLES)('%s: the kernel\'s capture raises no false alarm in timewait check', (name) => {
    const o = outcomes.get(name)!;
    if (!o.ok) return;
    const check = checkCapture(o.comparison.kernel.capture);
    expect(check.cannotJudge).toEqual([]);
    expect(check.violations.map((v) => `frame ${v.frame}: ${v.monitor}: ${v.message}`)).toEqual([]);
  });

  it('C4: the kernel\'s capture edited so the last ACK does not cover the FIN is caught (fin-ack)', () => {
    // Arrange: c07's kernel capture (pcap, Ethernet on lo); its last frame is the client's ACK of the server's FIN
    const o = outcomes.get('c07-three-way-close')!;
    if (!o.ok) throw new Error('c07 must run');
    const bytes = new Uint8Array(o.comparison.kernel.capture);
    const view = new DataView(bytes.buffer);
    let offset = 24;
    let last = 24;
    while (offset < bytes.length) {
      last = offset;
      offset += 16 + view.getUint32(offset + 8, true);
    }
    const ackAt = last + 16 + 14 + 20 + 8; // record header, Ethernet, IPv4 without options, then the ack field
    view.setUint32(ackAt, (view.getUint32(ackAt) - 1) >>> 0);
    // Act
    const check = checkCapture(bytes);
    // Assert
    expect(check.violations.map((v) => v.monitor)).toEqual(['fin-ack']);
  });
});

describe('docs/kernel-differences.md', () => {
  it('lists every known difference and every scenario that cannot be expressed, with the reasons the test uses', () => {
    const doc = readFileSync('docs/kernel-differences.md', 'utf8');
    for (const k of KNOWN_DIFFERENCES) {
      expect(doc).toContain(`| ${k.scenario === '*' ? 'any' : k.scenario} | ${k.aspect} | ${k.what} | ${k.reason} | ${k.dependsOn} |`);
    }
    for (const [name, why] of Object.entries(NOT_EXPRESSIBLE)) expect(doc).toContain(`| ${name} | ${why} |`);
    for (const k of KNOWN_CONFORMANCE_DIFFERENCES) expect(doc).toContain(`| ${k.specs} | ${k.aspect} | ${k.what} | ${k.reason} | ${k.dependsOn} |`);
    for (const k of [...NOT_EXPRESSIBLE_CONFORMANCE, ...NOT_COMPARED_CONFORMANCE]) expect(doc).toContain(`| ${k.specs} | ${k.why} |`);
  });
});
