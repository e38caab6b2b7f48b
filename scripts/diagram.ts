// Renders a box-and-arrow diagram from a small text source (docs/architecture/*.diagram) to a standalone SVG, so that
// the architecture picture is generated from text in the repository, with no browser, CDN or layout engine.
// Usage: node scripts/diagram.ts            (rewrites every docs/architecture/NAME.svg from NAME.diagram)
//        node scripts/diagram.ts --check    (exit 1 if an SVG is not its source's rendering; the test suite does this)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { coord as n, escapeXml as esc } from '../bench/lib/svg.ts';

export interface Diagram {
  title: string;
  groups: { col: number; row: number; cols: number; rows: number; label: string }[];
  nodes: Map<string, { col: number; row: number; label: string; detail: string }>;
  edges: { from: string; to: string; label: string }[];
}

/** Words of a statement: bare words and "quoted strings" (a quote inside a string is written \"). */
function words(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!));
}

/** Parses a diagram source; an unknown statement or a bad reference throws with its line number. */
export function parseDiagram(source: string): Diagram {
  const d: Diagram = { title: '', groups: [], nodes: new Map(), edges: [] };
  const int = (s: string | undefined, where: string) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${where}: expected a whole number, got ${JSON.stringify(s)}`);
    return n;
  };
  source.split('\n').forEach((raw, i) => {
    const where = `line ${i + 1}`;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [kind, ...w] = words(line);
    if (kind === 'title' && w.length === 1) d.title = w[0]!;
    else if (kind === 'group' && w.length === 5) d.groups.push({ col: int(w[0], where), row: int(w[1], where), cols: int(w[2], where), rows: int(w[3], where), label: w[4]! });
    else if (kind === 'node' && w.length === 5) {
      if (d.nodes.has(w[0]!)) throw new Error(`${where}: node ${w[0]} is defined twice`);
      d.nodes.set(w[0]!, { col: int(w[1], where), row: int(w[2], where), label: w[3]!, detail: w[4]! });
    } else if (kind === 'edge' && w.length === 3) d.edges.push({ from: w[0]!, to: w[1]!, label: w[2]! });
    else throw new Error(`${where}: not a statement of the diagram syntax: ${line}`);
  });
  for (const e of d.edges) for (const id of [e.from, e.to]) if (!d.nodes.has(id)) throw new Error(`edge ${e.from} -> ${e.to}: no node ${id}`);
  return d;
}

const COL_W = 290;
const ROW_H = 124;
const BOX_W = 206;
const BOX_H = 58;
const LEFT = 16;
const TOP = 56;
/** Space at the top of a cell for its group's label. */
const CELL_PAD_TOP = 34;


function box(col: number, row: number) {
  const x = LEFT + col * COL_W + (COL_W - BOX_W) / 2;
  const y = TOP + row * ROW_H + CELL_PAD_TOP;
  return { x, y, cx: x + BOX_W / 2, cy: y + BOX_H / 2 };
}

/** Where the segment from the centre of a box towards (tx, ty) leaves the box. */
function exitPoint(cx: number, cy: number, tx: number, ty: number, pad: number): [number, number] {
  const dx = tx - cx;
  const dy = ty - cy;
  const sx = dx === 0 ? Infinity : (BOX_W / 2 + pad) / Math.abs(dx);
  const sy = dy === 0 ? Infinity : (BOX_H / 2 + pad) / Math.abs(dy);
  const s = Math.min(sx, sy);
  return [cx + dx * s, cy + dy * s];
}

export function renderDiagram(d: Diagram): string {
  const cols = Math.max(...[...d.nodes.values()].map((v) => v.col), ...d.groups.map((g) => g.col + g.cols - 1)) + 1;
  const rows = Math.max(...[...d.nodes.values()].map((v) => v.row), ...d.groups.map((g) => g.row + g.rows - 1)) + 1;
  const W = LEFT * 2 + cols * COL_W;
  const H = TOP + rows * ROW_H + 12;
  const out: string[] = [];
  for (const g of d.groups) {
    const x = LEFT + g.col * COL_W + 4;
    const y = TOP + g.row * ROW_H + 4;
    out.push(`<rect x="${n(x)}" y="${n(y)}" width="${n(g.cols * COL_W - 8)}" height="${n(g.rows * ROW_H - 8)}" rx="10" class="group"/>`);
    out.push(`<text x="${n(x + 10)}" y="${n(y + 18)}" class="grouplabel">${esc(g.label)}</text>`);
  }
  const pairs = new Set(d.edges.map((e) => `${e.from}>${e.to}`));
  for (const e of d.edges) {
    const a = d.nodes.get(e.from)!;
    const b = d.nodes.get(e.to)!;
    const A = box(a.col, a.row);
    const B = box(b.col, b.row);
    // Two arrows between the same boxes, one each way, are drawn side by side.
    let ox = 0;
    let oy = 0;
    if (pairs.has(`${e.to}>${e.from}`)) {
      const len = Math.hypot(B.cx - A.cx, B.cy - A.cy);
      ox = (-(B.cy - A.cy) / len) * 9;
      oy = ((B.cx - A.cx) / len) * 9;
    }
    const [x1, y1] = exitPoint(A.cx + ox, A.cy + oy, B.cx + ox, B.cy + oy, 2);
    const [x2, y2] = exitPoint(B.cx + ox, B.cy + oy, A.cx + ox, A.cy + oy, 6);
    out.push(`<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" class="edge" marker-end="url(#arrow)"/>`);
    if (e.label) {
      // Beside the arrow's middle: above a horizontal one, to the right of any other.
      const mx = (x1 + x2) / 2 + ox;
      const my = (y1 + y2) / 2 + oy;
      const flat = Math.abs(y2 - y1) < 1;
      out.push(`<text x="${n(flat ? mx : mx + 8)}" y="${n(flat ? my - 7 : my + 4)}" class="edgelabel" text-anchor="${flat ? 'middle' : 'start'}">${esc(e.label)}</text>`);
    }
  }
  for (const v of d.nodes.values()) {
    const b = box(v.col, v.row);
    out.push(`<rect x="${n(b.x)}" y="${n(b.y)}" width="${BOX_W}" height="${BOX_H}" rx="6" class="node"/>`);
    out.push(`<text x="${n(b.cx)}" y="${n(b.y + 24)}" class="label" text-anchor="middle">${esc(v.label)}</text>`);
    out.push(`<text x="${n(b.cx)}" y="${n(b.y + 43)}" class="detail" text-anchor="middle">${esc(v.detail)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
.title { font-size: 17px; font-weight: 600; fill: #202124 }
.group { fill: #f6f8fa; stroke: #d0d7de; stroke-width: 1 }
.grouplabel { font-size: 12px; font-weight: 600; fill: #57606a }
.node { fill: #ffffff; stroke: #3c4043; stroke-width: 1.2 }
.label { font-size: 14px; font-weight: 600; fill: #202124 }
.detail { font-size: 11px; fill: #5f6368 }
.edge { stroke: #1a73e8; stroke-width: 1.6 }
.edgelabel { font-size: 11px; fill: #174ea6; paint-order: stroke; stroke: #ffffff; stroke-width: 4px; stroke-linejoin: round }
</style>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1a73e8"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${LEFT + 4}" y="30" class="title">${esc(d.title)}</text>
${out.join('\n')}
</svg>
`;
}

const DIR = new URL('../docs/architecture/', import.meta.url);

/** Every diagram source in docs/architecture, with the SVG it renders to. */
export function diagrams(): { source: string; svg: string; rendered: string }[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.diagram'))
    .sort()
    .map((f) => {
      const svg = f.replace(/\.diagram$/, '.svg');
      return { source: `docs/architecture/${f}`, svg: `docs/architecture/${svg}`, rendered: renderDiagram(parseDiagram(readFileSync(new URL(f, DIR), 'utf8'))) };
    });
}

if (import.meta.main) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const d of diagrams()) {
    const path = new URL(`../${d.svg}`, import.meta.url);
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {}
      if (current !== d.rendered) {
        process.stderr.write(`${d.svg} is not the rendering of ${d.source}: run node scripts/diagram.ts\n`);
        stale++;
      }
    } else {
      writeFileSync(path, d.rendered);
      process.stdout.write(`wrote ${d.svg}\n`);
    }
  }
  process.exit(stale ? 1 : 0);
}
