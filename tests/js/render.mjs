// Renders Mermaid diagrams with Mermaid itself (its bundled dist, pinned by package-lock.json) in
// Debian's chromium, driven by puppeteer-core (which never downloads a browser): one browser, one
// page, Mermaid loaded once, every diagram rendered in turn with Mermaid's default configuration
// (as GitHub runs it: securityLevel strict, maxTextSize 50,000, maxEdges 500).
//
// Reads {"diagrams": ["flowchart LR ...", ...]} on stdin. Prints one JSON line:
// {"mermaid": "11.x.y", "results": [{"svg": "<svg ...>"} or {"error": "Parse error ..."}, ...]}
// where each svg is serialised as XML. A diagram Mermaid refuses (a parse error, too many edges)
// is an error; so is one longer than maxTextSize, which Mermaid draws as an error message.
import { createRequire } from "node:module";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const MERMAID = require.resolve("mermaid/dist/mermaid.min.js");
const VERSION = require("mermaid/package.json").version;

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const { diagrams } = JSON.parse(input);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
let results;
try {
  const page = await browser.newPage();
  await page.setContent("<!doctype html><html><body><div id=container></div></body></html>");
  await page.addScriptTag({ path: MERMAID });
  results = await page.evaluate(async (diagrams) => {
    const mermaid = globalThis.mermaid;
    mermaid.initialize({ startOnLoad: false });
    const container = document.getElementById("container");
    const out = [];
    for (const [index, definition] of diagrams.entries()) {
      try {
        const { svg } = await mermaid.render(`diagram${index}`, definition);
        container.innerHTML = svg;
        const element = container.querySelector("svg");
        const xml = new XMLSerializer().serializeToString(element);
        container.innerHTML = "";
        if (element.getAttribute("aria-roledescription") === "error") {
          out.push({ error: "Mermaid drew its error diagram" });
        } else if (xml.includes("Maximum text size in diagram exceeded")) {
          out.push({ error: "Maximum text size in diagram exceeded" });
        } else {
          out.push({ svg: xml });
        }
      } catch (error) {
        out.push({ error: String(error?.message ?? error) });
      }
    }
    return out;
  }, diagrams);
} finally {
  await browser.close();
}
console.log(JSON.stringify({ mermaid: VERSION, results }));
