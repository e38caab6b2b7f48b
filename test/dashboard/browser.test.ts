// The dashboard in a real browser (Debian's Chromium) against a real broker and pipeline: points, a scale event, the latest outputs' pixels (the palette job's preview) and an output without a preview, hostile ids as text, reconnection.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { freePort } from '../../src/common/index.ts';
import { pageWeight } from '../../src/dashboard/index.ts';
import { findChromium, launchBrowser } from '../helpers/browser.ts';
import { runCli } from '../helpers/cli.ts';
import { consumeAll, produce } from '../helpers/kafka.ts';
import { eventually } from '../helpers/eventually.ts';
import { createPipelineTopics, exitedReason, startLagless, stopLagless } from '../helpers/lagless-process.ts';
import { startImages } from '../helpers/pipeline.ts';

// Browser globals, used only inside callbacks that run in the page (the project's TypeScript lib has no DOM).
declare const document: any;
declare const window: any;

const browser = findChromium();
/** Set it (e.g. to docs) to keep the screenshots of this run: dashboard.png and dashboard-gallery.png. */
const SHOTS = process.env.LAGLESS_DASHBOARD_SCREENSHOTS;

interface OutputRecord {
  id: string;
  hex: string[];
}

test(
  'the dashboard in Chromium: charts get points, a step load shows a scale event with its reason, the latest outputs show the colours of the palettes and the keys and values of other outputs, hostile ids stay text, and the page reconnects after a restart',
  { skip: 'missing' in browser ? browser.missing : false },
  async (t) => {
    if (!('path' in browser)) return;
    const n = await createPipelineTopics(t, 'dash', 4);
    const images = await startImages(t, { latencyMs: 20 });
    const hostPort = new URL(images.url).host;

    // The pipeline, with the dashboard also served by the run process itself (at / of --http-port).
    const runPort = await freePort();
    const run = startLagless(t, [
      'run', 'palette', '--from', n.from, '--to', n.to, '--dlq', n.dlq, '--group', n.group, '--allow-host', hostPort,
      '--min-workers', '1', '--max-workers', '2', '--idle-timeout', '60s',
      '--status-topic', n.statusTopic, '--status-every', '1s', '--status-interval', '2s', '--http-port', String(runPort),
    ]);
    const dashPort = await freePort();
    const startDashboard = () => startLagless(t, ['dashboard', '--group', n.group, '--status-topic', n.statusTopic, '--port', String(dashPort)]);
    let dash = startDashboard();
    const url = `http://127.0.0.1:${dashPort}/`;
    await eventually(async () => (await fetch(url)).ok, { what: 'the dashboard answers', failIf: exitedReason(dash) });

    const { page, dialogs, pageErrors } = await launchBrowser(t, browser.path);
    await page.goto(url);
    await page.waitForSelector('body[data-connection="live"]', { timeout: 60_000 });

    await t.test('the page weighs what the package serves, all from its own origin, and paints', async () => {
      const m: { paint: number | null; doc: number; resources: { name: string; bytes: number }[] } = await page.evaluate(() => ({
        paint: window.performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
        doc: window.performance.getEntriesByType('navigation')[0].encodedBodySize,
        resources: window.performance.getEntriesByType('resource').map((r: any) => ({ name: r.name, bytes: r.encodedBodySize })),
      }));
      const own = m.resources.filter((r) => r.name.startsWith(url) && !r.name.endsWith('/events'));
      const foreign = m.resources.filter((r) => !r.name.startsWith(url));
      assert.deepEqual(foreign, [], 'nothing is loaded from elsewhere (no CDN)');
      const loaded = m.doc + own.reduce((a, r) => a + r.bytes, 0);
      const expected = pageWeight();
      assert.equal(own.length, expected.files.length - 1, `the page loads its script, style and uPlot: ${own.map((r) => r.name).join(', ')}`);
      assert.equal(loaded, expected.total);
      assert.ok(loaded < 100 * 1024, `the page stays small: ${loaded} bytes`);
      assert.ok(m.paint !== null && m.paint > 0);
      t.diagnostic(`page weight ${loaded} bytes (${expected.files.map((f) => `${f.path} ${f.bytes}`).join(', ')}); first contentful paint ${m.paint!.toFixed(0)} ms after navigation`);
    });

    await t.test('charts receive points every second', async () => {
      const points = () => page.evaluate(() => Number(document.querySelector('#chart-rates')?.getAttribute('data-points')));
      await page.waitForFunction(() => Number(document.querySelector('#chart-rates')?.getAttribute('data-points')) >= 3, undefined, { timeout: 60_000 });
      const before = await points();
      await page.waitForFunction((b) => Number(document.querySelector('#chart-rates')?.getAttribute('data-points')) > b, before, { timeout: 30_000 });
      for (const id of ['chart-lag', 'chart-scale', 'chart-partitions']) {
        assert.ok(Number(await page.getAttribute(`#${id}`, 'data-points')) >= 3, id);
      }
      // One series per partition of the input topic.
      await page.waitForFunction(() => document.querySelector('#chart-partitions')?.getAttribute('data-series') === '4', undefined, { timeout: 30_000 });
    });

    // A step far above what one worker does here: a backlog forms and the autoscaler adds the second worker.
    const load = await runCli(['produce', '--topic', n.from, '--source', 'synthetic', '--image-base', images.url, '--profile', 'steps:10@2s,300@4s', '--quiet', '--json']);
    assert.equal(load.code, 0, load.stderr);
    const produced = (JSON.parse(load.stdout) as { delivered: number }).delivered;

    await t.test('the step load shows as arrival, lag, and a scale event with its reason', async () => {
      await page.waitForSelector('#scale-list li[data-unit="workers"]', { timeout: 90_000 });
      const shown = await page.$$eval('#scale-list li', (lis) => lis.map((li: any) => ({ change: li.querySelector('.up, .down')?.textContent, reason: li.querySelector('.reason')?.textContent })));
      const logged = [...run.output.stderr.matchAll(/ (scale (?:up|down) \d+→\d+: .*?)(?: \(downloads in flight up to \d+\))?$/gm)].map((m) => m[1]);
      assert.equal(shown.at(-1)?.change, 'workers 1→2');
      assert.ok(logged.includes(shown.at(-1)!.reason!), `the reason shown is the one the process logged: ${shown.at(-1)!.reason} / ${logged.join(' | ')}`);
      // The workers chart got the new value; the arrival and lag charts saw the load.
      await page.waitForFunction(() => document.querySelector('#chart-scale')?.getAttribute('data-max')?.split(',')[0] === '2', undefined, { timeout: 30_000 });
      const max = (id: string) => page.evaluate((s) => document.querySelector(s)?.getAttribute('data-max')?.split(',').map(Number) ?? [], `#${id}`);
      assert.ok((await max('chart-rates'))[0]! > 50, 'arrival rose above 50 records/s');
      assert.ok((await max('chart-lag'))[0]! > 0, 'a lag was seen');
    });

    // Every record of the step became a palette (a state, however slow this machine is today); then two hostile
    // records, the newest of all: one palette, one dead letter.
    await consumeAll(n.to, { count: produced, timeoutMs: 300_000 });
    const hostileId = '<img src=x onerror=alert(1)>';
    const hostileDead = '<script>window.pwned = 1</script>';
    const hostileUrl = `${images.url}/status/404?q=<img src=y onerror=alert(2)>`;
    await produce(n.from, [
      { key: hostileId, value: JSON.stringify({ id: hostileId, url: images.imageUrl(3, { h: 1 }) }) },
      { key: hostileDead, value: JSON.stringify({ id: hostileDead, url: hostileUrl }) },
    ]);

    await t.test('a hostile id, url and message render as text, run nothing', async () => {
      await page.waitForFunction((id) => [...document.querySelectorAll('#outputs .output-title')].some((e: any) => e.textContent === id), hostileId, { timeout: 120_000 });
      await page.waitForFunction((id) => [...document.querySelectorAll('#dead .dl-id')].some((e: any) => e.textContent === id), hostileDead, { timeout: 120_000 });
      const dom = await page.evaluate(() => ({
        injectedImages: document.querySelectorAll('img[src="x"], img[src="y"]').length,
        scripts: [...document.scripts].map((s: any) => s.getAttribute('src')),
        pwned: window.pwned ?? null,
        deadUrl: [...document.querySelectorAll('#dead td')].some((td: any) => td.textContent?.includes('<img src=y onerror=alert(2)>')),
      }));
      assert.equal(dom.injectedImages, 0);
      assert.deepEqual(dom.scripts, ['/assets/uplot.js', '/assets/app.js']);
      assert.equal(dom.pwned, null);
      assert.ok(dom.deadUrl, 'the hostile URL is shown as its characters');
      assert.deepEqual(dialogs, []);
      assert.deepEqual(pageErrors, []);
    });

    await t.test("the palette job's preview: the swatches of the latest outputs have the output records' colours (pixels from a screenshot)", async () => {
      const byPlace = new Map<string, OutputRecord>();
      for (const r of await consumeAll(n.to, { count: produced + 1, timeoutMs: 120_000 })) byPlace.set(`${r.partition}/${r.offset}`, JSON.parse(r.value) as OutputRecord);
      // The pictures load from the image server; wait for them so that the screenshot is the one a user sees.
      await page.waitForFunction(() => [...document.querySelectorAll('#outputs img')].every((i: any) => i.complete), undefined, { timeout: 30_000 });
      const layout = () =>
        page.evaluate(() =>
          [...document.querySelectorAll('#outputs .output')].map((card: any) => ({
            place: `${card.dataset.partition}/${card.dataset.offset}`,
            swatches: [...card.querySelectorAll('.swatch .color')].map((s: any) => {
              const r = s.getBoundingClientRect();
              return { x: Math.round(r.left + window.scrollX + r.width / 2), y: Math.round(r.top + window.scrollY + r.height / 2) };
            }),
          })),
        );
      // The latest outputs are redrawn every few seconds: keep a screenshot taken between two identical layouts.
      const { cards, png } = await eventually(
        async () => {
          const a = await layout();
          const shot = await page.screenshot({ fullPage: true });
          const b = await layout();
          return JSON.stringify(a) === JSON.stringify(b) && a.length > 0 ? { cards: a, png: shot } : undefined;
        },
        { what: 'a screenshot of stable latest outputs' },
      );
      const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const pixel = (x: number, y: number) => {
        const i = (y * info.width + x) * 3;
        return `#${[data[i]!, data[i + 1]!, data[i + 2]!].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
      };
      let checked = 0;
      for (const c of cards) {
        const record = byPlace.get(c.place);
        assert.ok(record, `the card at ${c.place} is an output record`);
        assert.deepEqual(c.swatches.map((s) => pixel(s.x, s.y)), record.hex, `swatches of ${record.id}`);
        checked += c.swatches.length;
      }
      assert.ok(cards.length >= 2 && checked >= 12, `${cards.length} cards, ${checked} swatches checked`);
      t.diagnostic(`${checked} swatch pixels of ${cards.length} palettes equal their records' hex colours`);
      if (SHOTS) {
        const dir = resolve(SHOTS);
        mkdirSync(dir, { recursive: true });
        const small = (p: Buffer | Uint8Array) => sharp(p).png({ palette: true, quality: 90, compressionLevel: 9, effort: 10 });
        await page.evaluate(() => window.scrollTo(0, 0));
        await small(await page.screenshot({ clip: { x: 0, y: 0, width: 1400, height: 900 } })).toFile(join(dir, 'dashboard.png'));
        const gallery = await page.locator('#outputs').boundingBox();
        const dead = await page.locator('#dead-letters').boundingBox();
        const top = Math.round(gallery!.y);
        const bottom = Math.round(dead!.y + dead!.height);
        await small(await page.screenshot({ fullPage: true, clip: { x: 0, y: top, width: 1400, height: bottom - top } })).toFile(join(dir, 'dashboard-gallery.png'));
        t.diagnostic(`screenshots written to ${dir}`);
      }
    });

    await t.test('an output the preview does not know shows its key and short values, as text', async () => {
      const key = '<b>order</b> A-17';
      await produce(n.to, [{ key, value: JSON.stringify({ order: 'A-17', items: [1, 2, 3], note: `<i>${'n'.repeat(500)}</i>` }) }]);
      const card = await eventually(
        async () => {
          const cards = await page.$$eval('#outputs .output[data-preview="default"]', (cs) =>
            cs.map((c: any) => ({
              title: c.querySelector('.output-title')?.textContent,
              fields: [...c.querySelectorAll('.fields dt')].map((dt: any) => [dt.textContent, dt.nextElementSibling?.textContent]),
              images: c.querySelectorAll('img, .swatch').length,
              markup: c.querySelectorAll('b, i').length,
            })),
          );
          return cards.find((c) => c.title === key);
        },
        { what: 'the output without a preview on the page', timeout: 60_000 },
      );
      assert.deepEqual(card.fields.slice(0, 2), [['order', 'A-17'], ['items', '[1,2,3]']]);
      assert.equal(card.fields[2]![0], 'note');
      assert.ok(card.fields[2]![1]!.length < 200 && card.fields[2]![1]!.endsWith('…'), `a long value is cut short: ${card.fields[2]![1]}`);
      assert.equal(card.images, 0);
      assert.equal(card.markup, 0, 'the key and values are text, not markup');
      assert.deepEqual(pageErrors, []);
    });

    await t.test('the run process serves the same page and data at / of --http-port', async () => {
      const base = `http://127.0.0.1:${runPort}`;
      const html = await fetch(`${base}/`);
      assert.equal(html.status, 200);
      assert.match(html.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.match(await html.text(), /<script src="\/assets\/app\.js"/);
      const state = await eventually(
        async () => {
          const s = (await (await fetch(`${base}/api/state`)).json()) as { state: { members: { pid: number | null; live: boolean }[] } };
          return s.state.members.some((m) => m.pid === run.pid && m.live) ? s : undefined;
        },
        { what: 'the run process sees itself in its dashboard', failIf: exitedReason(run) },
      );
      assert.ok(state.state.members.length >= 1);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
    });

    await t.test('the page reconnects when the dashboard restarts, and gets the new history', async () => {
      const before = await page.getAttribute('body', 'data-instance');
      const stopped = await stopLagless(dash);
      assert.equal(stopped.code, 0, stopped.stderr);
      await page.waitForSelector('body[data-connection="reconnecting"]', { timeout: 30_000 });
      dash = startDashboard();
      await page.waitForFunction((b) => document.body.dataset.connection === 'live' && document.body.dataset.instance !== b, before, { timeout: 60_000 });
      await page.waitForFunction(() => Number(document.querySelector('#chart-rates')?.getAttribute('data-points')) >= 2, undefined, { timeout: 30_000 });
      assert.deepEqual(pageErrors, []);
    });
  },
);
