import { describe, expect, it } from 'vitest';
import { linkFaults } from '../net/faults.js';
import { runPrograms } from '../world/run-script.js';
import { TraceRecorder, type TraceEvent } from '../world/trace.js';
import { World } from '../world/world.js';
import { threeWayCloseRun } from './example-runs.js';
import { buildLadder, esc, formatDuration, ladderSvg, ladderText } from './ladder.js';

/** C7: 5 bytes, then the three-way close of the article (client 44722, server 8848). */
const c7 = threeWayCloseRun();
/** The server's FIN+ACK is lost; both sides retransmit. */
const lossy = threeWayCloseRun({
  configure: (world, client, server) => world.fabric.configureLink(server.ip, client.ip, linkFaults({ partitions: [{ fromUs: 4_000, toUs: 4_001 }] })),
});
/** Every client segment arrives twice. */
const duplicating = threeWayCloseRun({ configure: (world, client, server) => world.fabric.configureLink(client.ip, server.ip, linkFaults({ duplicateRate: 1 })) });

describe('ladderText', () => {
  it('C7: draws the three-way close with relative numbers, states, TIME-WAIT and the idle break', () => {
    // Act
    const text = ladderText(c7.events);
    // Assert
    expect(text).toBe(
      [
        'time       client:44722                    server:8848                fate',
        '           10.0.0.1                        10.0.0.2',
        '0.000000   |                               | LISTEN',
        '0.001000   | SYN-SENT                      |',
        '0.001000   |--[S] seq 0------------------->|                          #1 -> 0.002000',
        '0.002000   |                               | SYN-RECEIVED',
        '0.002000   |<------------[S.] seq 0 ack 1--|                          #2 -> 0.003000',
        '0.003000   | ESTABLISHED                   |',
        '0.003000   |--[.] ack 1------------------->|                          #3 -> 0.004000',
        '0.003000   |--[P.] seq 1:6 ack 1 len 5---->|                          #4 -> 0.004000',
        '0.003000   | FIN-WAIT-1                    |',
        '0.003000   |--[F.] seq 6 ack 1------------>|                          #5 -> 0.004000',
        '0.004000   |                               | ESTABLISHED',
        '0.004000   |                               | CLOSE-WAIT',
        '0.004000   |                               | LAST-ACK',
        '0.004000   |<------------[F.] seq 1 ack 7--|                          #6 -> 0.005000',
        '0.005000   | FIN-WAIT-2                    |',
        '0.005000   |--[.] ack 2------------------->|                          #7 -> 0.006000',
        '0.005000   # TIME-WAIT (2MSL = 60 s)       |',
        '0.006000   #                               | CLOSED',
        '           #                               ~                          ~ 59.999 s later ~',
        '60.005000  | CLOSED                        |',
        '',
      ].join('\n'),
    );
  });

  it('ends a lost segment in an X mid-way and names the retransmissions', () => {
    // Act
    const lines = ladderText(lossy.events).split('\n');
    // Assert
    const lost = lines.find((line) => line.includes('lost (partition)'));
    expect(lost).toMatch(/^0\.004000 +\| +X--\[F\.\] seq 1 ack 7--\| +#6 lost \(partition\)$/);
    expect(lines.filter((line) => line.includes('(retx)'))).toHaveLength(2);
    expect(lines.some((line) => line.includes('TIME-WAIT (2MSL = 60 s, restarted 1x)'))).toBe(true);
  });

  it('draws network copies with = and says whose copy they are', () => {
    const lines = ladderText(duplicating.events).split('\n');
    const copy = lines.find((line) => line.includes('#2 copy of #1'));
    expect(copy).toMatch(/\|==\[S\] seq 0 \(dup\)=+>\|/);
  });

  it('prints a violation where it happened', () => {
    const text = ladderText(c7.events, { violation: { atUs: 4_000, label: 'C7: expected FIN+ACK' } });
    const lines = text.split('\n');
    const at = lines.findIndex((line) => line.includes('VIOLATION'));
    expect(lines[at]).toBe('0.004000   !!! VIOLATION: C7: expected FIN+ACK !!!');
    expect(lines[at - 1]).toContain('#6 -> 0.005000'); // after everything at 4 ms
    expect(lines[at + 1]).toMatch(/^0\.005000/);
  });
});

describe('relative numbers', () => {
  it('labels data as tcpdump does: [P.] seq 1:1001 ack 1 len 1000', () => {
    // Arrange
    const run = threeWayCloseRun({ bytes: 1_000 });
    // Act
    const labels = buildLadder(run.events).rows.flatMap((row) => (row.kind === 'send' ? [row.arrow.label] : []));
    // Assert
    expect(labels).toEqual(['[S] seq 0', '[S.] seq 0 ack 1', '[.] ack 1', '[P.] seq 1:1001 ack 1 len 1000', '[F.] seq 1001 ack 1', '[F.] seq 1 ack 1002', '[.] ack 2']);
  });
});

describe('ladderSvg', () => {
  it('is well-formed XML with one <svg> root and nothing outside it', () => {
    for (const run of [c7, lossy, duplicating]) {
      const svg = ladderSvg(run.events, { title: 'a <title> & "quotes"', violation: { atUs: 3_000, label: "x < y & 'z'" } });
      expect(checkXml(svg)).toBe('svg');
    }
  });

  it('is self-contained: no scripts, external references or font downloads', () => {
    const svg = ladderSvg(lossy.events);
    expect(svg).not.toMatch(/<script|href=|@import|@font-face|<foreignObject/i);
    expect(svg.match(/url\(([^)]*)\)/g)?.every((url) => url.startsWith('url(#'))).toBe(true);
    expect(svg.match(/http[^"]*/g)).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('C7: one lifeline per endpoint, tcpdump labels, states, a TIME-WAIT bar labelled 2·MSL and a break', () => {
    // Act
    const svg = ladderSvg(c7.events);
    // Assert
    expect(count(svg, 'class="lifeline"')).toBe(2);
    expect(svg).toContain('>client:44722<');
    expect(svg).toContain('>server:8848<');
    for (const label of ['[S] seq 0', '[S.] seq 0 ack 1', '[P.] seq 1:6 ack 1 len 5', '[F.] seq 6 ack 1', '[F.] seq 1 ack 7', '[.] ack 2']) expect(svg).toContain(`>${label}<`);
    for (const state of ['LISTEN', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'LAST-ACK', 'TIME-WAIT', 'CLOSED']) {
      expect(svg).toContain(`>${state}</text>`);
    }
    expect(count(svg, 'class="time-wait"')).toBe(1);
    expect(svg).toContain('>TIME-WAIT, 2·MSL = 60 s<');
    expect(count(svg, 'class="break"')).toBe(1);
    expect(svg).toContain('>59.999 s later<');
    expect(count(svg, 'class="cross"')).toBe(0);
    expect(count(svg, 'class="violation"')).toBe(0);
  });

  it('ends each dropped segment in a cross mid-way', () => {
    // Act
    const svg = ladderSvg(lossy.events);
    // Assert
    expect(count(svg, 'class="segment normal lost"')).toBe(1);
    expect(count(svg, 'class="cross"')).toBe(1);
    expect(svg).toContain('>lost (partition)<');
    // The cross sits half-way between the two lifelines.
    const lanes = [...svg.matchAll(/class="lifeline" x1="([\d.]+)"/g)].map((m) => Number(m[1]));
    const cross = /class="cross" d="M([\d.]+),/.exec(svg)!;
    expect(Number(cross[1]) + 6).toBeCloseTo((lanes[0]! + lanes[1]!) / 2, 1);
  });

  it('marks retransmissions and network duplicates', () => {
    expect(count(ladderSvg(lossy.events), 'class="segment retransmission"')).toBe(2);
    const svg = ladderSvg(duplicating.events);
    const copies = duplicating.events.filter((e) => e.type === 'segment' && e.fate === 'duplicated').length;
    expect(copies).toBeGreaterThan(0);
    expect(count(svg, 'class="segment duplicate"')).toBe(copies);
    expect(svg).toContain('stroke-dasharray');
  });

  it('draws a violation band with its label escaped', () => {
    // Act
    const svg = ladderSvg(c7.events, { violation: { atUs: 4_000, label: 'C7 <FIN+ACK> & more' } });
    // Assert
    expect(count(svg, 'class="violation"')).toBe(1);
    expect(svg).toContain('VIOLATION: C7 &lt;FIN+ACK&gt; &amp; more');
    expect(svg).not.toContain('<FIN+ACK>');
  });

  it('is deterministic: the same trace draws the same bytes', () => {
    expect(ladderSvg(threeWayCloseRun().events)).toBe(ladderSvg(c7.events));
    expect(ladderText(threeWayCloseRun().events)).toBe(ladderText(c7.events));
  });
});

describe('lifelines', () => {
  /** Two connections in a row from the client's ephemeral ports to one server port. */
  function twoConnections(): readonly TraceEvent[] {
    const world = new World({ seed: 7 });
    world.addHost('client');
    world.addHost('server');
    const recorder = new TraceRecorder();
    world.addListener(recorder);
    const connectAndClose = [{ call: { op: 'socket', sock: 's' } }, { call: { op: 'connect', sock: 's', host: 'server', port: 80 } }, { call: { op: 'close', sock: 's' } }] as const;
    runPrograms(world, [
      {
        host: 'server',
        steps: [
          { call: { op: 'socket', sock: 'srv' } },
          { call: { op: 'bind', sock: 'srv', port: 80 } },
          { call: { op: 'listen', sock: 'srv', backlog: 5 } },
          { call: { op: 'accept', sock: 'srv', as: 'a' } },
          { call: { op: 'close', sock: 'a' } },
          { call: { op: 'accept', sock: 'srv', as: 'b' } },
          { call: { op: 'close', sock: 'b' } },
        ],
      },
      { host: 'client', startUs: 1_000, steps: [...connectAndClose, ...connectAndClose] },
    ]);
    return recorder.events;
  }

  it('uses one lifeline per host when a host has several connections, and tags ports', () => {
    // Act
    const ladder = buildLadder(twoConnections());
    // Assert
    expect(ladder.mode).toBe('host');
    expect(ladder.lanes.map((lane) => lane.name)).toEqual(['client', 'server']);
    const labels = ladder.rows.flatMap((row) => (row.kind === 'send' ? [row.arrow.label] : []));
    const ports = new Set(labels.map((label) => label.split(' ')[0]!.split('>').find((port) => port !== '80')));
    expect(ports.size).toBe(2);
    expect(labels.every((label) => /^\d+>\d+ \[/.test(label))).toBe(true);
    expect(checkXml(ladderSvg(twoConnections()))).toBe('svg');
  });

  it('can be forced to one lifeline per endpoint', () => {
    const ladder = buildLadder(twoConnections(), { lifelines: 'endpoint' });
    expect(ladder.lanes).toHaveLength(3);
    expect(ladder.lanes[0]!.name).toMatch(/^client:\d+$/);
  });
});

describe('helpers', () => {
  it('formats durations', () => {
    expect([60_000_000, 1_500_000, 200_000, 1_250, 40].map(formatDuration)).toEqual(['60 s', '1.5 s', '200 ms', '1.25 ms', '40 us']);
  });

  it('escapes XML', () => {
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/**
 * A small well-formedness check (XML 1.0's rules that a generator can break): one root,
 * balanced tags, quoted unique attributes, no raw `<` or stray `&` in text or attributes.
 * Returns the root element's name.
 */
function checkXml(xml: string): string {
  let rest = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const stack: string[] = [];
  let root: string | null = null;
  const entity = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;
  const checkText = (text: string): void => {
    for (let i = text.indexOf('&'); i >= 0; i = text.indexOf('&', i + 1)) {
      if (!entity.test(text.slice(i))) throw new Error(`stray & in ${JSON.stringify(text.slice(i, i + 20))}`);
    }
  };
  while (rest.length > 0) {
    if (rest.startsWith('<!--')) {
      const end = rest.indexOf('-->');
      if (end < 0) throw new Error('unclosed comment');
      rest = rest.slice(end + 3);
      continue;
    }
    if (rest.startsWith('<')) {
      const tag = /^<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<]*")*)\s*(\/?)>/.exec(rest);
      if (tag === null) throw new Error(`malformed tag at ${JSON.stringify(rest.slice(0, 60))}`);
      const [whole, closing, name, attributes, selfClosing] = tag;
      const names = [...attributes!.matchAll(/([A-Za-z_][\w:.-]*)="([^"]*)"/g)].map((m) => {
        checkText(m[2]!);
        return m[1]!;
      });
      if (new Set(names).size !== names.length) throw new Error(`duplicate attribute in <${name}>`);
      if (closing === '/') {
        if (attributes !== '' || selfClosing === '/') throw new Error(`bad closing tag ${whole}`);
        const open = stack.pop();
        if (open !== name) throw new Error(`</${name}> closes <${open}>`);
      } else {
        if (stack.length === 0) {
          if (root !== null) throw new Error('second root element');
          root = name!;
        }
        if (selfClosing !== '/') stack.push(name!);
      }
      rest = rest.slice(whole.length);
      continue;
    }
    const next = rest.indexOf('<');
    const text = next < 0 ? rest : rest.slice(0, next);
    if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside the root: ${JSON.stringify(text.slice(0, 40))}`);
    checkText(text);
    rest = next < 0 ? '' : rest.slice(next);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (root === null) throw new Error('no root element');
  return root;
}
