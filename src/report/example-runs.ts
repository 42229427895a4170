/**
 * Small scripted runs whose traces the report tests (and the examples in README.md beside this
 * file) are built from: the article's three-way close (C7, client port 44722, server 8848) and
 * its SO_LINGER abort (C15, client port 39624, server 6666), with hooks to add faults.
 */
import type { Host } from '../tcp/host.js';
import type { StackConfig } from '../tcp/config.js';
import { runPrograms } from '../world/run-script.js';
import { TraceRecorder, type TraceEvent } from '../world/trace.js';
import { World } from '../world/world.js';

export interface ExampleRun {
  readonly world: World;
  readonly events: readonly TraceEvent[];
  readonly client: Host;
  readonly server: Host;
}

export interface ExampleRunOptions {
  readonly seed?: number;
  /** Bytes the client sends before it closes. */
  readonly bytes?: number;
  readonly stack?: Partial<StackConfig>;
  /** Called after the hosts exist and before anything runs: set link faults here. */
  readonly configure?: (world: World, client: Host, server: Host) => void;
}

/**
 * C7: the client connects from port 44722 to 8848, sends a few bytes and closes; the server
 * reads to end-of-file and closes at once. Delayed ACKs with no quick-ACK phase let the
 * server's ACK of the FIN ride on its own FIN, so the close takes three segments.
 */
export function threeWayCloseRun(options: ExampleRunOptions = {}): ExampleRun {
  return clientServerRun(options, { serverPort: 8848, clientPort: 44722, bytes: options.bytes ?? 5, linger: false });
}

/**
 * C15: SO_LINGER {1, 0} on the listening socket (inherited by the accepted one). The client
 * (port 39624) closes first; when the server closes, it aborts with an RST instead of a FIN.
 */
export function lingerAbortRun(options: ExampleRunOptions = {}): ExampleRun {
  return clientServerRun(options, { serverPort: 6666, clientPort: 39624, bytes: options.bytes ?? 0, linger: true });
}

function clientServerRun(options: ExampleRunOptions, script: { serverPort: number; clientPort: number; bytes: number; linger: boolean }): ExampleRun {
  const world = new World({ seed: options.seed ?? 1, stack: { quickAcks: 0, ...options.stack } });
  const client = world.addHost('client');
  const server = world.addHost('server');
  options.configure?.(world, client, server);
  const recorder = new TraceRecorder();
  world.addListener(recorder);
  runPrograms(world, [
    {
      host: 'server',
      steps: [
        { call: { op: 'socket', sock: 'srv' } },
        ...(script.linger ? [{ call: { op: 'setsockopt', sock: 'srv', option: 'SO_LINGER', onoff: true, lingerSec: 0 } as const }] : []),
        { call: { op: 'bind', sock: 'srv', port: script.serverPort } },
        { call: { op: 'listen', sock: 'srv', backlog: 5 } },
        { call: { op: 'accept', sock: 'srv', as: 'conn' } },
        { call: { op: 'recv-until-eof', sock: 'conn' } },
        { call: { op: 'close', sock: 'conn' } },
      ],
    },
    {
      host: 'client',
      startUs: 1_000,
      steps: [
        { call: { op: 'socket', sock: 'sock' } },
        { call: { op: 'bind', sock: 'sock', port: script.clientPort } },
        { call: { op: 'connect', sock: 'sock', host: 'server', port: script.serverPort } },
        ...(script.bytes > 0 ? [{ call: { op: 'send', sock: 'sock', bytes: script.bytes } as const }] : []),
        { call: { op: 'close', sock: 'sock' } },
      ],
    },
  ]);
  return { world, events: recorder.events, client, server };
}
