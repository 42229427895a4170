/**
 * Model-based test of the socket API's port rules (C11–C13), with fc.commands: random
 * sequences of listen, serve-and-close-first, close, and time passing, checked after every
 * call against a model of Linux's bind table — who holds each port, with which SO_REUSEADDR,
 * and which connections sit in TIME-WAIT there.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Host } from '../src/tcp/host.js';
import { World } from '../src/world/world.js';
import { scaledRuns } from '../src/suites.js';

const MSL_US = 1_000_000;
const PORTS = [8000, 8001];

interface Model {
  /** port -> SO_REUSEADDR of the listener on it. */
  listeners: Map<number, boolean>;
  /** SO_REUSEADDR of each TIME-WAIT connection, by port. */
  timeWaits: Map<number, boolean[]>;
}

interface Real {
  world: World;
  server: Host;
  client: Host;
  listenerFds: Map<number, number>;
}

/** Linux: another owner conflicts unless both have SO_REUSEADDR and it is not listening. */
function modelBindFails(model: Model, port: number, reuse: boolean): boolean {
  const listener = model.listeners.get(port);
  if (listener !== undefined) return true;
  return (model.timeWaits.get(port) ?? []).some((other) => !(reuse && other));
}

function runFor(real: Real, us: number): void {
  real.world.run({ maxEvents: 1_000_000, maxTimeUs: real.world.nowUs + us });
}

class Listen implements fc.Command<Model, Real> {
  constructor(
    readonly port: number,
    readonly reuse: boolean,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    // Act
    const fd = real.server.socket();
    real.server.setsockopt(fd, { name: 'SO_REUSEADDR', value: this.reuse });
    const bound = real.server.bind(fd, this.port);
    // Assert: C11/C13 — the bind fails exactly when the model says the port is held.
    const expectFailure = modelBindFails(model, this.port, this.reuse);
    expect(bound.ok ? 'ok' : bound.errno).toBe(expectFailure ? 'EADDRINUSE' : 'ok');
    if (!bound.ok) {
      real.server.close(fd);
      return;
    }
    expect(real.server.listen(fd, 4).ok).toBe(true);
    real.listenerFds.set(this.port, fd);
    model.listeners.set(this.port, this.reuse);
  }
  toString(): string {
    return `listen(${this.port}, SO_REUSEADDR=${this.reuse ? 1 : 0})`;
  }
}

/** A client connects; the server accepts and closes first, so it holds TIME-WAIT (C11). */
class ServeAndCloseFirst implements fc.Command<Model, Real> {
  constructor(readonly port: number) {}
  check(model: Readonly<Model>): boolean {
    return model.listeners.has(this.port);
  }
  run(model: Model, real: Real): void {
    const listenerFd = real.listenerFds.get(this.port)!;
    const clientFd = real.client.socket();
    expect(real.client.connect(clientFd, real.server.ip, this.port).ok).toBe(true);
    runFor(real, 10_000);
    const accepted = real.server.accept(listenerFd);
    expect(accepted.ok).toBe(true);
    if (!accepted.ok) return;
    real.server.close(accepted.value);
    runFor(real, 10_000);
    expect(real.client.recv(clientFd, 10)).toEqual({ ok: true, value: new Uint8Array(0) });
    real.client.close(clientFd);
    runFor(real, 10_000);
    // Assert: the server's side of it is in TIME-WAIT on the listening port.
    const inTimeWait = [...real.server.liveTcbs()].filter((t) => t.state === 'TIME-WAIT' && t.id.localPort === this.port).length;
    const tw = model.timeWaits.get(this.port) ?? [];
    tw.push(model.listeners.get(this.port)!);
    model.timeWaits.set(this.port, tw);
    expect(inTimeWait).toBe(tw.length);
  }
  toString(): string {
    return `serveAndCloseFirst(${this.port})`;
  }
}

class CloseListener implements fc.Command<Model, Real> {
  constructor(readonly port: number) {}
  check(model: Readonly<Model>): boolean {
    return model.listeners.has(this.port);
  }
  run(model: Model, real: Real): void {
    expect(real.server.close(real.listenerFds.get(this.port)!).ok).toBe(true);
    real.listenerFds.delete(this.port);
    model.listeners.delete(this.port);
  }
  toString(): string {
    return `close(listener ${this.port})`;
  }
}

/** Let 2·MSL pass: every TIME-WAIT ends (C8) and its port is free again. */
class WaitOutTimeWait implements fc.Command<Model, Real> {
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    runFor(real, 2 * MSL_US + 1);
    model.timeWaits.clear();
    expect([...real.server.liveTcbs()].filter((t) => t.state === 'TIME-WAIT')).toEqual([]);
  }
  toString(): string {
    return 'wait 2·MSL';
  }
}

describe('socket API port rules (model-based)', () => {
  it('C11–C13: bind on a port held by a listener or by TIME-WAIT fails or succeeds as Linux\'s rule says, for any sequence of calls', () => {
    const port = fc.constantFrom(...PORTS);
    const commands = fc.commands(
      [
        fc.tuple(port, fc.boolean()).map(([p, reuse]) => new Listen(p, reuse)),
        port.map((p) => new ServeAndCloseFirst(p)),
        port.map((p) => new CloseListener(p)),
        fc.constant(new WaitOutTimeWait()),
      ],
      { maxCommands: 30 },
    );
    fc.assert(
      fc.property(fc.noShrink(fc.integer()), commands, (seed, cmds) => {
        const world = new World({ seed, stack: { mslUs: MSL_US } });
        const server = world.addHost('server');
        const client = world.addHost('client');
        fc.modelRun(() => ({ model: { listeners: new Map(), timeWaits: new Map() }, real: { world, server, client, listenerFds: new Map() } }), cmds);
      }),
      { numRuns: scaledRuns(300) },
    );
  });
});
