// The customer space in a real browser: Debian's Chromium (no browser of Playwright's own: it
// could not be downloaded here), headless, on a phone and on a desktop. `make browser-test`
// runs it through scripts/customer_space.py, which serves mail2sms-web on the local emulator
// with one account per viewport and says where in MAIL2SMS_WORLD. Screenshots, and a trace of
// a failed run, go to <target>/browser/.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, devices } from "@playwright/test";

const here = path.dirname(fileURLToPath(import.meta.url));
const target = process.env.MAIL2SMS_TARGET_DIR || path.join(here, "..", "..", "target");

export default defineConfig({
  testDir: here,
  testMatch: "*.spec.mjs",
  outputDir: path.join(target, "browser", "results"),
  // One browser at a time: the machine has two cores, and the server others.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    headless: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      // As root, no sandbox; no connection to Google's services (there is no network here).
      args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
  projects: [
    { name: "phone", use: { ...devices["Pixel 7"] } },
    { name: "desktop", use: { ...devices["Desktop Chrome"], viewport: { width: 1280, height: 800 } } },
  ],
});
