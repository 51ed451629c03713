// Sift console. Hand-written, no framework, no build step. Everything shown
// comes from Sift's JSON API and goes into the page as text: elements are
// made with el()/svg(), strings become text nodes, attributes are set one
// by one and links are only made to http(s) URLs or the console's own
// paths. Nothing here parses HTML.
'use strict';
(function () {
  const page = document.body.dataset.page;
  const pageID = document.body.dataset.id;
  const TOKEN_KEY = 'sift.token';
  const ACTOR_KEY = 'sift.actor';
  const $ = (sel, root) => (root || document).querySelector(sel);
  const enc = encodeURIComponent;

  // ---- DOM helpers ---------------------------------------------------
  const SVGNS = 'http://www.w3.org/2000/svg';
  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (/^on/i.test(k) || k === 'style' || k === 'srcdoc') throw new Error('attribute not allowed: ' + k);
      if (k === 'href') {
        const u = safeURL(v);
        if (u) e.setAttribute('href', u);
        continue;
      }
      e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function append(e, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === undefined || k === null || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    return append(e, kids);
  }
  // put replaces the children of e (null, undefined and false are skipped).
  function put(e, ...kids) {
    e.replaceChildren();
    return append(e, kids);
  }
  function svg(tag, attrs, ...kids) {
    const e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    return append(e, kids);
  }
  // safeURL returns u if it is the console's own path or an http(s) URL,
  // else null (javascript:, data:, vbscript: ... never become links).
  function safeURL(u) {
    u = String(u || '');
    if (/^\/(?![\/\\])/.test(u)) return u;
    try {
      const p = new URL(u);
      if (p.protocol === 'http:' || p.protocol === 'https:') return p.href;
    } catch (e) { /* not a URL */ }
    return null;
  }
  // link: an <a> for a safe URL, else the text alone.
  function link(text, url, attrs) {
    const u = safeURL(url);
    if (!u) return el('span', attrs, text);
    const a = Object.assign({ href: u }, attrs || {});
    if (!u.startsWith('/')) Object.assign(a, { rel: 'noopener noreferrer nofollow', target: '_blank' });
    return el('a', a, text);
  }
  const incLink = (id, text) => link(text === undefined ? id : text, '/incidents/' + enc(id));
  function badge(text, cls) { return text ? el('span', { class: 'badge ' + (cls || '') }, text) : el('span', { class: 'muted' }, '—'); }
  const statusBadge = (s) => badge(s, 'st-' + s);
  const prioBadge = (p) => badge(p, 'p-' + p);

  // ---- time ------------------------------------------------------------
  const isZero = (t) => !t || t.startsWith('0001-');
  function dur(s) {
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm' + (s % 60 && m < 10 ? ' ' + (s % 60) + 's' : '');
    const h = Math.floor(m / 60);
    if (h < 48) return h + 'h' + (m % 60 ? ' ' + (m % 60) + 'm' : '');
    return Math.floor(h / 24) + 'd' + (h % 24 ? ' ' + (h % 24) + 'h' : '');
  }
  function ago(t) { return isZero(t) ? '' : dur((Date.now() - Date.parse(t)) / 1000) + ' ago'; }
  function when(t) { return isZero(t) ? '' : new Date(t).toLocaleString(); }
  function timeEl(t, text) { return isZero(t) ? el('span', { class: 'muted' }, '—') : el('time', { datetime: t, title: when(t) }, text || ago(t)); }

  // ---- API -------------------------------------------------------------
  class APIError extends Error { constructor(status, msg) { super(msg); this.status = status; } }
  async function api(method, path, body) {
    const h = { Accept: 'application/json' };
    const tok = sessionStorage.getItem(TOKEN_KEY);
    if (tok) h.Authorization = 'Bearer ' + tok;
    const opt = { method, headers: h, cache: 'no-store' };
    if (body !== undefined) {
      h['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(path, opt);
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    const msg = (data && data.error) || (r.status + ' ' + r.statusText);
    if (r.status === 401) {
      showLogin(tok ? 'That token was refused: ' + msg : '');
      throw new APIError(401, 'sign in first');
    }
    if (!r.ok) throw new APIError(r.status, msg);
    return data;
  }
  function setStatus(msg) { $('#status-line').textContent = msg || ''; }
  function fail(e) {
    if (e && e.status === 401) return;
    setStatus(e && e.message ? e.message : String(e));
  }
  function actor() { return ($('#actor').value || '').trim() || 'console'; }

  // ---- sign in ---------------------------------------------------------
  function showLogin(msg) {
    $('#login').hidden = false;
    $('#main').hidden = true;
    $('#login-error').textContent = msg || '';
    $('#token').focus();
  }
  function initChrome() {
    const a = $('#actor');
    a.value = localStorage.getItem(ACTOR_KEY) || '';
    a.addEventListener('change', () => localStorage.setItem(ACTOR_KEY, a.value.trim()));
    $('#login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim());
      location.reload();
    });
    const so = $('#signout');
    so.hidden = !sessionStorage.getItem(TOKEN_KEY);
    so.addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });
  }

  // ---- live updates ------------------------------------------------------
  // live calls onEvent(type, event) for every incident event of
  // GET /api/v1/stream: EventSource without a token; with one, a fetch
  // that reads the stream (EventSource cannot send Authorization). While
  // the stream is down, onEvent('poll') runs every 10 s.
  let liveOn = false;
  function setLive(on) {
    liveOn = on;
    const l = $('#live');
    if (l) {
      l.textContent = on ? 'live' : 'polling';
      l.classList.toggle('on', on);
    }
  }
  function live(onEvent) {
    const tok = sessionStorage.getItem(TOKEN_KEY);
    setLive(false);
    if (!tok && window.EventSource) {
      const es = new EventSource('/api/v1/stream');
      es.onopen = () => setLive(true);
      es.onerror = () => setLive(false);
      for (const t of ['opened', 'updated', 'classified', 'resolved', 'reopened', 'sla_breached', 'lagged']) {
        es.addEventListener(t, (ev) => {
          let d = null;
          try { d = JSON.parse(ev.data); } catch (e) { /* ignore */ }
          onEvent(t, d);
        });
      }
    } else {
      streamFetch(tok, onEvent);
    }
    setInterval(() => { if (!liveOn) onEvent('poll', null); }, 10000);
  }
  async function streamFetch(tok, onEvent) {
    for (;;) {
      try {
        const r = await fetch('/api/v1/stream', { headers: { Authorization: 'Bearer ' + tok, Accept: 'text/event-stream' }, cache: 'no-store' });
        if (!r.ok || !r.body) throw new Error('stream: ' + r.status);
        setLive(true);
        const rd = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await rd.read();
          if (done) break;
          buf += value.replace(/\r\n/g, '\n');
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let type = 'message', data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) type = line.slice(6).trim();
              else if (line.startsWith('data:')) data += line.slice(5).replace(/^ /, '');
            }
            if (data) {
              let d = null;
              try { d = JSON.parse(data); } catch (e) { /* ignore */ }
              onEvent(type, d);
            }
          }
        }
      } catch (e) { /* reconnect below */ }
      setLive(false);
      await new Promise((res) => setTimeout(res, 3000));
    }
  }
  function debounce(fn, ms) {
    let t = null;
    return () => { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  // ---- SLA -------------------------------------------------------------
  // slaState says what the SLA clock shows now: the next target's
  // countdown, or that it was breached.
  function slaState(sla, status) {
    if (!sla) return { text: '—', cls: 'muted' };
    const now = Date.now();
    let target = null, kind = '';
    if (status === 'open' && !isZero(sla.respondBy) && isZero(sla.respondedAt)) { target = sla.respondBy; kind = 'respond'; }
    else if (status !== 'resolved' && !isZero(sla.resolveBy)) { target = sla.resolveBy; kind = 'resolve'; }
    const missed = (sla.breaches || []).join(', ');
    if (!target) return sla.breached ? { text: 'breached (' + missed + ')', cls: 'sla-breached' } : { text: status === 'resolved' ? 'met' : '—', cls: 'sla-ok' };
    const left = (Date.parse(target) - now) / 1000;
    if (left < 0) return { text: kind + ' overdue by ' + dur(-left) + ' (breached)', cls: 'sla-breached' };
    return { text: kind + ' in ' + dur(left) + (sla.breached ? ' · breached: ' + missed : ''), cls: sla.breached ? 'sla-breached' : 'sla-ok' };
  }
  const clocks = []; // {node, sla, status}
  function slaEl(sla, status) {
    const s = slaState(sla, status);
    const e = el('span', { class: 'sla ' + s.cls, title: sla ? 'policy ' + sla.policy + ' ' + sla.priority + (isZero(sla.respondBy) ? '' : ', respond by ' + when(sla.respondBy)) + (isZero(sla.resolveBy) ? '' : ', resolve by ' + when(sla.resolveBy)) : '' }, s.text);
    if (sla) clocks.push({ node: e, sla, status });
    return e;
  }
  setInterval(() => {
    for (let i = clocks.length - 1; i >= 0; i--) {
      const c = clocks[i];
      if (!c.node.isConnected) { clocks.splice(i, 1); continue; }
      const s = slaState(c.sla, c.status);
      c.node.textContent = s.text;
      c.node.className = 'sla ' + s.cls;
    }
  }, 1000);

  // ---- the queue: / ---------------------------------------------------
  const PAGE = 50;
  const prioRank = (p) => (/^P[1-9]$/.test(p || '') ? Number(p[1]) : 99);
  function queuePage() {
    const form = $('#filters');
    const params = new URLSearchParams(location.search);
    const q = {
      status: params.has('status') ? params.get('status') : 'open',
      service: params.get('service') || '', team: params.get('team') || '',
      priority: params.get('priority') || '', sort: params.get('sort') || 'newest',
      offset: Math.max(0, Number(params.get('offset')) || 0),
    };
    $('#f-status').value = q.status;
    $('#f-service').value = q.service;
    $('#f-team').value = q.team;
    $('#f-priority').value = q.priority;
    $('#f-sort').value = q.sort;
    let rows = [], sel = 0, selID = null, total = 0, focusRows = false;

    function pushURL() {
      const p = new URLSearchParams();
      if (q.status !== 'open') p.set('status', q.status);
      for (const k of ['service', 'team', 'priority']) if (q[k]) p.set(k, q[k]);
      if (q.sort !== 'newest') p.set('sort', q.sort);
      if (q.offset) p.set('offset', q.offset);
      const s = p.toString();
      history.replaceState(null, '', s ? '?' + s : '/');
    }
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      q.status = $('#f-status').value;
      q.service = $('#f-service').value.trim();
      q.team = $('#f-team').value.trim();
      q.priority = $('#f-priority').value;
      q.sort = $('#f-sort').value;
      q.offset = 0;
      pushURL();
      load();
    });
    for (const id of ['#f-status', '#f-priority', '#f-sort']) $(id).addEventListener('change', () => form.requestSubmit());

    async function load() {
      const p = new URLSearchParams({ limit: PAGE, offset: q.offset });
      for (const k of ['status', 'service', 'team', 'priority']) if (q[k]) p.set(k, q[k]);
      try {
        const d = await api('GET', '/api/v1/incidents?' + p);
        rows = d.incidents || [];
        total = d.total || 0;
        if (q.sort === 'priority') rows = rows.map((r, i) => [r, i]).sort((a, b) => prioRank(a[0].priority) - prioRank(b[0].priority) || a[1] - b[1]).map((x) => x[0]);
        setStatus('');
        render();
      } catch (e) { fail(e); }
    }
    function render() {
      const body = $('#queue-body');
      const trs = rows.map((r) => {
        const svcs = r.services || [];
        const shown = svcs.slice(0, 4).join(', ') + (svcs.length > 4 ? ' +' + (svcs.length - 4) : '');
        return el('tr', { 'data-id': r.id, tabindex: -1 },
          el('td', { 'data-label': 'Priority' }, prioBadge(r.priority)),
          el('td', { class: 'title', 'data-label': 'Incident' }, incLink(r.id, r.title || r.id), el('div', { class: 'muted' }, el('code', null, r.id), r.assignee ? ' · ' + r.assignee : '')),
          el('td', { 'data-label': 'Status' }, statusBadge(r.status)),
          el('td', { 'data-label': 'Root cause' }, r.rootCause || el('span', { class: 'muted' }, '—')),
          el('td', { 'data-label': 'Services', title: svcs.join(', ') }, shown),
          el('td', { 'data-label': 'Team' }, r.team || el('span', { class: 'muted' }, '—')),
          el('td', { 'data-label': 'SLA' }, slaEl(r.sla, r.status)),
          el('td', { 'data-label': 'Alerts' }, String(r.alerts)),
          el('td', { 'data-label': 'Opened' }, timeEl(r.openedAt)));
      });
      body.replaceChildren(...trs);
      $('#empty').hidden = rows.length > 0;
      const i = selID ? rows.findIndex((r) => r.id === selID) : -1;
      select(i >= 0 ? i : Math.min(sel, rows.length - 1), false);
      $('#page-info').textContent = total ? (q.offset + 1) + '–' + (q.offset + rows.length) + ' of ' + total.toLocaleString() : '';
      $('#prev').disabled = q.offset === 0;
      $('#next').disabled = q.offset + rows.length >= total;
      $('#queue').setAttribute('aria-rowcount', String(total + 1));
      if (!performance.getEntriesByName('queue-rendered').length) performance.mark('queue-rendered'); // time to the first page
    }
    function select(i, focus) {
      const trs = $('#queue-body').children;
      if (!trs.length) { sel = 0; selID = null; return; }
      i = Math.max(0, Math.min(trs.length - 1, i));
      for (const tr of trs) { tr.classList.remove('sel'); tr.setAttribute('tabindex', '-1'); tr.removeAttribute('aria-selected'); }
      const tr = trs[i];
      tr.classList.add('sel');
      tr.setAttribute('tabindex', '0');
      tr.setAttribute('aria-selected', 'true');
      sel = i;
      selID = tr.dataset.id;
      if (focus || focusRows) { tr.focus(); tr.scrollIntoView({ block: 'nearest' }); }
    }
    function go(delta) { q.offset = Math.max(0, q.offset + delta * PAGE); sel = 0; selID = null; pushURL(); load(); }
    $('#prev').addEventListener('click', () => go(-1));
    $('#next').addEventListener('click', () => go(1));
    $('#queue-body').addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr');
      if (tr) select([...tr.parentNode.children].indexOf(tr), false);
    });
    document.addEventListener('keydown', (ev) => {
      if (ev.altKey || ev.ctrlKey || ev.metaKey || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(ev.target.tagName)) return;
      switch (ev.key) {
        case 'j': case 'ArrowDown': focusRows = true; select(sel + 1, true); break;
        case 'k': case 'ArrowUp': focusRows = true; select(sel - 1, true); break;
        case 'Enter': if (selID && ev.target.tagName !== 'A') location.href = '/incidents/' + enc(selID); else return; break;
        case 'n': if (!$('#next').disabled) go(1); break;
        case 'p': if (!$('#prev').disabled) go(-1); break;
        default: return;
      }
      ev.preventDefault();
    });
    const reload = debounce(load, 250);
    live(() => reload());
    load();
  }

  // ---- one incident: /incidents/{id} ----------------------------------
  function incidentPage() {
    const base = '/api/v1/incidents/' + enc(pageID);
    async function load() {
      try {
        // The topology gives the graph its edges; without it (an error,
        // a role that may not read it) the join reasons do.
        const [d, topo] = await Promise.all([api('GET', base + '?alerts_limit=200'), api('GET', '/api/v1/topology').catch(() => null)]);
        render(d, topo);
        setStatus('');
      } catch (e) {
        fail(e);
        if (e.status === 404) $('#inc-title').textContent = 'No incident ' + pageID;
      }
    }
    function dl(pairs) {
      const out = [];
      for (const [k, v, id] of pairs) {
        if (v === undefined || v === null || v === '') continue;
        out.push(el('dt', null, k), el('dd', id ? { id } : null, v));
      }
      return out;
    }
    function render(d, topo) {
      const inc = d.incident;
      const cls = d.classification || inc.classification || {};
      document.title = (inc.title || inc.id) + ' · Sift';
      put($('#inc-title'), inc.title || inc.id);
      const sum = d.alertsSummary || {};
      put($('#inc-summary'), ...dl([
        ['Status', statusBadge(inc.status), 'inc-status'],
        ['Id', el('code', null, inc.id)],
        ['Priority', prioBadge(cls.priority)],
        ['Team', cls.team || '—'],
        ['Category', cls.category],
        ['Assignee', inc.assignee],
        ['SLA', inc.sla ? slaEl(inc.sla, inc.status) : ''],
        ['Root cause', (inc.rootCause && inc.rootCause.service) || '—'],
        ['Services', (inc.services || []).join(', ')],
        ['Alerts', String(inc.alertCount) + (sum.byStatus ? ' (' + Object.entries(sum.byStatus).map(([k, v]) => v + ' ' + k).join(', ') + ')' : '')],
        ['Opened', timeEl(inc.openedAt, when(inc.openedAt))],
        ['Resolved', isZero(inc.resolvedAt) ? '' : timeEl(inc.resolvedAt, when(inc.resolvedAt))],
        ['Problem', inc.problem ? link(inc.problem, '/problems/' + enc(inc.problem)) : ''],
        ['Notes', inc.notes ? el('div', { class: 'annot' }, inc.notes) : ''],
      ]));
      $('#act-ack').disabled = inc.status !== 'open';
      $('#act-resolve').querySelector('button').disabled = inc.status === 'resolved';

      const page = d.alertsPage || {};
      put($('#explain tbody'), ...(d.explain || []).map((x) => el('tr', null,
        el('td', { 'data-label': 'Alert' }, x.alertname), el('td', { 'data-label': 'Service' }, x.service || '—'), el('td', { 'data-label': 'Joined' }, timeEl(x.joinedAt, when(x.joinedAt))),
        el('td', { 'data-label': 'Reason' }, badge(x.kind, 'kind')), el('td', { 'data-label': 'Score' }, Number(x.score).toFixed(2)), el('td', { class: 'why', 'data-label': 'Why' }, x.reason))));
      const more = $('#explain-more');
      if (more) more.remove();
      if (page.nextCursor) $('#explain').after(el('p', { class: 'muted', id: 'explain-more' }, 'The first ' + (d.explain || []).length + ' of ' + inc.alertCount + ' alerts.'));

      const rc = d.rootCause || inc.rootCause || {};
      const changes = rc.changes || [];
      put($('#root'), 
        el('p', null, 'Probable root cause: ', el('strong', { id: 'root-service' }, rc.service || 'unknown')),
        (rc.evidence || []).length ? el('ul', { id: 'evidence' }, rc.evidence.map((e) => el('li', null, e))) : null,
        changes.length ? el('div', { class: 'table-wrap' }, el('table', { id: 'changes' },
          el('caption', null, 'Changes shortly before the incident'),
          el('thead', null, el('tr', null, ['Service', 'Kind', 'Change', 'Relation', 'When', 'By'].map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', null, changes.map((c) => el('tr', null, el('td', null, c.service), el('td', null, c.kind),
            el('td', null, c.url ? link(c.summary || c.id, c.url) : (c.summary || c.id)), el('td', null, c.relation),
            el('td', null, c.beforeSeconds >= 0 ? dur(c.beforeSeconds) + ' before' : dur(-c.beforeSeconds) + ' after'), el('td', null, c.author || '')))))) : null);
      drawGraph(inc, topo);

      put($('#classification'), el('dl', { class: 'summary' }, dl([
        ['Team', cls.team], ['Category', cls.category], ['Priority', cls.priority],
        ['Confidence', cls.confidence !== undefined ? Math.round(cls.confidence * 100) + '%' : ''],
        ['Sources', (cls.sources || []).length ? el('ul', { class: 'plain' }, cls.sources.map((s) => el('li', null, s))) : ''],
      ])));
      const sim = cls.similar || [];
      put($('#similar'), ...(sim.length ? sim.map((n) => el('li', null, incLink(n.id, n.title || n.id), ' ',
        el('span', { class: 'muted' }, 'score ' + Number(n.score).toFixed(2) + (n.team ? ' · ' + n.team : '') + (n.category ? ' · ' + n.category : '')),
        n.resolution ? el('div', { class: 'annot' }, 'Resolution: ' + n.resolution) : null)) : [el('li', { class: 'muted' }, 'None yet.')]));
      const arts = d.articles || [];
      put($('#articles'), ...(arts.length ? arts.map((a) => el('li', { class: 'article' }, el('strong', null, a.title || a.id), ' ',
        el('code', null, a.id), ' ', el('span', { class: 'muted' }, 'score ' + Number(a.score).toFixed(2) + ((a.matched || []).length ? ' · matched: ' + a.matched.join(', ') : '')))) :
        [el('li', { class: 'muted' }, 'No runbook matches.')]));

      const tr = d.triage || inc.triage;
      $('#triage-section').hidden = !tr;
      if (tr) {
        put($('#triage'), 
          el('p', { class: 'notice' }, 'Written by an LLM (' + (tr.model || 'unknown model') + ', ' + when(tr.at) + '): check before acting.'),
          el('p', null, tr.summary), el('p', null, el('strong', null, 'Probable cause: '), tr.probableCause),
          (tr.nextSteps || []).length ? el('ol', null, tr.nextSteps.map((s) => el('li', null, s))) : null,
          (tr.team || tr.category || tr.priority) ? el('p', { class: 'muted' }, 'Proposed: ' + [tr.team, tr.category, tr.priority].filter(Boolean).join(' · ')) : null);
      }

      put($('#inc-alerts'), alertTable((d.alerts || []).map((a) => ({
        labels: a.labels || {}, annotations: a.annotations || {}, state: a.status, startsAt: a.startsAt,
        silencedBy: a.silencedBy || [], generatorURL: a.generatorURL, fingerprint: a.fingerprint,
      })), false));
      put($('#timeline'), ...(inc.timeline || []).slice().reverse().map((t) => el('li', null,
        timeEl(t.at, when(t.at)), ' ', el('strong', null, t.event), t.detail ? ': ' + t.detail : '',
        t.actor ? el('span', { class: 'muted' }, ' by ' + t.actor) : null, t.token ? el('span', { class: 'muted' }, ' (token ' + t.token + ')') : null)));
      $('#incident').setAttribute('aria-busy', 'false');
    }
    async function act(action, body, form) {
      const btns = form ? form.querySelectorAll('button') : [$('#act-ack')];
      btns.forEach((b) => { b.disabled = true; });
      try {
        await api('POST', base + '/' + action, Object.assign({ actor: actor() }, body));
        $('#act-result').textContent = action + ': done';
        if (form) form.reset();
      } catch (e) {
        $('#act-result').textContent = action + ': ' + e.message;
      }
      btns.forEach((b) => { b.disabled = false; });
      await load();
    }
    $('#act-ack').addEventListener('click', () => act('ack', {}));
    const onSubmit = (id, fn) => $(id).addEventListener('submit', (ev) => { ev.preventDefault(); fn(ev.target); });
    onSubmit('#act-assign', (f) => act('assign', { assignee: f.assignee.value.trim() }, f));
    onSubmit('#act-note', (f) => act('note', { note: f.note.value }, f));
    onSubmit('#act-resolve', (f) => act('resolve', f.note.value ? { note: f.note.value } : {}, f));
    onSubmit('#act-classify', (f) => {
      const b = {};
      for (const k of ['team', 'category', 'priority']) if (f[k].value.trim()) b[k] = f[k].value.trim();
      if (!Object.keys(b).length) { $('#act-result').textContent = 'reclassify: give a team, a category or a priority'; return; }
      act('classify', b, f);
    });
    const reload = debounce(load, 250);
    live((type, ev) => { if (!ev || !ev.incident || ev.incident.id === pageID) reload(); });
    load();
  }

  // graphEdges: the dependencies among the incident's services (names)
  // as {from, to, hops}: from depends on to. From the topology API
  // (GET /api/v1/topology: configured and learned edges, structured) when
  // it answered: an edge when from depends on to directly (1 hop) or
  // through services that are not in the incident (hops > 1, drawn
  // dashed). Without it (an error, a token that may not read it), from the
  // join reasons and the root-cause evidence ("checkout depends on payment
  // (1 hop)"), direct edges only.
  const MAXHOPS = 6;
  function graphEdges(inc, names, topo) {
    const edges = [];
    if (topo && topo.dependsOn && typeof topo.dependsOn === 'object') {
      const deps = new Map(Object.entries(topo.dependsOn).filter(([, v]) => Array.isArray(v)));
      for (const a of names) {
        const seen = new Map([[a, 0]]);
        const q = [a];
        while (q.length) {
          const x = q.shift();
          const h = seen.get(x);
          if (h >= MAXHOPS) continue;
          for (const b of deps.get(x) || []) {
            if (typeof b !== 'string' || seen.has(b)) continue;
            seen.set(b, h + 1);
            if (names.has(b)) edges.push({ from: a, to: b, hops: h + 1 }); // stop at a service of the incident
            else q.push(b);
          }
        }
      }
      return { source: 'topology', edges };
    }
    const sentences = (inc.members || []).map((m) => (m.reason && m.reason.detail) || '').concat((inc.rootCause && inc.rootCause.evidence) || []);
    const seen = new Set();
    for (const text of sentences) {
      const m = /^(\S+) depends on (\S+) \((\d+) hops?\)/.exec(text);
      if (!m || !names.has(m[1]) || !names.has(m[2]) || m[1] === m[2] || m[3] !== '1' || seen.has(m[1] + '\u0000' + m[2])) continue;
      seen.add(m[1] + '\u0000' + m[2]);
      edges.push({ from: m[1], to: m[2], hops: 1 });
    }
    return { source: 'reasons', edges };
  }

  // drawGraph draws the services of the incident as layers: the root
  // cause at the bottom, each other service above the one it depends on
  // (graphEdges), arrows from a service to the one it depends on; services
  // not connected to the root go on the top layer.
  function drawGraph(inc, topo) {
    const root = (inc.rootCause && inc.rootCause.service) || '';
    const members = inc.members || [];
    const names = new Set((inc.services || []).filter(Boolean));
    if (root) names.add(root);
    for (const m of members) if (m.service) names.add(m.service);
    const { source, edges } = graphEdges(inc, names, topo);
    const depth = new Map();
    if (root) depth.set(root, 0);
    const dependents = new Map(); // to -> [from]
    for (const e of edges) {
      if (!dependents.has(e.to)) dependents.set(e.to, []);
      dependents.get(e.to).push(e.from);
    }
    const queue = [...depth.keys()];
    while (queue.length) {
      const b = queue.shift();
      for (const a of dependents.get(b) || []) if (!depth.has(a)) { depth.set(a, depth.get(b) + 1); queue.push(a); }
    }
    let max = 0;
    for (const v of depth.values()) max = Math.max(max, v);
    for (const n of names) if (!depth.has(n)) depth.set(n, root ? max + 1 : 0);
    const layers = [];
    for (const [n, dd] of depth) (layers[dd] = layers[dd] || []).push(n);
    const MAXN = 40;
    let shown = 0;
    const rows = layers.filter(Boolean);
    // As wide as the widest layer needs (a chain stays narrow and
    // readable on a phone), at most 720.
    const widest = Math.min(MAXN, Math.max(1, ...rows.map((l) => l.length)));
    const W = Math.max(360, Math.min(720, widest * 190)), LH = 72, NH = 28;
    const H = rows.length * LH + 16;
    const pos = new Map();
    rows.forEach((layer, i) => {
      layer.sort();
      const y = H - 8 - NH - i * LH; // root layer at the bottom
      const n = Math.min(layer.length, MAXN - shown);
      for (let j = 0; j < n; j++) pos.set(layer[j], { x: (W / (n + 1)) * (j + 1), y });
      shown += n;
    });
    const says = edges.map((e) => e.from + ' depends on ' + e.to + (e.hops > 1 ? ' (' + e.hops + ' hops)' : ''));
    const g = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-labelledby': 'graph-title', 'data-edges-from': source },
      svg('title', { id: 'graph-title' }, 'Services of the incident: root cause ' + (root || 'unknown') + '; ' + [...names].join(', ') + (says.length ? '. ' + says.join('; ') + '.' : '')),
      svg('defs', null, svg('marker', { id: 'arrowhead', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow' }))));
    for (const e of edges) {
      const p = pos.get(e.from), q = pos.get(e.to);
      if (!p || !q) continue;
      const up = q.y > p.y ? 1 : -1;
      g.append(svg('line', { x1: p.x, y1: p.y + (up > 0 ? NH : 0), x2: q.x, y2: q.y + (up > 0 ? 0 : NH), class: 'edge' + (e.hops > 1 ? ' indirect' : ''),
        'marker-end': 'url(#arrowhead)', 'data-from': e.from, 'data-to': e.to, 'data-hops': e.hops },
      svg('title', null, e.from + ' depends on ' + e.to + (e.hops > 1 ? ' through ' + (e.hops - 1) + ' other service' + (e.hops > 2 ? 's' : '') : ''))));
    }
    for (const [n, p] of pos) {
      const w = Math.min(180, 16 + n.length * 7.2);
      g.append(svg('g', { class: 'node' + (n === root ? ' root' : ''), 'data-service': n },
        svg('rect', { x: p.x - w / 2, y: p.y, width: w, height: NH, rx: 5 }),
        svg('text', { x: p.x, y: p.y + 18, 'text-anchor': 'middle' }, n.length > 24 ? n.slice(0, 23) + '…' : n)));
    }
    put($('#graph'), g);
    if (names.size > MAXN) $('#graph').append(el('p', { class: 'muted' }, 'The first ' + MAXN + ' of ' + names.size + ' services.'));
    $('#graph-fig').hidden = names.size === 0;
  }

  // alertTable: alerts with labels and annotations as text (annotation
  // values that are http(s) URLs become links).
  function alertTable(alerts, withActions, onSilence) {
    const head = ['Alert', 'State', 'Labels', 'Annotations', 'Since'];
    if (withActions) head.push('');
    return el('div', { class: 'table-wrap' }, el('table', { class: 'alerts cards' },
      el('thead', null, el('tr', null, head.map((h) => el('th', { scope: 'col' }, h || el('span', { class: 'sr-only' }, 'Actions'))))),
      el('tbody', null, alerts.map((a) => el('tr', { 'data-fingerprint': a.fingerprint },
        el('td', { 'data-label': 'Alert' }, el('strong', null, a.labels.alertname || '(no alertname)'), a.generatorURL && safeURL(a.generatorURL) ? el('div', null, link('source', a.generatorURL)) : null),
        el('td', { 'data-label': 'State' }, statusBadge(a.state), a.silencedBy.length ? el('div', { class: 'muted' }, 'silenced by ', a.silencedBy.join(', ')) : null),
        el('td', { 'data-label': 'Labels' }, el('div', { class: 'labels' }, Object.entries(a.labels).filter(([k]) => k !== 'alertname').sort().map(([k, v]) => el('span', { class: 'label' }, k + '=' + v)))),
        el('td', { 'data-label': 'Annotations' }, Object.entries(a.annotations).sort().map(([k, v]) => el('div', { class: 'annot' }, el('span', { class: 'muted' }, k + ': '), /^https?:\/\//i.test(v) ? link(v, v) : v))),
        el('td', { 'data-label': 'Since' }, timeEl(a.startsAt)),
        withActions ? el('td', null, el('button', { type: 'button', class: 'silence', 'aria-label': 'Silence ' + (a.labels.alertname || 'this alert') + (a.labels.service ? ' on ' + a.labels.service : '') }, 'Silence')) : null)))));
  }

  // ---- alerts: /alerts ---------------------------------------------------
  function alertsPage() {
    let alerts = [], silences = null;
    function matches(a) {
      if (!$('#a-suppressed').checked && a.state === 'suppressed') return false;
      const f = $('#a-filter').value.trim().toLowerCase();
      if (!f) return true;
      const text = Object.entries(a.labels).map(([k, v]) => k + '=' + v).join(' ').toLowerCase();
      return f.split(/\s+/).every((w) => text.includes(w.replace(/"/g, '')));
    }
    function render() {
      const shown = alerts.filter(matches);
      const t = alertTable(shown, true);
      t.querySelectorAll('button.silence').forEach((b, i) => b.addEventListener('click', () => openSilence(shown[i])));
      $('#alerts').closest('.table-wrap').replaceWith(t);
      t.querySelector('table').id = 'alerts';
      $('#empty').hidden = shown.length > 0;
      const sil = (silences || []).filter((s) => s.status.state !== 'expired');
      put($('#silences tbody'), ...sil.map((s) => el('tr', { 'data-silence': s.id },
        el('td', null, el('div', { class: 'labels' }, s.matchers.map((m) => el('span', { class: 'label' }, m.name + (m.isEqual === false ? '!' : '=') + (m.isRegex ? '~' : '') + JSON.stringify(m.value))))),
        el('td', null, statusBadge(s.status.state)), el('td', null, timeEl(s.endsAt, when(s.endsAt))), el('td', null, s.createdBy), el('td', null, s.comment),
        el('td', null, el('button', { type: 'button', class: 'expire', 'aria-label': 'Expire silence ' + s.id }, 'Expire')))));
      $('#silences tbody').querySelectorAll('button.expire').forEach((b, i) => b.addEventListener('click', () => expire(sil[i])));
      $('#sil-empty').hidden = sil.length > 0;
      $('#sil-empty').textContent = silences === null ? 'Silences need an agent token.' : 'No silences.';
    }
    async function load() {
      try {
        const [as, ss] = await Promise.all([api('GET', '/api/v2/alerts'),
          api('GET', '/api/v2/silences').catch((e) => (e.status === 403 ? null : Promise.reject(e)))]);
        alerts = (as || []).map((a) => ({ labels: a.labels || {}, annotations: a.annotations || {}, state: a.status.state,
          silencedBy: a.status.silencedBy || [], startsAt: a.startsAt, generatorURL: a.generatorURL, fingerprint: a.fingerprint }))
          .sort((x, y) => Date.parse(y.startsAt) - Date.parse(x.startsAt));
        silences = ss;
        setStatus('');
        render();
      } catch (e) { fail(e); }
    }
    function openSilence(a) {
      const fs = $('#sil-matchers');
      const legend = fs.querySelector('legend');
      put(fs, legend, ...Object.entries(a.labels).sort().map(([k, v], i) => el('div', { class: 'action-row matcher' },
        el('input', { type: 'checkbox', id: 'm-use-' + i, 'data-name': k, checked: true, 'aria-label': 'Match on ' + k }),
        el('label', { for: 'm-val-' + i }, k + ' ='),
        el('input', { id: 'm-val-' + i, value: v, size: 30 }))));
      $('#silence-editor').hidden = false;
      $('#sil-comment').focus();
    }
    async function expire(s) {
      if (!confirm('Expire silence ' + s.id + '?')) return;
      try { await api('DELETE', '/api/v2/silence/' + enc(s.id)); } catch (e) { fail(e); }
      load();
    }
    $('#silence-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const ms = [...$('#sil-matchers').querySelectorAll('.matcher')].filter((r) => r.querySelector('input[type=checkbox]').checked)
        .map((r) => ({ name: r.querySelector('input[type=checkbox]').dataset.name, value: r.querySelector('input:not([type])').value, isRegex: false, isEqual: true }));
      if (!ms.length) { setStatus('A silence needs at least one matcher.'); return; }
      const now = new Date();
      const end = new Date(now.getTime() + Number($('#sil-duration').value) * 3600e3);
      try {
        await api('POST', '/api/v2/silences', { matchers: ms, startsAt: now.toISOString(), endsAt: end.toISOString(), createdBy: actor(), comment: $('#sil-comment').value });
        $('#silence-editor').hidden = true;
        $('#silence-form').reset();
      } catch (e) { fail(e); }
      load();
    });
    $('#sil-cancel').addEventListener('click', () => { $('#silence-editor').hidden = true; });
    $('#alert-filter').addEventListener('submit', (ev) => ev.preventDefault());
    $('#a-filter').addEventListener('input', render);
    $('#a-suppressed').addEventListener('change', render);
    // Live: every incident event of the stream (an alert that fires,
    // resolves or joins moves an incident) reloads the alerts; live()
    // polls only while the stream is down.
    const reload = debounce(load, 250);
    live(() => reload());
    load();
  }

  // ---- problems --------------------------------------------------------
  async function problemsPage() {
    try {
      const d = await api('GET', '/api/v1/problems');
      const ps = d.problems || [];
      put($('#problems tbody'), ...ps.map((p) => el('tr', null,
        el('td', null, link(p.title || p.id, '/problems/' + enc(p.id)), el('div', { class: 'muted' }, el('code', null, p.id))),
        el('td', null, String((p.incidents || []).length)), el('td', null, timeEl(p.firstSeen, when(p.firstSeen))), el('td', null, timeEl(p.lastSeen, when(p.lastSeen))))));
      $('#empty').hidden = ps.length > 0;
    } catch (e) { fail(e); }
  }
  async function problemPage() {
    try {
      const d = await api('GET', '/api/v1/problems/' + enc(pageID));
      const p = d.problem;
      put($('#problem-title'), p.title || p.id);
      put($('#problem-summary'), el('dt', null, 'Id'), el('dd', null, el('code', null, p.id)), el('dt', null, 'Signature'), el('dd', null, el('code', null, p.signature)),
        el('dt', null, 'First seen'), el('dd', null, when(p.firstSeen)), el('dt', null, 'Last seen'), el('dd', null, when(p.lastSeen)),
        el('dt', null, 'Incidents'), el('dd', null, String((p.incidents || []).length)));
      put($('#problem-incidents tbody'), ...(d.incidents || []).map((r) => el('tr', null,
        el('td', null, incLink(r.id, r.title || r.id)), el('td', null, statusBadge(r.status)), el('td', null, r.rootCause), el('td', null, String(r.alerts)),
        el('td', null, timeEl(r.openedAt, when(r.openedAt))), el('td', null, isZero(r.resolvedAt) ? '' : when(r.resolvedAt)))));
    } catch (e) {
      fail(e);
      if (e.status === 404) $('#problem-title').textContent = 'No problem ' + pageID;
    }
  }

  // ---- trends: SVG charts ------------------------------------------------
  const W = 720, H = 220, PL = 48, PR = 36, PT = 10, PB = 26;
  function nice(v) {
    if (v <= 0) return 1;
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e;
    return 10 * e;
  }
  function fmtNum(v) { return Math.abs(v) >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + 'k' : String(Math.round(v * 100) / 100); }
  // ticks: at most 7 times between t0 and t1 on whole hours or local
  // midnights (so that a date label stands for its day).
  function ticks(t0, t1) {
    const HR = 3600e3, DAY = 24 * HR;
    if (!(t1 > t0)) return [t0];
    const step = [HR, 2 * HR, 3 * HR, 6 * HR, 12 * HR, DAY, 2 * DAY, 7 * DAY, 14 * DAY].find((s) => (t1 - t0) / s <= 7) || 30 * DAY;
    const out = [];
    if (step < DAY) {
      for (let t = Math.ceil(t0 / HR) * HR; t <= t1; t += HR) if (new Date(t).getHours() % (step / HR) === 0) out.push(t);
    } else {
      const d = new Date(t0);
      d.setHours(0, 0, 0, 0);
      if (d.getTime() < t0) d.setDate(d.getDate() + 1);
      for (; d.getTime() <= t1; d.setDate(d.getDate() + step / DAY)) out.push(d.getTime());
    }
    return out.length ? out : [t0];
  }
  // timeChart: lines over time (series: {label, cls, values}), an optional
  // band ({lower, upper}) and dots (indices).
  function timeChart(box, title, times, series, opts) {
    opts = opts || {};
    const ts = times.map((t) => Date.parse(t));
    const t0 = Math.min(...ts), t1 = Math.max(...ts);
    let ymax = 0;
    for (const s of series) for (const v of s.values) if (v !== null && v !== undefined) ymax = Math.max(ymax, v);
    if (opts.band) for (const v of opts.band.upper) ymax = Math.max(ymax, v);
    ymax = opts.ymax || nice(ymax);
    const x = (t) => PL + (t1 === t0 ? (W - PL - PR) / 2 : ((t - t0) / (t1 - t0)) * (W - PL - PR));
    const y = (v) => PT + (1 - v / ymax) * (H - PT - PB);
    const g = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': title }, svg('title', null, title));
    for (let i = 0; i <= 4; i++) {
      const v = (ymax * i) / 4;
      g.append(svg('line', { x1: PL, x2: W - PR, y1: y(v), y2: y(v), class: 'grid' }),
        svg('text', { x: PL - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, (opts.yfmt || fmtNum)(v)));
    }
    for (const t of ticks(t0, t1)) {
      const d = new Date(t);
      const label = (t1 - t0) > 2 * 86400e3 ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
      g.append(svg('text', { x: x(t), y: H - 8, 'text-anchor': 'middle', class: 'axis' }, label));
    }
    if (opts.band) {
      const up = ts.map((t, i) => x(t) + ',' + y(opts.band.upper[i]));
      const lo = ts.map((t, i) => x(t) + ',' + y(opts.band.lower[i])).reverse();
      g.append(svg('polygon', { points: up.concat(lo).join(' '), class: 'band', 'data-points': ts.length }));
    }
    for (const s of series) {
      const pts = [];
      let smax = 0;
      s.values.forEach((v, i) => { if (v !== null && v !== undefined) { pts.push(x(ts[i]) + ',' + y(v)); smax = Math.max(smax, v); } });
      // data-* say what was drawn (tests read them).
      if (pts.length) g.append(svg('polyline', { points: pts.join(' '), class: s.cls, 'data-series': s.label, 'data-points': pts.length, 'data-max': smax }));
    }
    for (const i of opts.dots || []) if (series[opts.dotSeries || 0].values[i] != null) g.append(svg('circle', { cx: x(ts[i]), cy: y(series[opts.dotSeries || 0].values[i]), r: 4, class: 'dot' }));
    put(box, g, legend(series, opts.band ? opts.bandLabel : null));
  }
  function legend(series, bandLabel) {
    return el('div', { class: 'legend' }, series.map((s) => el('span', null, el('span', { class: 'sw sw' + s.cls.slice(1) }), s.label)),
      bandLabel ? el('span', null, el('span', { class: 'sw swb' }), bandLabel) : null);
  }
  // barChart: horizontal bars, two series per group (values in seconds).
  function barChart(box, title, groups, labels) {
    if (!groups.some((g) => g.values.some((v) => v > 0))) {
      put(box, el('h3', null, title), el('p', { class: 'muted' }, 'No incident acknowledged or resolved in this range yet.'));
      return;
    }
    const BH = 12, GH = 2 * BH + 12, LW = 120;
    const h = groups.length * GH + 30;
    let max = 0;
    for (const g of groups) for (const v of g.values) max = Math.max(max, v || 0);
    max = nice(max / 60) * 60 || 60;
    const sx = (v) => LW + (v / max) * (W - LW - 80);
    const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + h, width: W, height: h, role: 'img', 'aria-label': title }, svg('title', null, title));
    groups.forEach((g, i) => {
      const y0 = 10 + i * GH;
      s.append(svg('text', { x: LW - 8, y: y0 + BH + 4, 'text-anchor': 'end' }, g.label.length > 18 ? g.label.slice(0, 17) + '…' : g.label));
      g.values.forEach((v, j) => {
        s.append(svg('rect', { x: LW, y: y0 + j * BH, width: Math.max(1, sx(v || 0) - LW), height: BH - 2, class: 'b' + (j + 1), 'data-series': labels[j], 'data-group': g.label, 'data-value': v || 0 }, svg('title', null, labels[j] + ' ' + g.label + ': ' + dur(v || 0))),
          svg('text', { x: sx(v || 0) + 4, y: y0 + j * BH + BH - 3 }, v ? dur(v) : '—'));
      });
    });
    put(box, el('h3', null, title), s, legend(labels.map((l, j) => ({ label: l, cls: 's' + (j + 1) }))));
  }
  function trendsPage() {
    const params = new URLSearchParams(location.search);
    const since = params.get('since') || '7d';
    $('#t-since').value = since;
    const step = { '24h': '1h', '7d': '6h', '30d': '1d' }[since] || '6h';
    $('#trend-range').addEventListener('submit', (ev) => {
      ev.preventDefault();
      location.search = '?since=' + enc($('#t-since').value);
    });
    $('#fc-form').addEventListener('submit', (ev) => { ev.preventDefault(); forecast($('#fc-key').value.trim()); });
    const A = '/api/v1/analytics/';
    async function forecast(key) {
      const box = $('#chart-forecast');
      if (!key) { put(box, el('p', { class: 'muted' }, 'No service to forecast yet.')); return; }
      try {
        const f = await api('GET', A + 'forecast?by=service&key=' + enc(key) + '&lookback=' + enc(since === '24h' ? '7d' : since) + '&step=1h&horizon=24h');
        const pts = (f.history || []).concat(f.forecast || []);
        if (!pts.length) { put(box, el('p', { class: 'muted' }, 'Not enough history to forecast ' + key + '.')); return; }
        const dots = [];
        pts.forEach((p, i) => { if (p.anomaly) dots.push(i); });
        timeChart(box, 'Forecast of alert volume for ' + key + ' (' + f.method + '): expected with its band, and actual', pts.map((p) => p.t),
          [{ label: 'actual', cls: 's2', values: pts.map((p) => (p.actual === undefined ? null : p.actual)) },
            { label: 'expected', cls: 's1', values: pts.map((p) => p.expected) }],
          { band: { lower: pts.map((p) => p.lower), upper: pts.map((p) => p.upper) }, bandLabel: 'expected band', dots, dotSeries: 0 });
        box.append(el('p', { class: 'muted' }, (f.anomalies || []).length + ' buckets outside the band (red dots).'));
      } catch (e) { put(box, el('p', { class: 'error' }, 'Forecast: ' + e.message)); }
    }
    (async () => {
      try {
        const [vol, noise, team, prio, bySvc] = await Promise.all([
          api('GET', A + 'volume?since=' + since + '&step=' + step),
          api('GET', A + 'noise?since=' + since + '&step=' + step),
          api('GET', A + 'response?since=' + since + '&by=team'),
          api('GET', A + 'response?since=' + since + '&by=priority'),
          api('GET', A + 'volume?since=' + since + '&step=' + step + '&by=service&limit=1'),
        ]);
        const series = vol.series || [];
        const has = series.some((s) => s.points.some((p) => p.alerts || p.incidents));
        $('#no-history').hidden = has;
        const pts = series.length ? series[0].points : [];
        const times = pts.map((p) => p.t);
        const sum = (f) => pts.map((_, i) => series.reduce((a, s) => a + f(s.points[i] || {}), 0));
        if (times.length) {
          timeChart($('#chart-volume'), 'Alert episodes and incidents per ' + step, times,
            [{ label: 'alert episodes', cls: 's1', values: sum((p) => p.alerts || 0) }, { label: 'incidents', cls: 's2', values: sum((p) => p.incidents || 0) }]);
        }
        const np = noise.points || [];
        if (np.length) {
          timeChart($('#chart-noise'), 'Noise reduction per ' + step + ' (1 − incidents / notifications)', np.map((p) => p.t),
            [{ label: 'reduction', cls: 's1', values: np.map((p) => (p.notifications ? p.reduction * 100 : null)) }], { ymax: 100, yfmt: (v) => v + '%' });
        }
        const t = noise.total || {};
        $('#chart-noise').append(el('p', null, (t.notifications || 0).toLocaleString() + ' notifications, ' + (t.alerts || 0).toLocaleString() + ' alert episodes → ' +
          (t.incidents || 0).toLocaleString() + ' incidents' + (t.notifications ? ': ' + Math.round(t.reduction * 1000) / 10 + '% fewer pages, ' + (Math.round(t.compression * 10) / 10) + ' alerts per incident' : '') + '.'));
        const groups = (r, key) => (r.groups || []).map((g) => ({ label: g[key] || '(none)', values: [g.mtta.count ? g.mtta.mean : 0, g.mttr.count ? g.mttr.mean : 0] }));
        barChart($('#chart-team'), 'By team (mean)', groups(team, 'team'), ['MTTA', 'MTTR']);
        barChart($('#chart-priority'), 'By priority (mean)', groups(prio, 'priority'), ['MTTA', 'MTTR']);
        const top = (bySvc.series || []).find((s) => s.key);
        $('#fc-key').value = top ? top.key : '';
        forecast(top ? top.key : '');
      } catch (e) {
        if (e.status === 403) setStatus('Trends need an analyst token: ' + e.message);
        else fail(e);
      }
    })();
  }

  initChrome();
  ({ queue: queuePage, incident: incidentPage, problems: problemsPage, problem: problemPage, trends: trendsPage, alerts: alertsPage }[page] || (() => {}))();
})();
