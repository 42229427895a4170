/** `timewait packetdrill FILE…` end to end, in-process (issue #11). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReferenceServer, removeBuild } from '../stack/test-support.js';
import { filesIn, runMain, tempDir } from './test-support.js';

const EX = 'examples/packetdrill';

describe('packetdrill --stack', () => {
  // The reference stack as a separate process, built from the source as it is now.
  let server: { command: string; dir: string };
  beforeAll(() => {
    server = buildReferenceServer();
  });
  afterAll(() => removeBuild(server.dir));

  it('runs the scripts against an external stack: the reference in its own process passes them all', async () => {
    const run = await runMain(['packetdrill', `${EX}/c07-three-way-close-8848.pkt`, `${EX}/c15-linger-listener-6666.pkt`, '--stack', server.command]);
    expect(run.stdout).toContain('2 passed, 0 failed');
    expect(run.code).toBe(0);
  });

  it('a stack that dies is exit 2 naming --stack and what the process did, never an internal error', async () => {
    const run = await runMain(['packetdrill', `${EX}/c07-three-way-close-8848.pkt`, '--stack', 'exit 3']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^timewait: --stack: stack process "exit 3"/);
    expect(run.stderr).not.toMatch(/internal error/);
  });

  it('run checks the stack before any work: a command that cannot start is exit 2 and writes nothing', async () => {
    const dir = tempDir();
    const csv = join(dir, 'runs.csv');
    const run = await runMain(['run', '--stack', '/nonexistent/timewait-stack', '--runs', '1', '--seed', '1', '--no-reports', '--csv', csv]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^timewait: --stack: stack process "\/nonexistent\/timewait-stack"/);
    expect(filesIn(dir)).toEqual([]);
  });
});

describe('timewait packetdrill', () => {
  it('one PASS line per script, then "N passed, N failed"; exit 0', async () => {
    const run = await runMain(['packetdrill', `${EX}/c07-three-way-close-8848.pkt`, `${EX}/c15-linger-listener-6666.pkt`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`PASS ${EX}/c07-three-way-close-8848.pkt\nPASS ${EX}/c15-linger-listener-6666.pkt\n2 passed, 0 failed\n`);
  });

  it('a FAIL carries the script line, expected vs actual, the time with its tolerance, then the trace; exit 1', async () => {
    const run = await runMain(['packetdrill', `${EX}/c07-three-way-close-8848.pkt`, '--endpoint', 'acks-fin-at-once']);
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`FAIL ${EX}/c07-three-way-close-8848.pkt`);
    expect(lines[1]).toBe(`  ${EX}/c07-three-way-close-8848.pkt:20: +0 > F. 1:1(0) ack 2`);
    expect(lines[2]).toBe('  live packet field tcp flags: expected: F. vs actual: .');
    expect(lines[3]).toBe('  script packet: 0.012000 F. 1:1(0) ack 2');
    expect(lines[4]).toBe('  actual packet: 0.012000 . 1:1(0) ack 2 win 65535');
    expect(run.stdout).toContain('  trace:\n');
    expect(run.stdout).toContain('44722 > 192.168.0.1.8848: Flags [F.]');
    expect(run.stdout.endsWith('0 passed, 1 failed\n')).toBe(true);
  });

  it('a timing error names the expected time, the actual one and the tolerance; --exact makes it 0', async () => {
    const dir = tempDir();
    const file = join(dir, 'late.pkt');
    // The FIN's ACK is delayed 40 ms (C7); expected 3 ms after it, tolerance 4 ms passes, --exact fails.
    writeFileSync(file, readFileSync(`${EX}/c04-syn-fin-sequence-space.pkt`, 'utf8').replace('+.04 > . 1:1(0) ack 102', '+.043 > . 1:1(0) ack 102'));
    expect((await runMain(['packetdrill', file])).code).toBe(0);
    const exact = await runMain(['packetdrill', file, '--exact']);
    expect(exact.code).toBe(1);
    expect(exact.stdout).toContain('timing error: expected outbound packet at 0.043000 sec but happened at 0.040000 sec; tolerance 0.000000 sec');
  });

  it('a script that does not parse: file:line:column, what was expected; exit 2, nothing written', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.pkt');
    writeFileSync(file, '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:0 win 1\n');
    const run = await runMain(['packetdrill', file, '--csv', join(dir, 'out.csv')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`timewait: ${file}:2:11: expected '(' in START:END(LEN), found "win"\n`);
    expect(filesIn(dir)).toEqual(['bad.pkt']);
  });

  it('what is not modelled is refused by name; --lenient skips it and says what it skipped', async () => {
    const dir = tempDir();
    // SACK blocks are carried now (the stack's sack setting); TCP-MD5 (RFC 2385) is not.
    const file = join(dir, 'md5.pkt');
    writeFileSync(file, '0 < S 0:0(0) win 65535 <mss 1460,md5 1>\n+0 > R. 0:0(0) ack 1\n');
    const strict = await runMain(['packetdrill', file]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain(`FAIL ${file} (not interpretable)\n  ${file}:1: 0 < S 0:0(0) win 65535 <mss 1460,md5 1>\n  not interpretable: option md5 not modelled\n`);
    const lenient = await runMain(['packetdrill', file, '--lenient']);
    expect(lenient.stdout).toContain(`PASS ${file} (lenient: 1 line skipped)\n  skipped line 1: option md5 not modelled (skipped: 0 < S 0:0(0) win 65535 <mss 1460,md5 1>)\n`);
    expect(lenient.code).toBe(0);
  });

  it('--csv writes one row per script; --format json one object per script and a summary', async () => {
    const dir = tempDir();
    const csv = join(dir, 'pd.csv');
    const run = await runMain(['packetdrill', `${EX}/c01-passive-open.pkt`, `${EX}/c05-four-way-close.pkt`, '--endpoint', 'stuck-in-last-ack', '--csv', csv, '--format', 'json']);
    expect(run.code).toBe(1);
    const objects = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects.map((o) => [o.type, o.status])).toEqual([['script', 'pass'], ['script', 'fail'], ['summary', undefined]]);
    expect(objects[2]).toEqual({ type: 'summary', passed: 1, failed: 1 });
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('file,status,interpretable,line,message,monitors,skipped,end_us,segments,fuzz_runs,fuzz_seed,fuzz_path');
    expect(rows[1]!.startsWith(`${EX}/c01-passive-open.pkt,pass,true,,,`)).toBe(true);
    expect(rows[2]!.startsWith(`${EX}/c05-four-way-close.pkt,fail,true,29,`)).toBe(true);
  });

  it('--fuzz prints the shrunk perturbation and the command that replays it; the replay is the same', async () => {
    const args = ['packetdrill', `${EX}/c08-time-wait-2msl.pkt`, '--fuzz', '60', '--seed', '3', '--endpoint', 'time-wait-rst'];
    const run = await runMain(args);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('(fuzz: a monitor broke; shrunk in');
    expect(run.stdout).toContain('  perturbation (shrunk): inbound packet #3 sent twice\n');
    const replay = /  replay: timewait (packetdrill .*)\n/.exec(run.stdout)![1]!.split(' ');
    const again = await runMain(replay);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('  perturbation (shrunk): inbound packet #3 sent twice\n');
    const reference = await runMain(args.slice(0, -2));
    expect(reference.stdout).toBe(`PASS ${EX}/c08-time-wait-2msl.pkt (fuzz: 60 perturbed runs, no monitor broken)\n1 passed, 0 failed\n`);
  });

  it('bad flags: exit 2 with the flag named', async () => {
    expect((await runMain(['packetdrill', `${EX}/c01-passive-open.pkt`, '--fuzz', '0'])).code).toBe(2);
    const path = await runMain(['packetdrill', `${EX}/c01-passive-open.pkt`, '--path', '1:0']);
    expect(path.code).toBe(2);
    expect(path.stderr).toContain('--path replays a fuzz counterexample');
    const pcap = await runMain(['packetdrill', `${EX}/c01-passive-open.pkt`, '--format', 'pcap']);
    expect(pcap.code).toBe(2);
  });

  it('--report DIR writes packetdrill.html with each script\'s result and ladder diagram', async () => {
    const dir = tempDir();
    const run = await runMain(['packetdrill', `${EX}/c07-three-way-close-8848.pkt`, `${EX}/c05-four-way-close.pkt`, '--endpoint', 'passive-time-wait', '--report', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`wrote ${join(dir, 'packetdrill.html')}\n`);
    const html = readFileSync(join(dir, 'packetdrill.html'), 'utf8');
    expect(html).toContain('timewait packetdrill: 0 passed, 2 failed');
    expect(html.match(/<svg/g)?.length).toBe(2);
  });

  it('--format pcap --out writes the capture of one script', async () => {
    const dir = tempDir();
    const out = join(dir, 'c15.pcap');
    const run = await runMain(['packetdrill', `${EX}/c15-linger-listener-6666.pkt`, '--format', 'pcap', '--out', out]);
    expect(run.code).toBe(0);
    const bytes = readFileSync(out);
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(run.stdout).toContain(`# wrote ${out} (wire capture, ${bytes.length} bytes)`);
  });
});
