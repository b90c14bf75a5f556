// The read-only timeline: the runs, and one run's steps, evidence, findings,
// cost, approvals and answer, updated live over Server-Sent Events. Every
// text from a run is set as textContent, never parsed as HTML.
'use strict';

const main = document.getElementById('main');
let current = null;  // {ns, name} while a run is shown
let pending = null;  // a refresh waiting (events come in bursts)

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

async function getJSON(url) {
  const r = await fetch(url, {cache: 'no-store'});
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
  return r.json();
}

function phaseSpan(phase, reason) {
  const s = el('span', 'phase phase-' + phase, phase + (reason ? ' (' + reason + ')' : ''));
  return s;
}

function ago(iso) {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 120) return s + 's ago';
  if (s < 7200) return Math.round(s / 60) + 'm ago';
  if (s < 172800) return Math.round(s / 3600) + 'h ago';
  return Math.round(s / 86400) + 'd ago';
}

async function renderList() {
  const data = await getJSON('/api/runs');
  const box = el('div', 'card');
  box.appendChild(el('h2', null, 'Runs'));
  if (data.runs.length === 0) {
    box.appendChild(el('p', 'muted', 'No DiagnosticRuns yet.'));
  } else {
    const table = el('table', null);
    table.id = 'runs';
    const head = el('tr', null);
    for (const h of ['Namespace', 'Name', 'Phase', 'Question', 'Target', 'Cost', 'Created']) head.appendChild(el('th', null, h));
    table.appendChild(head);
    for (const r of data.runs) {
      const tr = el('tr', 'run');
      tr.dataset.run = r.namespace + '/' + r.name;
      tr.appendChild(el('td', null, r.namespace));
      const name = el('td', null);
      const a = el('a', null, r.name);
      a.href = '#/' + encodeURIComponent(r.namespace) + '/' + encodeURIComponent(r.name);
      name.appendChild(a);
      tr.appendChild(name);
      const ph = el('td', null);
      ph.appendChild(phaseSpan(r.phase, r.reason));
      tr.appendChild(ph);
      tr.appendChild(el('td', null, r.question));
      tr.appendChild(el('td', null, r.target));
      tr.appendChild(el('td', null, r.cost ? '$' + r.cost : ''));
      tr.appendChild(el('td', 'muted', ago(r.created)));
      table.appendChild(tr);
    }
    box.appendChild(table);
  }
  main.replaceChildren(box);
}

function usageList(u, status) {
  const dl = el('dl', null);
  const add = (k, v) => { dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); };
  add('Cost', '$' + (u.costUSD || '0'));
  add('Tokens', String((u.promptTokens || 0) + (u.completionTokens || 0)) + ' (' + (u.llmCalls || 0) + ' model calls)');
  add('Tool calls', String(u.toolCalls || 0));
  add('Duration', ((u.durationMs || 0) / 1000).toFixed(1) + ' s');
  if (status.traceID) add('Trace', status.traceID);
  return dl;
}

async function renderRun(ns, name) {
  let data;
  try {
    data = await getJSON('/api/runs/' + encodeURIComponent(ns) + '/' + encodeURIComponent(name));
  } catch (e) {
    main.replaceChildren(el('p', 'muted', 'No run ' + ns + '/' + name + ' (' + e.message + ').'));
    return;
  }
  const st = data.status || {};
  const spec = data.spec || {};
  const frag = document.createDocumentFragment();

  const head = el('div', 'card');
  head.id = 'run';
  head.dataset.phase = data.summary.phase;
  head.appendChild(el('h2', null, spec.question || ''));
  const dl = el('dl', null);
  const add = (k, v) => { dl.appendChild(el('dt', null, k)); const dd = el('dd', null); if (v instanceof Node) dd.appendChild(v); else dd.textContent = v; dl.appendChild(dd); };
  add('Run', ns + '/' + name);
  const phase = phaseSpan(data.summary.phase, st.reason);
  phase.id = 'run-phase';
  add('Status', phase);
  if (st.message) add('Message', st.message);
  add('Target', data.summary.target || (spec.target ? spec.target.kind + '/' + (spec.target.name || '(selector)') : 'the namespace'));
  add('Model', spec.model || "the operator's default");
  if (spec.requester && spec.requester.username) add('Asked by', spec.requester.username);
  head.appendChild(dl);
  frag.appendChild(head);

  const usage = el('div', 'card');
  usage.appendChild(el('h3', null, 'Cost'));
  usage.appendChild(usageList(st.usage || {}, st));
  frag.appendChild(usage);

  const evidence = new Map((st.evidence || []).map((e) => [e.id, e]));
  const steps = el('div', 'card');
  steps.appendChild(el('h3', null, 'Timeline'));
  const ol = el('ol', 'timeline');
  ol.id = 'steps';
  for (const s of st.steps || []) {
    const li = el('li', 'step state-' + s.state);
    li.dataset.step = s.id;
    const what = s.node === 'tool' ? s.tool : s.node + (s.node === 'approval' && s.tool ? ' ' + s.tool : '');
    li.appendChild(el('div', 'what', '[' + s.id + '] ' + what + ' \u2014 ' + s.state));
    li.appendChild(el('div', 'meta', [s.startedAt || '', s.durationMs ? s.durationMs + ' ms' : '', s.tokens ? s.tokens + ' tokens' : '', s.reason || ''].filter(Boolean).join(' \u00b7 ')));
    if (s.summary) li.appendChild(el('div', null, s.summary));
    for (const id of s.evidence || []) {
      const e = evidence.get(id);
      if (!e) continue;
      const box = el('div', 'evidence');
      box.dataset.evidence = id;
      box.appendChild(el('span', 'evidence-id', id + ' '));
      box.appendChild(el('span', 'muted', e.ref + (e.truncated ? ' (truncated)' : '') + (e.redactions ? ' (' + e.redactions + ' redacted)' : '')));
      box.appendChild(el('pre', null, e.excerpt));
      li.appendChild(box);
    }
    ol.appendChild(li);
  }
  steps.appendChild(ol);
  frag.appendChild(steps);

  if ((st.findings || []).length) {
    const f = el('div', 'card');
    f.id = 'findings';
    f.appendChild(el('h3', null, 'Findings'));
    for (const x of st.findings) {
      const d = el('div', 'finding');
      d.appendChild(el('span', 'finding-id', x.id + ' '));
      d.appendChild(el('span', 'sev-' + x.severity, x.severity + (x.confidence ? ' ' + x.confidence + '%' : '') + ' '));
      d.appendChild(el('span', null, x.title + ' [' + (x.evidence || []).join(', ') + ']'));
      if (x.remediation) d.appendChild(el('pre', null, x.remediation));
      f.appendChild(d);
    }
    frag.appendChild(f);
  }
  if ((data.approvals || []).length) {
    const a = el('div', 'card');
    a.id = 'approvals';
    a.appendChild(el('h3', null, 'Approvals'));
    const t = el('table', null);
    for (const x of data.approvals) {
      const tr = el('tr', 'approval');
      for (const v of [x.name, 'step ' + x.stepID, x.tool, x.risk, x.phase + (x.decidedBy ? ' by ' + x.decidedBy : ''), x.comment || x.reason]) tr.appendChild(el('td', null, v));
      t.appendChild(tr);
    }
    a.appendChild(t);
    frag.appendChild(a);
  }
  if (st.answer) {
    const ans = el('div', 'card');
    ans.id = 'answer';
    ans.appendChild(el('h3', null, 'Answer'));
    ans.appendChild(el('pre', null, st.answer));
    frag.appendChild(ans);
  }
  main.replaceChildren(frag);
}

function route() {
  const m = location.hash.match(/^#\/([^/]+)\/([^/]+)$/);
  current = m ? {ns: decodeURIComponent(m[1]), name: decodeURIComponent(m[2])} : null;
  const done = current ? renderRun(current.ns, current.name) : renderList();
  done.catch((e) => main.replaceChildren(el('p', 'muted', 'Cannot load: ' + e.message)));
}

function refreshSoon(event) {
  if (current && event && (event.namespace !== current.ns || event.name !== current.name)) return;
  if (pending) return;
  pending = setTimeout(() => { pending = null; route(); }, 150);
}

window.addEventListener('hashchange', route);
const live = document.getElementById('live');
const source = new EventSource('/api/events');
source.addEventListener('open', () => { live.textContent = 'live'; live.classList.add('on'); });
source.addEventListener('error', () => { live.textContent = 'reconnecting'; live.classList.remove('on'); });
source.addEventListener('run', (m) => refreshSoon(JSON.parse(m.data)));
route();
