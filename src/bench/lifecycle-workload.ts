/**
 * The lifecycle workload of the performance targets: K client connections to one server port,
 * one started every `intervalUs` of virtual time; each client connects, sends `requestBytes`
 * and closes; the server accepts, reads until end-of-file and closes. Every connection goes
 * through the handshake, the data, a four-way close, and TIME-WAIT to CLOSED.
 *
 * It drives the real `Host` socket API and so the real TCB, fabric and scheduler code, but not
 * through `Program` scripts: a script per connection (a `Map` of descriptors, a closure per
 * park, a step object per call) would cost more than the TCP being measured. Each connection
 * has one small application object instead, with one scheduler event and one wake callback;
 * like a program, it never makes socket calls inside TCP processing: a wake only schedules its
 * event for the same virtual time.
 *
 * When the world is traced, the driver reports its socket calls as `call` trace events, as a
 * program does, so the monitors (stream, bind-in-use, abort…) see the same kind of run.
 *
 * Shared by the lifecycle and memory benchmarks and by the port-exhaustion report; no wall
 * clock in here.
 */
import type { LinkFaults } from '../net/faults.js';
import { linkFaults } from '../net/faults.js';
import { SimEvent, type EventHandler, type RunEnd } from '../sim/scheduler.js';
import type { StackConfig } from '../tcp/config.js';
import type { Host } from '../tcp/host.js';
import type { Errno } from '../tcp/tcb.js';
import type { Call } from '../world/program.js';
import { describeCall } from '../world/program.js';
import { World } from '../world/world.js';

export const SERVER_PORT = 8848;

export interface LifecycleOptions {
  readonly seed: number;
  /** Connections to run (K). */
  readonly connections: number;
  /** Virtual time between connection starts. */
  readonly intervalUs: number;
  readonly requestBytes: number;
  /** Independent loss on every link direction. */
  readonly lossRate: number;
  /** Client hosts; connections are spread over them round-robin. */
  readonly clientHosts: number;
  readonly stack?: Partial<StackConfig>;
  /** Client stack overrides (ephemeral port range, MSL…). */
  readonly clientStack?: Partial<StackConfig>;
  /** Socket options set on every client socket before connect. */
  readonly clientReuseAddr?: boolean;
  readonly clientLingerZero?: boolean;
  /**
   * `lifecycle` (the default): send, then close. `hold`: once established, both ends stay idle
   * with empty buffers (the server parked in recv), for the memory figure.
   */
  readonly mode?: 'lifecycle' | 'hold';
  /** Passed to the world: false lets closed connections be freed (see `WorldOptions`). */
  readonly keepClosedConnections?: boolean;
}

/** What happened, for sanity checks: a benchmark that did no work measures nothing. */
export interface LifecycleTally {
  connectsStarted: number;
  /** connect() calls that failed at once (no SYN sent), by errno. */
  connectFailures: number;
  readonly connectFailuresByErrno: Partial<Record<Errno, number>>;
  /** The first connect() failures: connection index, virtual time, errno. */
  readonly firstFailures: { index: number; atUs: number; errno: Errno }[];
  established: number;
  requestsSent: number;
  /** Connects that failed later (refused, timed out) or sends that did not take the whole request. */
  clientErrors: number;
  serverAccepted: number;
  serverBytes: number;
  serverEofs: number;
  /** recv() errors on the server: a reset (ECONNRESET) where an end-of-file was expected. */
  serverErrors: number;
}

/** The stack of the benchmark: Linux defaults (2·MSL = 60 s) with every segment ACKed at once. */
export const LIFECYCLE_STACK: Partial<StackConfig> = {
  // No delayed ACK: the server ACKs the client's FIN before its own FIN, so every close is the
  // four-way close the target names (with Linux's 40 ms delayed ACK, a server that closes at
  // once sends FIN+ACK together: the three-segment close of C7).
  delayedAckUs: 0,
};

export class LifecycleWorkload {
  readonly world: World;
  readonly server: Host;
  readonly clients: readonly Host[];
  readonly tally: LifecycleTally = {
    connectsStarted: 0,
    connectFailures: 0,
    connectFailuresByErrno: {},
    firstFailures: [],
    established: 0,
    requestsSent: 0,
    clientErrors: 0,
    serverAccepted: 0,
    serverBytes: 0,
    serverEofs: 0,
    serverErrors: 0,
  };
  readonly request: Uint8Array;
  private readonly starter: Starter;
  private readonly listenFd: number;

  constructor(readonly options: LifecycleOptions) {
    const faults: LinkFaults = linkFaults({ lossRate: options.lossRate });
    this.world = new World({
      seed: options.seed,
      stack: { ...LIFECYCLE_STACK, ...options.stack },
      defaultFaults: faults,
      keepClosedConnections: options.keepClosedConnections ?? false,
    });
    this.server = this.world.addHost('server');
    const clients: Host[] = [];
    for (let i = 0; i < options.clientHosts; i++) {
      const name = `client${i + 1}`;
      clients.push(options.clientStack === undefined ? this.world.addHost(name) : this.world.addHost(name, { stack: { ...LIFECYCLE_STACK, ...options.stack, ...options.clientStack } }));
    }
    this.clients = clients;
    this.request = new Uint8Array(options.requestBytes);
    for (let i = 0; i < this.request.length; i++) this.request[i] = (i * 31 + 7) & 255;
    this.listenFd = this.server.socket();
    const bound = this.server.bind(this.listenFd, SERVER_PORT);
    if (!bound.ok) throw new Error(`server bind: ${bound.errno}`);
    const listening = this.server.listen(this.listenFd, 65535);
    if (!listening.ok) throw new Error(`server listen: ${listening.errno}`);
    new Acceptor(this, this.listenFd);
    this.starter = new Starter(this);
  }

  /** Run to the end (every connection CLOSED) or to `maxTimeUs`. */
  run(maxTimeUs = Number.MAX_SAFE_INTEGER): RunEnd {
    return this.world.run({ maxEvents: Number.MAX_SAFE_INTEGER, maxTimeUs });
  }

  /** Connection starts still to come. */
  get remaining(): number {
    return this.options.connections - this.starter.started;
  }

  /**
   * Report a socket call as a program would (only when somebody listens); after close, with the
   * connection the descriptor had (`closedConnId`), as a program reports it.
   */
  traceCall(host: Host, call: Call, fd: number, result: string, data?: Uint8Array, closedConnId = -1): void {
    const world = this.world;
    if (!world.isTracing) return;
    const connId = host.socketOf(fd)?.tcb?.id.connId ?? closedConnId;
    world.emit({ type: 'call', atUs: world.nowUs, host: host.name, program: 0, step: 0, call, text: callText(call), result, fd, connId, ...(data !== undefined ? { data } : {}) });
  }
}

/** The driver's calls are a few constant objects: describe each once. */
const CALL_TEXTS = new Map<Call, string>();
function callText(call: Call): string {
  let text = CALL_TEXTS.get(call);
  if (text === undefined) {
    text = describeCall(call);
    CALL_TEXTS.set(call, text);
  }
  return text;
}

const CALL_SOCKET: Call = { op: 'socket', sock: 'c' };
const CALL_CONNECT: Call = { op: 'connect', sock: 'c', host: 'server', port: SERVER_PORT };
const CALL_CLOSE: Call = { op: 'close', sock: 'c' };
const CALL_ACCEPT: Call = { op: 'accept', sock: 'srv', as: 'conn' };
const CALL_RECV: Call = { op: 'recv-until-eof', sock: 'conn' };
const CALL_SERVER_CLOSE: Call = { op: 'close', sock: 'conn' };
const START = 0;
const RESUME = 1;

/** Starts one connection every `intervalUs`, on the client hosts in turn. */
class Starter implements EventHandler<null> {
  private readonly event: SimEvent<null>;
  started = 0;
  constructor(private readonly workload: LifecycleWorkload) {
    this.event = new SimEvent<null>(this, START, null);
    workload.world.scheduler.schedule(this.event, 0);
  }

  onEvent(_event: SimEvent<null>, nowUs: number): void {
    const workload = this.workload;
    const options = workload.options;
    const index = this.started++;
    const host = workload.clients[index % workload.clients.length]!;
    new ClientConn(workload, host, index);
    if (this.started < options.connections) workload.world.scheduler.schedule(this.event, nowUs + options.intervalUs);
  }
}

/**
 * A participant that a socket wakes: the wake schedules its one event at the current time (never
 * inside TCP processing), and `onEvent` retries what would have blocked.
 */
abstract class Resumable implements EventHandler<null> {
  protected readonly event: SimEvent<null>;
  protected readonly wake = (): void => {
    if (!this.event.pending) this.workload.world.scheduler.schedule(this.event, this.workload.world.nowUs);
  };

  constructor(protected readonly workload: LifecycleWorkload) {
    this.event = new SimEvent<null>(this, RESUME, null);
  }

  abstract onEvent(): void;
}

/** One client: connect, send the request, close. */
class ClientConn extends Resumable {
  private readonly fd: number;

  constructor(
    workload: LifecycleWorkload,
    private readonly host: Host,
    index: number,
  ) {
    super(workload);
    const tally = workload.tally;
    this.fd = host.socket();
    workload.traceCall(host, CALL_SOCKET, this.fd, 'ok');
    const options = workload.options;
    if (options.clientReuseAddr === true) host.setsockopt(this.fd, { name: 'SO_REUSEADDR', value: true });
    if (options.clientLingerZero === true) host.setsockopt(this.fd, { name: 'SO_LINGER', value: { onoff: true, lingerSec: 0 } });
    tally.connectsStarted++;
    const started = host.connect(this.fd, workload.server.ip, SERVER_PORT);
    if (!started.ok) {
      tally.connectFailures++;
      tally.connectFailuresByErrno[started.errno] = (tally.connectFailuresByErrno[started.errno] ?? 0) + 1;
      if (tally.firstFailures.length < 16) tally.firstFailures.push({ index, atUs: workload.world.nowUs, errno: started.errno });
      workload.traceCall(host, CALL_CONNECT, this.fd, started.errno);
      host.close(this.fd);
      workload.traceCall(host, CALL_CLOSE, this.fd, 'ok');
      return;
    }
    this.park();
  }

  onEvent(): void {
    const host = this.host;
    const workload = this.workload;
    const done = host.connectResult(this.fd);
    if (done === null) {
      this.park();
      return;
    }
    if (!done.ok) {
      workload.tally.clientErrors++;
      workload.traceCall(host, CALL_CONNECT, this.fd, done.errno);
    } else {
      workload.tally.established++;
      workload.traceCall(host, CALL_CONNECT, this.fd, 'ok');
      if (workload.options.mode === 'hold') return;
      const request = workload.request;
      const sent = host.send(this.fd, request);
      if (sent.ok && sent.value === request.length) {
        workload.tally.requestsSent++;
        workload.traceCall(host, SEND_CALLS.get(request.length) ?? sendCall(request.length), this.fd, `sent ${sent.value}`, request);
      } else {
        workload.tally.clientErrors++;
      }
    }
    const connId = host.connIdOf(this.fd);
    host.close(this.fd);
    workload.traceCall(host, CALL_CLOSE, this.fd, 'ok', undefined, connId);
  }

  private park(): void {
    this.host.socketOf(this.fd)!.onWake(this.wake);
  }
}

const SEND_CALLS = new Map<number, Call>();
function sendCall(bytes: number): Call {
  const call: Call = { op: 'send', sock: 'c', bytes };
  SEND_CALLS.set(bytes, call);
  return call;
}

/** The listener: accepts every waiting connection and hands it to a `ServerConn`. */
class Acceptor extends Resumable {

  constructor(
    workload: LifecycleWorkload,
    private readonly fd: number,
  ) {
    super(workload);
    workload.server.socketOf(fd)!.onWake(this.wake);
  }

  onEvent(): void {
    const server = this.workload.server;
    for (;;) {
      const accepted = server.accept(this.fd);
      if (!accepted.ok) break;
      this.workload.tally.serverAccepted++;
      this.workload.traceCall(server, CALL_ACCEPT, accepted.value, 'ok');
      new ServerConn(this.workload, accepted.value).onEvent();
    }
    server.socketOf(this.fd)!.onWake(this.wake);
  }
}

/** One accepted connection: read until end-of-file, then close. */
class ServerConn extends Resumable {
  constructor(
    workload: LifecycleWorkload,
    private readonly fd: number,
  ) {
    super(workload);
  }

  onEvent(): void {
    const server = this.workload.server;
    const tally = this.workload.tally;
    for (;;) {
      const got = server.recv(this.fd, 65536);
      if (!got.ok) {
        if (got.errno === 'EAGAIN') {
          server.socketOf(this.fd)!.onWake(this.wake);
          return;
        }
        tally.serverErrors++;
        break;
      }
      if (got.value.length === 0) {
        tally.serverEofs++;
        break;
      }
      tally.serverBytes += got.value.length;
      this.workload.traceCall(server, CALL_RECV, this.fd, `recv ${got.value.length}`, got.value);
    }
    const connId = server.connIdOf(this.fd);
    server.close(this.fd);
    this.workload.traceCall(server, CALL_SERVER_CLOSE, this.fd, 'ok', undefined, connId);
  }
}
