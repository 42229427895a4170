/**
 * Programs: scripts of blocking socket calls, as an application would make them, run in
 * virtual time. A call that would block parks the program until its socket wakes it; the
 * retry then runs as a scheduler event (never inside TCP processing), so programs and the
 * stack interleave deterministically.
 */
import { SimEvent, type EventHandler } from '../sim/scheduler.js';
import { parseIpv4 } from '../net/address.js';
import { ANY_ADDRESS, type SocketOptionName } from '../tcp/host.js';
import type { Result, Stack } from '../tcp/stack.js';
import type { Errno } from '../tcp/tcb.js';
import type { World } from './world.js';

/** Sockets are named in scripts (`"srv"`, `"conn"`), as variables are in a program. */
export type Call =
  | { readonly op: 'socket'; readonly sock: string }
  | { readonly op: 'setsockopt'; readonly sock: string; readonly option: 'SO_REUSEADDR'; readonly value: boolean }
  | { readonly op: 'setsockopt'; readonly sock: string; readonly option: 'SO_LINGER'; readonly onoff: boolean; readonly lingerSec: number }
  /** SO_RCVBUF / SO_SNDBUF: the bytes asked for; the stack doubles them as Linux does (src/tcp/host.ts). */
  | { readonly op: 'setsockopt'; readonly sock: string; readonly option: 'SO_RCVBUF' | 'SO_SNDBUF'; readonly value: number }
  /** `address`: dotted IPv4, absent or "0.0.0.0" for the wildcard. */
  | { readonly op: 'bind'; readonly sock: string; readonly port: number; readonly address?: string }
  /** fcntl(F_SETFL, O_NONBLOCK): accept, connect, send and recv then return EAGAIN or EINPROGRESS instead of waiting. */
  | { readonly op: 'fcntl'; readonly sock: string; readonly nonBlocking: boolean }
  /** getsockopt: the result is `value N` (SO_ERROR: `value 0` or `value ECONNREFUSED`…). */
  | { readonly op: 'getsockopt'; readonly sock: string; readonly option: Exclude<SocketOptionName, 'SO_LINGER'> }
  | { readonly op: 'listen'; readonly sock: string; readonly backlog: number }
  | { readonly op: 'accept'; readonly sock: string; readonly as: string }
  | { readonly op: 'connect'; readonly sock: string; readonly host: string; readonly port: number }
  | { readonly op: 'send'; readonly sock: string; readonly bytes: number }
  /** Waits for all `bytes` (as MSG_WAITALL) or end-of-file. */
  | { readonly op: 'recv'; readonly sock: string; readonly bytes: number }
  /** recv(2) without MSG_WAITALL: what is queued, up to `bytes`; waits only while nothing is. */
  | { readonly op: 'read'; readonly sock: string; readonly bytes: number }
  | { readonly op: 'recv-until-eof'; readonly sock: string }
  | { readonly op: 'shutdown'; readonly sock: string; readonly how: 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR' }
  | { readonly op: 'close'; readonly sock: string }
  | { readonly op: 'sleep'; readonly us: number }
  /** Sleep until an absolute virtual time (no-op when it has passed). */
  | { readonly op: 'sleep-until'; readonly atUs: number }
  | { readonly op: 'crash' }
  | { readonly op: 'restart' };

/** What a call returned: `ok`, a count (`sent 1000`, `recv 1000`), `eof`, or an errno. */
export type CallResult = 'ok' | 'eof' | `port ${number}` | `sent ${number}` | `recv ${number}` | `value ${number}` | `value ${Errno}` | Errno;

export interface ProgramStep {
  readonly call: Call;
  /** When set, the run reports a mismatch if the call returns anything else. */
  readonly expect?: string;
}

export interface StepOutcome {
  readonly step: number;
  readonly call: Call;
  readonly result: CallResult;
  readonly atUs: number;
  readonly expect?: string;
}

const RESUME = 1;

/** Bytes a program sends are a deterministic pattern, so the receiver's copy can be checked. */
export function patternByte(connSalt: number, offset: number): number {
  return (offset * 31 + connSalt * 17 + (offset >>> 8)) & 255;
}

export class Program implements EventHandler<null> {
  readonly outcomes: StepOutcome[] = [];
  private pc = 0;
  private readonly fds = new Map<string, number>();
  private readonly sentBytes = new Map<string, number>();
  /** The last connection of each descriptor, so calls made after it lost it (a failed connect, a close) are traced with it. */
  private readonly closedConnIds = new Map<number, number>();
  private readonly resume: SimEvent<null>;
  /** A socket woke the parked program: resume it as an event at the same time. One closure per program, not one per park. */
  private readonly wakeUp = (): void => {
    if (!this.resume.pending) this.world.scheduler.schedule(this.resume, this.world.nowUs);
  };
  private partial = 0;
  /** The bytes of the send in progress, made once: re-made on every wake, a large send took time quadratic in its size. */
  private sendData: Uint8Array | null = null;
  private sleepingUntilUs = -1;
  /** Bytes received by a recv in progress (recv n waits for all n, as MSG_WAITALL). */
  private received = 0;
  private callTexts: (string | undefined)[] | null = null;

  constructor(
    private readonly world: World,
    readonly host: Stack,
    readonly index: number,
    readonly steps: readonly ProgramStep[],
    /** Virtual time at which the program starts. */
    startUs: number,
  ) {
    this.resume = new SimEvent<null>(this, RESUME, null);
    world.scheduler.schedule(this.resume, startUs);
  }

  get finished(): boolean {
    return this.pc >= this.steps.length;
  }

  /** The step the program is parked on, or -1 when it finished. */
  get blockedAt(): number {
    return this.finished ? -1 : this.pc;
  }

  onEvent(): void {
    this.runUntilBlocked();
  }

  private runUntilBlocked(): void {
    while (this.pc < this.steps.length) {
      const step = this.steps[this.pc]!;
      const result = this.attempt(step.call);
      if (result === null) return; // parked; a wake or timer resumes us
      this.record(step, result);
      this.pc++;
      this.partial = 0;
      this.sendData = null;
      this.received = 0;
    }
  }

  /** Try a call once. null means it would block and the program is parked. */
  private attempt(call: Call): CallResult | null {
    const host = this.host;
    if (call.op === 'restart') {
      host.restart();
      this.world.emit({ type: 'host', atUs: this.world.nowUs, host: host.name, event: 'restart' });
      return 'ok';
    }
    if (!host.up && call.op !== 'sleep' && call.op !== 'sleep-until' && call.op !== 'crash') return 'EBADF';
    switch (call.op) {
      case 'socket':
        this.fds.set(call.sock, host.socket());
        return 'ok';
      case 'setsockopt':
        return unit(
          host.setsockopt(
            this.fd(call.sock),
            call.option === 'SO_REUSEADDR' ? { name: 'SO_REUSEADDR', value: call.value } : call.option === 'SO_LINGER' ? { name: 'SO_LINGER', value: { onoff: call.onoff, lingerSec: call.lingerSec } } : { name: call.option, value: call.value },
          ),
        );
      case 'bind': {
        const bound = host.bind(this.fd(call.sock), call.port, call.address === undefined ? ANY_ADDRESS : parseIpv4(call.address));
        return bound.ok ? (call.port === 0 ? `port ${bound.value}` : 'ok') : bound.errno;
      }
      case 'listen':
        return unit(host.listen(this.fd(call.sock), call.backlog));
      case 'fcntl':
        return unit(host.setNonBlocking(this.fd(call.sock), call.nonBlocking));
      case 'getsockopt': {
        const got = host.getsockopt(this.fd(call.sock), call.option);
        if (!got.ok) return got.errno;
        return typeof got.value === 'object' ? 'EINVAL' : `value ${got.value}`;
      }
      case 'accept': {
        const accepted = host.accept(this.fd(call.sock));
        if (!accepted.ok && accepted.errno === 'EAGAIN' && !this.nonBlocking(call.sock)) return this.park(call.sock);
        if (!accepted.ok) return accepted.errno;
        this.fds.set(call.as, accepted.value);
        return 'ok';
      }
      case 'connect': {
        const fd = this.fd(call.sock);
        if (this.partial === 0) {
          const target = this.world.host(call.host);
          const started = host.connect(fd, target.ip, call.port);
          if (!started.ok) return started.errno;
          // Remembered so that a connect that fails (the socket forgets its connection) is still traced with it.
          this.closedConnIds.set(fd, this.connIdOf(fd));
          this.partial = 1;
        }
        const done = host.connectResult(fd);
        if (done === null) return this.park(call.sock);
        return unit(done);
      }
      case 'send': {
        const fd = this.fd(call.sock);
        const salt = this.saltOf(fd);
        const offset = this.sentBytes.get(call.sock) ?? 0;
        if (this.sendData === null) {
          const all = new Uint8Array(call.bytes);
          for (let i = 0; i < call.bytes; i++) all[i] = patternByte(salt, offset + i);
          this.sendData = all;
        }
        const data = this.sendData.subarray(this.partial);
        const sent = host.send(fd, data);
        const nonBlocking = this.nonBlocking(call.sock);
        if (!sent.ok && sent.errno === 'EAGAIN') return nonBlocking ? (this.partial > 0 ? `sent ${this.partial}` : 'EAGAIN') : this.park(call.sock);
        if (!sent.ok) return sent.errno;
        // All of it taken: the bytes themselves (nothing writes to them again). Part of it: a copy,
        // as a subarray would keep the whole (remaining-sized) buffer alive in the trace.
        if (this.world.isTracing) this.traceData(call, fd, sent.value === data.length ? data : data.slice(0, sent.value), `sent ${sent.value}`);
        this.partial += sent.value;
        this.sentBytes.set(call.sock, offset + sent.value);
        // Non-blocking: what fitted is the answer (Linux tcp_sendmsg returns the bytes copied).
        if (this.partial < call.bytes) return nonBlocking ? `sent ${this.partial}` : this.park(call.sock);
        return `sent ${this.partial}`;
      }
      case 'read': {
        const fd = this.fd(call.sock);
        const got = host.recv(fd, call.bytes);
        if (!got.ok && got.errno === 'EAGAIN') return this.nonBlocking(call.sock) ? 'EAGAIN' : this.park(call.sock);
        if (!got.ok) return got.errno;
        if (got.value.length === 0) return 'eof';
        this.traceData(call, fd, got.value, `recv ${got.value.length}`);
        return `recv ${got.value.length}`;
      }
      case 'recv':
      case 'recv-until-eof': {
        const fd = this.fd(call.sock);
        const want = call.op === 'recv' ? call.bytes - this.received : 65536;
        const got = host.recv(fd, want);
        if (!got.ok && got.errno === 'EAGAIN') {
          if (!this.nonBlocking(call.sock)) return this.park(call.sock);
          return this.received > 0 ? `recv ${this.received}` : 'EAGAIN';
        }
        if (!got.ok) return got.errno;
        if (got.value.length === 0) return call.op === 'recv' && this.received > 0 ? `recv ${this.received}` : 'eof';
        this.traceData(call, fd, got.value, `recv ${got.value.length}`);
        this.received += got.value.length;
        if (call.op === 'recv' && this.received >= call.bytes) return `recv ${this.received}`;
        // Keep reading: more may already be queued, or we park until it is.
        return this.attempt(call);
      }
      case 'shutdown':
        return unit(host.shutdown(this.fd(call.sock), call.how));
      case 'close': {
        const fd = this.fd(call.sock);
        const connId = this.connIdOf(fd);
        if (connId >= 0) this.closedConnIds.set(fd, connId);
        return unit(host.close(fd));
      }
      case 'sleep':
      case 'sleep-until': {
        if (this.sleepingUntilUs < 0) {
          this.sleepingUntilUs = call.op === 'sleep' ? this.world.nowUs + call.us : Math.max(this.world.nowUs, call.atUs);
          this.world.scheduler.schedule(this.resume, this.sleepingUntilUs);
          return null;
        }
        if (this.world.nowUs < this.sleepingUntilUs) return null;
        this.sleepingUntilUs = -1;
        return 'ok';
      }
      case 'crash':
        host.crash();
        this.world.emit({ type: 'host', atUs: this.world.nowUs, host: host.name, event: 'crash' });
        return 'ok';
    }
  }

  private nonBlocking(sock: string): boolean {
    return this.host.isNonBlocking(this.fd(sock));
  }

  private fd(name: string): number {
    return this.fds.get(name) ?? -1;
  }

  private connIdOf(fd: number): number {
    const connId = this.host.connIdOf(fd);
    return connId >= 0 ? connId : (this.closedConnIds.get(fd) ?? -1);
  }

  /** Each connection's bytes differ, so a segment delivered to the wrong one shows. */
  private saltOf(fd: number): number {
    return Math.max(0, this.host.connIdOf(fd));
  }

  private park(sock: string): null {
    if (!this.host.onWake(this.fd(sock), this.wakeUp)) {
      // The descriptor went away (e.g. closed by a crash): resume at once to report it.
      this.world.scheduler.schedule(this.resume, this.world.nowUs);
    }
    return null;
  }

  private record(step: ProgramStep, result: CallResult): void {
    // Two literals rather than a spread of an optional field: a spread takes V8's slow path.
    const outcome: StepOutcome = step.expect === undefined ? { step: this.pc, call: step.call, result, atUs: this.world.nowUs } : { step: this.pc, call: step.call, result, atUs: this.world.nowUs, expect: step.expect };
    this.outcomes.push(outcome);
    const call = step.call;
    const fd = call.op === 'accept' ? this.fd(call.as) : 'sock' in call ? this.fd(call.sock) : -1;
    // Data calls were traced chunk by chunk, with their bytes, as they happened; what remains is
    // a result without data: end-of-file or an error (the stream monitor's EOF check reads it).
    const dataCall = call.op === 'send' || call.op === 'recv' || call.op === 'read' || call.op === 'recv-until-eof';
    if (dataCall && (result.startsWith('sent ') || result.startsWith('recv '))) return;
    this.traceCall(call, fd, result);
  }

  private traceData(call: Call, fd: number, data: Uint8Array, result: string): void {
    this.traceCall(call, fd, result, data);
  }

  private traceCall(call: Call, fd: number, result: string, data?: Uint8Array): void {
    if (!this.world.isTracing) return;
    const atUs = this.world.nowUs;
    const host = this.host.name;
    const text = this.callText(call);
    const connId = this.connIdOf(fd);
    // Two literals rather than a spread of the optional `data`: a spread takes V8's slow path.
    this.world.emit(
      data === undefined
        ? { type: 'call', atUs, host, program: this.index, step: this.pc, call, text, result, fd, connId }
        : { type: 'call', atUs, host, program: this.index, step: this.pc, call, text, result, fd, connId, data },
    );
  }

  /** `describeCall` of the step in progress, made once per step: a recv traces every chunk it reads. */
  private callText(call: Call): string {
    const texts = (this.callTexts ??= new Array<string | undefined>(this.steps.length));
    if (this.steps[this.pc]?.call !== call) return describeCall(call);
    return (texts[this.pc] ??= describeCall(call));
  }
}

function unit(result: Result<void>): CallResult {
  return result.ok ? 'ok' : result.errno;
}

export function describeCall(call: Call): string {
  switch (call.op) {
    case 'socket':
      return `${call.sock} = socket()`;
    case 'setsockopt':
      if (call.option === 'SO_REUSEADDR') return `setsockopt(${call.sock}, SO_REUSEADDR, ${call.value ? 1 : 0})`;
      if (call.option === 'SO_LINGER') return `setsockopt(${call.sock}, SO_LINGER, {${call.onoff ? 1 : 0}, ${call.lingerSec}})`;
      return `setsockopt(${call.sock}, ${call.option}, ${call.value})`;
    case 'bind':
      return call.address === undefined ? `bind(${call.sock}, ${call.port})` : `bind(${call.sock}, ${call.address}:${call.port})`;
    case 'fcntl':
      return `fcntl(${call.sock}, F_SETFL, ${call.nonBlocking ? 'O_NONBLOCK' : '0'})`;
    case 'getsockopt':
      return `getsockopt(${call.sock}, ${call.option})`;
    case 'read':
      return `read(${call.sock}, ${call.bytes} bytes)`;
    case 'listen':
      return `listen(${call.sock}, ${call.backlog})`;
    case 'accept':
      return `${call.as} = accept(${call.sock})`;
    case 'connect':
      return `connect(${call.sock}, ${call.host}:${call.port})`;
    case 'send':
      return `send(${call.sock}, ${call.bytes} bytes)`;
    case 'recv':
      return `recv(${call.sock}, ${call.bytes} bytes)`;
    case 'recv-until-eof':
      return `recv(${call.sock}) until EOF`;
    case 'shutdown':
      return `shutdown(${call.sock}, ${call.how})`;
    case 'close':
      return `close(${call.sock})`;
    case 'sleep':
      return `sleep(${call.us} us)`;
    case 'sleep-until':
      return `sleep until ${call.atUs} us`;
    case 'crash':
      return 'crash()';
    case 'restart':
      return 'restart()';
  }
}
