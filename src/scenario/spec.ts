/**
 * A generated run, as plain data: hosts, connections (each with its workload and close order,
 * possibly reusing its 4-tuple over several incarnations), stack options, and the fault plan.
 * fast-check generates it (arbitraries.ts), `buildRun` turns it into a world with programs,
 * and `describeRunSpec` says it in words for a counterexample report.
 */
import type { BurstLoss } from '../net/faults.js';

/** Who closes, and how (C5–C7, C14, C15). */
export type CloseOrder =
  /** Client closes first; the server reads EOF and closes (C5, C7). */
  | 'client-first'
  /** The server closes first and holds TIME-WAIT on its well-known port (C11). */
  | 'server-first'
  /** Both close at the same moment: FINs cross, both pass CLOSING into TIME-WAIT. */
  | 'simultaneous'
  /** Client shuts down writing, then still receives the server's answer (C6). */
  | 'half-close'
  /** Client closes with SO_LINGER{on,0}: RST, no TIME-WAIT (C14). */
  | 'abort-client'
  /** The listener has SO_LINGER{on,0}, the accepted socket inherits it, its close sends RST (C15). */
  | 'abort-server'
  /** The server closes with bytes still unread: Linux sends RST. */
  | 'unread-close'
  /** The server host crashes after answering, then restarts with no state. */
  | 'crash-server'
  /** The hazard of C14: the client aborts with SO_LINGER{on,0} and reconnects from the same port at once. */
  | 'abort-reconnect'
  /** Both ends bind and connect to each other at the same moment: SYN-SENT -> SYN-RECEIVED (RFC 9293 Figure 8); then as client-first. */
  | 'simultaneous-open'
  /** The client connects to a port nobody listens on: RST, ECONNREFUSED (SYN-SENT -> CLOSED). */
  | 'refused'
  /** The server's host is down for good: every SYN is lost, connect() gives up with ETIMEDOUT. */
  | 'unreachable'
  /** The client closes first and its peer never sends its FIN: the orphaned FIN-WAIT-2 times out (Linux tcp_fin_timeout); the server's late FIN meets a reset. */
  | 'silent-peer'
  /** As silent-peer, but the server's FIN comes late within tcp_fin_timeout (45 s of 60): the orphaned FIN-WAIT-2 must still be there to ACK it and enter TIME-WAIT. */
  | 'late-peer';

export const CLOSE_ORDERS: readonly CloseOrder[] = ['client-first', 'server-first', 'simultaneous', 'half-close', 'abort-client', 'abort-server', 'unread-close', 'crash-server', 'abort-reconnect', 'simultaneous-open', 'refused', 'unreachable', 'silent-peer', 'late-peer'];

export interface ConnectionSpec {
  /** Index into the run's clients and servers. */
  readonly client: number;
  readonly server: number;
  readonly startUs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly closeOrder: CloseOrder;
  /** How long the passive closer waits after end-of-file before closing (0: at once, C7). */
  readonly passiveCloseDelayUs: number;
  /** How many times the client opens this same 4-tuple (a fixed client port from the second on). */
  readonly incarnations: number;
  /** Pause between incarnations. */
  readonly gapUs: number;
  /** SO_REUSEADDR on the client's socket (needed to bind its fixed port again) and the server's listener. */
  readonly clientReuseAddr: boolean;
  readonly serverReuseAddr: boolean;
  /**
   * The connection's link-fate stream (never shrunk): its segments draw loss, jitter, reordering
   * and duplication from their own stream, so removing another connection leaves its draws
   * alone. Absent: the link's shared stream.
   */
  readonly flowKey?: number;
}

export interface PartitionSpec {
  readonly direction: 'to-server' | 'to-client' | 'both';
  readonly fromUs: number;
  readonly toUs: number;
}

/** Probabilities are in per mille so that they shrink to exactly 0. */
export interface FaultPlan {
  readonly delayUs: number;
  readonly jitterUs: number;
  readonly lossPermille: number;
  readonly burst: BurstLoss | null;
  readonly duplicatePermille: number;
  readonly reorderPermille: number;
  readonly reorderDelayUsMax: number;
  readonly oldDuplicatePermille: number;
  readonly oldDuplicateDelayUsMax: number;
  readonly partitions: readonly PartitionSpec[];
}

/** `fixed` is a naive stack that starts every incarnation at the same ISN: TIME-WAIT is then its only protection (C10). */
export type IsnKind = 'rfc6528' | 'random' | 'fixed';

/** The ISN every connection uses under the `fixed` policy. */
export const FIXED_ISN = 1_000_000;

export interface RunSpec {
  /** The simulation seed: every random draw of the run comes from it. */
  readonly seed: number;
  readonly mslUs: number;
  readonly delayedAckUs: number;
  readonly isn: IsnKind;
  readonly clients: number;
  readonly servers: number;
  readonly connections: readonly ConnectionSpec[];
  readonly faults: FaultPlan;
  /** Random faults and partitions stop here; liveness is judged after. */
  readonly faultsEndUs: number;
  /** False lets segments outlive MSL (to show C10's hazard). */
  readonly enforceMsl: boolean;
  /** RFC 1337 protection: TIME-WAIT ignores RSTs (Linux tcp_rfc1337; off by default). */
  readonly rfc1337: boolean;
  /** Linux tcp_timestamps (0, 1, 2); absent means Linux's 1. With them, PAWS drops old duplicates. */
  readonly timestamps?: 0 | 1 | 2;
  /** Linux tcp_sack on for every host (absent: the stack's default, off): sackOK, SACK blocks, tail-loss probes. */
  readonly sack?: boolean;
  /** Leave the delayed-ACK timeout at the stack's default (`delayedAckUs` is then what the monitors expect of Linux). */
  readonly defaultDelayedAck?: boolean;
  /** The ISN every connection uses under the `fixed` policy (FIXED_ISN when absent): near 2^32 to wrap. */
  readonly fixedIsn?: number;
  /** Each server with SO_REUSEADDR binds a second SO_REUSEADDR socket to its port and tries to listen on it too (C13). */
  readonly secondListener?: boolean;
  /** A receive buffer smaller than the stack's default, so windows close and zero-window probes run. */
  readonly receiveBufferBytes?: number;
  /** Linux tcp_tw_reuse for every host (absent: the stack's default, 2). */
  readonly twReuse?: 0 | 1 | 2;
  /** Linux tcp_max_tw_buckets for every host (absent: the stack's default). */
  readonly maxTwBuckets?: number;
  /** A small ip_local_port_range for every host, [min, max] (absent: the stack's default). */
  readonly ephemeralPorts?: readonly [number, number];
  /** Later incarnations connect from a fresh ephemeral port (autobind) instead of binding the fixed client port. */
  readonly ephemeralReconnect?: boolean;
  /** The first connection's server host crashes this long after the connection starts (and restarts 1 s later), whatever state it is in. */
  readonly crashAfterUs?: number;
}

export const CLEAN_PLAN: FaultPlan = {
  delayUs: 1_000,
  jitterUs: 0,
  lossPermille: 0,
  burst: null,
  duplicatePermille: 0,
  reorderPermille: 0,
  reorderDelayUsMax: 0,
  oldDuplicatePermille: 0,
  oldDuplicateDelayUsMax: 0,
  partitions: [],
};

export function isCleanPlan(plan: FaultPlan): boolean {
  return (
    plan.jitterUs === 0 &&
    plan.lossPermille === 0 &&
    plan.burst === null &&
    plan.duplicatePermille === 0 &&
    plan.reorderPermille === 0 &&
    plan.oldDuplicatePermille === 0 &&
    plan.partitions.length === 0
  );
}

/** The counterexample in words, a line per part. */
export function describeRunSpec(spec: RunSpec): string {
  const lines: string[] = [];
  lines.push(`seed ${spec.seed}; ${spec.servers} server(s), ${spec.clients} client(s); MSL ${spec.mslUs / 1000} ms${spec.enforceMsl ? '' : ' (segments may outlive it)'}; delayed ACK ${spec.delayedAckUs / 1000} ms; ISN ${spec.isn}${spec.isn === 'fixed' && spec.fixedIsn !== undefined ? ` ${spec.fixedIsn}` : ''}${spec.rfc1337 ? '; RFC 1337 on' : ''}${spec.defaultDelayedAck === true ? '; stack default delayed ACK' : ''}${spec.secondListener === true ? '; a second SO_REUSEADDR listener per server' : ''}${spec.receiveBufferBytes !== undefined ? `; receive buffer ${spec.receiveBufferBytes} B` : ''}${spec.timestamps !== undefined && spec.timestamps !== 1 ? `; tcp_timestamps ${spec.timestamps}` : ''}${linuxKnobsText(spec)}`);
  const f = spec.faults;
  const faults: string[] = [`delay ${f.delayUs} us`];
  if (f.jitterUs > 0) faults.push(`jitter ${f.jitterUs} us`);
  if (f.lossPermille > 0) faults.push(`loss ${f.lossPermille / 10}%`);
  if (f.burst !== null) faults.push(`burst loss (enter ${f.burst.enterBadRate}, leave ${f.burst.leaveBadRate}, loss ${f.burst.lossRateBad})`);
  if (f.duplicatePermille > 0) faults.push(`duplication ${f.duplicatePermille / 10}%`);
  if (f.reorderPermille > 0) faults.push(`reordering ${f.reorderPermille / 10}% up to ${f.reorderDelayUsMax} us`);
  if (f.oldDuplicatePermille > 0) faults.push(`old duplicates ${f.oldDuplicatePermille / 10}% held up to ${f.oldDuplicateDelayUsMax} us`);
  for (const p of f.partitions) faults.push(`partition ${p.direction} ${p.fromUs}-${p.toUs} us`);
  lines.push(`links: ${faults.join(', ')}; faults stop at ${spec.faultsEndUs} us`);
  spec.connections.forEach((c, i) => {
    const reuse = [c.clientReuseAddr ? 'client' : '', c.serverReuseAddr ? 'server' : ''].filter(Boolean).join('+');
    lines.push(
      `connection ${i + 1}: client${c.client + 1} -> server${c.server + 1}:${serverPort(i)} at ${c.startUs} us, ${c.requestBytes} B request, ${c.responseBytes} B response, ${c.closeOrder}` +
        (c.passiveCloseDelayUs > 0 ? `, passive close after ${c.passiveCloseDelayUs} us` : '') +
        (c.incarnations > 1 ? `, ${c.incarnations} incarnations from port ${clientPort(i)} ${c.gapUs} us apart` : '') +
        (reuse !== '' ? `, SO_REUSEADDR on ${reuse}` : ''),
    );
  });
  return lines.join('\n');
}

/** The Linux settings and the mid-life crash of arbitraries.ts's `linuxKnobsArb`, in words. */
function linuxKnobsText(spec: RunSpec): string {
  const parts: string[] = [];
  if (spec.sack === true) parts.push('tcp_sack 1');
  if (spec.twReuse !== undefined) parts.push(`tcp_tw_reuse ${spec.twReuse}`);
  if (spec.maxTwBuckets !== undefined) parts.push(`tcp_max_tw_buckets ${spec.maxTwBuckets}`);
  if (spec.ephemeralPorts !== undefined) parts.push(`ip_local_port_range ${spec.ephemeralPorts[0]}-${spec.ephemeralPorts[1]}`);
  if (spec.ephemeralReconnect === true) parts.push('later incarnations from ephemeral ports');
  if (spec.crashAfterUs !== undefined) parts.push(`server1 crashes ${spec.crashAfterUs} us into connection 1`);
  return parts.map((p) => `; ${p}`).join('');
}

/** Each connection spec has its own server port, so its server program is independent. */
export function serverPort(connectionIndex: number): number {
  return 8000 + connectionIndex;
}

/** The fixed client port used when a connection reuses its 4-tuple. */
export function clientPort(connectionIndex: number): number {
  return 40000 + connectionIndex;
}
