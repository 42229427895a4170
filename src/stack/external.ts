/**
 * An external stack behind the host-level seam: every host of a world runs in one child
 * process (any language) that speaks docs/external-stack.md over stdin/stdout. This side turns
 * the stack's events into what the reference Host does through its environment — segments to
 * the fabric, timers to the scheduler, state changes and accepted segments to the trace, wakes
 * to blocked programs — in the order the stack reports them, so monitors judge it as they judge
 * the reference, and a run replays exactly from its seed.
 *
 * The non-wire bookkeeping of a segment (its id, the sender's connection id and incarnation of
 * the 4-tuple) is the world's, assigned here: a stack only ever sees real TCP/IP bytes.
 */
import type { StackConfig } from '../tcp/config.js';
import type { Segment } from '../tcp/segment.js';
import type { ConnectionView, Result, ShutdownHow, SocketOption, SocketOptionName, SocketOptionValue, Stack, StackEnv, StackFactory, StackParams } from '../tcp/stack.js';
import type { TcpState } from '../tcp/state.js';
import type { Errno, TcbIdentity, TcbOptions, TimerKind } from '../tcp/tcb.js';
import { decodeIpv4Tcp, encodeIpv4Tcp } from '../tcp/wire.js';
import { LineChannel } from './channel.js';
import { LOSS_PROBE_TIMER, parseReply, PROTOCOL_TIMERS, PROTOCOL_VERSION, ProtocolError, type ProtocolTimer, type Reply, type StackEvent } from './protocol.js';

/** A connection of an external stack, as the world sees it. */
class ExternalConnection implements ConnectionView {
  state: TcpState = 'CLOSED';
  incarnation = 0;
  readonly timerHandles: unknown[] = [null, null, null, null, null];
  /** The stack armed its retransmission timer as a tail-loss probe (`loss-probe`). */
  lossProbePending = false;
  constructor(
    readonly handle: number,
    readonly id: TcbIdentity,
    readonly passive: boolean,
    readonly options: TcbOptions,
    private readonly stack: ExternalStack,
  ) {}
  onTimer(nowUs: number, kind: TimerKind): void {
    this.stack.fireTimer(this, nowUs, kind);
  }
}

/** One child process shared by the hosts of one world at a time. */
export interface ExternalStackFactory extends StackFactory {
  readonly command: string;
  /** Round trips so far. */
  readonly requests: number;
  /** The stack's name for itself, from its answer to `init`. */
  readonly stackName: string;
  close(): void;
}

export function externalStack(command: string): ExternalStackFactory {
  let channel: LineChannel | null = null;
  let world: StackEnv | null = null;
  let hosts = 0;
  let stackName = '';
  const factory: ExternalStackFactory = {
    name: `stack:${command}`,
    description: `external stack: ${command}`,
    command,
    get requests() {
      return channel?.requests ?? 0;
    },
    get stackName() {
      return stackName;
    },
    create(params: StackParams, env: StackEnv): Stack {
      channel ??= new LineChannel(command);
      if (env !== world) {
        // A new world: the stack forgets every host it had.
        world = env;
        hosts = 0;
        const reply = exchange(channel, { op: 'init', seed: params.seed, version: PROTOCOL_VERSION });
        stackName = typeof reply.name === 'string' ? reply.name : command;
      }
      return new ExternalStack(channel, hosts++, params, env);
    },
    close() {
      channel?.close();
      channel = null;
      world = null;
    },
  };
  return factory;
}

/**
 * Start the stack once and ask it to `init`, so that a command that cannot run is found before
 * any work starts; throws what the channel or the protocol reports.
 */
export function probeExternalStack(command: string): void {
  const channel = new LineChannel(command);
  try {
    exchange(channel, { op: 'init', seed: 1, version: PROTOCOL_VERSION });
  } finally {
    channel.close();
  }
}

function exchange(channel: LineChannel, request: object): Reply {
  const line = JSON.stringify(request);
  return parseReply(channel.request(line), line);
}

export class ExternalStack implements Stack {
  readonly ip: number;
  readonly name: string;
  readonly config: StackConfig;
  up = true;
  readonly allTcbs: ConnectionView[] = [];
  private readonly keepClosed: boolean;
  private readonly connections = new Map<number, ExternalConnection>();
  /** Live connections by 4-tuple (remote ip, remote port, local port), for `lookup`. */
  private readonly byTuple = new Map<string, ExternalConnection>();
  private readonly fds = new Set<number>();
  private readonly nonBlockingFds = new Set<number>();
  private readonly waiters = new Map<number, () => void>();
  private readonly connIdByFd = new Map<number, number>();
  /** Every handle the stack announced, closed ones too (a descriptor may still reach one). */
  private readonly connIdByHandle = new Map<number, number>();
  /** The segment being delivered, while a `segment` request is under way. */
  private input: Segment | null = null;

  constructor(
    private readonly channel: LineChannel,
    readonly index: number,
    params: StackParams,
    private readonly env: StackEnv,
  ) {
    this.ip = params.ip;
    this.name = params.name;
    this.config = params.config;
    this.keepClosed = params.keepClosedConnections;
    this.request({ op: 'host', host: index, name: params.name, ip: params.ip, stack: { ...params.config } });
  }

  // Socket calls -----------------------------------------------------------------------------

  socket(): number {
    const fd = this.value(this.call({ call: 'socket' })) as number;
    this.fds.add(fd);
    return fd;
  }

  setsockopt(fd: number, option: SocketOption): Result<void> {
    const reply =
      option.name === 'SO_LINGER' ? this.call({ call: 'setsockopt', fd, name: 'SO_LINGER', onoff: option.value.onoff, linger: option.value.lingerSec }) : this.call({ call: 'setsockopt', fd, name: option.name, value: option.value });
    return unit(reply);
  }

  getsockopt(fd: number, name: SocketOptionName): Result<SocketOptionValue> {
    const reply = this.call({ call: 'getsockopt', fd, name });
    if (reply.ok !== true) return fail(reply.errno as Errno);
    return { ok: true, value: reply.value as SocketOptionValue };
  }

  /** Non-blocking mode is the harness's business: a stack never blocks, it answers EAGAIN. */
  setNonBlocking(fd: number, nonBlocking: boolean): Result<void> {
    if (!this.fds.has(fd)) return fail('EBADF');
    if (nonBlocking) this.nonBlockingFds.add(fd);
    else this.nonBlockingFds.delete(fd);
    return OK;
  }

  isNonBlocking(fd: number): boolean {
    return this.nonBlockingFds.has(fd);
  }

  bind(fd: number, port: number, address = 0): Result<number> {
    return this.numberResult(this.call({ call: 'bind', fd, port, addr: address }));
  }

  listen(fd: number, backlog: number): Result<void> {
    return unit(this.call({ call: 'listen', fd, backlog }));
  }

  accept(fd: number): Result<number> {
    const result = this.numberResult(this.call({ call: 'accept', fd }));
    if (result.ok) this.fds.add(result.value);
    return result;
  }

  connect(fd: number, remoteIp: number, remotePort: number): Result<void> {
    const started = unit(this.call({ call: 'connect', fd, ip: remoteIp, port: remotePort }));
    // As Linux's __inet_stream_connect: a non-blocking connect that started says EINPROGRESS.
    return started.ok && this.nonBlockingFds.has(fd) ? fail('EINPROGRESS') : started;
  }

  connectResult(fd: number): Result<void> | null {
    const reply = this.call({ call: 'connect-result', fd });
    if (reply.ok === true && reply.value === 'pending') return null;
    return unit(reply);
  }

  send(fd: number, data: Uint8Array): Result<number> {
    return this.numberResult(this.call({ call: 'send', fd, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') }));
  }

  recv(fd: number, maxBytes: number): Result<Uint8Array> {
    const reply = this.call({ call: 'recv', fd, max: maxBytes });
    if (reply.ok !== true) return fail(reply.errno as Errno);
    if (typeof reply.value !== 'string') throw new ProtocolError(`recv: value must be the bytes in base64, got ${JSON.stringify(reply.value)}`);
    const bytes = Buffer.from(reply.value, 'base64');
    if (bytes.length > maxBytes) throw new ProtocolError(`recv: ${bytes.length} bytes returned for at most ${maxBytes}`);
    return { ok: true, value: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) };
  }

  shutdown(fd: number, how: ShutdownHow): Result<void> {
    return unit(this.call({ call: 'shutdown', fd, how }));
  }

  close(fd: number): Result<void> {
    const result = unit(this.call({ call: 'close', fd }));
    this.fds.delete(fd);
    this.nonBlockingFds.delete(fd);
    this.connIdByFd.delete(fd);
    return result;
  }

  crash(): void {
    this.call({ call: 'crash' });
    this.up = false;
    this.fds.clear();
    this.nonBlockingFds.clear();
    this.connIdByFd.clear();
    this.waiters.clear();
  }

  restart(): void {
    this.call({ call: 'restart' });
    this.up = true;
  }

  // Segments, timers -------------------------------------------------------------------------

  receive(seg: Segment, nowUs: number): void {
    if (!this.up) return;
    this.input = seg;
    try {
      this.request({ op: 'segment', host: this.index, now: nowUs, bytes: Buffer.from(encodeIpv4Tcp(seg)).toString('base64') });
    } finally {
      this.input = null;
    }
  }

  fireTimer(conn: ExternalConnection, nowUs: number, kind: TimerKind): void {
    this.request({ op: 'timer', host: this.index, now: nowUs, conn: conn.handle, timer: PROTOCOL_TIMERS[kind]! });
  }

  onHostTimer(nowUs: number): void {
    this.request({ op: 'advance', host: this.index, now: nowUs });
  }

  // What programs and checks ask ------------------------------------------------------------

  onWake(fd: number, callback: () => void): boolean {
    if (!this.fds.has(fd)) return false;
    this.waiters.set(fd, callback);
    return true;
  }

  connIdOf(fd: number): number {
    return this.connIdByFd.get(fd) ?? -1;
  }

  lookup(remoteIp: number, remotePort: number, localPort: number): ConnectionView | undefined {
    return this.byTuple.get(tupleKey(remoteIp, remotePort, localPort));
  }

  liveTcbs(): Iterable<ConnectionView> {
    return this.byTuple.values();
  }

  // The protocol -----------------------------------------------------------------------------

  private call(call: object): Reply {
    return this.request({ op: 'call', host: this.index, now: this.env.nowUs, ...call });
  }

  private request(request: object): Reply {
    const line = JSON.stringify(request);
    const reply = parseReply(this.channel.request(line), line);
    if (reply.ev !== undefined) for (const event of reply.ev) this.apply(event);
    const r = request as { call?: string; fd?: number };
    // The connection a descriptor reaches after the call (for accept: the new descriptor), for
    // the trace's call events and the data pattern.
    if (r.call !== undefined && reply.conn !== undefined) {
      const fd = r.call === 'accept' || r.call === 'socket' ? (reply.value as number) : r.fd!;
      if (reply.ok === true || r.call !== 'accept') this.connIdByFd.set(fd, this.connIdByHandle.get(reply.conn) ?? -1);
    }
    return reply;
  }

  private conn(handle: number): ExternalConnection {
    const conn = this.connections.get(handle);
    if (conn === undefined) throw new ProtocolError(`${this.name}: event for connection ${handle}, which the stack never announced with a "conn" event`);
    return conn;
  }

  private apply(event: StackEvent): void {
    const env = this.env;
    switch (event[0]) {
      case 'conn': {
        const [, handle, localPort, remoteIp, remotePort, passive, reuseAddr, lingerSec] = event;
        if (this.connections.has(handle)) throw new ProtocolError(`${this.name}: connection ${handle} announced twice`);
        const conn = new ExternalConnection(handle, { connId: env.nextConnId(), localIp: this.ip, localPort, remoteIp, remotePort }, passive === 1, { reuseAddr: reuseAddr === 1, lingerSec }, this);
        // Passive children belong to the incarnation of the SYN that made them; active opens get the next one.
        conn.incarnation = passive === 1 ? (this.input?.incarnation ?? 0) : env.newIncarnation(this.ip, localPort, remoteIp, remotePort);
        this.connections.set(handle, conn);
        this.connIdByHandle.set(handle, conn.id.connId);
        if (this.keepClosed) this.allTcbs.push(conn);
        return;
      }
      case 'state': {
        const [, handle, from, to, cause] = event;
        const conn = this.conn(handle);
        conn.state = to;
        const key = tupleKey(conn.id.remoteIp, conn.id.remotePort, conn.id.localPort);
        // A closed connection stays known: a stack may still cancel its timers, and one armed
        // before it closed may still fire (the stack ignores it, as the reference TCB does).
        if (to === 'CLOSED') {
          if (this.byTuple.get(key) === conn) this.byTuple.delete(key);
        } else {
          this.byTuple.set(key, conn);
        }
        env.stateChanged(conn, from, to, cause);
        return;
      }
      case 'out': {
        const [, base64, handle, retransmission] = event;
        const wire = decodeIpv4Tcp(Buffer.from(base64, 'base64'));
        const conn = handle >= 0 ? this.connections.get(handle) : undefined;
        if (wire.srcIp !== this.ip) throw new ProtocolError(`${this.name}: a datagram from ${wire.srcIp}, not this host's address ${this.ip}`);
        env.sendSegment({
          id: env.nextSegmentId(),
          ...wire,
          sentAtUs: 0,
          incarnation: conn?.incarnation ?? this.input?.incarnation ?? 0,
          connId: conn?.id.connId ?? -1,
          retransmission: retransmission === 1,
          copyOf: -1,
        });
        return;
      }
      case 'timer': {
        const conn = this.conn(event[1]);
        const lossProbe = event[2] === LOSS_PROBE_TIMER;
        const kind = (lossProbe ? 0 : PROTOCOL_TIMERS.indexOf(event[2] as ProtocolTimer)) as TimerKind;
        if (kind === 0) conn.lossProbePending = lossProbe;
        env.setTimer(conn, kind, event[3]);
        return;
      }
      case 'cancel': {
        const conn = this.connections.get(event[1]);
        if (conn !== undefined) env.clearTimer(conn, PROTOCOL_TIMERS.indexOf(event[2]) as TimerKind);
        return;
      }
      case 'tick':
        env.setHostTimer(this, event[1]);
        return;
      case 'accepted':
        if (this.input === null) throw new ProtocolError(`${this.name}: "accepted" outside a segment request`);
        env.segmentAccepted(this.conn(event[1]), this.input);
        return;
      case 'tw-restart':
        env.timeWaitRestarted(this.conn(event[1]), event[2]);
        return;
      case 'listen':
        env.socketClosedListener(this, event[1], event[2], event[3]);
        return;
      case 'wake': {
        const waiter = this.waiters.get(event[1]);
        if (waiter === undefined) return;
        this.waiters.delete(event[1]);
        waiter();
        return;
      }
    }
  }

  private value(reply: Reply): unknown {
    if (reply.ok !== true) throw new ProtocolError(`${this.name}: a reply without "ok": true to a call that cannot fail (ok: ${JSON.stringify(reply.ok)}, errno: ${JSON.stringify(reply.errno)})`);
    return reply.value;
  }

  private numberResult(reply: Reply): Result<number> {
    if (reply.ok !== true) return fail(reply.errno as Errno);
    if (!Number.isSafeInteger(reply.value)) throw new ProtocolError(`${this.name}: a call's value must be an integer, got ${JSON.stringify(reply.value)}`);
    return { ok: true, value: reply.value as number };
  }
}

function tupleKey(remoteIp: number, remotePort: number, localPort: number): string {
  return `${remoteIp}:${remotePort}:${localPort}`;
}

function unit(reply: Reply): Result<void> {
  return reply.ok === true ? OK : fail(reply.errno as Errno);
}

const OK: Result<void> = Object.freeze({ ok: true, value: undefined });

function fail(errno: Errno): { ok: false; errno: Errno } {
  return { ok: false, errno };
}
