// pave dashboard: filters the services grid as you type and keeps it live
// by polling /rows. It builds no HTML itself: the rows come rendered (and
// escaped) by the server.
"use strict";
(function () {
  const form = document.getElementById("filters");
  if (!form) return;
  const q = document.getElementById("q");
  const sel = { team: document.getElementById("team"), template: document.getElementById("template"), phase: document.getElementById("phase") };
  const live = document.getElementById("live");
  let version = live.dataset.version || "";

  function apply() {
    const text = q.value.trim().toLowerCase();
    const team = sel.team.value, tmpl = sel.template.value, phase = sel.phase.value;
    let shown = 0;
    for (const tr of live.querySelectorAll("#grid tbody tr")) {
      const d = tr.dataset;
      const ok = (!team || d.team === team) && (!tmpl || d.template === tmpl) &&
        (!phase || d.phases.split(" ").includes(phase)) && (!text || d.q.includes(text));
      if (tr.hidden === ok) tr.hidden = !ok;
      if (ok) shown++;
    }
    const s = document.getElementById("shown");
    if (s) s.textContent = String(shown);
  }

  function params() {
    const p = new URLSearchParams();
    if (q.value) p.set("q", q.value);
    for (const [k, s] of Object.entries(sel)) if (s.value) p.set(k, s.value);
    return p;
  }

  let timer = 0;
  function changed() {
    clearTimeout(timer);
    timer = setTimeout(() => {
      apply();
      const p = params().toString();
      history.replaceState(null, "", p ? "/?" + p : "/");
    }, 60);
  }
  q.addEventListener("input", changed);
  for (const s of Object.values(sel)) s.addEventListener("change", changed);
  form.addEventListener("submit", (e) => { e.preventDefault(); changed(); });
  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && document.activeElement !== q && !e.ctrlKey && !e.metaKey) { e.preventDefault(); q.focus(); }
    if (e.key === "Escape" && document.activeElement === q) { q.value = ""; changed(); }
  });

  async function poll() {
    if (!document.hidden) {
      try {
        const p = params();
        p.set("v", version);
        const r = await fetch("/rows?" + p.toString(), { cache: "no-store", credentials: "same-origin" });
        if (r.status === 200) {
          const html = await r.text();
          version = r.headers.get("X-Pave-Version") || "";
          const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("#live") ? document.activeElement.getAttribute("href") : null;
          live.innerHTML = html;
          apply();
          if (focused) { const a = live.querySelector('a[href="' + CSS.escape(focused) + '"]'); if (a) a.focus(); }
          document.body.dataset.updated = String(Date.now());
        } else if (r.status === 204) {
          version = r.headers.get("X-Pave-Version") || version;
        }
      } catch (e) { /* the next poll tries again */ }
    }
    setTimeout(poll, Number(document.body.dataset.poll) || 5000);
  }
  apply();
  setTimeout(poll, Number(document.body.dataset.poll) || 5000);
})();
