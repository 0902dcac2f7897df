// The supervisors' monitoring dashboard: live stream, throughput, failures, latency, backlog, dead letters, inbox.
// Preact + htm (no build step), uPlot for charts, socket.io for the live stream.
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import { io } from 'socket.io-client';

const html = htm.bind(h);
const session = { token: sessionStorage.getItem('wms.token'), me: null };

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${session.token}`,
      ...(options.headers ?? {}),
    },
  });
  const body = res.status === 204 ? null : await res.json();
  if (res.status === 401) {
    sessionStorage.removeItem('wms.token');
    location.reload();
  }
  if (!res.ok) throw new Error(body?.message ?? `HTTP ${res.status}`);
  return body;
}
const post = (path, body) => api(path, { method: 'POST', body: JSON.stringify(body ?? {}) });

/** The one-time code a new tenant's first admin was given, from a link like /ui/#set-password=<code> (never sent to the server in the URL). */
const setPasswordCode = new URLSearchParams(location.hash.slice(1)).get('set-password');

async function signedIn(res) {
  const body = await res.json();
  if (!res.ok) return body.message;
  history.replaceState(null, '', location.pathname);
  sessionStorage.setItem('wms.token', body.accessToken);
  location.reload();
  return '';
}

function Login() {
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const json = { 'content-type': 'application/json' };
    if (setPasswordCode) {
      if (form.get('password') !== form.get('repeat')) return setError('the two passwords differ');
      return setError(
        await signedIn(
          await fetch('/auth/set-password', {
            method: 'POST',
            headers: json,
            body: JSON.stringify({ code: setPasswordCode, password: form.get('password') }),
          }),
        ),
      );
    }
    setError(
      await signedIn(
        await fetch('/auth/login', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
        }),
      ),
    );
  };
  if (setPasswordCode) {
    return html`<form class="login" onSubmit=${submit}>
      <h2>Choose your password</h2>
      <label
        >New password (at least 12 characters)<input
          name="password"
          type="password"
          required
          minlength="12"
          autocomplete="new-password"
      /></label>
      <label
        >Repeat it<input name="repeat" type="password" required minlength="12" autocomplete="new-password"
      /></label>
      <button type="submit">Set password and sign in</button>
      ${error && html`<div class="error" role="alert">${error}</div>`}
    </form>`;
  }
  return html`<form class="login" onSubmit=${submit}>
    <h2>WMS monitor</h2>
    <input name="email" type="email" placeholder="email" required autocomplete="username" aria-label="email" />
    <input
      name="password"
      type="password"
      placeholder="password"
      required
      autocomplete="current-password"
      aria-label="password"
    />
    <button type="submit">Sign in</button>
    ${error && html`<div class="error" role="alert">${error}</div>`}
  </form>`;
}

/**
 * Live events over socket.io. After each (re)connect, and every 5 s while connected, it pages through what was
 * stored since its catch-up cursor (GET /events/stream?after=…): nothing stored meanwhile is missed, even an event
 * accepted earlier but stored later than one already shown.
 */
function useLiveEvents(warehouseId) {
  const [events, setEvents] = useState([]);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!warehouseId) return;
    setEvents([]);
    let cursor = null;
    let closed = false;
    const add = (list) =>
      setEvents((prev) => {
        const seen = new Set(prev.map((e) => e.id));
        const fresh = list.filter((e) => !seen.has(e.id));
        return [...fresh, ...prev].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, 500);
      });
    const catchUp = async () => {
      for (let more = true; more && cursor && !closed;) {
        const page = await api(`/events/stream?warehouseId=${warehouseId}&after=${cursor}&limit=500`);
        add(page.items);
        cursor = page.cursor;
        more = page.hasMore;
      }
    };
    // The cursor first, then the history before it: whatever is stored from here on comes through catch-up.
    const started = api(`/events/stream?warehouseId=${warehouseId}&after=now`).then(async (page) => {
      cursor = page.cursor;
      add((await api(`/events?warehouseId=${warehouseId}&limit=100`)).items);
    });
    const socket = io({ transports: ['websocket'], auth: { token: session.token } });
    socket.on('connect', async () => {
      setConnected(true);
      await socket.emitWithAck('subscribe', { warehouseId });
      await started;
      await catchUp();
    });
    const timer = setInterval(() => socket.connected && catchUp().catch(() => {}), 5_000);
    socket.on('disconnect', (reason) => {
      setConnected(false);
      // The server closed the stream: access was revoked or changed. A 401 here sends the user to sign in.
      if (reason === 'io server disconnect')
        api('/auth/me').then(
          () => socket.connect(),
          () => {},
        );
    });
    // Events arrive in batches: one `events` message carries those of one warehouse and name stored together.
    socket.on('events', (batch) => add(batch));
    window.__wmsSocket = socket;
    return () => {
      closed = true;
      clearInterval(timer);
      socket.close();
    };
  }, [warehouseId]);
  return { events, connected };
}

function Stream({ warehouseId, connected, events }) {
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const [selected, setSelected] = useState(null);
  const [chain, setChain] = useState([]);
  const [history, setHistory] = useState(null);
  const shown = events.filter(
    (e) => (!name || e.name === name) && (!text || JSON.stringify(e).toLowerCase().includes(text.toLowerCase())),
  );
  const names = [...new Set(events.map((e) => e.name))].sort();
  const open = async (e) => {
    setSelected(e);
    setChain((await api(`/events?correlationId=${e.correlationId}&limit=50`)).items);
  };
  // A business key (SKU, order, ASN, carton, location, lot, tracking) over all history; otherwise the text in the
  // last 24 hours, which the answer's textWindow states.
  const search = async (cursor) => {
    const base = { warehouseId, limit: '50', ...(name ? { name } : {}), ...(cursor ? { cursor } : {}) };
    const ask = (what) => api(`/events?${new URLSearchParams({ ...base, ...(what ? { [what]: text } : {}) })}`);
    // An older page goes on the way the first page was found.
    let used = cursor ? history?.by : text ? 'key' : undefined;
    let page = await ask(used);
    if (!cursor && text && !page.items.length) {
      page = await ask('text');
      used = 'text';
    }
    setHistory({ ...page, by: used });
  };
  const rows = history ? history.items : shown;
  return html`<section>
    <div class="filters">
      <span class=${`status ${connected ? 'live' : 'down'}`} data-testid="connection"
        >${connected ? 'live' : 'reconnecting…'}</span
      >
      <select value=${name} onChange=${(e) => setName(e.target.value)} data-testid="name-filter">
        <option value="">all events</option>
        ${names.map((n) => html`<option>${n}</option>`)}
      </select>
      <input
        placeholder="SKU, order, aggregate…"
        value=${text}
        onInput=${(e) => setText(e.target.value)}
        data-testid="text-filter"
      />
      <button onClick=${() => search()}>Search history</button>
      ${history && html`<button onClick=${() => setHistory(null)}>Back to live</button>`}
      ${history?.nextCursor && html`<button onClick=${() => search(history.nextCursor)}>Older</button>`}
      ${
        history?.textWindow &&
        html`<span class="note" data-testid="text-window"
          >no key matched; text searched from ${history.textWindow.from} to ${history.textWindow.to}</span
        >`
      }
    </div>
    <div class="split">
      <table data-testid="stream">
        <thead>
          <tr>
            <th>time</th>
            <th>event</th>
            <th>aggregate</th>
            <th>payload</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (e) =>
              html`<tr class="clickable" key=${e.id} onClick=${() => open(e)} data-event-id=${e.id}>
                <td>${e.recordedAt.slice(11, 19)}</td>
                <td>${e.name}</td>
                <td>${e.aggregateId}</td>
                <td class="muted">${JSON.stringify(e.payload).slice(0, 90)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      <div>
        ${
          selected
            ? html`<h3>${selected.name} #${selected.streamPosition}</h3>
                <pre data-testid="envelope">${JSON.stringify(selected, null, 2)}</pre>
                <h4>Correlation chain</h4>
                <ul>
                  ${chain.map((c) => html`<li>${c.recordedAt.slice(11, 19)} ${c.name}</li>`)}
                </ul>`
            : html`<p class="muted">Click an event to see its envelope.</p>`
        }
      </div>
    </div>
  </section>`;
}

const bucketName = (minutes) => (minutes === 1 ? 'minute' : minutes === 60 ? 'hour' : 'day');

function Chart({ stats }) {
  const el = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    // One point per bucket of the window (a minute, an hour or a day), zeros included, so the axis spans the window.
    const step = stats.bucketMinutes * 60;
    const counts = new Map(stats.throughput.map((m) => [Date.parse(m.minute) / 1000, m.total]));
    const now = Math.floor(Date.now() / 1000 / step) * step;
    const buckets = Math.ceil(stats.windowMinutes / stats.bucketMinutes);
    const x = Array.from({ length: buckets + 1 }, (_, i) => now - (buckets - i) * step);
    const y = x.map((t) => counts.get(t) ?? 0);
    const data = [x, y];
    if (!plot.current) {
      plot.current = new uPlot(
        {
          width: Math.min(900, el.current.clientWidth || 600),
          height: 220,
          series: [{}, { label: `events per ${bucketName(stats.bucketMinutes)}`, stroke: '#38bdf8', width: 2 }],
          axes: [{ stroke: '#94a3b8' }, { stroke: '#94a3b8' }],
        },
        data,
        el.current,
      );
    } else plot.current.setData(data);
    el.current.dataset.points = String(y.reduce((a, b) => a + b, 0));
  }, [stats]);
  return html`<div ref=${el} data-testid="throughput-chart"></div>`;
}

function Stats({ warehouseId }) {
  const [stats, setStats] = useState(null);
  useEffect(() => {
    const load = () => api(`/dashboard/stats?warehouseId=${warehouseId}`).then(setStats, () => {});
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [warehouseId]);
  if (!stats) return html`<section>Loading…</section>`;
  const thisMinute = new Date(Math.floor(Date.now() / 60000) * 60000).toISOString().replace('.000Z', 'Z');
  const perMinute =
    stats.bucketMinutes === 1 ? (stats.throughput.find((m) => m.minute === thisMinute)?.total ?? 0) : '–';
  return html`<section>
    <div class="grid">
      <div class="card">
        <div class="muted">events this minute</div>
        <div class="value" data-testid="per-minute">${perMinute}</div>
      </div>
      <div class="card">
        <div class="muted">error rate (${stats.windowMinutes} min)</div>
        <div class="value">${(stats.errorRate * 100).toFixed(2)} %</div>
      </div>
      <div class="card">
        <div class="muted">publish → stored p50 / p95 / p99</div>
        <div class="value">
          ${stats.storeLatencyMs.p50 ?? '–'} / ${stats.storeLatencyMs.p95 ?? '–'} / ${stats.storeLatencyMs.p99 ?? '–'}
          ms
        </div>
      </div>
      <div class="card">
        <div class="muted">events waiting to be processed (oldest)</div>
        <div class="value" data-testid="pending-events">
          ${stats.backlog.pendingEvents} <span class="muted">(${stats.backlog.oldestPendingSeconds} s)</span>
        </div>
      </div>
    </div>
    <${Chart} stats=${stats} />
    ${
      stats.queues &&
      html`<h3>Queues (every tenant)</h3>
        <table data-testid="backlog">
          <thead>
            <tr>
              <th>queue</th>
              <th>waiting</th>
              <th>active</th>
              <th>delayed</th>
              <th>failed</th>
              <th>oldest waiting</th>
            </tr>
          </thead>
          <tbody>
            ${stats.queues.map(
              (q) =>
                html`<tr>
                  <td>${q.queue}</td>
                  <td>${q.waiting}</td>
                  <td>${q.active}</td>
                  <td>${q.delayed}</td>
                  <td>${q.failed}</td>
                  <td>${q.oldestWaitingSeconds} s</td>
                </tr>`,
            )}
          </tbody>
        </table>`
    }
    <h3>Listeners (publish → handled, last ${stats.windowMinutes} min)</h3>
    <table>
      <tbody>
        ${Object.entries(stats.listenerLatencyMs).map(
          ([l, p]) =>
            html`<tr>
              <td>${l}</td>
              <td>${p.p50} / ${p.p95} / ${p.p99} ms</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h3>By event (last ${stats.windowMinutes} min)</h3>
    <table>
      <tbody>
        ${Object.entries(
          stats.throughput.reduce((acc, m) => {
            for (const [n, c] of Object.entries(m.byName)) acc[n] = (acc[n] ?? 0) + c;
            return acc;
          }, {}),
        ).map(
          ([n, c]) =>
            html`<tr>
              <td>${n}</td>
              <td>${c}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

function DeadLetters() {
  const [groups, setGroups] = useState([]);
  const [items, setItems] = useState([]);
  const [selected, setSelected] = useState(null);
  const [message, setMessage] = useState('');
  const load = async () => {
    setGroups(await api('/admin/dead-letters/groups'));
    setItems(await api('/admin/dead-letters?status=open&limit=100'));
  };
  useEffect(() => void load(), []);
  const retry = async (id) => {
    await post(`/admin/dead-letters/${id}/retry`);
    setMessage(`retried ${id}`);
    setSelected(null);
    await load();
  };
  const discard = async (id) => {
    const reason = prompt('Why is it safe to discard?');
    if (!reason) return;
    await post(`/admin/dead-letters/${id}/discard`, { reason });
    setSelected(null);
    await load();
  };
  const retryGroup = async (fingerprint) => {
    const dry = await post('/admin/dead-letters/retry', { filter: { fingerprint }, dryRun: true });
    if (!confirm(`Retry ${dry.matched} dead letter(s)?`)) return;
    const done = await post('/admin/dead-letters/retry', { filter: { fingerprint } });
    setMessage(`retried ${done.retried}`);
    await load();
  };
  return html`<section>
    ${message && html`<p data-testid="dl-message">${message}</p>`}
    <h3>By error</h3>
    <table>
      <thead>
        <tr>
          <th>count</th>
          <th>job</th>
          <th>error</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${groups.map(
          (g) =>
            html`<tr>
              <td>${g.count}</td>
              <td>${g.queue}/${g.jobName}</td>
              <td>${g.sampleError}</td>
              <td><button onClick=${() => retryGroup(g.fingerprint)}>Retry all</button></td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h3>Open</h3>
    <div class="split">
      <table data-testid="dead-letters">
        <tbody>
          ${items.map(
            (d) =>
              html`<tr
                class="clickable"
                key=${d.id}
                onClick=${async () => setSelected(await api(`/admin/dead-letters/${d.id}`))}
              >
                <td>${d.lastFailedAt.slice(0, 19)}</td>
                <td>${d.jobName}</td>
                <td>${d.error}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      <div>
        ${
          selected &&
          html`<h4>${selected.jobName}</h4>
            <button onClick=${() => retry(selected.id)} data-testid="retry">Retry</button>
            <button onClick=${() => discard(selected.id)}>Discard…</button>
            <pre>
${JSON.stringify({ error: selected.error, history: selected.history, payload: selected.payload }, null, 2)}</pre>`
        }
      </div>
    </div>
  </section>`;
}

function Inbox({ onRead }) {
  const [inbox, setInbox] = useState({ unread: 0, items: [] });
  const load = () => api('/me/notifications?limit=100').then(setInbox);
  useEffect(() => void load(), []);
  const read = async (id) => {
    await post(`/me/notifications/${id}/read`);
    await load();
    onRead();
  };
  return html`<section>
    <button
      onClick=${async () => {
        await post('/me/notifications/read-all');
        await load();
        onRead();
      }}
    >
      Mark all read
    </button>
    <table>
      <tbody>
        ${inbox.items.map(
          (n) =>
            html`<tr class="clickable" onClick=${() => read(n.id)}>
              <td>${n.readAt ? '' : '●'}</td>
              <td>${n.createdAt.slice(0, 16)}</td>
              <td><b>${n.title}</b> <span class="muted">${n.body}</span></td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

function App() {
  const [tab, setTab] = useState('stream');
  const [me, setMe] = useState(null);
  const [warehouseId, setWarehouseId] = useState('');
  const [unread, setUnread] = useState(0);
  const [alerts, setAlerts] = useState([]);
  useEffect(() => {
    api('/auth/me').then((m) => {
      setMe(m);
      // Lets an admin open bull-board's queue UI in a tab (cookie limited to that path).
      if (m.role === 'admin')
        document.cookie = `wms_board_token=${encodeURIComponent(session.token)}; path=/admin/queues; SameSite=Strict`;
      setWarehouseId(
        new URLSearchParams(location.search).get('warehouse') ?? (m.warehouses === 'all' ? 'WH1' : m.warehouses[0]),
      );
    });
  }, []);
  const refreshUnread = () =>
    api('/me/notifications?limit=1&unread=true').then(
      (r) => setUnread(r.unread),
      () => {},
    );
  useEffect(() => {
    if (!warehouseId) return;
    refreshUnread();
    const t = setInterval(() => {
      refreshUnread();
      api(`/dashboard/stats?warehouseId=${warehouseId}&minutes=5`).then(
        (s) => setAlerts(s.alerts),
        () => {},
      );
    }, 5000);
    return () => clearInterval(t);
  }, [warehouseId]);
  const live = useLiveEvents(warehouseId);
  if (!me) return html`<p>Loading…</p>`;
  const tabs = [
    ['stream', 'Live stream'],
    ['stats', 'Throughput & queues'],
    ...(me.role === 'admin' ? [['dead', 'Dead letters']] : []),
    ['inbox', 'Inbox'],
  ];
  return html`<header>
      <h1>WMS monitor</h1>
      <label
        >warehouse
        <input value=${warehouseId} onChange=${(e) => setWarehouseId(e.target.value)} size="8" data-testid="warehouse"
      /></label>
      <nav>
        ${tabs.map(([id, label]) => html`<button class=${tab === id ? 'active' : ''} onClick=${() => setTab(id)} data-testid=${`tab-${id}`}>${label}${id === 'inbox' && unread ? html`<span class="badge" data-testid="unread">${unread}</span>` : ''}</button>`)}
      </nav>
      ${me.role === 'admin' && html`<a href="/admin/queues" target="_blank" style="color: var(--accent)">Queue UI</a>`}
    </header>
    ${alerts.map((a) => html`<div class="alert" data-testid="alert">${a.message}</div>`)}
    ${tab === 'stream' && html`<${Stream} warehouseId=${warehouseId} ...${live} />`}
    ${tab === 'stats' && html`<${Stats} warehouseId=${warehouseId} />`} ${tab === 'dead' && html`<${DeadLetters} />`}
    ${tab === 'inbox' && html`<${Inbox} onRead=${refreshUnread} />`}`;
}

const root = document.getElementById('app');
root.textContent = '';
render(session.token ? html`<${App} />` : html`<${Login} />`, root);
