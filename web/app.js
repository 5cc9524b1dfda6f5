// Gantry's operators' page (SPEC §10): runs, a run's stage graph with a live
// log, the approvals inbox, releases, agents. Plain JavaScript, no framework,
// nothing fetched but this controller's API.
//
// Safety: the DOM is built with createElement and textContent only, never
// innerHTML, so nothing a pipeline prints or a user types becomes markup.
//
// Live updates: the events WebSocket (docs/events.md) is applied to the
// in-memory model; the last event id is remembered and a lost socket is
// reopened with backoff and `since`, so a controller restart is survived.
// While the socket is not open the page polls the REST API every 2 s.
'use strict';

(() => {
  const TOKEN_KEY = 'gantry.token';
  const POLL_MS = 2000;               // REST polling while the socket is down
  const LIVE_REFRESH_MS = 15000;      // a safety refresh while it is up
  const RECONNECT_MAX_MS = 15000;     // backoff ceiling
  const LOG_PAGE = 64 * 1024;         // the first tail, and each "load earlier" page
  const LOG_KEEP = 2 * 1024 * 1024;   // bytes the log pane holds at most
  const LOG_FETCH_MAX = 1024 * 1024;  // bytes one catch-up read takes at most
  const CAPTURE_MAX = 5000;           // events kept for re-applying over a snapshot
  const MAX_RUNS = 100;               // runs listed

  // Every status word the page shows, once: the API's words (SPEC §10;
  // include/gantry/common/states.hpp spells them for the controller and the
  // CLI) and the page's own for its connection. Each has its label, its icon
  // (ICONS below), whether that icon is filled, and for runs and stages
  // whether it has ended. The CSS class is 's-' + the word (app.css). Code
  // names a word as STATUS.running.word: a misspelt one throws instead of
  // never matching.
  const STATUS = {
    // runs and stages
    queued: {icon: 'queued', ended: false},
    waiting: {icon: 'waiting', ended: false},
    running: {icon: 'running', ended: false, filled: true},
    succeeded: {icon: 'succeeded', ended: true},
    failed: {icon: 'failed', ended: true},
    unstable: {icon: 'unstable', ended: true},
    aborted: {icon: 'aborted', ended: true},
    skipped: {icon: 'skipped', ended: true},
    // change requests
    pending: {icon: 'waiting'},
    approved: {icon: 'succeeded'},
    rejected: {icon: 'failed'},
    expired: {icon: 'expired'},
    cancelled: {icon: 'aborted'},
    // releases (succeeded and failed as above)
    in_progress: {label: 'in progress', icon: 'running', filled: true},
    rolled_back: {label: 'rolled back', icon: 'rolled_back'},
    // the page's link to the controller, and agents
    live: {icon: 'connected', filled: true},
    polling: {icon: 'waiting'},
    offline: {icon: 'failed'},
    connected: {icon: 'connected', filled: true},
    disconnected: {icon: 'disconnected'},
  };
  for (const [word, s] of Object.entries(STATUS)) {
    s.word = word;
    s.label = s.label || word;
  }
  const runWords = (ended) => Object.values(STATUS).filter((s) => s.ended === ended).map((s) => s.word);
  const TERMINAL = new Set(runWords(true));
  const ACTIVE = new Set(runWords(false));

  // ---------------------------------------------------------------- helpers

  // el('a', {href: '#/runs', class: 'x', onclick: f}, 'text', child, ...)
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  const ICONS = {
    succeeded: ['M3 8.5l3.2 3.2L13 4.8'],
    failed: ['M4 4l8 8', 'M12 4l-8 8'],
    running: ['M5 3.5v9l7.5-4.5z'],
    queued: ['M8 2.5a5.5 5.5 0 1 0 0.01 0'],
    waiting: ['M5.5 3.5v9', 'M10.5 3.5v9'],
    aborted: ['M8 2.5a5.5 5.5 0 1 0 0.01 0', 'M4.2 11.8l7.6-7.6'],
    skipped: ['M3 8h9', 'M8.5 4.5L12 8l-3.5 3.5'],
    unstable: ['M8 3v6.5', 'M8 12v1'],
    rolled_back: ['M6 3.5L2.5 7 6 10.5', 'M2.5 7h7a3.5 3.5 0 0 1 0 7h-2'],
    expired: ['M8 2.5a5.5 5.5 0 1 0 0.01 0', 'M8 5v3.2l2.2 1.6'],
    connected: ['M8 4a4 4 0 1 0 0.01 0'],
    disconnected: ['M8 4a4 4 0 1 0 0.01 0'],
  };
  function icon(name) {
    const known = STATUS[name];
    const paths = (known && ICONS[known.icon]) || ICONS.queued;
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    for (const d of paths) {
      const p = document.createElementNS(SVG_NS, 'path');
      p.setAttribute('d', d);
      if (known && known.filled) p.setAttribute('class', 'filled');
      svg.append(p);
    }
    return svg;
  }

  function statusLabel(s) { return (STATUS[s] && STATUS[s].label) || s || 'unknown'; }
  function statusClass(s) { return 's-' + String(s || 'unknown').replace(/[^a-z_]/g, ''); }
  // Status is never shown by color alone: an icon and its word come with it.
  function badge(status) {
    return el('span', {class: 'badge ' + statusClass(status)}, icon(status), statusLabel(status));
  }

  function fmtDuration(ms) {
    if (!(ms >= 0)) return '';
    const s = ms / 1000;
    if (s < 60) return (s < 10 ? s.toFixed(1) : Math.floor(s)) + ' s';
    const m = Math.floor(s / 60), sec = Math.floor(s % 60);
    if (m < 60) return m + ' min ' + String(sec).padStart(2, '0') + ' s';
    return Math.floor(m / 60) + ' h ' + String(m % 60).padStart(2, '0') + ' min';
  }
  function fmtTime(ms) {
    if (!ms) return '';
    const d = new Date(ms);
    return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  }
  // A duration that ticks while it runs (see tickDurations).
  function duration(start, end) {
    const span = el('span', {class: 'dur'});
    if (start) {
      span.dataset.start = start;
      if (end) span.dataset.end = end;
      span.textContent = fmtDuration((end || Date.now()) - start);
    }
    return span;
  }
  function tickDurations() {
    const now = Date.now();
    for (const s of document.querySelectorAll('.dur[data-start]:not([data-end])'))
      s.textContent = fmtDuration(now - Number(s.dataset.start));
  }
  function fmtBytes(n) {
    if (!Number.isFinite(n)) return '';
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1048576).toFixed(1) + ' MiB';
  }
  // " — the first line of its message", from the run's change list, when it has the commit.
  function commitTitle(r) {
    const c = (r.changes || []).find((x) => x.sha === r.commit);
    const title = c && c.message ? c.message.split('\n')[0] : '';
    return title ? ' ' + title : '';
  }
  function shortRef(ref) { return String(ref || '').replace(/^refs\/(heads|tags)\//, ''); }
  function shortSha(sha) { return String(sha || '').slice(0, 10); }
  // What attempt `n` (from 1) of stage record `s` was, when it has a name (a deploy's phases).
  function attemptName(s, n) {
    return (s && Array.isArray(s.attempt_names) && s.attempt_names[n - 1]) || '';
  }

  function debounce(fn, ms) {
    let t = 0;
    return () => { clearTimeout(t); t = setTimeout(fn, ms); };
  }
  // A table cell; under 700 px it shows its column's name before its value.
  function td(label, ...children) {
    return el('td', {'data-label': label}, el('div', {class: 'v'}, ...children));
  }
  function runTitle(r) { return (r.job || 'run') + (r.number ? ' #' + r.number : ''); }

  // ------------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  function describe(e) {
    return e instanceof ApiError && e.status ? e.status + ': ' + e.message : String(e.message || e);
  }

  async function api(method, path, body) {
    const opts = {method, headers: {Authorization: 'Bearer ' + state.token}, cache: 'no-store'};
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, 'network', 'cannot reach the controller (' + e.message + ')');
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) {
      const err = data && data.error ? data.error : {};
      throw new ApiError(res.status, err.code || 'http',
                         err.message || res.status + ' ' + res.statusText);
    }
    return data;
  }

  // Saves what `path` answers as the file `name`. The API needs the token, so it goes through a
  // blob rather than a plain link.
  async function downloadFile(path, name) {
    const res = await fetch(path, {headers: {Authorization: 'Bearer ' + state.token}});
    if (!res.ok) throw new Error(res.status + ' ' + res.statusText);
    const url = URL.createObjectURL(await res.blob());
    const a = el('a', {href: url, download: name});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // Bytes of a stage attempt's log from `offset`, at most `max` of them: the
  // rest of the response is not read (the transfer is cancelled), so a long
  // log is never loaded whole. Returns {bytes, size, status}.
  async function fetchLog(runId, stage, attempt, offset, max) {
    const url = '/api/v1/runs/' + runId + '/log?stage=' + encodeURIComponent(stage) +
                '&attempt=' + attempt + '&offset=' + offset;
    let res;
    try {
      res = await fetch(url, {headers: {Authorization: 'Bearer ' + state.token}, cache: 'no-store'});
    } catch (e) {
      throw new ApiError(0, 'network', 'cannot reach the controller (' + e.message + ')');
    }
    if (!res.ok) {
      let err = {};
      try { err = (await res.json()).error || {}; } catch (e) { err = {}; }
      throw new ApiError(res.status, err.code || 'http', err.message || 'could not read the log');
    }
    const size = Number(res.headers.get('X-Gantry-Log-Size')) || 0;
    const status = res.headers.get('X-Gantry-Stage-Status') || '';
    // The line the bytes start at (from 0), when the controller counted it.
    const lineHeader = res.headers.get('X-Gantry-Log-Line');
    const line = lineHeader === null ? null : Number(lineHeader);
    const parts = [];
    let got = 0;
    if (res.body) {
      const reader = res.body.getReader();
      while (got < max) {
        const {done, value} = await reader.read();
        if (done) break;
        parts.push(value);
        got += value.length;
      }
      if (got >= max) reader.cancel().catch(() => {});
    }
    const bytes = new Uint8Array(Math.min(got, max));
    let at = 0;
    for (const p of parts) {
      const take = Math.min(p.length, bytes.length - at);
      bytes.set(p.subarray(0, take), at);
      at += take;
      if (at >= bytes.length) break;
    }
    return {bytes, size, status, line};
  }

  // ------------------------------------------------------------------ state

  const state = {
    token: '',
    lastEventId: 0,
    runs: new Map(),       // id -> run (REST shape), from the list and run events
    pending: null,         // pending approvals count
    view: null,            // the mounted view
    refreshing: false,
    lastRefresh: 0,
    failures: 0,
  };
  const captures = new Set();

  // Runs a REST read while recording the events that arrive meanwhile, so
  // they can be applied again over the (possibly older) snapshot.
  async function captured(fn) {
    const buf = [];
    captures.add(buf);
    try {
      const result = await fn();
      return {result, events: buf};
    } finally {
      captures.delete(buf);
    }
  }

  function mergeRunEvent(ev) {
    const r = state.runs.get(ev.run) || {id: ev.run};
    for (const k of ['number', 'job', 'status', 'reason', 'trigger', 'ref', 'commit'])
      if (ev[k] !== undefined) r[k] = ev[k];
    if (ev.status === STATUS.running.word && !r.started_at) r.started_at = ev.at;
    if (TERMINAL.has(ev.status) && !r.finished_at) r.finished_at = ev.at;
    state.runs.set(ev.run, r);
    trimRuns();
    return r;
  }
  function trimRuns() {
    if (state.runs.size <= MAX_RUNS) return;
    const ids = [...state.runs.keys()].sort((a, b) => a - b);
    for (const id of ids.slice(0, state.runs.size - MAX_RUNS)) state.runs.delete(id);
  }

  // ------------------------------------------------------------ live events

  const live = {ws: null, open: false, attempt: 0, timer: 0, reason: '', logs: 'none'};

  // Log events are wanted only for the run on the screen (`logs=RUN`);
  // every other view takes the stream without them (`logs=none`).
  function wantedLogs() {
    return state.view instanceof RunView ? String(state.view.id) : 'none';
  }
  // After a view change: a new socket with the new log filter, resuming
  // from the last event seen, so nothing is missed in between.
  function retargetEvents() {
    if (!live.ws || live.logs === wantedLogs()) return;
    const ws = live.ws;
    live.ws = null;
    live.open = false;
    ws.close(1000, 'view changed');
    connectEvents();
  }

  function connectEvents() {
    clearTimeout(live.timer);
    if (!state.token || live.ws) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let url = proto + '//' + location.host + '/api/v1/events?token=' +
              encodeURIComponent(state.token);
    if (state.lastEventId > 0) url += '&since=' + state.lastEventId;
    live.logs = wantedLogs();
    url += '&logs=' + encodeURIComponent(live.logs);
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    live.ws = ws;
    ws.onopen = () => {
      if (live.ws !== ws) return;
      live.open = true;
      live.attempt = 0;
      live.reason = '';
      updateConn();
      refresh();  // whatever happened before the socket (or since the last one)
    };
    ws.onmessage = (m) => {
      if (live.ws !== ws || typeof m.data !== 'string') return;
      let ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (ev && typeof ev === 'object') handleEvent(ev);
    };
    ws.onclose = (e) => {
      if (live.ws !== ws) return;
      live.ws = null;
      live.open = false;
      live.reason = e.reason || '';
      updateConn();
      // 4008: too slow; it may resume at once from where it was.
      scheduleReconnect(e.code === 4008 ? 100 : undefined);
    };
  }
  function scheduleReconnect(delay) {
    clearTimeout(live.timer);
    if (!state.token) return;
    const backoff = Math.min(RECONNECT_MAX_MS, 500 * 2 ** Math.min(live.attempt, 6));
    live.attempt++;
    live.timer = setTimeout(connectEvents, delay ?? backoff * (0.5 + Math.random() * 0.5));
  }
  function disconnectEvents() {
    clearTimeout(live.timer);
    const ws = live.ws;
    live.ws = null;
    live.open = false;
    if (ws) ws.close(1000, 'signed out');
  }

  const refreshPending = debounce(() => loadPending().catch(() => {}), 300);

  function handleEvent(ev) {
    if (Number.isFinite(ev.id)) {
      if (ev.id <= state.lastEventId) return;  // seen already (a resume overlaps)
      state.lastEventId = ev.id;
    }
    for (const buf of captures) if (buf.length < CAPTURE_MAX) buf.push(ev);
    if (ev.type === 'run') mergeRunEvent(ev);
    if (ev.type === 'approval') refreshPending();
    if (state.view && state.view.onEvent) state.view.onEvent(ev);
  }

  function updateConn() {
    const c = document.getElementById('conn');
    let kind, text;
    if (live.open) {
      kind = STATUS.live.word;
      text = 'Live';
    } else if (state.failures > 0) {
      kind = STATUS.offline.word;
      text = 'Offline, retrying';
    } else {
      kind = STATUS.polling.word;
      text = 'Polling every 2 s';
    }
    c.className = 'conn conn-' + kind;
    c.dataset.state = kind;
    c.title = live.reason ? 'events socket: ' + live.reason : '';
    c.replaceChildren(icon(kind), text);
  }

  function showBanner(text) {
    const b = document.getElementById('banner');
    b.textContent = text;
    b.hidden = !text;
  }

  // Reloads what the mounted view shows from the REST API (and the count of
  // pending approvals). One at a time; errors go to the banner.
  async function refresh() {
    if (!state.token) return;
    if (state.refreshing) {
      state.again = true;  // once this one is done
      return;
    }
    state.refreshing = true;
    state.again = false;
    state.lastRefresh = Date.now();
    try {
      await Promise.all([state.view ? state.view.load() : null, loadPending()]);
      state.failures = 0;
      showBanner('');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        signOut('The controller refused the token: ' + e.message);
        return;
      }
      state.failures++;
      showBanner('Cannot load from the controller: ' + describe(e) + '. Retrying every 2 s.');
    } finally {
      state.refreshing = false;
      updateConn();
      if (state.again && state.token) setTimeout(refresh, 0);
    }
  }
  function tick() {
    if (!state.token) return;
    if (!live.open || Date.now() - state.lastRefresh >= LIVE_REFRESH_MS) refresh();
    if (state.view && state.view.poll) state.view.poll();
  }

  async function loadPending() {
    const data = await api('GET', '/api/v1/approvals?status=pending');
    state.pending = (data.approvals || []).length;
    const c = document.getElementById('approvals-count');
    c.replaceChildren();
    if (state.pending > 0)
      c.append(el('span', {class: 'pill'}, String(state.pending)), el('span', {class: 'sr-only'}, ' pending'));
  }

  // ------------------------------------------------------------------ views

  function flashBox() {
    return el('p', {class: 'flash', role: 'status', 'aria-live': 'polite'});
  }
  function setFlash(box, text, isError) {
    box.textContent = text;
    box.classList.toggle('error', !!isError);
  }
  // Keyed list rendering: creates, updates, reorders and removes children of
  // `parent` without rebuilding the ones that stay (their inputs and focus
  // survive an update).
  function reconcile(parent, items, keyOf, create, update) {
    const old = new Map();
    for (const child of [...parent.children]) old.set(child.dataset.key, child);
    let prev = null;
    for (const item of items) {
      const key = String(keyOf(item));
      let node = old.get(key);
      if (node) old.delete(key);
      else {
        node = create(item);
        node.dataset.key = key;
      }
      // Unchanged items are left alone (no churn, focus kept).
      const sig = JSON.stringify(item);
      if (node._sig !== sig) {
        update(node, item);
        node._sig = sig;
      }
      const want = prev ? prev.nextElementSibling : parent.firstElementChild;
      if (want !== node) parent.insertBefore(node, want);
      prev = node;
    }
    for (const node of old.values()) node.remove();
  }

  // Runs: start a run per repository, and the list of runs.
  class RunsView {
    mount(root) {
      this.repoList = el('ul', {class: 'repos'});
      this.repoEmpty = el('p', {class: 'muted', hidden: true},
                          'No repositories are configured (repositories: in the controller\'s config).');
      this.rows = el('tbody');
      this.empty = el('p', {class: 'muted', hidden: true}, 'No runs yet.');
      // Filters, as GET /api/v1/runs takes them (and as `gantry runs` does).
      this.filter = {repo: '', branch: '', status: '', user: ''};
      this.repoSel = el('select', {id: 'f-repo'}, el('option', {value: ''}, 'all'));
      this.statusSel = el('select', {id: 'f-status'}, el('option', {value: ''}, 'any'),
                          ...['queued', 'waiting', 'running', 'succeeded', 'failed', 'unstable', 'aborted']
                              .map((w) => el('option', {value: w}, w)));
      this.branchIn = el('input', {id: 'f-branch', type: 'text', autocomplete: 'off', spellcheck: 'false', size: '12'});
      this.userIn = el('input', {id: 'f-user', type: 'text', autocomplete: 'off', spellcheck: 'false', size: '10'});
      const filters = el('form', {class: 'toolbar filters', 'aria-label': 'Filter runs'},
                         el('label', {for: 'f-repo'}, 'Repository '), this.repoSel,
                         el('label', {for: 'f-branch'}, 'Branch '), this.branchIn,
                         el('label', {for: 'f-status'}, 'Status '), this.statusSel,
                         el('label', {for: 'f-user'}, 'Started by '), this.userIn,
                         el('button', {type: 'submit', class: 'secondary'}, 'Filter'));
      filters.addEventListener('submit', (e) => {
        e.preventDefault();
        this.filter = {repo: this.repoSel.value, branch: this.branchIn.value.trim(),
                       status: this.statusSel.value, user: this.userIn.value.trim()};
        refresh();
      });
      root.append(
          el('h1', {}, 'Runs'),
          el('section', {class: 'panel', 'aria-labelledby': 'repos-title'},
             el('h2', {id: 'repos-title'}, 'Start a run'), this.repoEmpty, this.repoList),
          el('section', {class: 'panel', 'aria-labelledby': 'runs-title'},
             el('h2', {id: 'runs-title'}, 'Recent runs'), filters,
             el('table', {class: 'list runs'},
                el('thead', {}, el('tr', {},
                   ['Status', 'Run', 'Ref', 'Commit', 'Trigger', 'Started', 'Duration']
                       .map((t) => el('th', {scope: 'col'}, t)))),
                this.rows),
             this.empty));
      this.repos = [];
    }
    async load() {
      let q = '/api/v1/runs?limit=' + MAX_RUNS;
      for (const [k, v] of Object.entries(this.filter)) if (v) q += '&' + k + '=' + encodeURIComponent(v);
      const [{result, events}, repos] = await Promise.all([
        captured(() => api('GET', q)),
        api('GET', '/api/v1/repos'),
      ]);
      state.runs.clear();
      for (const r of result.runs || []) state.runs.set(r.id, r);
      for (const ev of events) if (ev.type === 'run') mergeRunEvent(ev);
      this.repos = repos.repos || [];
      if (this.repoSel.options.length !== this.repos.length + 1) {
        this.repoSel.replaceChildren(el('option', {value: ''}, 'all'),
                                     ...this.repos.map((r) => el('option', {value: r.name}, r.name)));
        this.repoSel.value = this.filter.repo;
      }
      this.render();
    }
    onEvent(ev) {
      if (ev.type === 'run') this.render();
    }
    render() {
      reconcile(this.repoList, this.repos, (r) => r.name, (r) => this.repoRow(r), (node, r) => {
        node.querySelector('.repo-url').textContent = r.url;
        const err = node.querySelector('.repo-error');
        err.textContent = r.last_error ? 'Last fetch failed: ' + r.last_error : '';
        err.hidden = !r.last_error;
      });
      this.repoEmpty.hidden = this.repos.length > 0;
      const f = this.filter;
      const matches = (r) => (!f.repo || r.repo_name === f.repo) && (!f.status || r.status === f.status) &&
          (!f.user || r.created_by === f.user) && (!f.branch || shortRef(r.ref) === f.branch);
      const runs = [...state.runs.values()].filter(matches).sort((a, b) => b.id - a.id);
      reconcile(this.rows, runs, (r) => r.id, () => el('tr'), (tr, r) => {
        tr.dataset.status = r.status;
        tr.replaceChildren(
            td('Status', badge(r.status)),
            td('Run', el('a', {href: '#/runs/' + r.id}, runTitle(r)),
               el('span', {class: 'muted'}, ' (run ' + r.id + ')'),
               r.pipeline ? el('div', {class: 'muted pipeline-file'}, r.pipeline) : null),
            td('Ref', shortRef(r.ref)),
            td('Commit', el('code', {}, shortSha(r.commit)),
               r.title ? el('div', {class: 'commit-title', title: r.title}, r.title) : null),
            td('Trigger', r.trigger || '', r.created_by ? ' by ' + r.created_by : ''),
            td('Started', fmtTime(r.started_at || r.created_at)),
            td('Duration', duration(r.started_at, r.finished_at)));
      });
      this.empty.hidden = runs.length > 0;
    }
    repoRow(r) {
      const id = 'ref-' + Math.random().toString(36).slice(2);
      const input = el('input', {id, type: 'text', value: shortRef(r.default_branch) || 'main',
                                 autocomplete: 'off', spellcheck: 'false', required: true});
      const button = el('button', {type: 'submit', 'aria-label': 'Start run of ' + r.name}, 'Start run');
      const msg = el('p', {class: 'error', role: 'alert'});
      // The pipeline's parameters (as its last run on this branch declared them), each as a
      // field of its type: a choice is a select, a booleanParam a checkbox, a password hidden.
      const fields = el('div', {class: 'param-fields'});
      const params = el('details', {class: 'params', hidden: true},
                        el('summary', {}, 'Parameters'), fields);
      let declared = [];
      const loadParams = async (tries = 0) => {
        const branch = input.value.trim();
        let got;
        try {
          got = await api('GET', '/api/v1/repos/' + encodeURIComponent(r.name) + '/parameters?branch=' +
                          encodeURIComponent(branch));
        } catch (e) {
          return;
        }
        if (input.value.trim() !== branch) return;  // typed on since
        // The controller reads the pipeline file at the branch's head first: ask again shortly.
        if (got.pending) {
          if (tries < 20) setTimeout(() => loadParams(tries + 1), 300);
          return;
        }
        declared = got.parameters || [];
        fields.replaceChildren(...declared.map((p) => {
          const fid = id + '-p-' + p.name;
          let field;
          if (p.type === 'choice') {
            field = el('select', {id: fid, name: p.name},
                       ...(p.choices || []).map((c) => el('option', {value: c, selected: c === p.default}, c)));
          } else if (p.type === 'booleanParam') {
            field = el('input', {id: fid, name: p.name, type: 'checkbox', checked: p.default === 'true'});
          } else if (p.type === 'text') {
            field = el('textarea', {id: fid, name: p.name, rows: 3}, p.default);
          } else {
            field = el('input', {id: fid, name: p.name, type: p.type === 'password' ? 'password' : 'text',
                                 value: p.default, autocomplete: 'off', spellcheck: 'false'});
          }
          return el('div', {class: 'param' + (p.type === 'booleanParam' ? ' check' : '')},
                    el('label', {for: fid}, p.name), field,
                    p.description ? el('span', {class: 'muted param-help'}, p.description) : null);
        }));
        params.hidden = declared.length === 0;
      };
      input.addEventListener('input', debounce(() => loadParams(), 400));
      loadParams();
      const form = el('form', {class: 'repo-form'},
                      el('label', {for: id}, 'Branch or tag'), input, button, params);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        msg.textContent = '';
        const ref = input.value.trim();
        if (!ref) {
          msg.textContent = 'Give a branch or tag to run.';
          input.focus();
          return;
        }
        const values = {};
        for (const p of declared) {
          const f = fields.querySelector('[name=' + JSON.stringify(p.name) + ']');
          if (!f) continue;
          const v = f.type === 'checkbox' ? String(f.checked) : f.value;
          // A password left empty keeps its default, which the page never sees.
          if (p.type === 'password' && v === '') continue;
          values[p.name] = v;
        }
        button.disabled = true;
        try {
          const body = {repo: r.name, ref};
          if (Object.keys(values).length) body.params = values;
          const run = await api('POST', '/api/v1/runs', body);
          if (run && run.id) {
            state.runs.set(run.id, run);
            location.hash = '#/runs/' + run.id;
          }
        } catch (err) {
          msg.textContent = 'Could not start a run of ' + r.name + ': ' + describe(err);
        } finally {
          button.disabled = false;
        }
      });
      return el('li', {class: 'repo'},
                el('div', {class: 'repo-name'}, el('strong', {}, r.name), ' ',
                   el('span', {class: 'muted repo-url'})),
                el('p', {class: 'error repo-error', hidden: true}), form, msg);
    }
  }

  // ANSI SGR colors in logs: 30-37, 90-97, bold, reset; other sequences are
  // dropped. Text goes in as text nodes (never parsed as markup).
  function newAnsi() { return {fg: 0, bold: false, carry: ''}; }
  function applySgr(params, st) {
    const codes = params === '' ? [0] : params.split(';').map(Number);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) { st.fg = 0; st.bold = false; }
      else if (c === 1) st.bold = true;
      else if (c === 22) st.bold = false;
      else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) st.fg = c;
      else if (c === 39) st.fg = 0;
      else if (c === 38 || c === 48) i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 1;
    }
  }
  function renderAnsi(text, st, into) {
    text = st.carry + text;
    st.carry = '';
    const partial = /\x1b(\[[0-9;?]*)?$/.exec(text);
    if (partial && partial[0].length < 32) {
      st.carry = partial[0];
      text = text.slice(0, partial.index);
    }
    const emit = (s) => {
      s = s.replace(/\r\n/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
      if (!s) return;
      if (!st.fg && !st.bold) {
        into.append(document.createTextNode(s));
        return;
      }
      const span = el('span', {class: (st.fg ? 'fg' + st.fg : '') + (st.bold ? ' bold' : '')});
      span.textContent = s;
      into.append(span);
    };
    const re = /\x1b\[([0-9;?]*)([A-Za-z])/g;
    let last = 0, m;
    while ((m = re.exec(text))) {
      emit(text.slice(last, m.index));
      last = re.lastIndex;
      if (m[2] === 'm' && !m[1].includes('?')) applySgr(m[1], st);
    }
    emit(text.slice(last));
  }

  // Log text as line elements (each keeps its "\n", so the text reads as the log): numbered by
  // CSS, and a line Gantry wrote ("[gantry] + make", "[gantry] Canary ...") heads a section of
  // the step's output, which a click on it folds. `ctx` carries a line left open at the end of
  // the last text, the ANSI state and the current section.
  function newLines(offset = 0) { return {open: null, ansi: newAnsi(), sec: 0, offset}; }
  const utf8 = new TextEncoder();
  let sectionIds = 0;
  function renderLines(text, ctx, into) {
    const parts = text.split('\n');
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const piece = last ? parts[i] : parts[i] + '\n';
      if (!piece) continue;
      let line = i === 0 && ctx.open && ctx.open.isConnected ? ctx.open : null;
      if (!line) {
        line = el('span', {class: 'line', dataset: {at: String(ctx.offset)}});
        if (ctx.sec) line.dataset.sec = String(ctx.sec);
        into.append(line);
      }
      renderAnsi(piece, ctx.ansi, line);
      ctx.offset += utf8.encode(piece).length;
      ctx.open = last ? line : null;
      if (!last && line.textContent.startsWith('[gantry] ')) {
        ctx.sec = ++sectionIds;
        delete line.dataset.sec;
        line.classList.add('step-head');
        line.dataset.head = String(ctx.sec);
        line.title = 'Click to fold or unfold this step\'s output';
      }
    }
  }

  // The log of one stage attempt: the tail first, earlier pages on demand,
  // then what the socket (or, without it, polling) adds. Holds at most
  // LOG_KEEP bytes: live output drops the oldest, an earlier page drops the
  // newest and stops following until "Jump to the end".
  class LogPane {
    constructor() {
      this.title = el('h2', {id: 'log-title'}, 'Log');
      this.info = el('span', {class: 'muted log-info'});
      this.earlier = el('button', {type: 'button', class: 'secondary', hidden: true,
                                   onclick: () => this.loadEarlier()}, 'Load earlier (64 KiB)');
      this.toEnd = el('button', {type: 'button', class: 'secondary', hidden: true,
                                 onclick: () => this.reopen()}, 'Jump to the end');
      this.followBtn = el('button', {type: 'button', class: 'secondary', 'aria-pressed': 'true',
                                     onclick: () => this.setFollow(!this.follow, true)}, 'Follow output');
      this.error = el('p', {class: 'error', role: 'alert'});
      // The whole log as a file, and a search in what is shown.
      this.downloadBtn = el('button', {type: 'button', class: 'secondary', onclick: () => this.download()},
                            'Download log');
      // When each line arrived at the controller (to the second), beside its number.
      this.timesBtn = el('button', {type: 'button', class: 'secondary', 'aria-pressed': 'false',
                                    onclick: () => this.setTimes(!this.times)}, 'Timestamps');
      this.times = false;
      this.marks = [];
      this.loadMarksSoon = debounce(() => this.loadMarks(), 1000);
      this.findIn = el('input', {id: 'log-find', type: 'search', autocomplete: 'off', spellcheck: 'false',
                                 placeholder: 'text', size: '14'});
      this.findInfo = el('span', {class: 'muted log-find-info', 'aria-live': 'polite'});
      const find = el('form', {class: 'log-find', role: 'search'},
                      el('label', {for: 'log-find'}, 'Find '), this.findIn,
                      el('button', {type: 'submit', class: 'secondary'}, 'Next'), this.findInfo);
      find.addEventListener('submit', (e) => {
        e.preventDefault();
        this.findNext();
      });
      this.findFrom = 0;
      this.pre = el('pre', {class: 'log', tabindex: '0', role: 'region',
                            'aria-labelledby': 'log-title'});
      // A click on a step's line folds its output (or unfolds it).
      this.pre.addEventListener('click', (e) => {
        const head = e.target.closest && e.target.closest('.step-head');
        if (!head || String(window.getSelection())) return;
        const folded = head.classList.toggle('folded');
        head.setAttribute('aria-expanded', folded ? 'false' : 'true');
        for (const l of this.pre.querySelectorAll('.line[data-sec="' + head.dataset.head + '"]'))
          l.hidden = folded;
      });
      this.pre.addEventListener('scroll', () => {
        const atBottom = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 8;
        if (!this.autoScrolling && this.follow && !atBottom) this.setFollow(false, false);
      });
      this.extra = el('span', {class: 'log-extra'});
      this.root = el('section', {class: 'panel logs', 'aria-labelledby': 'log-title'},
                     el('div', {class: 'log-head'}, this.title, this.extra),
                     el('div', {class: 'toolbar'}, this.earlier, this.followBtn, this.toEnd,
                        this.downloadBtn, this.timesBtn, this.info),
                     find, this.error, this.pre);
      this.follow = true;
      this.gen = 0;
      this.clear();
    }
    clear() {
      this.gen++;
      this.runId = 0;
      this.stage = '';
      this.attempt = 0;
      this.start = 0;       // byte offset of the first byte shown
      this.end = 0;         // byte offset after the last byte shown
      this.size = 0;        // the log's size as last known
      this.kept = 0;        // bytes shown
      this.loading = false;
      this.detached = false;
      this.finalRead = false;
      this.stalled = false;   // the last catch-up read nothing
      this.pending = [];
      this.decoder = new TextDecoder();
      this.lines = newLines();
      this.marks = [];
      this.setFirstLine(null);
      this.pre.replaceChildren();
      this.error.textContent = '';
      this.findFrom = 0;
      this.findInfo.textContent = '';
      this.updateInfo();
    }
    // The next match of the search text in the shown log: selected and scrolled to, with how
    // many there are.
    findNext() {
      const text = this.findIn.value;
      if (!text) {
        this.findInfo.textContent = '';
        return;
      }
      const nodes = [];
      const walker = document.createTreeWalker(this.pre, NodeFilter.SHOW_TEXT);
      let all = '';
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        nodes.push({node: n, at: all.length});
        all += n.data;
      }
      const lower = all.toLowerCase();
      const needle = text.toLowerCase();
      let count = 0;
      for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, i + needle.length)) count++;
      if (count === 0) {
        this.findInfo.textContent = 'no match in the ' + (this.start > 0 ? 'bytes shown' : 'log');
        return;
      }
      let at = lower.indexOf(needle, this.findFrom);
      if (at < 0) at = lower.indexOf(needle);
      this.findFrom = at + needle.length;
      const locate = (pos) => {
        let k = nodes.length - 1;
        while (k > 0 && nodes[k].at > pos) k--;
        return {node: nodes[k].node, offset: pos - nodes[k].at};
      };
      const a = locate(at), b = locate(at + needle.length);
      const range = document.createRange();
      range.setStart(a.node, a.offset);
      range.setEnd(b.node, b.offset);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      this.setFollow(false, false);
      const box = range.getBoundingClientRect(), pre = this.pre.getBoundingClientRect();
      this.pre.scrollTop += box.top - pre.top - this.pre.clientHeight / 2;
      this.findInfo.textContent = count + (count === 1 ? ' match' : ' matches');
    }
    async download() {
      if (!this.stage) return;
      try {
        await downloadFile('/api/v1/runs/' + this.runId + '/log?stage=' + encodeURIComponent(this.stage) +
                           '&attempt=' + this.attempt,
                           'run-' + this.runId + '-' + this.stage.replace(/[^A-Za-z0-9._-]+/g, '_') +
                           (this.attempt > 1 ? '-' + this.attempt : '') + '.log');
      } catch (e) {
        this.error.textContent = 'Could not download the log: ' + describe(e);
      }
    }
    setFollow(on, scroll) {
      this.follow = on;
      this.followBtn.setAttribute('aria-pressed', on ? 'true' : 'false');
      if (on && scroll) this.scrollToEnd();
    }
    scrollToEnd() {
      this.autoScrolling = true;
      this.pre.scrollTop = this.pre.scrollHeight;
      requestAnimationFrame(() => { this.autoScrolling = false; });
    }
    setTimes(on) {
      this.times = on;
      this.timesBtn.setAttribute('aria-pressed', on ? 'true' : 'false');
      this.pre.classList.toggle('timed', on);
      if (on) this.loadMarks();
    }
    // The log's time marks ([offset, unix ms], one a second at most), then each shown line's
    // time: that of the last mark at or before the line's first byte.
    async loadMarks() {
      if (!this.times || !this.stage) return;
      const gen = this.gen;
      try {
        const got = await api('GET', '/api/v1/runs/' + this.runId + '/log/times?stage=' +
                              encodeURIComponent(this.stage) + '&attempt=' + this.attempt);
        if (gen !== this.gen) return;
        this.marks = got.marks || [];
      } catch (e) {
        return;
      }
      this.stampLines();
    }
    stampLines() {
      const marks = this.marks;
      if (!this.times || !marks.length) return;
      for (const line of this.pre.querySelectorAll('.line')) {
        const at = Number(line.dataset.at);
        let lo = 0, hi = marks.length - 1, found = -1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          if (marks[mid][0] <= at) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
        }
        if (found < 0) continue;
        const d = new Date(marks[found][1]);
        line.dataset.time = [d.getHours(), d.getMinutes(), d.getSeconds()]
            .map((x) => String(x).padStart(2, '0')).join(':');
      }
    }
    // Line numbers: the first shown line's number (from 1), or null when unknown (the tail of a
    // log too long for the controller to count).
    setFirstLine(n) {
      this.firstLine = n;
      this.pre.classList.toggle('numbered', n !== null);
      this.pre.style.counterReset = n === null ? '' : 'line ' + (n - 1);
    }
    updateInfo() {
      this.earlier.hidden = !(this.stage && this.start > 0 && !this.loading);
      this.toEnd.hidden = !this.detached;
      if (!this.stage) {
        this.info.textContent = '';
        return;
      }
      const n = (x) => x.toLocaleString('en-US');
      this.info.textContent = this.kept === 0 && !this.loading ? 'No output yet.'
          : 'Bytes ' + n(this.start) + '–' + n(this.end) + ' of ' + n(Math.max(this.size, this.end));
    }
    // Shows `stage` (its record) of run `runId`, attempt `attempt`.
    // `phase`: what the attempt was (a deploy's "deploy 10%", "rollback"), when it has a name.
    open(runId, stage, attempt, label, phase) {
      this.clear();
      this.runId = runId;
      this.stage = stage;
      this.attempt = attempt;
      this.title.textContent = 'Log: ' + label + (phase ? ' — ' + phase : attempt > 1 ? ' (attempt ' + attempt + ')' : '');
      this.setFollow(true, false);
      return this.loadTail();
    }
    reopen() {
      if (!this.stage) return;
      const {runId, stage, attempt} = this;
      const title = this.title.textContent;
      this.clear();
      Object.assign(this, {runId, stage, attempt});
      this.title.textContent = title;
      this.setFollow(true, false);
      return this.loadTail();
    }
    async loadTail() {
      const gen = this.gen;
      this.loading = true;
      this.updateInfo();
      try {
        const probe = await fetchLog(this.runId, this.stage, this.attempt, Number.MAX_SAFE_INTEGER, 0);
        if (gen !== this.gen) return;
        const from = Math.max(0, probe.size - LOG_PAGE);
        const got = await fetchLog(this.runId, this.stage, this.attempt, from, LOG_FETCH_MAX);
        if (gen !== this.gen) return;
        let bytes = got.bytes;
        let start = from;
        if (from > 0) {  // start at a line
          const nl = bytes.indexOf(10);
          if (nl >= 0) {
            bytes = bytes.subarray(nl + 1);
            start = from + nl + 1;
          }
        }
        this.start = start;
        this.end = start;
        this.size = got.size;
        if (got.line !== null) {
          // The header counts to `from`; the skipped partial line ends in one more.
          this.setFirstLine(got.line + 1 + (start > from ? 1 : 0));
        }
        this.append(this.decoder.decode(bytes, {stream: true}), bytes.length);
      } catch (e) {
        if (gen === this.gen) this.error.textContent = 'Could not read the log: ' + describe(e);
      } finally {
        if (gen === this.gen) this.settle();
      }
    }
    settle() {
      this.loading = false;
      const queued = this.pending;
      this.pending = [];
      for (const ev of queued) this.onLog(ev);
      if (this.end < this.size && !this.detached && !this.stalled) this.catchUp();
      this.updateInfo();
    }
    // Reads what follows `end` from the REST API (a gap, or no socket).
    async catchUp() {
      if (!this.stage || this.loading || this.detached) return;
      const gen = this.gen;
      this.loading = true;
      try {
        const got = await fetchLog(this.runId, this.stage, this.attempt, this.end, LOG_FETCH_MAX);
        if (gen !== this.gen) return;
        this.size = got.size;
        if (got.size - this.end > 4 * LOG_FETCH_MAX) {  // far behind: show the tail instead
          this.loading = false;
          this.reopen();
          return;
        }
        if (got.bytes.length) this.append(this.decoder.decode(got.bytes, {stream: true}), got.bytes.length);
        this.stalled = got.bytes.length === 0;
        this.error.textContent = '';
      } catch (e) {
        if (gen === this.gen) this.error.textContent = 'Could not read the log: ' + describe(e);
      } finally {
        if (gen === this.gen) this.settle();  // reads on while there is more
      }
    }
    // A log event: appended when it continues what is shown.
    onLog(ev) {
      if (ev.run !== this.runId || ev.stage !== this.stage || ev.attempt !== this.attempt) return;
      if (this.loading) {
        if (this.pending.length < CAPTURE_MAX) this.pending.push(ev);
        return;
      }
      const data = typeof ev.data === 'string' ? ev.data : '';
      const bytes = new TextEncoder().encode(data);
      const off = Number(ev.offset) || 0;
      // `length`: the log bytes the event covers (data may differ from them
      // where the log is not UTF-8).
      const endOff = off + (Number.isFinite(ev.length) ? ev.length : bytes.length);
      this.size = Math.max(this.size, endOff);
      if (this.detached || endOff <= this.end) {
        this.updateInfo();
        return;
      }
      if (off > this.end) {  // a gap: read it from the REST API
        this.catchUp();
        return;
      }
      this.decoder = new TextDecoder();
      const fresh = off === this.end ? data : new TextDecoder().decode(bytes.subarray(this.end - off));
      this.append(fresh, endOff - this.end);
      this.updateInfo();
    }
    append(text, nbytes) {
      const chunk = el('span', {class: 'chunk', dataset: {bytes: String(nbytes)}});
      this.lines.offset = this.end;
      renderLines(text, this.lines, chunk);
      this.pre.append(chunk);
      if (this.times) this.loadMarksSoon();
      this.end += nbytes;
      this.kept += nbytes;
      while (this.kept > LOG_KEEP && this.pre.childElementCount > 1) {
        const first = this.pre.firstElementChild;
        const n = Number(first.dataset.bytes);
        const gone = first.querySelectorAll('.line').length;
        first.remove();
        this.kept -= n;
        this.start += n;
        if (this.firstLine !== null) this.setFirstLine(this.firstLine + gone);
      }
      if (this.follow) this.scrollToEnd();
    }
    async loadEarlier() {
      if (!this.stage || this.start === 0 || this.loading) return;
      const gen = this.gen;
      this.loading = true;
      this.updateInfo();
      try {
        const from = Math.max(0, this.start - LOG_PAGE);
        const got = await fetchLog(this.runId, this.stage, this.attempt, from, this.start - from);
        if (gen !== this.gen) return;
        let bytes = got.bytes;
        let start = from;
        if (from > 0) {
          const nl = bytes.indexOf(10);
          if (nl >= 0 && nl < bytes.length - 1) {
            bytes = bytes.subarray(nl + 1);
            start = from + nl + 1;
          }
        }
        const chunk = el('span', {class: 'chunk', dataset: {bytes: String(bytes.length)}});
        renderLines(new TextDecoder().decode(bytes), newLines(start), chunk);
        if (this.times) this.loadMarksSoon();
        if (this.firstLine !== null) {
          let lines = 0;
          for (const b of bytes) lines += b === 10 ? 1 : 0;
          this.setFirstLine(this.firstLine - lines);
        }
        const before = this.pre.scrollHeight;
        this.setFollow(false, false);
        this.pre.prepend(chunk);
        this.pre.scrollTop += this.pre.scrollHeight - before;
        this.start = start;
        this.kept += bytes.length;
        while (this.kept > LOG_KEEP && this.pre.childElementCount > 1) {
          const last = this.pre.lastElementChild;
          const n = Number(last.dataset.bytes);
          last.remove();
          this.kept -= n;
          this.end -= n;
          this.detached = true;  // the newest bytes are gone: stop following
        }
      } catch (e) {
        if (gen === this.gen) this.error.textContent = 'Could not read the log: ' + describe(e);
      } finally {
        if (gen === this.gen) this.settle();
      }
    }
  }

  // The stage tree of a run: a stage's parent is the longest other stage id
  // that prefixes it followed by " / " (plan ids: "Test / Unit").
  function stageTree(stages) {
    const nodes = new Map();
    for (const s of stages) nodes.set(s.id, {stage: s, children: []});
    const roots = [];
    for (const s of stages) {
      let parent = null;
      for (let i = s.id.lastIndexOf(' / '); i > 0; i = s.id.lastIndexOf(' / ', i - 1)) {
        const p = nodes.get(s.id.slice(0, i));
        if (p) {
          parent = p;
          break;
        }
      }
      (parent ? parent.children : roots).push(nodes.get(s.id));
    }
    return {roots, nodes};
  }

  // One run: its header, stage graph and log pane.
  class RunView {
    constructor(id) {
      this.id = id;
      this.run = state.runs.get(id) || null;
      this.stages = new Map();  // id -> stage record (REST shape, with `order`)
      this.pinned = null;       // a stage the user picked; null = the running one
      this.renderSoon = debounce(() => this.render(), 50);
      this.loadGatesSoon = debounce(() => this.loadGates(), 300);
      this.requests = [];
      this.releases = [];
    }
    mount(root) {
      this.heading = el('h1', {id: 'run-title'}, 'Run ' + this.id);
      this.status = el('span', {class: 'run-status'});
      this.facts = el('dl', {class: 'facts'});
      this.cancelBtn = el('button', {type: 'button', class: 'danger', hidden: true,
                                     onclick: () => this.act('cancel')}, 'Cancel run');
      this.retryBtn = el('button', {type: 'button', class: 'secondary', hidden: true,
                                    onclick: () => this.act('retry')}, 'Retry run');
      // Restart from a top-level stage (the stages before it skipped, their stashes kept).
      this.restartSel = el('select', {id: 'restart-stage'});
      this.restartBtn = el('button', {type: 'button', class: 'secondary',
                                      onclick: () => this.act('retry', {from_stage: this.restartSel.value})},
                           'Restart from stage');
      this.restartBox = el('span', {class: 'restart', hidden: true},
                           el('label', {for: 'restart-stage', class: 'sr-only'}, 'Stage to restart from'),
                           this.restartSel, this.restartBtn);
      this.flash = flashBox();
      this.graph = el('div', {class: 'graph', onscroll: () => this.noteOverflow()});
      // A wide pipeline scrolls sideways: say so, and how many stages are out of sight.
      this.moreHint = el('p', {class: 'more-stages muted', hidden: true, 'aria-live': 'polite'});
      this.followBtn = el('button', {type: 'button', class: 'secondary', hidden: true,
                                     onclick: () => { this.pinned = null; this.render(); }},
                          'Follow the running stage');
      this.attemptSel = el('select', {id: 'attempt-select', onchange: () => this.pickAttempt()});
      this.attemptBox = el('span', {class: 'attempts', hidden: true},
                           this.attemptLabel = el('label', {for: 'attempt-select'}, 'Attempt '), this.attemptSel);
      this.log = new LogPane();
      this.log.extra.append(this.followBtn, this.attemptBox);
      // Why stages wait or failed, with their change requests linked.
      this.why = el('ul', {class: 'why', id: 'stage-why'});
      this.whyBox = el('section', {class: 'panel', 'aria-labelledby': 'why-title', hidden: true},
                       el('h2', {id: 'why-title'}, 'Why'), this.why);
      this.artifacts = el('ul', {class: 'artifacts', id: 'artifact-list'});
      this.artifactBox = el('section', {class: 'panel', 'aria-labelledby': 'artifacts-title', hidden: true},
                            el('h2', {id: 'artifacts-title'}, 'Artifacts'), this.artifacts);
      // The test cases of its JUnit reports: failures first, each with its text.
      this.testSummary = el('p', {class: 'muted', id: 'test-summary'});
      this.tests = el('ul', {class: 'tests', id: 'test-list'});
      this.allTestsBtn = el('button', {type: 'button', class: 'secondary', hidden: true,
                                       onclick: () => this.loadTests(true)}, 'Show passed tests too');
      this.testBox = el('section', {class: 'panel', 'aria-labelledby': 'tests-title', hidden: true},
                        el('h2', {id: 'tests-title'}, 'Tests'), this.testSummary, this.tests,
                        this.allTestsBtn);
      // publishHTML reports (saved, as the API needs the token) and recordIssues summaries.
      this.reports = el('ul', {class: 'artifacts', id: 'report-list'});
      this.reportBox = el('section', {class: 'panel', 'aria-labelledby': 'reports-title', hidden: true},
                          el('h2', {id: 'reports-title'}, 'Reports'), this.reports);
      this.issueSummary = el('p', {class: 'muted', id: 'issue-summary'});
      this.issues = el('ul', {class: 'tests', id: 'issue-list'});
      this.issueBox = el('section', {class: 'panel', 'aria-labelledby': 'issues-title', hidden: true},
                         el('h2', {id: 'issues-title'}, 'Issues'), this.issueSummary, this.issues);
      root.append(
          el('p', {class: 'crumbs'}, el('a', {href: '#/runs'}, el('span', {'aria-hidden': 'true'}, '← '), 'All runs')),
          el('div', {class: 'run-head'}, this.heading, this.status,
             el('div', {class: 'actions'}, this.cancelBtn, this.retryBtn, this.restartBox)),
          this.flash, this.facts,
          el('section', {class: 'panel', 'aria-labelledby': 'graph-title'},
             el('h2', {id: 'graph-title'}, 'Stages'), this.graph, this.moreHint),
          this.whyBox, this.testBox, this.issueBox, this.reportBox, this.artifactBox,
          this.log.root);
      if (this.run) this.render();
    }
    unmount() { this.log.clear(); }
    async load() {
      const {result, events} = await captured(() => api('GET', '/api/v1/runs/' + this.id));
      this.run = result;
      state.runs.set(this.id, Object.assign(state.runs.get(this.id) || {}, result));
      this.stages.clear();
      (result.stages || []).forEach((s, i) => this.stages.set(s.id, Object.assign({order: i}, s)));
      if (TERMINAL.has(result.status) && !this.artifactsLoaded) this.loadArtifacts();
      if (TERMINAL.has(result.status) && !this.testsLoaded) this.loadTests(false);
      if (TERMINAL.has(result.status) && !this.reportsLoaded) this.loadReports();
      this.loadGates();
      for (const ev of events) {
        if (ev.run !== this.id || ev.type === 'log') continue;
        if (ev.type === 'run') mergeRunEvent(ev);
        this.onEvent(ev, true);
      }
      this.render();
    }
    poll() {
      // Without the socket the log is read from the REST API.
      if (!live.open && this.log.stage) {
        const s = this.stages.get(this.log.stage);
        if (!s || !TERMINAL.has(s.status) || this.log.end < this.log.size || !this.log.finalRead) {
          if (s && TERMINAL.has(s.status)) this.log.finalRead = true;
          this.log.catchUp();
        }
      }
    }
    onEvent(ev, replay) {
      if (ev.run !== this.id) return;
      if (!replay && (ev.type === 'approval' || ev.type === 'release')) this.loadGatesSoon();
      if (ev.type === 'run') {
        this.run = Object.assign(this.run || {id: this.id}, state.runs.get(this.id) || {});
        for (const k of ['number', 'job', 'status', 'reason', 'trigger', 'ref', 'commit', 'title'])
          if (ev[k] !== undefined) this.run[k] = ev[k];
      } else if (ev.type === 'stage') {
        const old = this.stages.get(ev.stage) || {id: ev.stage, order: this.stages.size};
        const s = Object.assign({}, old, {
          name: ev.name ?? old.name, status: ev.status ?? old.status, reason: ev.reason ?? old.reason,
          agent: ev.agent ?? old.agent, attempts: ev.attempts ?? old.attempts,
          attempt_names: ev.attempt_names ?? old.attempt_names,
          started_at: ev.started_at || null, finished_at: ev.finished_at || null,
        });
        if (Number.isFinite(ev.order)) s.order = ev.order;
        this.stages.set(ev.stage, s);
        // The log pane reads the last bytes once its stage has ended.
        if (!replay && ev.stage === this.log.stage && TERMINAL.has(s.status)) this.log.catchUp();
      } else if (ev.type === 'log') {
        this.log.onLog(ev);
        return;
      } else {
        return;
      }
      if (!replay) this.renderSoon();
    }
    async act(what, body) {
      setFlash(this.flash, '');
      try {
        const res = await api('POST', '/api/v1/runs/' + this.id + '/' + what, body);
        if (what === 'retry' && res && res.id) {
          location.hash = '#/runs/' + res.id;
          return;
        }
        setFlash(this.flash, 'Run ' + this.id + ': cancel requested.');
        refresh();
      } catch (e) {
        setFlash(this.flash, 'Could not ' + what + ' run ' + this.id + ': ' + describe(e), true);
      }
    }
    // The change requests and releases this run made, for its facts (who approved, what shipped).
    async loadGates() {
      try {
        const [a, r] = await Promise.all([api('GET', '/api/v1/approvals'), api('GET', '/api/v1/releases')]);
        this.requests = (a.approvals || []).filter((x) => x.run === this.id);
        this.releases = (r.releases || []).filter((x) => x.run === this.id);
      } catch (e) {
        this.requests = this.releases = [];
      }
      this.renderSoon();
    }
    async loadArtifacts() {
      this.artifactsLoaded = true;
      let list = [];
      try {
        list = ((await api('GET', '/api/v1/runs/' + this.id + '/artifacts')) || {}).artifacts || [];
      } catch (e) {
        return;
      }
      this.artifacts.replaceChildren(...list.map((a) => el('li', {},
          el('button', {type: 'button', class: 'link', dataset: {path: a.path},
                        onclick: () => this.download(a.path)}, a.path),
          el('span', {class: 'muted'}, ' ' + fmtBytes(a.size) + (a.stage ? ' · ' + a.stage : '')))));
      this.artifactBox.hidden = list.length === 0;
    }
    // Failed and skipped cases (or every case, `all`), each a disclosure with its message and text.
    async loadTests(all) {
      this.testsLoaded = true;
      let got;
      try {
        got = await api('GET', '/api/v1/runs/' + this.id + '/tests?limit=' + (all ? 5000 : 500));
      } catch (e) {
        return;
      }
      const counts = got.counts || {};
      if (!counts.total) return;
      const cases = (got.cases || []).filter((c) => all || c.status !== 'passed');
      this.testSummary.textContent = counts.total + ' tests, ' + (counts.failed || 0) + ' failed, ' +
          (counts.skipped || 0) + ' skipped' + (got.omitted ? ' (' + got.omitted + ' not listed)' : '');
      let opened = 0;
      this.tests.replaceChildren(...cases.map((c) => {
        const name = (c.class ? c.class + '.' : '') + c.name;
        const parts = [el('span', {class: 'test-status ' + c.status}, c.status),
                       ' ', el('span', {class: 'muted'}, c.stage + ' · '), name,
                       el('span', {class: 'muted'}, ' ' + (c.seconds || 0).toFixed(2) + 's')];
        const text = [c.message, c.details].filter(Boolean).join('\n\n');
        if (c.status === 'passed' || !text) return el('li', {class: 'test'}, el('div', {class: 'test-line'}, parts));
        const box = el('details', {class: 'test-case'}, el('summary', {}, parts),
                       el('pre', {class: 'test-text'}, text));
        if (c.status === 'failed' && opened++ < 3) box.open = true;
        return el('li', {class: 'test'}, box);
      }));
      this.allTestsBtn.hidden = all || counts.total <= cases.length;
      this.testBox.hidden = false;
    }
    // The run's reports and issue counts (from its JSON), and its first issues.
    async loadReports() {
      this.reportsLoaded = true;
      let run, got;
      try {
        run = await api('GET', '/api/v1/runs/' + this.id);
        got = run.issues ? await api('GET', '/api/v1/runs/' + this.id + '/issues') : {summaries: []};
      } catch (e) {
        return;
      }
      if (this.run && JSON.stringify(this.run.downstream) !== JSON.stringify(run.downstream)) {
        this.run.downstream = run.downstream;  // the runs its build steps started, as they ended
        this.render();
      }
      const reports = run.reports || [];
      this.reports.replaceChildren(...reports.map((r) => el('li', {},
          el('span', {}, r.title || r.name), ' ',
          ...(r.links || []).flatMap((l) => [
            el('button', {type: 'button', class: 'link', title: 'open in a new tab',
              onclick: () => this.openReport(r.name, l.file)}, l.file),
            el('button', {type: 'button', class: 'link', title: 'download ' + l.file,
              onclick: () => this.saveReport(l.url, l.file)}, '⤓')]),
          el('span', {class: 'muted'}, ' ' + r.count + ' files · ' + fmtBytes(r.bytes) +
             (r.stage ? ' · ' + r.stage : '')))));
      this.reportBox.hidden = reports.length === 0;
      const issues = run.issues;
      if (!issues) return;
      const sev = issues.by_severity || {};
      this.issueSummary.textContent = issues.total + ' issues (' +
          ['error', 'high', 'normal', 'low'].map((k) => (sev[k] || 0) + ' ' + k).join(', ') + ')' +
          (issues.result && issues.result !== 'SUCCESS' ? ' · quality gate: ' + issues.result : '');
      const rows = [];
      for (const s of got.summaries || []) {
        for (const i of (s.issues || []).slice(0, 200)) {
          rows.push(el('li', {class: 'test'}, el('div', {class: 'test-line'},
              el('span', {class: 'test-status ' + (i.severity === 'error' || i.severity === 'high' ? 'failed' : 'skipped')},
                 i.severity), ' ', el('span', {class: 'muted'}, s.stage + ' · ' + i.tool + ' · '),
              (i.file || '?') + (i.line ? ':' + i.line : '') + ' ' + i.message)));
        }
      }
      this.issues.replaceChildren(...rows);
      this.issueBox.hidden = false;
    }
    // A report opens in a tab of its own through a signed link (an hour long): the browser
    // cannot send the API token, and the report's relative links stay under the link's path.
    async openReport(name, file) {
      const tab = window.open('', '_blank');  // now, in the click: later a popup blocker may refuse
      if (tab) tab.opener = null;
      try {
        const link = await api('POST', '/api/v1/runs/' + this.id + '/reports/' +
                               encodeURIComponent(name) + '/link');
        const url = link.url + file.split('/').map(encodeURIComponent).join('/');
        if (tab) tab.location = url; else window.open(url, '_blank', 'noopener');  // blocked above
      } catch (e) {
        if (tab) tab.close();
        setFlash(this.flash, 'Could not open ' + file + ': ' + describe(e), true);
      }
    }
    async saveReport(url, file) {
      try {
        await downloadFile(url, file.split('/').pop());
      } catch (e) {
        setFlash(this.flash, 'Could not save ' + file + ': ' + describe(e), true);
      }
    }
    async download(path) {
      try {
        await downloadFile('/api/v1/runs/' + this.id + '/artifacts/file?path=' + encodeURIComponent(path),
                           path.split('/').pop());
      } catch (e) {
        setFlash(this.flash, 'Could not download ' + path + ': ' + describe(e), true);
      }
    }
    // A reason as text, with GMUD-n and INPUT-n linked to the approvals page.
    linkReason(text) {
      const parts = [];
      let last = 0;
      const re = /\b(GMUD|INPUT)-\d+\b/g;
      for (let m; (m = re.exec(text));) {
        parts.push(text.slice(last, m.index), el('a', {href: '#/approvals', class: 'request'}, m[0]));
        last = m.index + m[0].length;
      }
      parts.push(text.slice(last));
      return parts;
    }
    renderWhy(stages) {
      const told = new Set(['waiting', 'queued', 'failed', 'aborted', 'unstable']);
      const items = stages.filter((s) => s.reason && told.has(s.status));
      this.why.replaceChildren(...items.map((s) => el('li', {dataset: {stage: s.id, status: s.status}},
          el('strong', {}, s.name || s.id), ' ', badge(s.status), ' ', el('span', {}, this.linkReason(s.reason)))));
      this.whyBox.hidden = items.length === 0;
    }
    // The stage the log pane should show: the user's pick, else the running
    // leaf that started last, else the last failed leaf, else the last one.
    chooseStage(leaves) {
      if (this.pinned && this.stages.has(this.pinned)) return this.stages.get(this.pinned);
      const started = leaves.filter((s) => s.started_at);
      const by = (a, b) => (a.started_at || 0) - (b.started_at || 0) || a.order - b.order;
      const running = started.filter((s) => s.status === STATUS.running.word).sort(by);
      if (running.length) return running[running.length - 1];
      const failed = started.filter((s) => s.status === STATUS.failed.word).sort(by);
      if (failed.length) return failed[failed.length - 1];
      started.sort(by);
      return started.length ? started[started.length - 1] : null;
    }
    render() {
      const r = this.run;
      if (!r) return;
      this.heading.textContent = runTitle(r);
      document.title = runTitle(r) + ' · Gantry';
      this.status.replaceChildren(badge(r.status));
      const fact = (k, v) => (v ? [el('dt', {}, k), el('dd', {}, v)] : []);
      this.facts.replaceChildren(
          ...fact('Run', String(r.id)),
          ...fact('Repository', r.repo_name || r.repo),
          ...fact('Ref', shortRef(r.ref)),
          ...fact('Commit', r.commit ? el('span', {}, el('code', {}, shortSha(r.commit)), commitTitle(r)) : ''),
          ...fact('Author', r.author),
          ...fact('Trigger', (r.trigger || '') + (r.created_by ? ' by ' + r.created_by : '')),
          ...fact('Upstream', r.upstream && r.upstream.run ? el('span', {},
              el('a', {href: '#/runs/' + r.upstream.run},
                  r.upstream.job ? r.upstream.job + ' #' + r.upstream.number : 'run ' + r.upstream.run),
              r.upstream.stage ? ' (stage ' + r.upstream.stage + ')' : '') : ''),
          ...fact('Downstream', (r.downstream || []).length ? el('span', {}, ...r.downstream.flatMap((d, i) => [
              i ? ', ' : '', el('a', {href: '#/runs/' + d.run}, d.job + ' #' + d.number), ' ' + d.status])) : ''),
          ...fact('Started', fmtTime(r.started_at)),
          ...fact('Duration', r.started_at ? duration(r.started_at, r.finished_at) : ''),
          ...fact('Reason', r.reason),
          ...fact('Change requests', this.requests.length ? el('span', {}, ...this.requests.flatMap((a, i) => [
              i ? ', ' : '', el('a', {href: '#/approvals'}, a.id), ' ' + a.status +
              ((a.approvals || []).length ? ' by ' + a.approvals.map((d) => d.user).join(', ') : '')])) : ''),
          ...fact('Releases', this.releases.length ? el('span', {}, ...this.releases.flatMap((x, i) => [
              i ? ', ' : '', el('a', {href: '#/releases'}, x.id), ' ' + x.environment + ' ' + x.status])) : ''));
      this.cancelBtn.hidden = !ACTIVE.has(r.status);
      this.retryBtn.hidden = !TERMINAL.has(r.status);
      // Nothing more comes once the run ended: no "Follow" buttons then.
      this.log.followBtn.hidden = TERMINAL.has(r.status);

      const stages = [...this.stages.values()].sort((a, b) => a.order - b.order);
      this.renderWhy(stages);
      const tops = stages.filter((s) => !s.id.includes(' / ') && s.id !== 'Declarative: Post Actions');
      this.restartBox.hidden = !TERMINAL.has(r.status) || tops.length < 2;
      if (!this.restartBox.hidden && this.restartSel.options.length !== tops.length) {
        const firstBad = tops.find((s) => ['failed', 'aborted', 'unstable'].includes(s.status));
        this.restartSel.replaceChildren(...tops.map((s) => el('option', {value: s.id}, s.name || s.id)));
        if (firstBad) this.restartSel.value = firstBad.id;
      }
      if (TERMINAL.has(r.status) && !this.artifactsLoaded) this.loadArtifacts();
      if (TERMINAL.has(r.status) && !this.testsLoaded) this.loadTests(false);
      if (TERMINAL.has(r.status) && !this.reportsLoaded) this.loadReports();
      const {roots, nodes} = stageTree(stages);
      const leaves = stages.filter((s) => nodes.get(s.id).children.length === 0);
      const shown = this.chooseStage(leaves);
      const focused = document.activeElement && document.activeElement.dataset
          ? document.activeElement.dataset.stage : undefined;
      this.graph.replaceChildren(...roots.map((n) => this.column(n, shown)));
      if (roots.length === 0) this.graph.append(el('p', {class: 'muted'}, 'No stages yet.'));
      if (focused !== undefined) {
        for (const b of this.graph.querySelectorAll('button.stage'))
          if (b.dataset.stage === focused) b.focus();
      }
      this.followBtn.hidden = this.pinned === null || TERMINAL.has(r.status);
      this.noteOverflow();
      if (shown) {
        const attempt = this.wantAttempt && this.wantAttempt.stage === shown.id
            ? this.wantAttempt.attempt : Math.max(1, shown.attempts || 1);
        if (shown.id !== this.log.stage || attempt !== this.log.attempt || this.log.runId !== this.id)
          this.log.open(this.id, shown.id, attempt, shown.id, attemptName(shown, attempt));
        this.fillAttempts(shown, attempt);
      }
    }
    noteOverflow() {
      const g = this.graph;
      const right = g.getBoundingClientRect().right;
      let hidden = 0;
      for (const b of g.querySelectorAll('button.stage'))
        if (b.getBoundingClientRect().left >= right - 4) hidden++;
      this.moreHint.hidden = g.scrollWidth <= g.clientWidth + 2 || hidden === 0;
      this.moreHint.textContent = hidden + ' more stage' + (hidden === 1 ? '' : 's') + ' to the right: scroll the graph →';
    }
    fillAttempts(stage, attempt) {
      const n = Math.max(1, stage.attempts || 1);
      this.attemptBox.hidden = n < 2;
      // A deploy's attempts are its phases: named so ("3: analysis 10%"), not numbered only.
      const label = (i) => String(i) + (attemptName(stage, i) ? ': ' + attemptName(stage, i) : '');
      const key = stage.id + '|' + Array.from({length: n}, (_, i) => label(i + 1)).join('|');
      if (this.attemptSel.dataset.key !== key) {
        this.attemptSel.replaceChildren(
            ...Array.from({length: n}, (_, i) => el('option', {value: String(i + 1)}, label(i + 1))));
        this.attemptSel.dataset.stage = stage.id;
        this.attemptSel.dataset.key = key;
        this.attemptLabel.textContent = attemptName(stage, 1) ? 'Phase ' : 'Attempt ';
      }
      this.attemptSel.value = String(attempt);
    }
    pickAttempt() {
      const stage = this.attemptSel.dataset.stage;
      const attempt = Number(this.attemptSel.value);
      const s = this.stages.get(stage);
      this.pinned = stage;
      this.wantAttempt = attempt === (s && s.attempts) ? null : {stage, attempt};
      this.render();
    }
    select(id) {
      this.pinned = id;
      this.wantAttempt = null;
      const s = this.stages.get(id);
      // A click always reads the log afresh: its tail, then live.
      const last = Math.max(1, (s && s.attempts) || 1);
      this.log.open(this.id, id, last, id, attemptName(s, last));
      this.render();  // keeps the focus on the stage's button
    }
    node(s, shown) {
      const selected = shown && shown.id === s.id;
      return el('button', {type: 'button', class: 'stage ' + statusClass(s.status) + (selected ? ' selected' : ''),
                           dataset: {stage: s.id, status: s.status || ''},
                           'aria-pressed': selected ? 'true' : 'false',
                           onclick: () => this.select(s.id)},
                el('span', {class: 'stage-name'}, icon(s.status), el('span', {}, s.name || s.id)),
                el('span', {class: 'stage-meta'}, statusLabel(s.status),
                   s.started_at ? [' · ', duration(s.started_at, s.finished_at)] : '',
                   s.agent ? ' · ' + s.agent : ''));
    }
    groupHead(s, kind) {
      return el('div', {class: 'group-head ' + statusClass(s.status), dataset: {stage: s.id, status: s.status || ''}},
                el('span', {class: 'stage-name'}, icon(s.status), el('span', {}, s.name || s.id)),
                el('span', {class: 'stage-meta'}, kind ? kind + ' · ' : '', statusLabel(s.status),
                   s.started_at ? [' · ', duration(s.started_at, s.finished_at)] : ''));
    }
    // A column of the graph: a stage, or a group with its parallel lanes or
    // matrix cells, each lane's stages in sequence.
    column(n, shown) {
      if (n.children.length === 0) return el('div', {class: 'col'}, this.node(n.stage, shown));
      const cells = n.children.every((c) => /=/.test(c.stage.name || ''));
      const lanes = n.children.map((c) => el('div', {class: 'lane' + (cells ? ' cell' : '')}, this.seq(c, shown)));
      return el('div', {class: 'col group'},
                this.groupHead(n.stage, cells ? 'matrix' : n.children.length > 1 ? 'parallel' : ''),
                el('div', {class: 'lanes'}, lanes));
    }
    seq(n, shown) {
      if (n.children.length === 0) return this.node(n.stage, shown);
      return el('div', {class: 'seq-group'}, this.groupHead(n.stage, /=/.test(n.stage.name || '') ? 'cell' : ''),
                el('div', {class: 'seq'}, n.children.map((c) => this.seq(c, shown))));
    }
  }

  // Approvals: the inbox, with the reasons each request is blocked, and
  // approve/reject with a comment.
  class ApprovalsView {
    constructor(focus) {
      this.focus = focus || '';
    }
    mount(root) {
      this.filter = el('select', {id: 'approvals-filter', onchange: () => refresh()},
                       el('option', {value: STATUS.pending.word}, 'Pending'), el('option', {value: ''}, 'All recent'));
      this.flash = flashBox();
      this.list = el('div', {class: 'cards'});
      this.empty = el('p', {class: 'muted', hidden: true}, 'Nothing waits for a decision.');
      root.append(el('h1', {}, 'Approvals'),
                  el('div', {class: 'toolbar'}, el('label', {for: 'approvals-filter'}, 'Show '), this.filter),
                  this.flash, this.empty, this.list);
      this.refreshSoon = debounce(() => refresh(), 250);
    }
    async load() {
      const q = this.filter.value ? '?status=' + this.filter.value : '';
      const data = await api('GET', '/api/v1/approvals' + q);
      const items = (data.approvals || []).slice(0, 100);
      reconcile(this.list, items, (a) => a.id, (a) => this.card(a), (node, a) => this.update(node, a));
      this.empty.hidden = items.length > 0;
      if (this.focus) this.showFocus(items);
    }
    // The request a link named: shown once, whatever its status.
    showFocus(items) {
      const i = items.findIndex((a) => a.id === this.focus);
      if (i < 0) {
        if (this.filter.value) {
          this.filter.value = '';
          this.refreshSoon();
        } else {
          this.focus = '';
        }
        return;
      }
      const node = [...this.list.children].find((n) => n.dataset.key === this.focus);
      this.focus = '';
      if (!node) return;
      node.classList.add('focused');
      node.scrollIntoView({block: 'center'});
    }
    onEvent(ev) {
      if (ev.type === 'approval') this.refreshSoon();
    }
    card(a) {
      const id = 'c-' + a.id.replace(/[^A-Za-z0-9-]/g, '');
      const comment = el('textarea', {id: id + '-comment', rows: '2', maxlength: '4096'});
      const approve = el('button', {type: 'button', 'aria-label': 'Approve ' + a.id}, 'Approve');
      const reject = el('button', {type: 'button', class: 'danger', 'aria-label': 'Reject ' + a.id}, 'Reject');
      const error = el('p', {class: 'error', role: 'alert'});
      const form = el('div', {class: 'decide'},
                      el('label', {for: id + '-comment'}, 'Comment (required to reject)'), comment,
                      el('div', {class: 'actions'}, approve, reject), error);
      const body = el('div', {class: 'card-body'});
      const title = el('h2', {id: id + '-title'});
      const node = el('article', {class: 'card approval', 'aria-labelledby': id + '-title'},
                      el('div', {class: 'card-head'}, title), body, form);
      const decide = async (yes) => {
        error.textContent = '';
        const text = comment.value.trim();
        if (!yes && !text) {
          error.textContent = 'A rejection needs a comment saying why.';
          comment.focus();
          return;
        }
        approve.disabled = reject.disabled = true;
        try {
          const res = await api('POST', '/api/v1/approvals/' + encodeURIComponent(a.id) + '/' +
                                        (yes ? 'approve' : 'reject'), {comment: text});
          comment.value = '';
          setFlash(this.flash, (yes ? 'Approved ' : 'Rejected ') + a.id + '; it is now ' + statusLabel(res.status) + '.');
          refresh();
        } catch (e) {
          error.textContent = 'Could not ' + (yes ? 'approve ' : 'reject ') + a.id + ': ' + describe(e);
        } finally {
          approve.disabled = reject.disabled = false;
        }
      };
      approve.addEventListener('click', () => decide(true));
      reject.addEventListener('click', () => decide(false));
      node._parts = {title, body, form};
      return node;
    }
    update(node, a) {
      const {title, body, form} = node._parts;
      node.dataset.status = a.status;
      title.replaceChildren(a.id, ' ', badge(a.status), a.environment ? el('span', {class: 'tag'}, a.environment) : '');
      const dl = el('dl', {class: 'facts'});
      const fact = (k, v) => { if (v) dl.append(el('dt', {}, k), el('dd', {}, v)); };
      fact('Run', el('a', {href: '#/runs/' + a.run}, 'run ' + a.run));
      fact('Stage', a.stage);
      fact('Title', a.title || a.message);
      fact('Impact', a.impact);
      fact('Rollback plan', a.rollback_plan);
      fact('Triggered by', a.triggered_by);
      fact('Commit', a.commit ? el('code', {}, shortSha(a.commit)) : '');
      fact('Also ineligible', (a.instigators || []).map((i) => (i.name || i.email) + ' (' + i.what + ')').join(', '));
      const params = Object.entries(a.run_parameters || {});
      fact('Parameters', params.map(([k, v]) => k + '=' + v).join(', '));
      fact('Range', a.range_unknown ? 'unknown: ' + a.range_unknown : '');
      const got = (a.approvals || []).length;
      fact('Approvals', got + ' of ' + (a.required || 1) + ' required' +
           (got ? ': ' + a.approvals.map((d) => d.user + (d.comment ? ' (“' + d.comment + '”)' : '')).join(', ') : ''));
      if ((a.rejections || []).length)
        fact('Rejected by', a.rejections.map((d) => d.user + (d.comment ? ' (“' + d.comment + '”)' : '')).join(', '));
      fact('Requested', fmtTime(a.requested_at));
      fact('Expires', fmtTime(a.expires_at));
      const pending = a.status === STATUS.pending.word;
      if (pending && a.deciders)
        fact('Who may decide', a.deciders.length ? a.deciders.join(', ') : 'nobody configured can');
      const parts = [dl];
      const you = a.you || {may_decide: true};
      if (pending && !you.may_decide)
        parts.push(el('p', {class: 'muted not-yours'}, 'You may not decide this request: ' + (you.why_not || '') + '.'));
      if ((a.blocked_by || []).length) {
        parts.push(el('div', {class: 'blocked'}, el('h3', {}, a.status === STATUS.pending.word ? 'Blocked by' : 'Why'),
                      el('ul', {}, a.blocked_by.map((b) => el('li', {}, b)))));
      }
      if ((a.range || []).length) {
        parts.push(el('details', {}, el('summary', {}, a.range.length + ' commit' + (a.range.length > 1 ? 's' : '') + ' in this change'),
                      el('ul', {class: 'commits'}, a.range.slice(0, 200).map((c) => el('li', {}, el('code', {}, shortSha(c.sha)), ' ',
                                                                                  c.message || '', el('span', {class: 'muted'}, ' (' + (c.author || '') + ')'))))));
      }
      body.replaceChildren(...parts);
      // Approve and Reject only for those who can use them (the API says who: `you`).
      form.hidden = !pending || !you.may_decide;
    }
  }

  // Releases, with promote/abort while in progress and rollback once succeeded.
  class ReleasesView {
    mount(root) {
      this.flash = flashBox();
      this.rows = el('tbody');
      this.empty = el('p', {class: 'muted', hidden: true}, 'No releases yet: a deploy stage records one when it starts.');
      root.append(el('h1', {}, 'Releases'), this.flash,
                  el('table', {class: 'list releases'},
                     el('thead', {}, el('tr', {}, ['Release', 'Environment', 'Status', 'Progress', 'Run', 'Commit', 'Previous', 'Actions']
                                                      .map((t) => el('th', {scope: 'col'}, t)))),
                     this.rows),
                  this.empty);
      this.refreshSoon = debounce(() => refresh(), 250);
    }
    async load() {
      const data = await api('GET', '/api/v1/releases');
      const items = (data.releases || []).slice().sort((a, b) => b.created_at - a.created_at || (b.id < a.id ? -1 : 1)).slice(0, 200);
      reconcile(this.rows, items, (r) => r.id, () => el('tr'), (tr, r) => this.update(tr, r));
      this.empty.hidden = items.length > 0;
    }
    onEvent(ev) {
      if (ev.type === 'release' || ev.type === 'run') this.refreshSoon();
    }
    update(tr, r) {
      const cells = [
        td('Release', el('strong', {}, r.id), r.current ? el('span', {class: 'tag current'}, 'current') : ''),
        td('Environment', r.environment),
        td('Status', badge(r.status)),
        td('Progress', r.progress || r.reason || ''),
        td('Run', el('a', {href: '#/runs/' + r.run}, 'run ' + r.run),
           r.rollback_run ? [' · rollback: ', el('a', {href: '#/runs/' + r.rollback_run}, 'run ' + r.rollback_run)] : ''),
        td('Commit', el('code', {}, shortSha(r.commit))),
        td('Previous', r.previous || ''),
      ];
      // The actions cell stays while the status does (an open form keeps its text and focus).
      if (tr._actions && tr.dataset.status === r.status && tr.lastElementChild === tr._actions) {
        while (tr.firstElementChild !== tr._actions) tr.firstElementChild.remove();
        tr._actions.before(...cells);
        return;
      }
      tr._actions = this.actions(r);
      tr.dataset.status = r.status;
      tr.replaceChildren(...cells, tr._actions);
    }
    actions(r) {
      const box = el('div', {class: 'v'});
      const cell = el('td', {'data-label': 'Actions', class: 'release-actions'}, box);
      const verbs = r.status === STATUS.in_progress.word ? [['promote', 'Promote'], ['abort', 'Abort']]
          : r.status === STATUS.succeeded.word ? [['rollback', 'Roll back']] : [];
      const buttons = el('div', {class: 'actions'});
      const area = el('div');
      for (const [verb, label] of verbs) {
        buttons.append(el('button', {type: 'button', class: verb === 'promote' ? '' : 'danger',
                                     'aria-label': label + ' ' + r.id, 'aria-expanded': 'false',
                                     onclick: (e) => this.confirm(r, verb, label, area, e.currentTarget)}, label));
      }
      box.append(buttons, area);
      return cell;
    }
    // The inline form: an optional comment, then confirm or cancel.
    confirm(r, verb, label, area, opener) {
      for (const b of opener.parentNode.children) b.setAttribute('aria-expanded', b === opener ? 'true' : 'false');
      const id = 'f-' + r.id + '-' + verb;
      const input = el('input', {id, type: 'text', maxlength: '4096', autocomplete: 'off'});
      const error = el('p', {class: 'error', role: 'alert'});
      const go = el('button', {type: 'submit', class: verb === 'promote' ? '' : 'danger'}, 'Confirm: ' + label.toLowerCase() + ' ' + r.id);
      const cancel = el('button', {type: 'button', class: 'secondary', onclick: () => {
        area.replaceChildren();
        opener.setAttribute('aria-expanded', 'false');
        opener.focus();
      }}, 'Cancel');
      const form = el('form', {class: 'confirm'}, el('label', {for: id}, 'Comment (optional)'), input,
                      el('div', {class: 'actions'}, go, cancel), error);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        go.disabled = true;
        error.textContent = '';
        try {
          const res = await api('POST', '/api/v1/releases/' + encodeURIComponent(r.id) + '/' + verb, {comment: input.value.trim()});
          area.replaceChildren();
          if (verb === 'rollback' && res && res.run) {
            this.flash.replaceChildren('Rolling back ' + r.id + ': ', el('a', {href: '#/runs/' + res.run}, 'run ' + res.run), ' runs its rollback steps.');
            this.flash.classList.remove('error');
          } else {
            setFlash(this.flash, r.id + ': ' + (verb === 'promote' ? 'promoted' : 'abort requested') + '.');
          }
          refresh();
        } catch (err) {
          error.textContent = 'Could not ' + label.toLowerCase() + ' ' + r.id + ': ' + describe(err);
          go.disabled = false;
        }
      });
      area.replaceChildren(form);
      input.focus();
    }
  }

  // Agents: connected or not, labels, executors, the jobs they hold.
  class AgentsView {
    mount(root) {
      this.rows = el('tbody');
      this.empty = el('p', {class: 'muted', hidden: true}, 'No agent has connected yet.');
      root.append(el('h1', {}, 'Agents'),
                  el('table', {class: 'list agents'},
                     el('thead', {}, el('tr', {}, ['Agent', 'Status', 'Labels', 'Executors', 'Current jobs', 'Last seen']
                                                      .map((t) => el('th', {scope: 'col'}, t)))),
                     this.rows),
                  this.empty);
      this.refreshSoon = debounce(() => refresh(), 500);
    }
    async load() {
      const data = await api('GET', '/api/v1/agents');
      const items = (data.agents || []).slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      reconcile(this.rows, items, (a) => a.id, () => el('tr'), (tr, a) => {
        const jobs = a.jobs || [];
        tr.replaceChildren(
            td('Agent', el('strong', {}, a.name), el('div', {class: 'muted small'}, a.id)),
            td('Status', badge(a.connected ? STATUS.connected.word : STATUS.disconnected.word)),
            td('Labels', (a.labels || []).length ? a.labels.map((l) => el('span', {class: 'tag'}, l)) : el('span', {class: 'muted'}, 'none')),
            td('Executors', jobs.length + ' busy of ' + a.executors),
            // A job id is RUN.NODE: link to its run.
            td('Current jobs', jobs.length ? el('ul', {class: 'plain'}, jobs.map((j) => el('li', {},
                el('a', {href: '#/runs/' + String(j).split('.')[0]}, 'run ' + String(j).split('.')[0]),
                ' ', el('code', {}, j)))) : el('span', {class: 'muted'}, 'idle')),
            td('Last seen', fmtTime(a.last_seen)));
      });
      this.empty.hidden = items.length > 0;
    }
    onEvent(ev) {
      if (ev.type === 'agent' || ev.type === 'stage') this.refreshSoon();
    }
  }

  // ---------------------------------------------------------------- routing

  function parseRoute() {
    const h = location.hash;
    const m = /^#\/runs\/(\d+)$/.exec(h);
    if (m) return {name: 'run', id: Number(m[1])};
    if (h === '#/approvals') return {name: 'approvals'};
    // A notification's link to one request (docs/notifications.md): the inbox, showing it.
    const a = /^#\/approvals\/((?:GMUD|INPUT)-\d+)$/.exec(h);
    if (a) return {name: 'approvals', focus: a[1]};
    if (h === '#/releases') return {name: 'releases'};
    if (h === '#/agents') return {name: 'agents'};
    return {name: 'runs'};
  }

  function route() {
    if (!state.token) return;
    const r = parseRoute();
    const root = document.getElementById('view');
    if (state.view && state.view.unmount) state.view.unmount();
    root.replaceChildren();
    const views = {runs: RunsView, approvals: ApprovalsView, releases: ReleasesView, agents: AgentsView};
    state.view = r.name === 'run' ? new RunView(r.id) : new views[r.name](r.focus);
    state.view.mount(root);
    retargetEvents();
    document.title = (r.name === 'run' ? 'Run ' + r.id : r.name[0].toUpperCase() + r.name.slice(1)) + ' · Gantry';
    const section = r.name === 'run' ? 'runs' : r.name;
    for (const a of document.querySelectorAll('#nav a')) {
      if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    refresh();
  }

  // ---------------------------------------------------------------- session

  function startSession() {
    document.getElementById('signin').hidden = true;
    document.getElementById('nav').hidden = false;
    document.getElementById('session').hidden = false;
    updateConn();
    route();
    connectEvents();
  }

  function signOut(message) {
    localStorage.removeItem(TOKEN_KEY);
    state.token = '';
    state.lastEventId = 0;
    state.runs.clear();
    state.failures = 0;
    disconnectEvents();
    if (state.view && state.view.unmount) state.view.unmount();
    state.view = null;
    document.getElementById('view').replaceChildren();
    document.getElementById('nav').hidden = true;
    document.getElementById('session').hidden = true;
    document.getElementById('approvals-count').replaceChildren();
    showBanner('');
    document.title = 'Sign in · Gantry';
    document.getElementById('signin').hidden = false;
    document.getElementById('signin-error').textContent = message || '';
    const input = document.getElementById('token-input');
    input.value = '';
    input.focus();
  }

  async function signIn(token) {
    const error = document.getElementById('signin-error');
    const button = document.getElementById('signin-button');
    error.textContent = '';
    if (!token) {
      error.textContent = 'Paste a token first.';
      return;
    }
    state.token = token;
    button.disabled = true;
    try {
      await api('GET', '/api/v1/runs?limit=1');
    } catch (e) {
      state.token = '';
      error.textContent = e.status === 401 ? 'The controller does not know this token.'
          : e.status === 403 ? 'This token may not read runs: ' + e.message
          : 'Could not sign in: ' + describe(e);
      return;
    } finally {
      button.disabled = false;
    }
    localStorage.setItem(TOKEN_KEY, token);
    document.getElementById('token-input').value = '';
    startSession();
    document.getElementById('main').focus();
  }

  function init() {
    document.getElementById('signin-form').addEventListener('submit', (e) => {
      e.preventDefault();
      signIn(document.getElementById('token-input').value.trim());
    });
    document.getElementById('sign-out').addEventListener('click', () => signOut('Signed out.'));
    document.getElementById('skip-link').addEventListener('click', (e) => {
      e.preventDefault();
      document.getElementById('main').focus();
    });
    window.addEventListener('hashchange', () => {
      if (location.hash === '' || location.hash.startsWith('#/')) route();
    });
    // Another tab signed out (or in).
    window.addEventListener('storage', (e) => {
      if (e.key !== TOKEN_KEY) return;
      if (!e.newValue && state.token) signOut('Signed out in another tab.');
    });
    setInterval(tick, POLL_MS);
    setInterval(tickDurations, 1000);
    state.token = localStorage.getItem(TOKEN_KEY) || '';
    if (state.token) startSession();
    else signOut('');
  }

  init();
})();
