/**
 * `timewait replay`: one run reproduced exactly from { suite, seed, path } or a saved
 * counterexample, printed as tcpdump-style text, JSON lines or a pcap file; byte-identical
 * run to run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv.js';
import { runMain, tempDir } from './test-support.js';

describe('timewait replay', () => {
  it('prints the trace in tcpdump style, with the scenario first and the verdict last; the same bytes every time', async () => {
    // Act
    const first = await runMain(['replay', '--suite', 'time-wait', '--seed', '-77', '--path', '3']);
    const second = await runMain(['replay', '--suite', 'time-wait', '--seed=-77', '--path', '3']);
    // Assert
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('# replay of suite time-wait, endpoint reference, seed -77, path 3');
    expect(lines.some((l) => /^\d+\.\d{6} 10\.0\.0\.\d+\.\d+ > 10\.0\.0\.\d+\.\d+: Flags \[S\], seq \d+, win \d+, options \[mss 1460,nop,nop,TS val \d+ ecr 0,nop,wscale 7\], length 0$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^# result: no invariant broken; \d+ events/);
  });

  it('replays the run a campaign CSV row names: same statistics', async () => {
    // Arrange: a campaign row.
    const dir = tempDir();
    await runMain(['run', 'reuse-linger', '--runs', '60', '--seed', '9', '--workers', '1', '--no-store', '--no-timing', '--reports-dir', dir]);
    const csv = parseCsv(readFileSync(join(dir, 'campaign.csv'), 'utf8'));
    const row = csv.records[57]!;
    const at = (key: string) => row[csv.header.indexOf(key)]!;
    // Act
    const replayed = await runMain(['replay', '--suite', at('suite'), '--seed', at('seed'), '--path', at('path'), '--csv', join(dir, 'one.csv')]);
    // Assert: every column but the origin (no chunk in a replay) agrees.
    expect(replayed.code).toBe(0);
    const one = parseCsv(readFileSync(join(dir, 'one.csv'), 'utf8'));
    const same = csv.header.filter((k) => k !== 'chunk' && k !== 'campaign' && k !== 'shard');
    expect(same.map((k) => one.records[0]![one.header.indexOf(k)])).toEqual(same.map((k) => at(k)));
  });

  it('--format json writes one JSON object per line: a replay header, the events, a result', async () => {
    // Act
    // close-shape: clean links and no crashes, so its runs end in TIME-WAIT.
    const result = await runMain(['replay', '--suite', 'close-shape', '--seed', '1', '--path', '0', '--format', 'json']);
    // Assert
    const objects = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(objects[0]).toMatchObject({ type: 'replay', suite: 'close-shape', endpoint: 'reference', seed: 1, path: '0' });
    expect(objects.at(-1)).toMatchObject({ type: 'result', failed: false, violations: [] });
    const events = objects.slice(1, -1);
    expect(events.map((e) => e.i)).toEqual(events.map((_, i) => i));
    const syn = events.find((e) => e.type === 'segment' && e.fate === 'sent' && e.flags === 'S');
    expect(syn).toMatchObject({ atUs: expect.any(Number), id: 1, src: expect.stringMatching(/^10\.0\.0\.\d+:\d+$/), ack: null, mss: 1460, len: 0, retransmission: false });
    expect(events.some((e) => e.type === 'state' && e.to === 'TIME-WAIT' && typeof e.conn.local === 'string')).toBe(true);
  });

  it('--format pcap --out FILE writes a libpcap capture of the wire (LINKTYPE_RAW), and --host one host\'s', async () => {
    // Arrange
    const dir = tempDir();
    // Act
    const wire = await runMain(['replay', '--suite', 'close', '--seed', '1', '--path', '0', '--format', 'pcap', '--out', join(dir, 'wire.pcap')]);
    // A server of this run, by name (the generators name hosts by role and index).
    const trace = await runMain(['replay', '--suite', 'close', '--seed', '1', '--path', '0']);
    const server = /\b(server\d+)\b/.exec(trace.stdout)?.[1] ?? 'no server in the trace';
    const host = await runMain(['replay', '--suite', 'close', '--seed', '1', '--path', '0', '--format', 'pcap', '--out', join(dir, 'server.pcap'), '--host', server]);
    // Assert
    expect(wire.code).toBe(0);
    expect(host.code).toBe(0);
    expect(wire.stdout).toMatch(/# wrote .*wire\.pcap \(wire capture, \d+ bytes\)/);
    const bytes = readFileSync(join(dir, 'wire.pcap'));
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(bytes.readUInt32LE(20)).toBe(101);
    expect(readFileSync(join(dir, 'server.pcap')).length).toBeGreaterThan(24);
  });

  it('--from replays a saved counterexample exactly as --suite/--seed/--path does', async () => {
    // Arrange
    const dir = tempDir();
    const run = await runMain(['run', 'close', '--runs', '50', '--seed', '5', '--workers', '1', '--endpoint', 'no-time-wait', '--no-store', '--reports-dir', dir]);
    const saved = /saved: (\S+)/.exec(run.stdout)![1]!;
    const file = JSON.parse(readFileSync(saved, 'utf8'));
    // Act
    const fromFile = await runMain(['replay', '--from', saved]);
    const fromArgs = await runMain(['replay', '--suite', 'close', `--seed=${file.seed}`, '--path', file.path, '--endpoint', 'no-time-wait']);
    // Assert
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toBe('');
    expect(fromFile.stdout).toBe(fromArgs.stdout);
    expect(fromFile.stdout).toContain('#   time-wait-side (C8, C11) violated');
  });
});
