/**
 * `timewait scenario FILE`: every example in examples/ (one per claim C1–C15) runs and meets
 * all its expectations; a call that returns something else, or a broken invariant, fails the
 * scenario; a bad file is named field by field (exit 2) and nothing is run.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile, runScenario } from './scenario-file.js';
import { ROOT, runMain, tempDir } from './test-support.js';

const EXAMPLES = join(ROOT, 'examples');
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).sort();

describe('examples/', () => {
  it('has one scenario file per claim C1–C15', () => {
    // Act
    const claims = files.map((f) => /^c(\d\d)-/.exec(f)?.[1]);
    // Assert
    expect(claims).toEqual(Array.from({ length: 15 }, (_, i) => String(i + 1).padStart(2, '0')));
    for (const file of files) {
      const scenario = loadScenarioFile(join(EXAMPLES, file));
      expect(scenario.claims?.[0]).toBe(`C${Number(file.slice(1, 3))}`);
    }
  });

  for (const file of files) {
    it(`${file} passes: every expectation met, no invariant broken`, async () => {
      // Act
      const result = await runMain(['scenario', join('examples', file)]);
      // Assert
      expect(result.stderr).toBe('');
      expect(result.stdout.trimEnd().split('\n').at(-1)).toMatch(/^# result: pass; (\d+) of \1 expectations met; no invariant broken/);
      expect(result.code).toBe(0);
    });
  }

  it("c07 reproduces the article's capture: 44722 -> 8848, FIN, FIN+ACK, ACK", () => {
    // Act
    const result = runScenario(loadScenarioFile(join(EXAMPLES, 'c07-three-way-close.json')));
    // Assert
    const wire = result.events.filter((e) => e.type === 'segment' && e.fate === 'sent').map((e) => (e.type === 'segment' ? `${e.seg.srcPort}>${e.seg.dstPort} ${e.seg.flags}` : ''));
    expect(wire).toEqual(['44722>8848 2', '8848>44722 18', '44722>8848 16', '44722>8848 24', '44722>8848 17', '8848>44722 17', '44722>8848 16']);
    expect(result.stats.closesThreeSegment).toBe(1);
  });

  it('c15 reproduces the demo: 39624 -> 6666, the server answers the FIN with RST, no TIME-WAIT', () => {
    // Act
    const result = runScenario(loadScenarioFile(join(EXAMPLES, 'c15-linger-rst.json')));
    // Assert
    const sent = result.events.filter((e) => e.type === 'segment' && e.fate === 'sent');
    expect(sent.map((e) => (e.type === 'segment' ? e.seg.srcPort : 0))).toEqual([39624, 6666, 39624, 39624, 6666]);
    expect(result.events.some((e) => e.type === 'state' && e.to === 'TIME-WAIT')).toBe(false);
  });
});

/** Write a scenario (object or raw text) to a temp file and run `timewait scenario` on it. */
async function scenario(content: unknown, ...args: string[]) {
  const dir = tempDir();
  const path = join(dir, 'scenario.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return { ...(await runMain(['scenario', path, ...args], { cwd: dir })), dir };
}

const c07 = JSON.parse(readFileSync(join(EXAMPLES, 'c07-three-way-close.json'), 'utf8'));

describe('timewait scenario: results and expectations', () => {
  it('reports a call whose result differs from its expectation (exit 1)', async () => {
    // Arrange: the server expects its restart bind to fail, but nothing holds the port.
    const file = structuredClone(c07);
    file.hosts[0].script[4].expect = 'ECONNRESET';
    file.expect.closes.threeSegment = 2;
    // Act
    const result = await scenario(file);
    // Assert
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('#   client step 4 close(sock): expected ECONNRESET, got ok');
    expect(result.stdout).toContain('#   expected three-segment closes: 2, got 1');
    expect(result.stdout).toMatch(/# result: FAIL; 13 of 15 expectations met/);
  });

  it('reports an invariant broken by the endpoint under test (exit 1)', async () => {
    // Act
    const result = await scenario(c07, '--endpoint', 'no-time-wait');
    // Assert
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/#   time-wait-side \(C8, C11\) violated/);
  });

  it('--format json and --csv work as for replay', async () => {
    // Act
    const result = await scenario(c07, '--format', 'json');
    // Assert
    const objects = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(objects[0]).toMatchObject({ type: 'scenario', claims: ['C7'], seed: 1 });
    expect(objects.at(-1)).toMatchObject({ type: 'result', passed: true, expectations: { total: 15, met: 15 } });
    const withCsv = await scenario(c07, '--csv', 'out.csv');
    expect(withCsv.code).toBe(0);
    expect(readdirSync(withCsv.dir).sort()).toEqual(['out.csv', 'scenario.json']);
  });
});

describe('timewait scenario: bad files (exit 2, the field named, nothing run)', () => {
  const cases: [string, (file: any) => unknown, RegExp][] = [
    ['a missing field', (f) => delete f.hosts[0].script[1].port, /hosts\[0\]\.script\[1\]\.port: missing \(expected a port number from 0 to 65535\)/],
    ['a mistyped field', (f) => (f.hosts[0].script[1].port = '44722'), /hosts\[0\]\.script\[1\]\.port: expected a port number from 0 to 65535, got "44722"/],
    ['a misspelt field', (f) => (f.hosts[0].scirpt = []), /hosts\[0\]: unknown field "scirpt"/],
    ['an unknown call', (f) => (f.hosts[0].script[0].op = 'sockt'), /hosts\[0\]\.script\[0\]\.op: expected one of "socket", "setsockopt", .*got "sockt"/],
    ['a probability outside [0,1]', (f) => (f.links = [{ from: 'client', to: 'server', lossRate: 1.5 }]), /links\[0\]\.lossRate: expected a probability between 0 and 1, got 1\.5/],
    ['a negative delay', (f) => (f.defaultLink = { delayUs: -5 }), /defaultLink\.delayUs: expected a non-negative number of microseconds \(a delay cannot be negative\), got -5/],
    ['a link to an unknown host', (f) => (f.links = [{ from: 'client', to: 'sever' }]), /links\[0\]\.to: no host "sever" \(hosts: client, server\)/],
    ['a connect to an unknown host', (f) => (f.hosts[0].script[2].host = 'nowhere'), /hosts\[0\]\.script\[2\]\.host: no host "nowhere"/],
    ['an impossible expectation', (f) => (f.hosts[0].script[0].expect = 'fine'), /hosts\[0\]\.script\[0\]\.expect: expected a call result: ok, eof/],
    ['a bad window', (f) => (f.defaultLink = { partitions: [{ fromUs: 10, toUs: 5 }] }), /defaultLink\.partitions\[0\]: expected fromUs < toUs/],
    ['no hosts', (f) => (f.hosts = []), /hosts: Too small|hosts: expected at least one host/],
  ];
  for (const [what, edit, message] of cases) {
    it(`${what}`, async () => {
      // Arrange
      const file = structuredClone(c07);
      edit(file);
      // Act
      const result = await scenario(file, '--csv', 'never.csv');
      // Assert
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/^timewait: scenario file .*scenario\.json: /);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(result.dir)).toEqual(['scenario.json']);
    });
  }

  it('an empty file', async () => {
    const result = await scenario('  \n');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/scenario file .* is empty/);
  });

  it('a file that is not JSON', async () => {
    const result = await scenario('{ "hosts": [ }');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/scenario file .*scenario\.json is not valid JSON at line 1, column 14: expected a value, got "}"$/m);
  });

  it('an unreadable file', async () => {
    const result = await runMain(['scenario', '/nonexistent/scenario.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('timewait: cannot read scenario file /nonexistent/scenario.json: no such file or directory (ENOENT)\n');
  });
});
