// The console in real headless Chromium (Debian's, driven by playwright-core): log in, a panic
// from a real daemon on the sim board on the queue within a second with its snapshot,
// acknowledge it with a note, play the verified clip, and an operator who may not export cannot.
// A screenshot of the console is saved as the test's artefact.
//
// Environment: CONSOLE (http://127.0.0.1:PORT), ARTIFACTS (a folder), READY (a file to write once
// logged in: the script then starts the device), SUPERVISOR and OPERATOR ("name:password").

import { chromium } from "playwright-core";
import { writeFileSync, mkdirSync } from "node:fs";

const base = process.env.CONSOLE;
const artifacts = process.env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });
const [supName, supPass] = process.env.SUPERVISOR.split(":");
const [opName, opPass] = process.env.OPERATOR.split(":");
const checks = [];
function check(ok, what) {
  checks.push([ok, what]);
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") console.log(`page: ${m.text()}`); });

  // Log in: the console is behind the login page.
  await page.goto(base + "/");
  check(page.url().endsWith("/login"), "an unauthenticated browser is sent to the login page");
  await page.fill("#name", supName);
  await page.fill("#password", "not the password");
  await page.click("#submit");
  await page.waitForFunction(() => document.getElementById("error").textContent.length > 0);
  check((await page.textContent("#error")).includes("wrong name or password"), "a wrong password is refused");
  await page.fill("#password", supPass);
  await page.click("#submit");
  await page.waitForURL(base + "/");
  await page.waitForSelector("#live.on", { timeout: 10000 });
  check((await page.textContent("#who")).includes(`${supName} (supervisor)`), "logged in as the supervisor, the live stream open");
  writeFileSync(process.env.READY, "ready\n");

  // The panic: on the queue, flashing, with its snapshot.
  const card = await page.waitForSelector("li.alarm[data-type=panic]", { timeout: 60000 });
  const seenAt = Date.now();
  const id = await card.getAttribute("data-id");
  const event = await page.evaluate(async (i) => (await fetch(`/api/events/${i}`)).json(), id);
  const latency = seenAt - Date.parse(event.time);
  check(latency >= 0 && latency <= 1000, `the panic was on the queue ${latency} ms after the device raised it (at most 1000)`);
  check(await card.evaluate((c) => c.classList.contains("p0") && c.classList.contains("open")), "it is ranked a panic and highlighted");
  check(await page.evaluate(() => document.body.classList.contains("panic-alert") || document.title.startsWith("PANIC")),
        "the console raised its panic alert");
  const firstCard = await page.$eval("#queue li", (li) => li.dataset.type);
  check(firstCard === "panic", "the panic is first on the queue");
  await page.waitForFunction((i) => {
    const img = document.querySelector(`li.alarm[data-id="${i}"] img.thumb`);
    return img && img.complete && img.naturalWidth > 0;
  }, id, { timeout: 10000, polling: 20 });
  const pictured = Date.now() - Date.parse(event.time);
  check(pictured <= 1000, `its snapshot was beside it ${pictured} ms after the panic (at most 1000)`);

  // Acknowledge it with a note.
  await page.click(`li.alarm[data-id="${id}"]`);
  await page.waitForSelector("#ack-form:not([hidden])");
  await page.fill("#note", "Rang the client: no answer. Police called, ref 4471.");
  await page.click("#ack");
  await page.waitForSelector(`li.alarm[data-id="${id}"].acked`, { timeout: 5000 });
  const acked = await page.evaluate(async (i) => (await fetch(`/api/events/${i}`)).json(), id);
  check(acked.acked_by === supName && acked.note.includes("ref 4471"), "acknowledged with the operator's name and note");

  // The verified clip plays in the page.
  let clipEvent = null;
  for (let tries = 0; clipEvent === null && tries < 120; ++tries) {
    clipEvent = await page.evaluate(async () => {
      const q = await (await fetch("/api/queue")).json();
      for (const e of q.filter((x) => x.clip)) {
        const r = await fetch(`/api/clips/${e.site}/${e.device}/${e.clip}`);
        if (r.ok && (await r.json()).verified) return e.id;
      }
      return null;
    });
    if (clipEvent === null) await new Promise((r) => setTimeout(r, 500));
  }
  check(clipEvent !== null, "a clip arrived and verified");
  await page.click(`li.alarm[data-id="${clipEvent}"]`);
  await page.waitForFunction(() => document.getElementById("verification").textContent.includes("yes: signature"), null,
                             { timeout: 10000 });
  const played = await page.evaluate(async () => {
    const v = document.getElementById("clip");
    if (v.readyState < 1) await new Promise((r) => v.addEventListener("loadedmetadata", r, { once: true }));
    await v.play();
    await new Promise((r) => setTimeout(r, 1500));
    return { time: v.currentTime, duration: v.duration, width: v.videoWidth, error: v.error && v.error.message };
  });
  check(played.time > 0.5 && played.width > 0, `the verified clip plays in the page (${JSON.stringify(played)})`);
  const shown = await page.textContent("#verification");
  check(shown.includes("Chain position") && shown.includes("Device key") && shown.includes("Clip SHA-256"),
        "its verification is shown: device key, chain position, hashes");
  check(await page.isVisible("#export"), "a supervisor is offered the evidence export");
  const zip = await page.evaluate(async () => {
    const r = await fetch(document.getElementById("export").href);
    return { status: r.status, type: r.headers.get("content-type") };
  });
  check(zip.status === 200 && zip.type === "application/zip", "the export downloads a ZIP");
  // A command from the console: signed by the service, obeyed by the device, its reply audited.
  await page.click("button[data-command=ping]");
  await page.waitForFunction(() => document.getElementById("action-result").textContent.includes("ping sent"));
  let replied = false;
  for (let tries = 0; !replied && tries < 50; ++tries) {
    const audit = await page.evaluate(async () => (await fetch("/api/audit")).json());
    replied = audit.some((a) => a.action === "reply" && a.target === "ping" && a.detail.includes('"ok":true'));
    if (!replied) await new Promise((r) => setTimeout(r, 200));
  }
  check(replied, "a ping sent from the console was obeyed by the device and its signed reply audited");

  await page.screenshot({ path: `${artifacts}/console.png`, fullPage: true });
  await page.screenshot({ path: `${artifacts}/console.jpg`, type: "jpeg", quality: 70 });
  console.log(`screenshot: ${artifacts}/console.png`);

  // An operator: no export.
  const other = await browser.newContext();
  const op = await other.newPage();
  await op.goto(base + "/login");
  await op.fill("#name", opName);
  await op.fill("#password", opPass);
  await op.click("#submit");
  await op.waitForURL(base + "/");
  await op.waitForSelector(`li.alarm[data-id="${clipEvent}"]`);
  await op.click(`li.alarm[data-id="${clipEvent}"]`);
  await op.waitForFunction(() => document.getElementById("verification").textContent.includes("yes: signature"));
  check(!(await op.isVisible("#export")), "an operator is not offered the export");
  const denied = await op.evaluate(async () => (await fetch(document.getElementById("export").href)).status);
  check(denied === 403, `an operator who asks for the export anyway is refused (${denied})`);
  check(!(await op.isVisible("button[data-command=disarm]")), "an operator is not offered disarm");
} finally {
  await browser.close();
}
const failed = checks.filter(([ok]) => !ok);
console.log(`${checks.length - failed.length} of ${checks.length} checks passed`);
process.exit(failed.length === 0 ? 0 : 1);
