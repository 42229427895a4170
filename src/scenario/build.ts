/**
 * From a RunSpec to a world with programs: one server program and one client program per
 * connection spec, each a script of blocking socket calls.
 */
import { linkFaults, type LinkFaults } from '../net/faults.js';
import type { StackConfig } from '../tcp/config.js';
import type { Endpoint } from '../tcp/endpoint.js';
import type { StackFactory } from '../tcp/stack.js';
import type { ProgramStep } from '../world/program.js';
import type { ProgramSpec } from '../world/run-script.js';
import { World } from '../world/world.js';
import { clientPort, FIXED_ISN, serverPort, type ConnectionSpec, type FaultPlan, type PartitionSpec, type RunSpec } from './spec.js';

export const SECOND_US = 1_000_000;

/** Stack settings of generated runs: Linux's, with retry limits that give up only well after faults stop. */
export function stackFor(spec: RunSpec): Partial<StackConfig> {
  return {
    mslUs: spec.mslUs,
    timeWaitUs: 2 * spec.mslUs,
    ...(spec.defaultDelayedAck === true ? {} : { delayedAckUs: spec.delayedAckUs }),
    isn: spec.isn === 'fixed' ? { kind: 'fixed', value: spec.fixedIsn ?? FIXED_ISN } : { kind: spec.isn },
    rfc1337: spec.rfc1337,
    timestamps: spec.timestamps ?? 1,
    ...(spec.sack === true ? { sack: true } : {}),
    ...(spec.receiveBufferBytes !== undefined ? { receiveBufferBytes: spec.receiveBufferBytes } : {}),
    ...(spec.twReuse !== undefined ? { twReuse: spec.twReuse } : {}),
    ...(spec.maxTwBuckets !== undefined ? { maxTwBuckets: spec.maxTwBuckets } : {}),
    ...(spec.ephemeralPorts !== undefined ? { ephemeralPortMin: spec.ephemeralPorts[0], ephemeralPortMax: spec.ephemeralPorts[1] } : {}),
    // A simultaneous opener carries its SYN retransmissions into SYN-RECEIVED, where Linux allows
    // only tcp_syn_retries (tcp_write_timeout adds tcp_syn_linear_timeouts in SYN-SENT alone):
    // 1 s linear SYNs until faults stop at 8 s make 7, so 8 leaves a SYN,ACK to go through after.
    synRetries: 8,
    synAckRetries: 5,
    dataRetries: 7,
    rtoMaxUs: 30 * SECOND_US,
    finWait2TimeoutUs: 60 * SECOND_US,
  };
}

/**
 * The derived bound for `termination`. After faults stop, every blocked retransmission goes
 * through at its next timeout (at most `rtoMaxUs` away; the retry limits are chosen so nobody
 * gives up while faults last: 8 tries from a 200 ms RTO span over 50 s); the programs' own
 * sleeps and gaps follow; then TIME-WAIT (2·MSL) or the orphaned FIN-WAIT-2 timeout (60 s),
 * whichever is longer, and old duplicates (≤ MSL) die out. Doubled for the chain of steps
 * (handshake, data, close) that each may wait one RTO.
 */
export function terminationBoundUs(spec: RunSpec): number {
  const stack = stackFor(spec);
  const scriptUs = spec.connections.reduce(
    (sum, c) => sum + c.startUs + c.incarnations * (c.gapUs + c.passiveCloseDelayUs + SECOND_US) + (c.closeOrder === 'silent-peer' ? SILENT_PEER_WAIT_US : c.closeOrder === 'late-peer' ? LATE_PEER_WAIT_US : 0),
    0,
  );
  const lastTimerUs = Math.max(2 * spec.mslUs, stack.finWait2TimeoutUs!);
  return spec.faultsEndUs + 4 * stack.rtoMaxUs! + scriptUs + lastTimerUs + spec.mslUs + 10 * SECOND_US;
}

/** How long a silent peer keeps its FIN back: past the orphaned FIN-WAIT-2 timeout (60 s). */
const SILENT_PEER_WAIT_US = 70 * SECOND_US;
/** How long a late peer waits before its FIN: inside tcp_fin_timeout (60 s), past half of it. */
const LATE_PEER_WAIT_US = 45 * SECOND_US;

export interface BuiltRun {
  readonly world: World;
  readonly programs: readonly ProgramSpec[];
}

/** The world of a spec, every host running `stackFactory` when given (an external stack), else the reference with `endpoint`. */
export function buildRun(spec: RunSpec, endpoint?: Endpoint, stackFactory?: StackFactory): BuiltRun {
  const world = new World({
    seed: spec.seed,
    stack: stackFor(spec),
    enforceMsl: spec.enforceMsl,
    faultsEndUs: spec.faultsEndUs,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(stackFactory !== undefined ? { stackFactory } : {}),
  });
  const servers = Array.from({ length: spec.servers }, (_, i) => world.addStack(`server${i + 1}`));
  const clients = Array.from({ length: spec.clients }, (_, i) => world.addStack(`client${i + 1}`));
  for (const server of servers) {
    for (const client of clients) {
      world.fabric.configureLink(client.ip, server.ip, linkFor(spec.faults, 'to-server'));
      world.fabric.configureLink(server.ip, client.ip, linkFor(spec.faults, 'to-client'));
    }
  }
  flowKeysFor(spec, world, servers.map((s) => s.ip));
  const programs: ProgramSpec[] = [];
  spec.connections.forEach((connection, index) => {
    const { server, client } = scriptsFor(spec, connection, index);
    programs.push({ host: `server${connection.server + 1}`, startUs: 0, steps: server });
    // A simultaneous open's client binds first and sleeps until startUs itself.
    const clientStartUs = connection.closeOrder === 'simultaneous-open' ? 0 : connection.startUs;
    programs.push({ host: `client${connection.client + 1}`, startUs: clientStartUs, steps: client });
  });
  const crash = midLifeCrash(spec);
  if (crash !== null) programs.push(crash);
  return { world, programs };
}

/**
 * A crash at a drawn moment of the first connection's life (`crashAfterUs`), so that every
 * state of its server is hit in some run: a program of its own on the server's host, which
 * crashes it and restarts it a second later, with no state.
 */
function midLifeCrash(spec: RunSpec): ProgramSpec | null {
  const first = spec.connections[0];
  if (spec.crashAfterUs === undefined || first === undefined) return null;
  return { host: `server${first.server + 1}`, startUs: first.startUs + spec.crashAfterUs, steps: [step({ op: 'crash' }), step({ op: 'sleep', us: SECOND_US }), step({ op: 'restart' })] };
}

/**
 * Per-connection link fates: every segment to or from a connection spec's server port (each spec
 * has its own) draws from the spec's never-shrunk `flowKey` stream.
 */
function flowKeysFor(spec: RunSpec, world: World, serverIps: readonly number[]): void {
  const keys = new Map<number, number>();
  spec.connections.forEach((c, index) => {
    if (c.flowKey !== undefined) keys.set(serverIps[c.server]! * 65536 + serverPort(index), c.flowKey);
  });
  if (keys.size === 0) return;
  world.fabric.flowKeyOf = (seg) => keys.get(seg.dstIp * 65536 + seg.dstPort) ?? keys.get(seg.srcIp * 65536 + seg.srcPort) ?? null;
}

function linkFor(plan: FaultPlan, direction: 'to-server' | 'to-client'): LinkFaults {
  return linkFaults({
    delayUs: plan.delayUs,
    jitterUs: plan.jitterUs,
    lossRate: plan.lossPermille / 1000,
    burst: plan.burst,
    duplicateRate: plan.duplicatePermille / 1000,
    reorderRate: plan.reorderPermille / 1000,
    reorderDelayUsMax: plan.reorderDelayUsMax,
    oldDuplicateRate: plan.oldDuplicatePermille / 1000,
    oldDuplicateDelayUsMax: plan.oldDuplicateDelayUsMax,
    partitions: plan.partitions.filter((p: PartitionSpec) => p.direction === direction || p.direction === 'both').map((p) => ({ fromUs: p.fromUs, toUs: p.toUs })),
  });
}

const step = (call: ProgramStep['call']): ProgramStep => ({ call });
const sendSteps = (bytes: number): ProgramStep[] => (bytes > 0 ? [step({ op: 'send', sock: 'conn', bytes })] : []);
const recvSteps = (bytes: number): ProgramStep[] => (bytes > 0 ? [step({ op: 'recv', sock: 'conn', bytes })] : []);

/**
 * The two programs of one connection spec, over all its incarnations. Aborts happen only
 * after faults stop: a RST is never retransmitted (RFC 9293 §3.5.2), so a lost one leaves a
 * half-open connection that nothing in these scripts would ever discover.
 */
function scriptsFor(spec: RunSpec, c: ConnectionSpec, index: number): { server: ProgramStep[]; client: ProgramStep[] } {
  const port = serverPort(index);
  const settleUs = spec.faultsEndUs + SECOND_US;
  const serverName = `server${c.server + 1}`;
  if (c.closeOrder === 'refused') {
    return { server: [], client: [step({ op: 'socket', sock: 'conn' }), step({ op: 'connect', sock: 'conn', host: serverName, port }), step({ op: 'close', sock: 'conn' })] };
  }
  if (c.closeOrder === 'unreachable') {
    // The server's host goes down before the first SYN and stays down: connect() times out.
    return { server: [step({ op: 'crash' })], client: [step({ op: 'socket', sock: 'conn' }), step({ op: 'connect', sock: 'conn', host: serverName, port }), step({ op: 'close', sock: 'conn' })] };
  }
  if (c.closeOrder === 'simultaneous-open') return simultaneousOpen(c, index, serverName);
  const server: ProgramStep[] = [step({ op: 'socket', sock: 'listener' })];
  if (c.serverReuseAddr) server.push(step({ op: 'setsockopt', sock: 'listener', option: 'SO_REUSEADDR', value: true }));
  if (c.closeOrder === 'abort-server') server.push(step({ op: 'setsockopt', sock: 'listener', option: 'SO_LINGER', onoff: true, lingerSec: 0 }));
  server.push(step({ op: 'bind', sock: 'listener', port }));
  const twin = spec.secondListener === true && c.serverReuseAddr;
  if (twin) {
    // C13: two SO_REUSEADDR sockets may both bind the port while neither listens; only one may listen.
    server.push(step({ op: 'socket', sock: 'twin' }), step({ op: 'setsockopt', sock: 'twin', option: 'SO_REUSEADDR', value: true }), step({ op: 'bind', sock: 'twin', port }));
  }
  server.push(step({ op: 'listen', sock: 'listener', backlog: 8 }));
  if (twin) server.push(step({ op: 'listen', sock: 'twin', backlog: 8 }), step({ op: 'close', sock: 'twin' }));
  const client: ProgramStep[] = [];
  for (let k = 0; k < c.incarnations; k++) {
    const fixedPort = c.incarnations > 1 && spec.ephemeralReconnect !== true;
    if (k > 0) client.push(step({ op: 'sleep', us: c.gapUs }));
    client.push(step({ op: 'socket', sock: 'conn' }));
    if (c.clientReuseAddr) client.push(step({ op: 'setsockopt', sock: 'conn', option: 'SO_REUSEADDR', value: true }));
    if (c.closeOrder === 'abort-client') client.push(step({ op: 'setsockopt', sock: 'conn', option: 'SO_LINGER', onoff: true, lingerSec: 0 }));
    if (fixedPort) client.push(step({ op: 'bind', sock: 'conn', port: clientPort(index) }));
    client.push(step({ op: 'connect', sock: 'conn', host: serverName, port }));
    server.push(step({ op: 'accept', sock: 'listener', as: 'conn' }));
    const passiveWait: ProgramStep[] = c.passiveCloseDelayUs > 0 ? [step({ op: 'sleep', us: c.passiveCloseDelayUs })] : [];
    // A direction with 0 bytes carries no data at all: its receiver sees only the FIN, which
    // Linux ACKs at once (delayed-ACK timeout 0 before any data; tcb-receive.ts scheduleAck).
    const request = sendSteps(c.requestBytes);
    const readRequest = recvSteps(c.requestBytes);
    const response = sendSteps(c.responseBytes);
    const readResponse = recvSteps(c.responseBytes);
    const untilEof = step({ op: 'recv-until-eof', sock: 'conn' });
    const close = step({ op: 'close', sock: 'conn' });
    switch (c.closeOrder) {
      case 'client-first':
        client.push(...request, ...readResponse, close);
        server.push(...readRequest, ...response, untilEof, ...passiveWait, close);
        break;
      case 'server-first':
        client.push(...request, ...readResponse, untilEof, ...passiveWait, close);
        server.push(...readRequest, ...response, close);
        break;
      case 'simultaneous': {
        const together = step({ op: 'sleep-until', atUs: settleUs + k * (c.gapUs + 2 * SECOND_US) });
        client.push(...request, ...readResponse, together, close);
        server.push(...readRequest, ...response, together, close);
        break;
      }
      case 'half-close':
        // C6: the client's FIN goes first; the server's answer still flows back to it.
        client.push(...request, step({ op: 'shutdown', sock: 'conn', how: 'SHUT_WR' }), untilEof, close);
        server.push(step({ op: 'recv-until-eof', sock: 'conn' }), ...response, ...passiveWait, close);
        break;
      case 'silent-peer':
        // The client's FIN-WAIT-2 is orphaned and times out; the server's FIN, long after, meets a reset.
        client.push(...request, ...readResponse, close);
        server.push(...readRequest, ...response, untilEof, step({ op: 'sleep', us: SILENT_PEER_WAIT_US }), close);
        break;
      case 'late-peer':
        // The orphaned FIN-WAIT-2 is still there when the server's FIN comes, 45 s on: TIME-WAIT.
        client.push(...request, ...readResponse, close);
        server.push(...readRequest, ...response, untilEof, step({ op: 'sleep', us: LATE_PEER_WAIT_US }), close);
        break;
      case 'abort-client':
        client.push(...request, ...readResponse, step({ op: 'sleep-until', atUs: settleUs }), close);
        server.push(...readRequest, ...response, untilEof, close);
        break;
      case 'abort-server':
        client.push(...request, ...readResponse, close);
        server.push(...readRequest, ...response, untilEof, step({ op: 'sleep-until', atUs: settleUs }), close);
        break;
      case 'abort-reconnect':
        // No waiting for the faults to stop: the abort and the new incarnation come at once.
        client.push(
          step({ op: 'setsockopt', sock: 'conn', option: 'SO_LINGER', onoff: true, lingerSec: 0 }),
          ...request,
          ...readResponse,
          close,
        );
        server.push(...readRequest, ...response, untilEof, close);
        break;
      case 'unread-close':
        client.push(...request, step({ op: 'send', sock: 'conn', bytes: 1 + (c.requestBytes % 500) }), untilEof, close);
        server.push(...readRequest, ...response, step({ op: 'sleep-until', atUs: settleUs }), close);
        break;
      case 'crash-server': {
        // Crash once the response is surely through (faults over, one more RTO at most), so the
        // client is not left waiting for bytes that died with the host; it then learns of the
        // crash from the restarted host's RST.
        const crashUs = settleUs + stackFor(spec).rtoMaxUs! + SECOND_US;
        client.push(...request, ...readResponse, step({ op: 'sleep-until', atUs: crashUs + 2 * SECOND_US }), step({ op: 'send', sock: 'conn', bytes: 1 }), untilEof, close);
        server.push(...readRequest, ...response, step({ op: 'sleep-until', atUs: crashUs }), step({ op: 'crash' }), step({ op: 'sleep', us: SECOND_US }), step({ op: 'restart' }));
        return { server, client };
      }
    }
  }
  // A server restart (C11, C13): close the listener and bind its port again at once. Whether
  // that bind succeeds depends on TIME-WAIT connections on the port and SO_REUSEADDR on both.
  server.push(step({ op: 'close', sock: 'listener' }), step({ op: 'socket', sock: 'restarted' }));
  if (c.serverReuseAddr) server.push(step({ op: 'setsockopt', sock: 'restarted', option: 'SO_REUSEADDR', value: true }));
  server.push(step({ op: 'bind', sock: 'restarted', port }), step({ op: 'close', sock: 'restarted' }));
  return { server, client };
}

/** Both ends bind their port and connect to each other at `startUs`, so the SYNs cross (RFC 9293 Figure 8). */
function simultaneousOpen(c: ConnectionSpec, index: number, serverName: string): { server: ProgramStep[]; client: ProgramStep[] } {
  const port = serverPort(index);
  const ownPort = clientPort(index);
  const open = (bindPort: number, peer: string, peerPort: number): ProgramStep[] => [
    step({ op: 'socket', sock: 'conn' }),
    step({ op: 'bind', sock: 'conn', port: bindPort }),
    step({ op: 'sleep-until', atUs: c.startUs }),
    step({ op: 'connect', sock: 'conn', host: peer, port: peerPort }),
  ];
  return {
    server: [
      ...open(port, `client${c.client + 1}`, ownPort),
      ...recvSteps(c.requestBytes),
      ...sendSteps(c.responseBytes),
      step({ op: 'recv-until-eof', sock: 'conn' }),
      step({ op: 'close', sock: 'conn' }),
    ],
    client: [
      ...open(ownPort, serverName, port),
      ...sendSteps(c.requestBytes),
      ...recvSteps(c.responseBytes),
      step({ op: 'close', sock: 'conn' }),
    ],
  };
}
