import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pcapOfWire, wirePackets, writePcap } from '../report/pcap.js';
import { threeWayCloseRun } from '../report/example-runs.js';
import { FIN } from '../tcp/segment.js';
import { runMain, tempDir } from './test-support.js';

const dir = tempDir('timewait-check-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('timewait check FILE.pcap', () => {
  const run = threeWayCloseRun();
  const good = join(dir, 'good.pcap');
  writeFileSync(good, pcapOfWire(run.events));

  it('passes a clean capture: exit 0, the connections listed', async () => {
    const out = await runMain(['check', good]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/10\.0\.0\.1:44722 <-> 10\.0\.0\.2:8848 inc 1: frames 1-7/);
    expect(out.stdout).toMatch(/# result: pass/);
  });

  it('a FIN ACKed without +1: exit 1, FAIL with the frame number', async () => {
    const packets = wirePackets(run.events);
    const fin = packets.find((p) => p.seg.flags & FIN && p.seg.srcPort === 8848)!.seg;
    const edited = packets.map((p, i) => (i === packets.length - 1 ? { atUs: p.atUs, seg: { ...p.seg, ack: fin.seq } } : p));
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, writePcap(edited));
    const out = await runMain(['check', bad]);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/FAIL frame 7: fin-ack \(C4\)/);
    expect(out.stdout).toMatch(/>> frame    7/);
  });

  it('bad input: exit 2 with a message naming the file (not a capture, missing, bad flag)', async () => {
    const json = join(dir, 'scenario.json');
    writeFileSync(json, '{"hosts": []}');
    const notPcap = await runMain(['check', json]);
    expect([notPcap.code, notPcap.stderr]).toEqual([2, expect.stringMatching(/capture .*scenario\.json: not a pcap or pcapng file/)]);
    const missing = await runMain(['check', join(dir, 'nope.pcap')]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/cannot read capture .*nope\.pcap: ENOENT/)]);
    const flag = await runMain(['check', good, '--time-wait-ms', 'soon']);
    expect([flag.code, flag.stderr]).toEqual([2, expect.stringMatching(/--time-wait-ms/)]);
  });

  it('a capture of one direction: exit 2, says it cannot judge', async () => {
    const oneWay = join(dir, 'one-way.pcap');
    writeFileSync(oneWay, writePcap(wirePackets(run.events).filter((p) => p.seg.srcPort === 44722)));
    const out = await runMain(['check', oneWay]);
    expect(out.code).toBe(2);
    expect(out.stdout).toMatch(/# cannot judge: no connection shows both directions/);
  });
});

describe('timewait kernel FILE.json: what it refuses', () => {
  it('a scenario Linux cannot be made to do: exit 2, naming the field', async () => {
    const out = await runMain(['kernel', 'examples/c10-old-duplicates-die-out.json']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/cannot run on a real kernel:\ntimewait:   defaultLink\.oldDuplicateRate: random or timed link faults/);
  });

  it('a crash step: exit 2, naming the step', async () => {
    const file = join(dir, 'crash.json');
    writeFileSync(file, JSON.stringify({ hosts: [{ name: 'a', script: [{ op: 'crash' }] }] }));
    const out = await runMain(['kernel', file]);
    expect([out.code, out.stderr]).toEqual([2, expect.stringMatching(/hosts\[0\]\.script\[0\]: crash/)]);
  });

  it('an invalid scenario file: exit 2 as for timewait scenario', async () => {
    const out = await runMain(['kernel', join(dir, 'missing.json')]);
    expect(out.code).toBe(2);
  });
});
