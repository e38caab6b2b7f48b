// The Lagless dashboard page: takes the collector's history and ticks over SSE and draws them with uPlot.
// Everything that comes from records or statuses is written with textContent (never as markup).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  /** An element with a class and a text (as text, never parsed). */
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  const HEX = /^#[0-9a-f]{6}$/i;
  /** Axis steps for things counted in whole units (workers, replicas, dead letters). */
  const COUNTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
  const COLORS = ['#2f6fde', '#e0672d', '#1a9e5a', '#9b59b6', '#c62828', '#00838f', '#8d6e63', '#f9a825', '#5c6bc0', '#ad1457'];
  const fmt = (v, digits = 1) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits));
  const int = (v) => (v === null || v === undefined ? '–' : String(Math.round(v)));
  const clock = (ms) => new Date(ms).toTimeString().slice(0, 8);
  const ago = (ms) => (ms === null || ms === undefined ? '–' : ms < 1000 ? 'now' : ms < 120000 ? `${Math.round(ms / 1000)} s ago` : `${Math.round(ms / 60000)} min ago`);

  let history = { t: [], series: {} };
  let state = {};
  let maxPoints = 3600;

  // ---- charts -------------------------------------------------------------------------------------------------
  class Chart {
    constructor(id) {
      this.fig = $(id);
      this.plot = this.fig.querySelector('.plot');
      this.u = null;
      this.key = '';
    }
    /** Draws `cols` ([x, ...ys]); the chart is rebuilt only when its series change (`key`). */
    draw(key, opts, cols) {
      const width = Math.max(200, this.plot.clientWidth);
      if (!this.u || key !== this.key) {
        if (this.u) this.u.destroy();
        // Every chart spans the same time range: the history's.
        const scales = { x: { time: true, range: () => timeRange() }, ...(opts.scales || {}) };
        // Local clock times on the time axis (uPlot's default adds a second line with the date).
        const axes = [{ space: 70, values: (u, splits) => splits.map((v) => clock(v * 1000)) }, ...(opts.axes || [{}, {}]).slice(1)];
        this.u = new uPlot({ width, height: 200, legend: { live: false }, cursor: { drag: { x: false, y: false } }, ...opts, scales, axes }, cols, this.plot);
        this.key = key;
      } else {
        this.u.setData(cols);
      }
      this.fig.dataset.points = String(cols[0].length);
      this.fig.dataset.series = String(cols.length - 1);
      // The largest value of each series: a cheap, testable trace of what the chart shows.
      this.fig.dataset.max = cols
        .slice(1)
        .map((c) => c.reduce((m, v) => (v !== null && v > m ? v : m), 0))
        .join(',');
    }
    resize() {
      if (this.u) this.u.setSize({ width: Math.max(200, this.plot.clientWidth), height: 200 });
    }
  }
  const charts = {
    rates: new Chart('chart-rates'),
    lag: new Chart('chart-lag'),
    scale: new Chart('chart-scale'),
    partitions: new Chart('chart-partitions'),
    dead: new Chart('chart-dead'),
  };
  new ResizeObserver(() => Object.values(charts).forEach((c) => c.resize())).observe(document.querySelector('.charts'));

  const timeRange = () => {
    const t = history.t;
    const last = t.length ? t[t.length - 1] : Date.now() / 1000;
    return [t.length ? Math.min(t[0], last - 60) : last - 60, last];
  };
  const line = (label, color, extra = {}) => ({ label, stroke: color, width: 1.5, spanGaps: false, ...extra });
  const col = (name) => history.series[name] || history.t.map(() => null);

  /** Vertical dashed lines at the scale events, drawn over the workers/replicas chart. */
  const scaleMarks = {
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.setLineDash([4, 4]);
          ctx.lineWidth = 1;
          for (const e of state.scaleEvents || []) {
            const x = u.valToPos(Date.parse(e.at) / 1000, 'x', true);
            if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) continue;
            ctx.strokeStyle = e.to > e.from ? '#c62828' : '#1a7f37';
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };

  function drawCharts() {
    const t = history.t;
    charts.rates.draw('rates', { series: [{}, line('arrival', COLORS[0]), line('completion', COLORS[2])], axes: [{}, { size: 50 }] }, [t, col('arrival'), col('done')]);
    charts.lag.draw(
      'lag',
      {
        series: [{}, line('lag (records)', COLORS[1], { scale: 'rec' }), line('behind (s)', COLORS[3], { scale: 's' })],
        axes: [{}, { scale: 'rec', size: 55 }, { scale: 's', side: 1, size: 45, grid: { show: false } }],
      },
      [t, col('lag'), col('behind')],
    );
    const stepped = uPlot.paths.stepped({ align: 1 });
    charts.scale.draw(
      'scale',
      {
        series: [{}, line('workers', COLORS[0], { paths: stepped }), line('busy workers', '#9aa7bd', { paths: stepped, width: 1 }), line('replicas', COLORS[1], { paths: stepped })],
        axes: [{}, { size: 40, incrs: COUNTS }],
        scales: { y: { range: (u, min, max) => [0, Math.max(2, Math.ceil(max) + 1)] } },
        plugins: [scaleMarks],
      },
      [t, col('workers'), col('busy'), col('replicas')],
    );
    const parts = Object.keys(history.series).filter((k) => k.startsWith('lag:')).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    charts.partitions.draw(
      `p:${parts.join(',')}`,
      { series: [{}, ...parts.map((k, i) => line(k.slice(4), COLORS[i % COLORS.length], { width: 1 }))], axes: [{}, { size: 55 }] },
      [t, ...parts.map(col)],
    );
    const d = state.deadBuckets || { t: [], codes: {} };
    const codes = Object.keys(d.codes).sort();
    // Stacked bars: each code's bar starts where the previous code's ends; the tallest (the total) is drawn first.
    const stacked = [];
    let acc = d.t.map(() => 0);
    for (const c of codes) {
      acc = acc.map((v, j) => v + (d.codes[c][j] || 0));
      stacked.push(acc);
    }
    const bars = uPlot.paths.bars({ size: [0.8, 40] });
    const color = (i) => COLORS[(i + 4) % COLORS.length];
    const order = codes.map((c, i) => i).reverse();
    charts.dead.draw(
      `d:${codes.join(',')}`,
      { series: [{}, ...order.map((i) => ({ label: codes[i], stroke: color(i), fill: color(i), paths: bars, points: { show: false } }))], axes: [{}, { size: 45, incrs: COUNTS }] },
      [d.t, ...order.map((i) => stacked[i])],
    );
  }

  // ---- text parts -----------------------------------------------------------------------------------------------
  function row(cells) {
    const tr = el('tr');
    for (const [text, cls] of cells) tr.append(el('td', cls || '', text));
    return tr;
  }
  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function renderSummary(s) {
    $('group').textContent = s.group;
    document.title = `Lagless · ${s.group}`;
    $('group-state').textContent = s.groupState ? `group ${s.groupState}` : 'group unknown';
    $('guarantee').textContent = s.guarantees.length ? s.guarantees.join(' + ') : 'at-least-once';
    const v = [`lagless ${s.versions.lagless.join(', ') || s.versions.dashboard}`, `node ${s.versions.node.join(', ') || '?'}`];
    $('versions').textContent = v.join(' · ');
    $('versions').title = `this page is served by lagless ${s.versions.dashboard} on node ${s.versions.dashboardNode}`;
    $('t-arrival').textContent = fmt(s.arrival);
    $('t-done').textContent = fmt(s.done);
    $('t-lag').textContent = int(s.lag);
    $('t-behind').textContent = s.behind === null ? '–' : `${s.behindAtLeast ? '≥ ' : ''}${fmt(s.behind)}`;
    $('t-workers').textContent = `${s.workers.busy} / ${s.workers.active} / ${s.workers.max}`;
    $('t-replicas').textContent = String(s.replicas.live);
    $('t-replicas-unit').textContent = s.replicas.wanted !== null ? `live; the supervisor wants ${s.replicas.wanted}` : 'live';
    const problems = $('problems');
    problems.hidden = s.problems.length === 0;
    problems.textContent = s.problems.join('\n');
    const tp = s.topics;
    $('topics').textContent = `Topics: ${tp.input.join(', ') || '?'} → ${tp.output.join(', ') || '?'}; dead letters → ${tp.dlq.join(', ') || '?'}. Jobs: ${s.jobs.join(', ') || '?'}.`;
  }

  function renderMembers(members) {
    const live = members.filter((m) => m.live).length;
    $('members-note').textContent = `${live} live of ${members.length}`;
    fill(
      $('members').tBodies[0],
      members.map((m) => {
        const tr = row([
          [m.member, 'text'],
          [m.role],
          [m.host, 'text'],
          [m.pid ?? '–', 'num'],
          [m.live ? 'live' : 'stale'],
          [m.role === 'supervisor' ? '–' : m.assigned.join(', ') || '–'],
          [m.inFlight ?? '–', 'num'],
          [m.rates ? fmt(m.rates.in) : '–', 'num'],
          [m.rates ? fmt(m.rates.out) : '–', 'num'],
          [m.rates ? fmt(m.rates.dead) : '–', 'num'],
          [m.failures ? `${m.failures.timeouts} / ${m.failures.workerCrashes}` : '–', 'num'],
          [m.workers ? `${m.workers.busy}/${m.workers.active}/${m.workers.max}` : m.replicas ? `${m.replicas.running} replicas (${m.replicas.min}..${m.replicas.max})` : '–'],
          [m.io ? `${m.io.active}/${m.io.max}` : '–', 'num'],
          [m.share ? `${m.share.acquired} / ${m.share.held} / ${m.share.redelivered} / ${m.share.deliveryLimit}` : '–', 'num'],
          [ago(m.ageMs)],
          [m.wish ?? '', 'text'],
        ]);
        if (!m.live) tr.className = 'stale';
        return tr;
      }),
    );
  }

  function renderPartitions(parts) {
    const share = state.summary && state.summary.groupType === 'share';
    $('partitions-note').textContent = share ? 'share group: committed is the share-partition start offset, lag the records no member has acknowledged yet; owners are every member assigned the partition' : '';
    fill(
      $('partitions').tBodies[0],
      parts.map((p) =>
        row([
          [p.topic, 'text'],
          [p.partition, 'num'],
          [p.logEnd, 'num'],
          [p.committed ?? '–', 'num'],
          [p.lag, 'num'],
          [`${p.behindAtLeast ? '≥ ' : ''}${fmt(p.behind)}`, 'num'],
          [fmt(p.arrival), 'num'],
          [fmt(p.done), 'num'],
          [p.owner ?? '–', 'text'],
        ]),
      ),
    );
  }

  function renderScaleEvents(events) {
    $('scale-events').dataset.count = String(events.length);
    $('scale-list').replaceChildren(
      ...events
        .slice()
        .reverse()
        .map((e) => {
          const li = el('li');
          li.dataset.unit = e.unit;
          const time = el('time', '', clock(Date.parse(e.at)));
          time.dateTime = e.at;
          li.append(time, ' ', el('span', e.to > e.from ? 'up' : 'down', `${e.unit} ${e.from}→${e.to}`), ' ', el('span', 'reason', e.reason), ' ', el('span', 'muted', e.member));
          return li;
        }),
    );
  }

  const cards = new Map();
  function card(e) {
    const key = `${e.topic}/${e.partition}/${e.offset}`;
    const cached = cards.get(key);
    if (cached) return cached;
    const c = el('article', 'output');
    c.dataset.topic = e.topic;
    c.dataset.partition = String(e.partition);
    c.dataset.offset = String(e.offset);
    c.dataset.preview = e.previewed ? 'job' : 'default';
    if (e.image && /^https?:\/\//i.test(e.image)) {
      const img = el('img');
      img.alt = '';
      img.loading = 'lazy';
      img.decoding = 'async';
      img.referrerPolicy = 'no-referrer';
      img.addEventListener('error', () => img.classList.add('broken'));
      img.src = e.image;
      c.append(img);
    }
    if (e.swatches.length > 0) {
      const swatches = el('div', 'swatches');
      for (const h of e.swatches) {
        if (!HEX.test(h)) continue;
        const s = el('div', 'swatch');
        const color = el('div', 'color');
        color.style.backgroundColor = h;
        s.append(color, el('span', 'hex', h));
        swatches.append(s);
      }
      c.append(swatches);
    }
    const meta = el('div', 'meta');
    meta.append(el('div', 'output-title', e.title || '(no key)'));
    if (e.fields.length > 0) {
      const dl = el('dl', 'fields');
      for (const [name, value] of e.fields) dl.append(el('dt', '', name), el('dd', '', value));
      meta.append(dl);
    }
    meta.append(el('div', 'muted', `${clock(e.timestamp)} · ${e.topic}[${e.partition}]@${e.offset}`));
    c.append(meta);
    cards.set(key, c);
    return c;
  }
  // At a few hundred outputs per second the newest twelve change every tick: redraw them at most every 4 s, so that
  // their pictures can load and be looked at.
  let outputsShown = 0;
  let outputsTimer;
  function renderOutputs() {
    const wait = outputsShown + 4000 - Date.now();
    // An empty list is filled at once.
    if (wait > 0 && $('outputs').dataset.count !== '0') {
      clearTimeout(outputsTimer);
      outputsTimer = setTimeout(renderOutputs, wait);
      return;
    }
    outputsShown = Date.now();
    showOutputs(state.outputs);
  }
  function showOutputs(o) {
    $('outputs').dataset.count = String(o.entries.length);
    const list = o.entries.map(card);
    const keep = new Set(list);
    for (const [k, c] of cards) if (!keep.has(c)) cards.delete(k);
    $('output-cards').replaceChildren(...list);
    $('outputs-note').textContent = `${o.seen} read since this page's server started`;
  }

  function renderDeadLetters(d) {
    $('dead-letters').dataset.count = String(d.entries.length);
    $('dead-note').textContent = `${d.seen} read (the last hour, then live)`;
    fill(
      $('dead').tBodies[0],
      d.entries.map((e) => {
        const tr = el('tr');
        const time = el('td');
        time.append(el('time', '', clock(e.timestamp)));
        const code = el('td');
        code.append(el('span', 'code', e.code));
        tr.append(time, code, el('td', 'text dl-id', e.id ?? '–'), el('td', 'text', e.url ?? '–'), el('td', 'text dl-message', e.message), el('td', 'num', e.attempts ?? '–'), el('td', '', `${e.topic}[${e.partition}]@${e.offset}`));
        return tr;
      }),
    );
  }

  function renderDeadTotal(b) {
    let n = 0;
    for (const list of Object.values(b.codes)) for (const v of list) n += v;
    $('t-dead').textContent = String(n);
    $('dead-bucket').textContent = `${Math.round(b.bucketMs / 1000)} s`;
  }

  const renderers = {
    summary: renderSummary,
    members: renderMembers,
    partitions: renderPartitions,
    scaleEvents: renderScaleEvents,
    outputs: renderOutputs,
    deadLetters: renderDeadLetters,
    deadBuckets: renderDeadTotal,
  };
  function apply(parts) {
    for (const [k, v] of Object.entries(parts)) {
      state[k] = v;
      renderers[k]?.(v);
    }
  }

  // ---- the stream -------------------------------------------------------------------------------------------------
  function onHello(m) {
    document.body.dataset.instance = m.instance;
    maxPoints = Math.max(1, m.history.t.length, Math.round(3600000 / (m.sampleMs || 1000)));
    history = m.history;
    state = {};
    cards.clear();
    outputsShown = 0;
    apply(m.state);
    drawCharts();
  }
  function onTick(m) {
    const { t, values } = m.point;
    const n = history.t.length;
    history.t.push(t);
    for (const [name, list] of Object.entries(history.series)) list.push(name in values ? values[name] : null);
    for (const [name, v] of Object.entries(values)) if (!(name in history.series)) history.series[name] = [...new Array(n).fill(null), v];
    if (history.t.length > maxPoints) {
      const drop = history.t.length - maxPoints;
      history.t.splice(0, drop);
      for (const list of Object.values(history.series)) list.splice(0, drop);
    }
    apply(m.state);
    drawCharts();
  }

  let source;
  let retry;
  function setConnection(s, text) {
    document.body.dataset.connection = s;
    $('connection').textContent = text;
  }
  function connect() {
    source = new EventSource('/events');
    source.addEventListener('hello', (ev) => {
      onHello(JSON.parse(ev.data));
      setConnection('live', 'live');
    });
    source.addEventListener('tick', (ev) => onTick(JSON.parse(ev.data)));
    source.addEventListener('error', () => {
      setConnection('reconnecting', 'reconnecting…');
      // The browser retries by itself unless the stream was closed for good: then start a new one.
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(retry);
        retry = setTimeout(connect, 2000);
      }
    });
  }
  connect();
})();
