// The console: the alarm queue live (server-sent events), the alarm's picture and verified clip,
// acknowledgement, commands, and the fleet. Every value from the server is set as text, never
// as HTML.
"use strict";

const state = { me: null, queue: [], selected: null, current: null, devices: [] };
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function api(path, options = {}) {
  const init = { credentials: "same-origin", ...options };
  if (init.body !== undefined) {
    init.method = init.method || "POST";
    init.headers = { "Content-Type": "application/json", "X-CSRF-Token": state.me ? state.me.csrf : "" };
    init.body = JSON.stringify(init.body);
  }
  const r = await fetch(path, init);
  if (r.status === 401) {
    location.href = "/login";
    throw new Error("logged out");
  }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// ---- the queue ---------------------------------------------------------------------------------

function renderQueue() {
  const list = $("queue");
  list.replaceChildren();
  const open = state.queue.filter((e) => e.queue === "open").length;
  $("queue-count").textContent = `(${open} waiting, ${state.queue.length - open} acknowledged)`;
  for (const e of state.queue) {
    const li = el("li", null, `alarm p${e.priority} ${e.queue}`);
    li.dataset.id = e.id;
    li.dataset.type = e.type;
    if (state.selected === e.id) li.classList.add("selected");
    li.append(el("span", e.priority_name.toUpperCase(), "rank"), el("strong", e.type.replace(/_/g, " ")),
              el("span", `${e.site}/${e.device}${e.zone ? " zone " + e.zone : ""}`, "where"),
              el("time", e.received.substring(11, 19)));
    if (e.verified === 0) li.append(el("span", "UNVERIFIED", "warn"));
    if (e.queue === "acked") li.append(el("span", `ack ${e.acked_by}`, "acked"));
    if (e.snapshot_event) {
      const img = el("img", null, "thumb");
      img.alt = "snapshot";
      img.src = `/api/events/${e.snapshot_event}/snapshot`;
      li.append(img);
    }
    li.addEventListener("click", () => select(e.id));
    list.append(li);
  }
}

async function loadQueue() {
  state.queue = await api("/api/queue");
  renderQueue();
  if (state.selected) await select(state.selected, true);
}

let audio;
function panicAlarm(e) {
  // A panic: a tone the operator cannot miss, and the card flashes until acknowledged.
  try {
    audio = audio || new AudioContext();
    for (const [at, freq] of [[0, 880], [0.25, 660], [0.5, 880]]) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = freq;
      g.gain.value = 0.2;
      o.connect(g).connect(audio.destination);
      o.start(audio.currentTime + at);
      o.stop(audio.currentTime + at + 0.2);
    }
  } catch (err) { /* no sound device: the highlight still shows */ }
  document.body.classList.add("panic-alert");
  setTimeout(() => document.body.classList.remove("panic-alert"), 5000);
  document.title = `PANIC ${e.site}/${e.device} · Assure 24`;
}

function upsert(e) {
  const i = state.queue.findIndex((q) => q.id === e.id);
  const queued = e.queue === "open" || e.queue === "acked";
  if (i >= 0 && !queued) state.queue.splice(i, 1);
  else if (i >= 0) state.queue[i] = e;
  else if (queued) state.queue.push(e);
  state.queue.sort((a, b) => (a.queue === b.queue ? 0 : a.queue === "open" ? -1 : 1) || a.priority - b.priority ||
                             a.received.localeCompare(b.received));
  renderQueue();
}

// ---- one alarm ---------------------------------------------------------------------------------

function fact(dl, name, value) {
  dl.append(el("dt", name), el("dd", value));
}

async function select(id, quiet) {
  state.selected = id;
  const e = await api(`/api/events/${id}`);
  state.current = e;
  renderQueue();
  $("detail").hidden = false;
  $("no-detail").hidden = true;
  $("detail-title").textContent = `${e.type.replace(/_/g, " ")} at ${e.site}/${e.device}`;
  const facts = $("detail-facts");
  facts.replaceChildren();
  fact(facts, "Priority", e.priority_name);
  fact(facts, "Device time", e.time);
  fact(facts, "Received", e.received);
  fact(facts, "Source", e.source + (e.zone ? ` (zone ${e.zone})` : ""));
  fact(facts, "Signature", e.verified === 1 ? "verified: the device's enrolled key" : e.verified === 2 ? "raised by the control room" : "UNVERIFIED: no key enrolled");
  fact(facts, "Details", JSON.stringify(e.details));
  if (e.acked_by) fact(facts, "Acknowledged", `${e.acked_by} at ${e.acked_at}: ${e.note}`);
  if (e.closed_by) fact(facts, "Closed", `${e.closed_by} at ${e.closed_at}: ${e.outcome}`);
  $("ack-form").hidden = e.queue !== "open";
  $("close-form").hidden = e.queue !== "acked";
  $("resend").hidden = !e.clip;
  const snap = e.snapshot_event;
  $("snapshot-box").hidden = !snap;
  if (snap) {
    $("snapshot").src = `/api/events/${snap}/snapshot`;
    $("snapshot-caption").textContent = snap === e.id ? "its snapshot" : "the device's snapshot nearest the alarm";
  }
  await showClip(e, quiet);
}

async function showClip(e, quiet) {
  const box = $("clip-box");
  box.hidden = !e.clip;
  if (!e.clip) return;
  const path = `/api/clips/${encodeURIComponent(e.site)}/${encodeURIComponent(e.device)}/${encodeURIComponent(e.clip)}`;
  const v = $("verification");
  v.replaceChildren();
  let c;
  try {
    c = await api(path);
  } catch (err) {
    fact(v, "Clip", `${e.clip}: not here yet (${err.message})`);
    $("clip").removeAttribute("src");
    $("export").hidden = true;
    return;
  }
  fact(v, "Clip", c.clip);
  fact(v, "Verified", c.verified ? "yes: signature, every chunk and the whole file checked now" : `NO: ${c.error}`);
  fact(v, "Device key", c.key);
  if (c.manifest) {
    fact(v, "Chain position", `#${c.manifest.index}`);
    fact(v, "Previous manifest", c.manifest.previous || "(the first)");
    fact(v, "Manifest hash", c.manifest.hash);
    fact(v, "Clip SHA-256", c.manifest.sha256);
    fact(v, "Recorded", `${c.manifest.start_utc} to ${c.manifest.end_utc} (${c.manifest.frames} frames)`);
  }
  fact(v, "On arrival", c.message);
  const video = $("clip");
  if (!quiet || video.getAttribute("src") !== path + "/video") video.src = path + "/video";
  const exp = $("export");
  exp.hidden = state.me.role !== "supervisor";
  exp.href = path + "/export";
}

async function act(path, body) {
  const out = $("action-result");
  out.textContent = "";
  try {
    await api(path, { body });
    out.textContent = "done";
    return true;
  } catch (err) {
    out.textContent = err.message;
    return false;
  }
}

$("ack-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (await act(`/api/events/${state.selected}/ack`, { note: $("note").value })) $("note").value = "";
  await loadQueue();
});
$("close-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (await act(`/api/events/${state.selected}/close`, { outcome: $("outcome").value })) $("outcome").value = "";
  await loadQueue();
});
// Commands go to the selected alarm's device; the service signs them, the device answers on its
// reply topic (audited).
async function command(name, args) {
  const e = state.current;
  if (!e) return;
  const ok = await act("/api/commands", { site: e.site, device: e.device, name, args });
  if (ok) $("action-result").textContent = `${name} sent to ${e.site}/${e.device}`;
}
for (const b of document.querySelectorAll("#commands button")) {
  b.addEventListener("click", () => {
    const args = b.dataset.command === "resend_clip" ? { clip: state.current.clip } : JSON.parse(b.dataset.args || "{}");
    command(b.dataset.command, args);
  });
}
$("output-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  command("outputs", { output: $("output-name").value, state: $("output-state").value, seconds: 600 });
});

// ---- the fleet ---------------------------------------------------------------------------------

async function loadDevices() {
  state.devices = await api("/api/devices");
  const body = document.querySelector("#devices tbody");
  body.replaceChildren();
  for (const d of state.devices) {
    const hb = d.heartbeat || {};
    const tr = el("tr", null, `device ${d.state} supervision-${d.supervision}`);
    tr.dataset.device = `${d.site}/${d.device}`;
    const temp = hb.temperature_c === undefined || hb.temperature_c === null ? "–" : `${hb.temperature_c} °C`;
    for (const cell of [`${d.site}/${d.device}`, d.state + (d.state_reason ? ` (${d.state_reason})` : ""),
                        d.supervision === "missed" ? "MISSED" : "ok", d.last_heartbeat || "never",
                        hb.video || "–", hb.storage || "–", temp]) {
      tr.append(el("td", cell));
    }
    tr.addEventListener("click", () => history(d.site, d.device));
    body.append(tr);
  }
}

async function history(site, device) {
  const d = await api(`/api/devices/${encodeURIComponent(site)}/${encodeURIComponent(device)}`);
  $("history").hidden = false;
  $("history-title").textContent = `${site}/${device}: firmware ${d.firmware || "?"}, board ${d.board || "?"}`;
  const list = $("history-list");
  list.replaceChildren();
  const rows = [...d.history.map((h) => [h.at, `${h.state} ${h.detail}`]),
                ...d.events.map((e) => [e.received, `${e.type} (${e.priority_name})`]),
                ...d.gaps.map((g) => [g.at, `GAP: ${g.message}`])];
  rows.sort((a, b) => b[0].localeCompare(a[0]));
  for (const [at, text] of rows.slice(0, 100)) list.append(el("li", `${at.substring(0, 19)}  ${text}`));
}

// ---- live --------------------------------------------------------------------------------------

let devicesSoon = null;
function live() {
  const source = new EventSource("/api/live");
  source.onopen = () => {
    $("live").textContent = "live";
    $("live").className = "live on";
  };
  source.onerror = () => {
    $("live").textContent = "reconnecting…";
    $("live").className = "live off";
  };
  source.addEventListener("reload", () => { loadQueue(); loadDevices(); });
  source.onmessage = (m) => {
    const u = JSON.parse(m.data);
    if (u.kind === "event") {
      const known = state.queue.some((q) => q.id === u.data.id);
      upsert(u.data);
      if (!known && u.data.priority === 0 && u.data.queue === "open") panicAlarm(u.data);
      if (state.selected === u.data.id) select(u.data.id, true);
    } else if (u.kind === "evidence" && u.data.status === "verified") {
      loadQueue();  // a picture or a clip arrived for something on it
    } else if (u.kind === "reload") {
      loadQueue();
      loadDevices();
    } else if (u.kind === "device") {
      clearTimeout(devicesSoon);
      devicesSoon = setTimeout(loadDevices, 300);
    }
  };
}

async function start() {
  state.me = await api("/api/me");
  $("who").textContent = `${state.me.name} (${state.me.role})`;
  document.body.classList.add(`role-${state.me.role}`);
  $("logout").addEventListener("click", async () => {
    await api("/api/logout", { body: {} }).catch(() => {});
    location.href = "/login";
  });
  await Promise.all([loadQueue(), loadDevices()]);
  live();
}
start();
