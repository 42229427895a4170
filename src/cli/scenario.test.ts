/**
 * `timewait scenario FILE`: every example in examples/ (one per claim C1–C15) runs and meets
 * all its expectations; a call that returns something else, or a broken invariant, fails the
 * scenario; a bad file is named field by field (exit 2) and nothing is run.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScenario, RECORDED_EVENT_BYTES, runScenario, SCENARIO_MEMORY_BUDGET_BYTES, SCENARIO_MEMORY_EVENTS } from '../scenario/scenario-file.js';
import { loadScenarioFile } from './fs.js';
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

  it('every stack setting can be given in a file: tcp_timestamps 0 and tcp_window_scaling off leave the options out (issue #10)', () => {
    // Arrange
    const withDefaults = parseScenario(structuredClone(c07));
    const withoutOptions = parseScenario({ ...structuredClone(c07), stack: { timestamps: 0, windowScaling: false } });
    // Act
    const sentOf = (file: typeof withDefaults) => runScenario(file).events.flatMap((e) => (e.type === 'segment' && e.fate === 'sent' ? [e.seg] : []));
    // Assert: by default every segment carries TS and the SYNs wscale; with both off, none does.
    expect(sentOf(withDefaults).every((seg) => seg.tsVal >= 0)).toBe(true);
    expect(sentOf(withDefaults).filter((seg) => seg.wscale >= 0)).toHaveLength(2);
    expect(sentOf(withoutOptions).filter((seg) => seg.tsVal >= 0 || seg.wscale >= 0)).toEqual([]);
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
    ['a negative delay', (f) => (f.defaultLink = { delayUs: -5 }), /defaultLink\.delayUs: expected a whole number of microseconds from 0 to 1000000000000, got -5\n$/],
    ['a time near 2^53', (f) => (f.hosts[0].startUs = 2 ** 53 - 1), /hosts\[0\]\.startUs: expected a whole number of microseconds from 0 to 1000000000000, got 9007199254740991\n$/],
    ['an MSL near 2^53', (f) => (f.stack = { mslUs: 2 ** 52 }), /stack\.mslUs: expected a number of microseconds from 1 to 1000000000000, got 4503599627370496\n$/],
    ['a send of 1e9 bytes', (f) => (f.hosts[0].script[3] = { op: 'send', sock: 'sock', bytes: 1e9 }), /hosts\[0\]\.script\[3\]\.bytes: expected a number of bytes from 1 to 16777216, got 1000000000\n$/],
    ['connect to port 0: one line, one range', (f) => (f.hosts[0].script[2].port = 0), /^timewait: scenario file \S+: hosts\[0\]\.script\[2\]\.port: expected a port number from 1 to 65535, got 0$/m],
    ['two hosts with one address', (f) => ((f.hosts[0].ip = '10.0.0.9'), (f.hosts[1].ip = '10.0.0.9')), /hosts\[1\]\.ip: address 10\.0\.0\.9 is already hosts\[0\]'s: give each host its own ip/],
    ['an address that is another host\'s default', (f) => (f.hosts[1].ip = '10.0.0.1'), /hosts\[1\]\.ip: address 10\.0\.0\.1 is already hosts\[0\]'s/],
    ['ephemeralPortMin alone', (f) => (f.stack = { ephemeralPortMin: 61000 }), /stack\.ephemeralPortMin: expected ephemeralPortMin and ephemeralPortMax together/],
    ['an ephemeral range upside down', (f) => (f.stack = { ephemeralPortMin: 50000, ephemeralPortMax: 40000 }), /stack\.ephemeralPortMin: expected ephemeralPortMin <= ephemeralPortMax/],
    ['tcp_tw_reuse 3', (f) => (f.stack = { twReuse: 3 }), /stack\.twReuse: expected 0, 1 or 2 \(Linux tcp_tw_reuse\)/],
    ['tcp_timestamps as a boolean', (f) => (f.stack = { timestamps: true }), /stack\.timestamps: expected 0, 1 or 2 \(Linux tcp_timestamps\)/],
    ['maxEvents past the bound', (f) => (f.limits = { maxEvents: 1e12 }), /limits\.maxEvents: expected a number of events from 1 to 10000000, got 1000000000000\n$/],
    ['a link to an unknown host', (f) => (f.links = [{ from: 'client', to: 'sever' }]), /links\[0\]\.to: no host "sever" \(hosts: client, server\)/],
    ['a connect to an unknown host', (f) => (f.hosts[0].script[2].host = 'nowhere'), /hosts\[0\]\.script\[2\]\.host: no host "nowhere"/],
    ['an impossible expectation', (f) => (f.hosts[0].script[0].expect = 'fine'), /hosts\[0\]\.script\[0\]\.expect: expected a call result: ok, eof/],
    ['a bad window', (f) => (f.defaultLink = { partitions: [{ fromUs: 10, toUs: 5 }] }), /defaultLink\.partitions\[0\]: expected fromUs < toUs/],
    ['no hosts', (f) => ((f.hosts = []), delete f.expect), /hosts: Too small|hosts: expected at least one host/],
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
      // One problem, one line.
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
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

  it('a syntax error on a later line: its line and column', async () => {
    const result = await scenario('{\n  "seed": 1,\n  "hosts": [\n    { "name": "a", }\n  ]\n}\n');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is not valid JSON at line 4, column 20: expected a field name in double quotes, got "}"\n$/);
  });

  it('a byte-order mark is named as such', async () => {
    const result = await scenario(`\ufeff${JSON.stringify(c07)}`);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/starts with a byte-order mark \(BOM\) at line 1, column 1/);
  });

  for (const device of ['/dev/zero', '/dev/urandom']) {
    it(`${device} as the scenario file: refused at the size limit, not read for ever`, async () => {
      const result = await runMain(['scenario', device]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^timewait: scenario file ${device} is (larger than 8 MiB, the limit for a scenario file|not UTF-8 text)\n$`));
    });
  }

  it('--out naming the scenario file itself is refused, and the file is untouched', async () => {
    const dir = tempDir();
    const path = join(dir, 'f.json');
    writeFileSync(path, JSON.stringify(c07));
    const result = await runMain(['scenario', path, '--out', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^timewait: --out \S+f\.json is also an input \(\S+f\.json\); write the output somewhere else\n$/);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(c07);
  });

  it('a scenario that would outgrow the memory budget ends as a reported failure, not an out-of-memory kill', async () => {
    // A send loop that never ends: far more events than the budget allows recording.
    const file = {
      hosts: [
        { name: 'client', script: [{ op: 'socket', sock: 's' }, { op: 'connect', sock: 's', host: 'server', port: 80 }, ...Array.from({ length: 400 }, () => ({ op: 'send', sock: 's', bytes: 16 * 1024 * 1024 }))] },
        { name: 'server', script: [{ op: 'socket', sock: 'l' }, { op: 'bind', sock: 'l', port: 80 }, { op: 'listen', sock: 'l' }, { op: 'accept', sock: 'l', as: 'c' }, { op: 'recv-until-eof', sock: 'c' }] },
      ],
      limits: { maxEvents: 10_000_000 },
    };
    // Act: the real budget is 262,144 events; a lower one keeps the test fast and works the same way.
    const result = runScenario(parseScenario(file), { memoryBudgetEvents: 5_000 });
    // Assert
    expect(result.passed).toBe(false);
    expect(result.stoppedBy).toBe('memory budget');
    expect(result.mismatches.at(-1)).toMatchObject({ what: 'run', got: expect.stringMatching(/^stopped by the memory budget at \d+ us$/) });
    expect(SCENARIO_MEMORY_EVENTS * RECORDED_EVENT_BYTES).toBe(SCENARIO_MEMORY_BUDGET_BYTES);
  });

  it('an unreadable file', async () => {
    const result = await runMain(['scenario', '/nonexistent/scenario.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('timewait: cannot read scenario file /nonexistent/scenario.json: no such file or directory (ENOENT)\n');
  });
});
