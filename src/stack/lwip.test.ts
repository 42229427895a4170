/**
 * The lwIP adapter (native/lwip/) under the harness: Debian's liblwip completes a handshake,
 * moves data both ways, closes and holds TIME-WAIT on the active closer (C1–C8), with nothing
 * but the external-stack protocol between it and the simulator. Skipped, with the reason
 * printed, where the C compiler or liblwip-dev is missing (.ci/run and the README install them).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPrograms } from '../world/run-script.js';
import { TraceRecorder, type TraceEvent } from '../world/trace.js';
import { World } from '../world/world.js';
import { externalStack, type ExternalStackFactory } from './external.js';
import { ROOT } from './test-support.js';

/** Build the adapter into a temporary directory; the reason it cannot be built otherwise. */
export function buildLwipAdapter(outDir: string): { path: string } | { skip: string } {
  if (!existsSync('/usr/include/lwip/lwip/tcp.h')) return { skip: 'liblwip-dev is not installed (apt-get install -y liblwip-dev)' };
  try {
    execFileSync('make', ['-s', '-C', join(ROOT, 'native', 'lwip'), `OUT=${outDir}`], { stdio: 'pipe' });
  } catch (error) {
    return { skip: `the lwIP adapter does not build here (needs build-essential and liblwip-dev): ${(error as { stderr?: Buffer }).stderr?.toString().trim() ?? String(error)}` };
  }
  return { path: join(outDir, 'timewait-lwip') };
}

const outDir = mkdtempSync(join(tmpdir(), 'timewait-lwip-'));
const built = buildLwipAdapter(outDir);
if ('skip' in built) console.log(`skipping the lwIP adapter tests: ${built.skip}`);

let factory: ExternalStackFactory;
beforeAll(() => {
  if ('path' in built) factory = externalStack(built.path);
});
afterAll(() => {
  factory?.close();
  rmSync(outDir, { recursive: true, force: true });
});

const SECOND_US = 1_000_000;

function statesOf(events: readonly TraceEvent[], host: string): string[] {
  return events.filter((e) => e.type === 'state' && e.conn.host === host).map((e) => (e.type === 'state' ? `${e.from}=>${e.to}` : ''));
}

describe.skipIf('skip' in built)('lwIP under the harness', () => {
  it('C1–C8: handshake, data both ways, four-way close, TIME-WAIT on the active closer', () => {
    // Arrange: a client that sends 3,000 bytes, reads the 2,000-byte answer and closes first.
    const world = new World({ seed: 15, stackFactory: factory });
    world.addStack('server');
    world.addStack('client');
    const recorder = new TraceRecorder();
    world.addListener(recorder);
    const s = (call: object) => ({ call: call as never });
    // Act
    const { programs } = runPrograms(world, [
      {
        host: 'server',
        steps: [
          s({ op: 'socket', sock: 'l' }),
          s({ op: 'bind', sock: 'l', port: 8848 }),
          s({ op: 'listen', sock: 'l', backlog: 8 }),
          s({ op: 'accept', sock: 'l', as: 'c' }),
          s({ op: 'recv', sock: 'c', bytes: 3000 }),
          s({ op: 'send', sock: 'c', bytes: 2000 }),
          s({ op: 'recv-until-eof', sock: 'c' }),
          s({ op: 'close', sock: 'c' }),
        ],
      },
      {
        host: 'client',
        startUs: 1000,
        steps: [s({ op: 'socket', sock: 'c' }), s({ op: 'connect', sock: 'c', host: 'server', port: 8848 }), s({ op: 'send', sock: 'c', bytes: 3000 }), s({ op: 'recv', sock: 'c', bytes: 2000 }), s({ op: 'close', sock: 'c' })],
      },
    ]);
    // Assert: every call returned what a socket returns.
    const results = programs.map((p) => p.outcomes.map((o) => o.result));
    expect(results[0]).toEqual(['ok', 'ok', 'ok', 'ok', 'recv 3000', 'sent 2000', 'eof', 'ok']);
    expect(results[1]).toEqual(['ok', 'ok', 'sent 3000', 'recv 2000', 'ok']);
    // The states RFC 9293 Figure 5 draws, from lwIP's own pcbs.
    expect(statesOf(recorder.events, 'client')).toEqual(['CLOSED=>SYN-SENT', 'SYN-SENT=>ESTABLISHED', 'ESTABLISHED=>FIN-WAIT-1', 'FIN-WAIT-1=>FIN-WAIT-2', 'FIN-WAIT-2=>TIME-WAIT', 'TIME-WAIT=>CLOSED']);
    expect(statesOf(recorder.events, 'server')).toEqual(['LISTEN=>SYN-RECEIVED', 'SYN-RECEIVED=>ESTABLISHED', 'ESTABLISHED=>CLOSE-WAIT', 'CLOSE-WAIT=>LAST-ACK', 'LAST-ACK=>CLOSED']);
    // The SYN carries lwIP's first ISN and the MSS option; the SYN,ACK acknowledges ISN + 1 (C2).
    const sent = recorder.events.flatMap((e) => (e.type === 'segment' && e.fate === 'sent' ? [e.seg] : []));
    expect(sent[0]!.flags).toBe(0x02);
    expect(sent[0]!.mss).toBe(1460);
    expect(sent[1]!.ack).toBe((sent[0]!.seq + 1) >>> 0);
    // TIME-WAIT lasts lwIP's 2·TCP_MSL (2 × 60 s), counted in 500 ms slow-timer ticks.
    const tw = recorder.events.filter((e) => e.type === 'state' && e.conn.host === 'client' && (e.to === 'TIME-WAIT' || e.from === 'TIME-WAIT')).map((e) => e.atUs);
    expect(tw[1]! - tw[0]!).toBeGreaterThanOrEqual(120 * SECOND_US);
    expect(tw[1]! - tw[0]!).toBeLessThanOrEqual(121 * SECOND_US);
  });

  it('replays exactly: the same seed gives the same trace', () => {
    const traceOf = (): string => {
      const world = new World({ seed: 99, stackFactory: factory });
      world.addStack('server');
      world.addStack('client');
      const recorder = new TraceRecorder();
      world.addListener(recorder);
      const s = (call: object) => ({ call: call as never });
      runPrograms(world, [
        { host: 'server', steps: [s({ op: 'socket', sock: 'l' }), s({ op: 'bind', sock: 'l', port: 32768 }), s({ op: 'listen', sock: 'l', backlog: 1 }), s({ op: 'accept', sock: 'l', as: 'c' }), s({ op: 'recv-until-eof', sock: 'c' }), s({ op: 'close', sock: 'c' })] },
        { host: 'client', steps: [s({ op: 'socket', sock: 'c' }), s({ op: 'connect', sock: 'c', host: 'server', port: 32768 }), s({ op: 'send', sock: 'c', bytes: 100 }), s({ op: 'close', sock: 'c' })] },
      ]);
      expect(recorder.events.some((e) => e.type === 'state' && e.to === 'TIME-WAIT')).toBe(true);
      return JSON.stringify(recorder.events, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v));
    };
    expect(traceOf()).toBe(traceOf());
  });
});
