// examples/thumbnailer end to end with `lagless run`: photos from the local image server resized on the worker pool into JPEG thumbnails with a content-type header; a file that is not an image is a dead letter with the worker's code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { startImageServer } from '../../src/image-server/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, createTopic, groupLag, produce, uniqueName } from '../helpers/kafka.ts';
import { exitedReason, startLagless, stopLagless } from '../helpers/lagless-process.ts';

test('thumbnailer: JPEG thumbnails of at most 128 px from the worker pool; a non-image is NOT_AN_IMAGE', async (t) => {
  const images = await startImageServer();
  t.after(() => images.close());
  const names = images.images.slice(0, 4);
  const from = await createTopic(t, uniqueName('images'), 2);
  const to = await createTopic(t, uniqueName('thumbnails'), 2);
  const dlq = await createTopic(t, uniqueName('images-dlq'), 2);
  const group = uniqueName('thumbs-group');
  const refs = names.map((name, i) => ({ key: `img${i}`, value: JSON.stringify({ id: `img${i}`, url: images.imageUrl(name) }) }));
  // The image server's /not-image route answers 200 with an HTML page.
  refs.push({ key: 'notimg', value: JSON.stringify({ id: 'notimg', url: `${images.url}/not-image` }) });
  await produce(from, refs);
  const run = startLagless(t, ['run', 'examples/thumbnailer/job.ts', '--from', from, '--to', to, '--dlq', dlq, '--group', group, '--workers', '2', '--status-every', '0']);
  const out = await consumeAll(to, { count: names.length, timeoutMs: 90_000, headers: true, bytes: true });
  const dead = await consumeAll(dlq, { count: 1 });
  await eventually(async () => (await groupLag(from, 2, group)).lag === 0n, { what: 'every image committed', timeout: 30_000, failIf: exitedReason(run) });
  const stopped = await stopLagless(run);
  assert.equal(stopped.code, 0, stopped.stderr);

  assert.deepEqual(out.map((o) => o.key).sort(), names.map((_, i) => `img${i}`));
  for (const o of out) {
    assert.equal(o.headers?.['content-type'], 'image/jpeg');
    const meta = await sharp(o.bytes!).metadata();
    assert.equal(meta.format, 'jpeg', `${o.key} is a JPEG`);
    // Every shipped photo is larger than 128 px: its longest side becomes exactly 128.
    assert.equal(Math.max(meta.width!, meta.height!), 128, `${o.key} is ${meta.width}x${meta.height}`);
    assert.deepEqual([o.headers?.['x-width'], o.headers?.['x-height']], [String(meta.width), String(meta.height)]);
  }
  const letter = JSON.parse(dead[0]!.value) as { error: { code: string } };
  assert.equal(dead[0]!.key, 'notimg');
  assert.equal(letter.error.code, 'NOT_AN_IMAGE', 'the JobError thrown on the worker thread keeps its code');
});
