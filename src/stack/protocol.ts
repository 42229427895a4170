/**
 * The external-stack protocol (docs/external-stack.md): one JSON object per line each way,
 * strictly request/response. This module holds the message shapes and checks a stack's replies,
 * so the harness (external.ts), the conformance checker (check.ts) and the in-repo stacks agree.
 */
import { TCP_STATES, type TcpState } from '../tcp/state.js';
import type { Errno } from '../tcp/tcb.js';

export const PROTOCOL_VERSION = 1;

/** Per-connection timer names, in TimerKind order (src/tcp/tcb.ts). */
export const PROTOCOL_TIMERS = ['retransmit', 'delayed-ack', 'persist', 'time-wait', 'fin-wait-2'] as const;
export type ProtocolTimer = (typeof PROTOCOL_TIMERS)[number];
/**
 * An armed `retransmit` timer may be named `loss-probe` instead: the stack armed it for a
 * tail-loss probe (Linux ICSK_TIME_LOSS_PROBE), so the trace names it so when it fires.
 */
export const LOSS_PROBE_TIMER = 'loss-probe';

export const ERRNOS: readonly Errno[] = ['EADDRINUSE', 'EADDRNOTAVAIL', 'EAGAIN', 'EALREADY', 'EBADF', 'ECONNABORTED', 'ECONNREFUSED', 'ECONNRESET', 'EINPROGRESS', 'EINVAL', 'EISCONN', 'ENOPROTOOPT', 'ENOTCONN', 'EOPNOTSUPP', 'EPIPE', 'ETIMEDOUT'];

/** Socket calls, as `{"op":"call","call":NAME,...}` carries them. */
export type CallRequest =
  | { readonly call: 'socket' }
  | { readonly call: 'setsockopt'; readonly fd: number; readonly name: 'SO_REUSEADDR'; readonly value: boolean }
  | { readonly call: 'setsockopt'; readonly fd: number; readonly name: 'SO_LINGER'; readonly onoff: boolean; readonly linger: number }
  | { readonly call: 'setsockopt'; readonly fd: number; readonly name: 'SO_RCVBUF' | 'SO_SNDBUF'; readonly value: number }
  | { readonly call: 'getsockopt'; readonly fd: number; readonly name: string }
  | { readonly call: 'bind'; readonly fd: number; readonly port: number; readonly addr: number }
  | { readonly call: 'listen'; readonly fd: number; readonly backlog: number }
  | { readonly call: 'accept'; readonly fd: number }
  | { readonly call: 'connect'; readonly fd: number; readonly ip: number; readonly port: number }
  | { readonly call: 'connect-result'; readonly fd: number }
  | { readonly call: 'send'; readonly fd: number; readonly data: string }
  | { readonly call: 'recv'; readonly fd: number; readonly max: number }
  | { readonly call: 'shutdown'; readonly fd: number; readonly how: 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR' }
  | { readonly call: 'close'; readonly fd: number }
  | { readonly call: 'crash' }
  | { readonly call: 'restart' };

export type Request =
  | { readonly op: 'init'; readonly seed: number; readonly version: number }
  | { readonly op: 'host'; readonly host: number; readonly name: string; readonly ip: number; readonly stack: Record<string, unknown> }
  | ({ readonly op: 'call'; readonly host: number; readonly now: number } & CallRequest)
  | { readonly op: 'segment'; readonly host: number; readonly now: number; readonly bytes: string }
  | { readonly op: 'timer'; readonly host: number; readonly now: number; readonly conn: number; readonly timer: ProtocolTimer }
  | { readonly op: 'advance'; readonly host: number; readonly now: number };

/** What happened inside one request, in order. Connection handles are the stack's own integers. */
export type StackEvent =
  /** A new connection: handle, local port, remote address and port, passive?, SO_REUSEADDR, SO_LINGER seconds or null. */
  | readonly ['conn', number, number, number, number, 0 | 1, 0 | 1, number | null]
  | readonly ['state', number, TcpState, TcpState, string]
  /** A datagram out (base64 IPv4+TCP), the connection that sent it or -1, 1 for a retransmission. */
  | readonly ['out', string, number, 0 | 1]
  | readonly ['timer', number, ProtocolTimer | typeof LOSS_PROBE_TIMER, number]
  | readonly ['cancel', number, ProtocolTimer]
  /** The whole host wants `advance` at this virtual time (replaces an earlier wish). */
  | readonly ['tick', number]
  /** The segment of this request passed the connection's acceptability test and was acted on. */
  | readonly ['accepted', number]
  | readonly ['tw-restart', number, string]
  | readonly ['listen', number, TcpState, TcpState]
  /** Something a blocked call on this descriptor waits for may have changed. */
  | readonly ['wake', number];

export interface Reply {
  readonly ok?: boolean;
  readonly value?: unknown;
  readonly errno?: string;
  readonly error?: string;
  readonly name?: string;
  /** Replies to socket calls: the connection handle the call's descriptor reaches afterwards (for accept, the new one's), or -1. */
  readonly conn?: number;
  readonly ev?: readonly StackEvent[];
}

const STATES: ReadonlySet<string> = new Set(TCP_STATES);
const TIMERS: ReadonlySet<string> = new Set(PROTOCOL_TIMERS);
const ERRNO_SET: ReadonlySet<string> = new Set(ERRNOS);

export class ProtocolError extends Error {}

/** Parse one reply line, checking its shape and every event's (the conformance checker's first test). */
export function parseReply(line: string, request: string): Reply {
  let reply: unknown;
  try {
    reply = JSON.parse(line);
  } catch {
    throw new ProtocolError(`reply is not JSON: ${JSON.stringify(line.slice(0, 200))} (to ${request.slice(0, 200)})`);
  }
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) throw new ProtocolError(`reply is not a JSON object: ${line.slice(0, 200)}`);
  const r = reply as Reply;
  if (r.error !== undefined) throw new ProtocolError(`the stack reported an error: ${String(r.error)} (to ${request.slice(0, 200)})`);
  if (r.ok !== undefined && typeof r.ok !== 'boolean') throw new ProtocolError(`"ok" must be a boolean: ${line.slice(0, 200)}`);
  if (r.ok === false && (typeof r.errno !== 'string' || !ERRNO_SET.has(r.errno))) throw new ProtocolError(`a failed call needs an errno of ${ERRNOS.join(', ')}, got ${JSON.stringify(r.errno)}`);
  if (r.conn !== undefined && !Number.isSafeInteger(r.conn)) throw new ProtocolError(`"conn" must be an integer: ${line.slice(0, 200)}`);
  if (r.ev !== undefined) {
    if (!Array.isArray(r.ev)) throw new ProtocolError(`"ev" must be an array: ${line.slice(0, 200)}`);
    for (const event of r.ev) checkEvent(event);
  }
  return r;
}

function checkEvent(event: unknown): void {
  if (!Array.isArray(event) || typeof event[0] !== 'string') throw new ProtocolError(`event is not an array starting with its kind: ${JSON.stringify(event)}`);
  const bad = (what: string): never => {
    throw new ProtocolError(`event ${JSON.stringify(event)}: ${what}`);
  };
  const int = (i: number): void => {
    if (!Number.isSafeInteger(event[i])) bad(`field ${i} must be an integer`);
  };
  const state = (i: number): void => {
    if (!STATES.has(event[i] as string)) bad(`field ${i} must be a state of RFC 9293 (${TCP_STATES.join(', ')})`);
  };
  const timer = (i: number): void => {
    if (!TIMERS.has(event[i] as string)) bad(`field ${i} must be a timer of ${PROTOCOL_TIMERS.join(', ')}`);
  };
  switch (event[0]) {
    case 'conn':
      for (const i of [1, 2, 3, 4, 5, 6]) int(i);
      if (event[7] !== null) int(7);
      return;
    case 'state':
      int(1);
      state(2);
      state(3);
      if (typeof event[4] !== 'string') bad('field 4 must be the cause, a string');
      return;
    case 'out':
      if (typeof event[1] !== 'string') bad('field 1 must be the datagram in base64');
      int(2);
      int(3);
      return;
    case 'timer':
      int(1);
      if (event[2] !== LOSS_PROBE_TIMER) timer(2);
      int(3);
      return;
    case 'cancel':
      int(1);
      timer(2);
      return;
    case 'tick':
    case 'accepted':
    case 'wake':
      int(1);
      return;
    case 'tw-restart':
      int(1);
      if (typeof event[2] !== 'string') bad('field 2 must be the cause, a string');
      return;
    case 'listen':
      int(1);
      state(2);
      state(3);
      return;
    default:
      bad(`unknown kind "${String(event[0])}"`);
  }
}
