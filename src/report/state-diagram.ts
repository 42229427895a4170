/**
 * RFC 9293's state diagram (Figure 5, "TCP Connection State Diagram") as a static SVG, with
 * how often a campaign took each edge. States sit where the figure puts them — CLOSED at the
 * top, LISTEN under it, SYN-RCVD and SYN-SENT either side, ESTAB in the middle, the active
 * close down the left, the passive close down the right, TIME-WAIT at the bottom — and, as in
 * the figure, CLOSED is drawn twice (the bottom box is where LAST-ACK and TIME-WAIT end).
 *
 * Taken edges are dark and thicker the more often they were taken; untaken ones are grey. One
 * edge the figure leaves out but §3.10.7.4 allows, FIN-WAIT-1 -> TIME-WAIT on a FIN that also
 * acknowledges ours, is dashed: it is how an active closer sees C7's three-segment close. The
 * other edges outside the figure (resets, aborts, give-ups) go in a table beside it.
 */
import { DIAGRAM_EDGES, type Edge, type TcpState } from '../tcp/state.js';
import { esc } from './ladder.js';

/** Edges drawn in the diagram: Figure 5's, and the dashed one. */
export const DRAWN_EDGES: readonly Edge[] = [...DIAGRAM_EDGES, 'FIN-WAIT-1=>TIME-WAIT'];

/** The figure's label for each drawn edge: the event, then the action. */
export const EDGE_EVENTS: ReadonlyMap<Edge, string> = new Map<Edge, string>([
  ['CLOSED=>LISTEN', 'passive OPEN'],
  ['CLOSED=>SYN-SENT', 'active OPEN / snd SYN'],
  ['LISTEN=>CLOSED', 'CLOSE'],
  ['LISTEN=>SYN-RECEIVED', 'rcv SYN / snd SYN,ACK'],
  ['LISTEN=>SYN-SENT', 'SEND / snd SYN'],
  ['SYN-SENT=>SYN-RECEIVED', 'rcv SYN / snd SYN,ACK'],
  ['SYN-SENT=>ESTABLISHED', 'rcv SYN,ACK / snd ACK'],
  ['SYN-SENT=>CLOSED', 'CLOSE'],
  ['SYN-RECEIVED=>LISTEN', 'rcv RST'],
  ['SYN-RECEIVED=>ESTABLISHED', 'rcv ACK of SYN'],
  ['SYN-RECEIVED=>FIN-WAIT-1', 'CLOSE / snd FIN'],
  ['ESTABLISHED=>FIN-WAIT-1', 'CLOSE / snd FIN'],
  ['ESTABLISHED=>CLOSE-WAIT', 'rcv FIN / snd ACK'],
  ['FIN-WAIT-1=>FIN-WAIT-2', 'rcv ACK of FIN'],
  ['FIN-WAIT-1=>CLOSING', 'rcv FIN / snd ACK'],
  ['FIN-WAIT-2=>TIME-WAIT', 'rcv FIN / snd ACK'],
  ['CLOSING=>TIME-WAIT', 'rcv ACK of FIN'],
  ['CLOSE-WAIT=>LAST-ACK', 'CLOSE / snd FIN'],
  ['LAST-ACK=>CLOSED', 'rcv ACK of FIN'],
  ['TIME-WAIT=>CLOSED', 'timeout = 2·MSL'],
  ['FIN-WAIT-1=>TIME-WAIT', 'rcv FIN + ACK of FIN / snd ACK (§3.10.7.4)'],
]);

/** Render the diagram. `idPrefix` keeps the arrowhead ids unique within a page. */
export function stateDiagramSvg(counts: ReadonlyMap<Edge, number>, options: { id?: string } = {}): string {
  const id = options.id ?? 'state-diagram';
  const out: string[] = [];
  const taken = DIAGRAM_EDGES.filter((edge) => (counts.get(edge) ?? 0) > 0).length;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" id="${esc(id)}" class="plot state-diagram" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="11" role="img" aria-label="RFC 9293 state diagram with edge counts">`,
    `<title>RFC 9293 Figure 5, each edge with how often it was taken</title>`,
    '<defs>',
    `<marker id="${esc(id)}-head-taken" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${TAKEN}"/></marker>`,
    `<marker id="${esc(id)}-head-untaken" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${UNTAKEN}"/></marker>`,
    '</defs>',
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
  );
  // Edges under the boxes, labels over everything.
  const labels: string[] = [];
  for (const layout of LAYOUT) {
    const count = counts.get(layout.edge) ?? 0;
    const color = count > 0 ? TAKEN : UNTAKEN;
    const width = count > 0 ? 1.5 + Math.min(2.5, Math.log10(count)) : 1.2;
    const [from, to] = layout.edge.split('=>') as [TcpState, TcpState];
    const title = `${from} -> ${to}: ${EDGE_EVENTS.get(layout.edge)}; taken ${count} time${count === 1 ? '' : 's'}`;
    const d = layout.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x},${y}`).join(' ');
    out.push(
      `<g class="edge ${count > 0 ? 'taken' : 'untaken'}" data-edge="${esc(layout.edge)}"><title>${esc(title)}</title><path d="${d}" fill="none" stroke="${color}" stroke-width="${n(width)}"${layout.dashed ? ' stroke-dasharray="6 4"' : ''} marker-end="url(#${esc(id)}-head-${count > 0 ? 'taken' : 'untaken'})"/></g>`,
    );
    const { x, y, anchor } = layout.label;
    labels.push(
      `<text class="edge-label" data-edge="${esc(layout.edge)}" x="${x}" y="${y}" text-anchor="${anchor}" ${HALO}><tspan class="count" font-weight="bold" fill="${count > 0 ? COUNT_COLOR : UNTAKEN_TEXT}">${count}</tspan><tspan fill="${count > 0 ? '#444444' : UNTAKEN_TEXT}"> ${esc(EDGE_EVENTS.get(layout.edge)!)}</tspan></text>`,
    );
  }
  for (const box of BOXES) {
    const entered = box.state === 'CLOSED' ? false : DRAWN_EDGES.some((edge) => edge.endsWith(`=>${box.state}`) && (counts.get(edge) ?? 0) > 0);
    const fill = box.state === 'TIME-WAIT' ? '#fad7a0' : entered || box.state === 'CLOSED' ? '#eef3f8' : '#f4f4f4';
    out.push(
      `<g class="state" data-state="${box.state}"><rect x="${box.x - BOX_W / 2}" y="${box.y - BOX_H / 2}" width="${BOX_W}" height="${BOX_H}" rx="5" fill="${fill}" stroke="#1f4e79" stroke-width="1.5"/><text x="${box.x}" y="${box.y + 4}" text-anchor="middle" font-weight="bold" font-size="12">${box.state}</text></g>`,
    );
  }
  out.push(...labels);
  out.push(
    `<text x="16" y="${HEIGHT - 14}" fill="#555555">${esc(`${taken} of ${DIAGRAM_EDGES.length} edges of Figure 5 taken. Each label: times taken, then the figure's event / action. Grey: never taken. Dashed: allowed by the text, not drawn in the figure.`)}</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}

// -----------------------------------------------------------------------------------------
// Layout (hand-placed after Figure 5)
// -----------------------------------------------------------------------------------------

const WIDTH = 960;
const HEIGHT = 860;
const BOX_W = 116;
const BOX_H = 40;
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const TAKEN = '#1f4e79';
const UNTAKEN = '#c8c8c8';
const UNTAKEN_TEXT = '#a0a0a0';
const COUNT_COLOR = '#b03a2e';
const HALO = 'stroke="#ffffff" stroke-width="3" paint-order="stroke"';

interface Box {
  readonly state: TcpState;
  readonly x: number;
  readonly y: number;
}

const BOXES: readonly Box[] = [
  { state: 'CLOSED', x: 450, y: 50 },
  { state: 'LISTEN', x: 450, y: 160 },
  { state: 'SYN-RECEIVED', x: 140, y: 290 },
  { state: 'SYN-SENT', x: 760, y: 290 },
  { state: 'ESTABLISHED', x: 450, y: 410 },
  { state: 'FIN-WAIT-1', x: 140, y: 530 },
  { state: 'CLOSE-WAIT', x: 760, y: 530 },
  { state: 'FIN-WAIT-2', x: 140, y: 660 },
  { state: 'CLOSING', x: 450, y: 660 },
  { state: 'LAST-ACK', x: 760, y: 660 },
  { state: 'TIME-WAIT', x: 450, y: 780 },
  // Figure 5's second CLOSED, where the two closes end.
  { state: 'CLOSED', x: 760, y: 780 },
];

interface EdgeLayout {
  readonly edge: Edge;
  readonly points: readonly (readonly [number, number])[];
  readonly label: { readonly x: number; readonly y: number; readonly anchor: 'start' | 'middle' | 'end' };
  readonly dashed?: boolean;
}

const LAYOUT: readonly EdgeLayout[] = [
  { edge: 'CLOSED=>LISTEN', points: [[430, 70], [430, 140]], label: { x: 424, y: 109, anchor: 'end' } },
  { edge: 'LISTEN=>CLOSED', points: [[470, 140], [470, 70]], label: { x: 476, y: 109, anchor: 'start' } },
  { edge: 'CLOSED=>SYN-SENT', points: [[508, 50], [780, 50], [780, 270]], label: { x: 774, y: 110, anchor: 'end' } },
  { edge: 'SYN-SENT=>CLOSED', points: [[818, 290], [872, 290], [872, 35], [508, 35]], label: { x: 878, y: 170, anchor: 'start' } },
  { edge: 'LISTEN=>SYN-RECEIVED', points: [[410, 180], [198, 275]], label: { x: 300, y: 212, anchor: 'end' } },
  { edge: 'LISTEN=>SYN-SENT', points: [[490, 180], [702, 275]], label: { x: 600, y: 212, anchor: 'start' } },
  { edge: 'SYN-RECEIVED=>LISTEN', points: [[140, 270], [140, 160], [392, 160]], label: { x: 150, y: 152, anchor: 'start' } },
  { edge: 'SYN-SENT=>SYN-RECEIVED', points: [[702, 290], [198, 290]], label: { x: 450, y: 284, anchor: 'middle' } },
  { edge: 'SYN-RECEIVED=>ESTABLISHED', points: [[198, 302], [410, 390]], label: { x: 294, y: 362, anchor: 'end' } },
  { edge: 'SYN-SENT=>ESTABLISHED', points: [[702, 302], [490, 390]], label: { x: 606, y: 362, anchor: 'start' } },
  { edge: 'SYN-RECEIVED=>FIN-WAIT-1', points: [[140, 310], [140, 510]], label: { x: 146, y: 410, anchor: 'start' } },
  { edge: 'ESTABLISHED=>FIN-WAIT-1', points: [[410, 430], [198, 520]], label: { x: 292, y: 466, anchor: 'end' } },
  { edge: 'ESTABLISHED=>CLOSE-WAIT', points: [[490, 430], [702, 520]], label: { x: 608, y: 466, anchor: 'start' } },
  { edge: 'FIN-WAIT-1=>FIN-WAIT-2', points: [[140, 550], [140, 640]], label: { x: 146, y: 599, anchor: 'start' } },
  { edge: 'FIN-WAIT-1=>CLOSING', points: [[198, 540], [430, 640]], label: { x: 322, y: 580, anchor: 'start' } },
  { edge: 'FIN-WAIT-2=>TIME-WAIT', points: [[140, 680], [140, 770], [392, 770]], label: { x: 150, y: 762, anchor: 'start' } },
  { edge: 'CLOSING=>TIME-WAIT', points: [[450, 680], [450, 760]], label: { x: 456, y: 724, anchor: 'start' } },
  { edge: 'CLOSE-WAIT=>LAST-ACK', points: [[760, 550], [760, 640]], label: { x: 766, y: 599, anchor: 'start' } },
  { edge: 'LAST-ACK=>CLOSED', points: [[760, 680], [760, 760]], label: { x: 766, y: 724, anchor: 'start' } },
  { edge: 'TIME-WAIT=>CLOSED', points: [[508, 780], [702, 780]], label: { x: 605, y: 773, anchor: 'middle' } },
  { edge: 'FIN-WAIT-1=>TIME-WAIT', points: [[82, 540], [46, 540], [46, 792], [392, 792]], label: { x: 56, y: 810, anchor: 'start' }, dashed: true },
];

function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}
