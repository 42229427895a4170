/**
 * The external-stack conformance checker behind `timewait stack-check CMD…`: drives a stack
 * through the basic lifecycle and says what in its answers breaks docs/external-stack.md. Each
 * check is independent and reports pass or fail with the reason; a protocol error (a reply that
 * is not JSON, an unknown event, a datagram with a bad checksum, an event for a connection never
 * announced) fails the check that provoked it.
 */
import { formatTrace, TraceRecorder, type TraceEvent } from '../world/trace.js';
import type { ProgramStep } from '../world/program.js';
import { runPrograms } from '../world/run-script.js';
import { World } from '../world/world.js';
import { externalStack } from './external.js';

export interface StackCheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

const SECOND_US = 1_000_000;
const step = (call: ProgramStep['call']): ProgramStep => ({ call });

/** One world of two hosts running `command`: the programs' results, the states each host's connections went through, the trace. */
function lifecycle(command: string, seed: number, client: ProgramStep[], server: ProgramStep[]): { results: string[][]; states: Map<string, string[]>; events: readonly TraceEvent[] } {
  const factory = externalStack(command);
  try {
    const world = new World({ seed, stackFactory: factory, stack: { mslUs: 30 * SECOND_US } });
    world.addStack('server');
    world.addStack('client');
    const recorder = new TraceRecorder();
    world.addListener(recorder);
    const { programs } = runPrograms(world, [
      { host: 'server', steps: server },
      { host: 'client', startUs: 1000, steps: client },
    ], { maxEvents: 100_000, maxTimeUs: 600 * SECOND_US });
    const states = new Map<string, string[]>();
    for (const e of recorder.events) if (e.type === 'state') states.set(e.conn.host, [...(states.get(e.conn.host) ?? []), `${e.from}=>${e.to}`]);
    return { results: programs.map((p) => p.outcomes.map((o) => o.result)), states, events: recorder.events };
  } finally {
    factory.close();
  }
}

const SERVER: ProgramStep[] = [
  step({ op: 'socket', sock: 'l' }),
  step({ op: 'bind', sock: 'l', port: 8848 }),
  step({ op: 'listen', sock: 'l', backlog: 8 }),
  step({ op: 'accept', sock: 'l', as: 'c' }),
  step({ op: 'recv', sock: 'c', bytes: 3000 }),
  step({ op: 'send', sock: 'c', bytes: 2000 }),
  step({ op: 'recv-until-eof', sock: 'c' }),
  step({ op: 'close', sock: 'c' }),
  step({ op: 'close', sock: 'l' }),
];
const CLIENT: ProgramStep[] = [
  step({ op: 'socket', sock: 'c' }),
  step({ op: 'connect', sock: 'c', host: 'server', port: 8848 }),
  step({ op: 'send', sock: 'c', bytes: 3000 }),
  step({ op: 'recv', sock: 'c', bytes: 2000 }),
  step({ op: 'close', sock: 'c' }),
];

export function checkStack(command: string): StackCheckResult[] {
  const results: StackCheckResult[] = [];
  const check = (name: string, body: () => string | null): void => {
    try {
      const problem = body();
      results.push({ name, ok: problem === null, detail: problem ?? '' });
    } catch (error) {
      results.push({ name, ok: false, detail: (error as Error).message });
    }
  };
  let first: ReturnType<typeof lifecycle> | null = null;
  check('init and host: the stack answers and names itself', () => {
    const factory = externalStack(command);
    try {
      new World({ seed: 1, stackFactory: factory }).addStack('a');
      return factory.stackName === '' ? 'the init reply has no "name"' : null;
    } finally {
      factory.close();
    }
  });
  check('lifecycle: handshake, 3,000 bytes up, 2,000 down, four-way close', () => {
    first = lifecycle(command, 7, CLIENT, SERVER);
    const want = [['ok', 'ok', 'ok', 'ok', 'recv 3000', 'sent 2000', 'eof', 'ok', 'ok'], ['ok', 'ok', 'sent 3000', 'recv 2000', 'ok']];
    return JSON.stringify(first.results) === JSON.stringify(want) ? null : `calls returned ${JSON.stringify(first.results)}, expected ${JSON.stringify(want)}`;
  });
  check('states: the client passes SYN-SENT, ESTABLISHED, FIN-WAIT-1 and TIME-WAIT to CLOSED; the server ends CLOSED', () => {
    if (first === null) return 'the lifecycle did not run';
    const client = first.states.get('client') ?? [];
    const server = first.states.get('server') ?? [];
    const visits = (edges: string[], state: string) => edges.some((e) => e.endsWith(`=>${state}`));
    const missing = ['SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'TIME-WAIT', 'CLOSED'].filter((s) => !visits(client, s));
    if (missing.length > 0) return `client never reported ${missing.join(', ')} (it reported ${client.join(', ') || 'nothing'})`;
    if (client.at(-1) !== 'TIME-WAIT=>CLOSED') return `client's last change is ${client.at(-1)}, expected TIME-WAIT=>CLOSED`;
    if (server.at(-1)?.endsWith('=>CLOSED') !== true) return `server's connection never reported CLOSED (${server.join(', ')})`;
    return null;
  });
  check('segments: the SYN carries the MSS option and the SYN,ACK acknowledges ISN+1', () => {
    if (first === null) return 'the lifecycle did not run';
    const sent = first.events.flatMap((e) => (e.type === 'segment' && e.fate === 'sent' ? [e.seg] : []));
    const syn = sent.find((s) => s.flags === 0x02);
    const synAck = sent.find((s) => s.flags === 0x12);
    if (syn === undefined || synAck === undefined) return 'no SYN or no SYN,ACK went out';
    if (synAck.ack !== ((syn.seq + 1) >>> 0)) return `SYN,ACK acknowledges ${synAck.ack}, expected ${(syn.seq + 1) >>> 0}`;
    return syn.mss > 0 ? null : 'the SYN has no MSS option';
  });
  check('refused: connect to a port nobody listens on gets ECONNREFUSED', () => {
    const run = lifecycle(command, 8, [step({ op: 'socket', sock: 'c' }), step({ op: 'connect', sock: 'c', host: 'server', port: 9 }), step({ op: 'close', sock: 'c' })], []);
    return run.results[1]?.[1] === 'ECONNREFUSED' ? null : `connect returned ${run.results[1]?.[1]}`;
  });
  check('determinism: the same seed gives the same trace', () => {
    const a = formatTrace(lifecycle(command, 9, CLIENT, SERVER).events).join('\n');
    const b = formatTrace(lifecycle(command, 9, CLIENT, SERVER).events).join('\n');
    return a === b ? null : 'two runs of one seed differ: the stack reads a clock or an unseeded random source';
  });
  return results;
}
