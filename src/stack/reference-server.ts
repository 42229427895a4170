/**
 * The in-repo external stack: the reference stack (src/tcp/host.ts) in a separate Node process,
 * speaking docs/external-stack.md on stdin/stdout. Its traces must be byte-identical to the
 * in-process reference's (src/stack/external.test.ts), which shows the protocol loses nothing;
 * it is also the model for writing an adapter in another language.
 *
 *   node dist/stack/reference-server.js      # then: timewait run --stack 'node dist/stack/reference-server.js'
 *
 * Reads requests with blocking fs.readSync on descriptor 0 (never touching process.stdin,
 * which would switch it to non-blocking mode), answers each with one line on descriptor 1.
 */
import { readSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { stackConfig, type StackConfig } from '../tcp/config.js';
import { REFERENCE_ENDPOINT, type Connection, type Endpoint } from '../tcp/endpoint.js';
import type { Host, SocketOption, SocketOptionName } from '../tcp/host.js';
import { referenceStack } from '../tcp/reference-stack.js';
import type { Segment } from '../tcp/segment.js';
import type { Stack, StackEnv } from '../tcp/stack.js';
import type { TcpState } from '../tcp/state.js';
import type { TimerKind } from '../tcp/tcb.js';
import { decodeIpv4Tcp, encodeIpv4Tcp } from '../tcp/wire.js';
import { timerNameOf } from '../world/trace.js';
import { PROTOCOL_TIMERS, type Request, type StackEvent } from './protocol.js';

type Json = Record<string, unknown>;

/** The server's state: one world of reference hosts at a time. */
export class ReferenceServer {
  private hosts: Host[] = [];
  private seed = 0;
  private nowUs = 0;
  private events: StackEvent[] = [];
  private nextHandle = 0;
  /** Connections by handle, closed ones too (a timer may still fire on one; a TIME-WAIT record takes its TCB's place). */
  private readonly byHandle = new Map<number, Connection>();
  /** Handles already announced to the harness with a `conn` event. */
  private readonly announced = new Set<number>();
  /** The reference endpoint, noting each connection it makes under its handle (its connection id). */
  private readonly endpoint: Endpoint = {
    ...REFERENCE_ENDPOINT,
    createConnection: (id, config, env, options) => {
      const tcb = REFERENCE_ENDPOINT.createConnection(id, config, env, options);
      this.byHandle.set(id.connId, tcb);
      return tcb;
    },
  };

  /** One request line in, one reply line out. */
  handle(line: string): string {
    let reply: Json;
    try {
      reply = this.dispatch(JSON.parse(line) as Request);
    } catch (error) {
      reply = { error: (error as Error).message };
    }
    if (this.events.length > 0) reply.ev = this.events;
    this.events = [];
    return JSON.stringify(reply);
  }

  private dispatch(request: Request): Json {
    switch (request.op) {
      case 'init':
        this.hosts = [];
        this.seed = request.seed;
        this.nextHandle = 0;
        this.byHandle.clear();
        this.announced.clear();
        return { ok: true, name: 'timewait reference stack (separate process)' };
      case 'host': {
        if (request.host !== this.hosts.length) throw new Error(`host ${request.host} out of order (next is ${this.hosts.length})`);
        const config: StackConfig = stackConfig(request.stack as Partial<StackConfig>);
        const host = referenceStack(this.endpoint).create({ seed: this.seed, name: request.name, ip: request.ip, config, keepClosedConnections: false, compactTimeWait: true }, this.envFor());
        this.hosts.push(host as Host);
        return { ok: true };
      }
      case 'call':
        this.nowUs = request.now;
        return this.call(this.host(request.host), request as unknown as Json & { call: string });
      case 'segment': {
        this.nowUs = request.now;
        const wire = decodeIpv4Tcp(Buffer.from(request.bytes, 'base64'));
        const seg: Segment = { id: 0, ...wire, sentAtUs: 0, incarnation: 0, connId: -1, retransmission: false, copyOf: -1 };
        this.host(request.host).receive(seg, request.now);
        return {};
      }
      case 'timer': {
        this.nowUs = request.now;
        const tcb = this.byHandle.get(request.conn);
        if (tcb === undefined) throw new Error(`timer for connection ${request.conn}, which is gone`);
        const kind = PROTOCOL_TIMERS.indexOf(request.timer) as TimerKind;
        const handle = tcb.timerHandles[kind] as TimerHandle | null;
        // Fired: no longer pending, as a scheduler event is not while it runs.
        if (handle !== null) handle.pending = false;
        tcb.onTimer(request.now, kind);
        return {};
      }
      case 'advance':
        this.nowUs = request.now;
        return {};
    }
  }

  private host(index: number): Host {
    const host = this.hosts[index];
    if (host === undefined) throw new Error(`no host ${index}`);
    return host;
  }

  private call(host: Host, r: Json & { call: string }): Json {
    const fd = r.fd as number;
    const withConn = (result: Json, onFd: number): Json => ({ ...result, conn: host.connIdOf(onFd) });
    switch (r.call) {
      case 'socket': {
        const newFd = host.socket();
        this.watch(host, newFd);
        return { ok: true, value: newFd, conn: -1 };
      }
      case 'setsockopt':
        return withConn(result(host.setsockopt(fd, socketOptionOf(r))), fd);
      case 'bind':
        return withConn(result(host.bind(fd, r.port as number, (r.addr as number | undefined) ?? 0)), fd);
      case 'getsockopt':
        return withConn(result(host.getsockopt(fd, r.name as SocketOptionName)), fd);
      case 'listen':
        return withConn(result(host.listen(fd, r.backlog as number)), fd);
      case 'accept': {
        const accepted = host.accept(fd);
        if (!accepted.ok) return { ok: false, errno: accepted.errno };
        this.watch(host, accepted.value);
        return { ok: true, value: accepted.value, conn: host.connIdOf(accepted.value) };
      }
      case 'connect':
        return withConn(result(host.connect(fd, r.ip as number, r.port as number)), fd);
      case 'connect-result': {
        const done = host.connectResult(fd);
        return withConn(done === null ? { ok: true, value: 'pending' } : result(done), fd);
      }
      case 'send': {
        const sent = host.send(fd, new Uint8Array(Buffer.from(r.data as string, 'base64')));
        return withConn(result(sent), fd);
      }
      case 'recv': {
        const got = host.recv(fd, r.max as number);
        return withConn(got.ok ? { ok: true, value: Buffer.from(got.value).toString('base64') } : { ok: false, errno: got.errno }, fd);
      }
      case 'shutdown':
        return withConn(result(host.shutdown(fd, r.how as 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR')), fd);
      case 'close': {
        const conn = host.connIdOf(fd);
        return { ...result(host.close(fd)), conn };
      }
      case 'crash':
        host.crash();
        return { ok: true };
      case 'restart':
        host.restart();
        return { ok: true };
      default:
        throw new Error(`unknown call "${r.call}"`);
    }
  }

  /** Report every wake of a descriptor (the harness calls the program parked on it, if any). */
  private watch(host: Host, fd: number): void {
    const rearm = (): void => {
      this.events.push(['wake', fd]);
      host.onWake(fd, rearm);
    };
    host.onWake(fd, rearm);
  }

  /** The connection's handle (its connection id here), announced with a `conn` event the first time it is seen. */
  private ref(tcb: { readonly id: { readonly connId: number } }): number {
    return this.refHandle(tcb.id.connId);
  }

  private refHandle(handle: number): number {
    if (!this.announced.has(handle)) {
      this.announced.add(handle);
      const conn = this.byHandle.get(handle)!;
      this.events.push(['conn', handle, conn.id.localPort, conn.id.remoteIp, conn.id.remotePort, conn.passive ? 1 : 0, conn.options.reuseAddr ? 1 : 0, conn.options.lingerSec]);
    }
    return handle;
  }

  private envFor(): StackEnv {
    const server = this;
    return {
      get nowUs() {
        return server.nowUs;
      },
      sendSegment(seg: Segment) {
        const handle = seg.connId >= 0 ? server.refHandle(seg.connId) : -1;
        server.events.push(['out', Buffer.from(encodeIpv4Tcp(seg)).toString('base64'), handle, seg.retransmission ? 1 : 0]);
      },
      // The TCB asks whether a timer is armed through its handle's `pending` (as the
      // scheduler's events have it), so the handles mirror the harness's timers.
      setTimer(tcb, kind, atUs) {
        timerHandle(tcb, kind).pending = true;
        server.events.push(['timer', server.ref(tcb), timerNameOf(kind, tcb.lossProbePending === true), atUs]);
      },
      clearTimer(tcb, kind) {
        const handle = tcb.timerHandles[kind] as TimerHandle | null;
        if (handle !== null) handle.pending = false;
        server.events.push(['cancel', server.ref(tcb), PROTOCOL_TIMERS[kind]!]);
      },
      nextSegmentId: () => 0,
      nextConnId: () => ++server.nextHandle,
      newIncarnation: () => 0,
      stateChanged(tcb, from: TcpState, to: TcpState, cause: string) {
        const handle = server.ref(tcb);
        server.events.push(['state', handle, from, to, cause]);
      },
      timeWaitRestarted(tcb, cause) {
        server.events.push(['tw-restart', server.ref(tcb), cause]);
      },
      segmentAccepted(tcb) {
        server.events.push(['accepted', server.ref(tcb)]);
      },
      socketClosedListener(_host: Stack, port, from, to) {
        server.events.push(['listen', port, from, to]);
      },
      connectionReplaced(from, to) {
        // As the world does: pending timers move to the record.
        for (let kind = 0; kind < from.timerHandles.length; kind++) {
          const handle = from.timerHandles[kind] as TimerHandle | null;
          from.timerHandles[kind] = null;
          if (handle !== null && handle.pending) to.timerHandles[kind] = handle;
        }
        server.byHandle.set(from.id.connId, to as Connection);
      },
      setHostTimer() {
        throw new Error('the reference stack asks for no host timer');
      },
      // byHandle keeps every connection it announced.
      observesConnections: true,
      spareSegment: () => null,
    };
  }
}

/** Serve stdin → stdout until end-of-file. */
export function serve(): void {
  const server = new ReferenceServer();
  let buffer = Buffer.alloc(1 << 16);
  let end = 0;
  for (;;) {
    if (end === buffer.length) {
      const bigger = Buffer.alloc(buffer.length * 2);
      buffer.copy(bigger, 0, 0, end);
      buffer = bigger;
    }
    let got: number;
    try {
      got = readSync(0, buffer, end, buffer.length - end, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((error as NodeJS.ErrnoException).code === 'EOF') return;
      throw error;
    }
    if (got === 0) return;
    const scanFrom = end;
    end += got;
    let start = 0;
    let newline = buffer.indexOf(10, scanFrom);
    while (newline >= 0 && newline < end) {
      const reply = `${server.handle(buffer.toString('utf8', start, newline))}\n`;
      writeSync(1, reply);
      start = newline + 1;
      newline = buffer.indexOf(10, start);
    }
    buffer.copy(buffer, 0, start, end);
    end -= start;
  }
}

interface TimerHandle {
  pending: boolean;
}

function timerHandle(tcb: { readonly timerHandles: unknown[] }, kind: number): TimerHandle {
  let handle = tcb.timerHandles[kind] as TimerHandle | null;
  if (handle === null) {
    handle = { pending: false };
    tcb.timerHandles[kind] = handle;
  }
  return handle;
}

function result(r: { ok: true; value: unknown } | { ok: false; errno: string }): Json {
  return r.ok ? { ok: true, value: r.value ?? null } : { ok: false, errno: r.errno };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) serve();

/** A setsockopt request as the Stack seam's option. */
function socketOptionOf(r: Record<string, unknown>): SocketOption {
  if (r.name === 'SO_REUSEADDR') return { name: 'SO_REUSEADDR', value: r.value as boolean };
  if (r.name === 'SO_RCVBUF' || r.name === 'SO_SNDBUF') return { name: r.name, value: r.value as number };
  return { name: 'SO_LINGER', value: { onoff: r.onoff as boolean, lingerSec: r.linger as number } };
}
