// While a request runs: its elapsed seconds, its progress (streamed by /v1/plan/progress) and a Cancel button.
// Cancelling (or a newer request) aborts the fetch; the server sees the client go and kills the worker(s)
// computing it (server/pool.py), and starts no further part.
"use strict";
function working(view, controller) {
  const status = $(`#${view}-status`), started = Date.now();
  const text = make("span", {id: `${view}-elapsed`}, "Working… 0 s");
  const cancel = make("button", {type: "button", id: `${view}-cancel`}, "Cancel");
  cancel.addEventListener("click", () => controller.abort());
  let part = "";
  const tick = () => { text.textContent = `Working… ${part}${Math.round((Date.now() - started) / 1000)} s`; };
  status.replaceChildren(text, " ", cancel);
  const timer = setInterval(tick, 1000);
  return {
    stop: () => { clearInterval(timer); status.replaceChildren(); },
    progress: (p) => {
      let bar = $(`#${view}-progress`);
      if (!bar) { bar = make("progress", {id: `${view}-progress`, "aria-label": "parts of the search done"}); status.prepend(bar, " "); }
      bar.max = p.total;
      bar.value = p.done;
      part = `${p.done} of ${p.total} parts of ${fmt.count(p.configurations)} configurations · `;
      tick();
    },
  };
}
// Newline-separated JSON objects: onLine for each progress line ({done, total}); returns the last other line.
async function readLines(response, onLine) {
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let buffer = "", last = null;
  for (;;) {
    const {value, done} = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), {stream: !done});
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = JSON.parse(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      if ("done" in line) onLine(line); else last = line;
    }
    if (done) return last;
  }
}
