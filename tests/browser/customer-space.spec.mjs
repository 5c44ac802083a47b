// A customer in the customer space, in headless Chromium, once per viewport (playwright.config.mjs):
// logs in, finds an email's recipients and their delivery statuses, cancels its scheduled email,
// makes a new API key, sends an SMS from the web and finds it in its sends, puts a number on its
// opt-out list and takes it off, logs out. Each viewport has its own account
// (scripts/customer_space.py made it: three emails through the function, one of them to three
// numbers that SNS's delivery logs reported delivered, failed and nothing yet), described in the
// JSON file MAIL2SMS_WORLD names.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";

const world = JSON.parse(readFileSync(process.env.MAIL2SMS_WORLD || "", "utf8"));
const shots = path.dirname(process.env.MAIL2SMS_WORLD);

test("a customer logs in, follows an email, makes a new key, sends an SMS, keeps its opt-out list and logs out", async ({ page }, info) => {
  const viewport = info.project.name;
  const account = world.accounts[viewport];
  expect(account, `an account for the ${viewport} viewport in ${process.env.MAIL2SMS_WORLD}`).toBeTruthy();
  const { tracked, scheduled, refused } = account.emails;
  const shot = (name) => page.screenshot({ path: path.join(shots, `${viewport}-${name}.png`), fullPage: true });

  // What goes wrong besides: a script error, a CSP refusal (the policy forbids inline code), a
  // server error. (A 401 for the wrong password or a 404 for /favicon.ico is no problem: the
  // browser logs each as a failed load, which the steps check their own way.)
  const problems = [];
  page.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on("response", (response) => {
    if (response.status() >= 500) problems.push(`${response.status()} for ${response.request().method()} ${response.url()}`);
  });
  const row = (table, text) => table.locator("tbody tr").filter({ hasText: text });

  await test.step("log in", async () => {
    await page.goto(`${world.url}/sends`);
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
    await page.getByLabel("Login", { exact: true }).fill(account.login);
    await page.getByLabel("Password", { exact: true }).fill("not the password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByRole("alert")).toHaveText("Wrong login or password.");
    await expect(page.getByLabel("Login", { exact: true })).toHaveValue(account.login);
    await page.getByLabel("Password", { exact: true }).fill(account.password);
    await shot("login");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/sends$/);
    await expect(page.locator("header .who")).toContainText(account.login);
  });

  await test.step("find an email's recipients and their statuses", async () => {
    const sends = page.locator("main table");
    await expect(sends.locator("tbody tr")).toHaveCount(3);
    // Newest first: the refused email, with its error code, then the scheduled one, then the sent one.
    await expect(sends.locator("tbody tr").first().locator("a")).toHaveAttribute("href", `/sends/${refused.id}`);
    await expect(row(sends, "rejected").locator(".badge")).toHaveText("rejected");
    await expect(row(sends, "rejected")).toContainText(String(refused.status));
    await expect(sends.locator(`tr:has(a[href="/sends/${scheduled.id}"]) .badge`)).toHaveText("scheduled");
    await shot("sends");

    // The filter: only the scheduled email.
    await page.getByLabel("Status").selectOption("scheduled");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(page).toHaveURL(/status=scheduled/);
    await expect(sends.locator("tbody tr")).toHaveCount(1);
    await expect(sends.locator("tbody tr a")).toHaveAttribute("href", `/sends/${scheduled.id}`);
    await page.getByLabel("Status").selectOption("");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(sends.locator("tbody tr")).toHaveCount(3);

    // A scheduled email keeps its text until it is sent.
    await sends.locator(`a[href="/sends/${scheduled.id}"]`).click();
    await expect(page.locator(".sms-text")).toHaveText(scheduled.text);
    await expect(page.locator("dl.facts")).toContainText(`Scheduled for${scheduled.due.slice(0, 16)}`);
    await page.getByRole("link", { name: "All sends" }).click();

    await sends.locator(`a[href="/sends/${tracked.id}"]`).click();
    await expect(page).toHaveURL(new RegExp(`/sends/${tracked.id}$`));
    await expect(page.locator("dl.facts .badge")).toHaveText("sent");
    const recipients = page.locator("#recipients");
    await expect(recipients.locator("tbody tr")).toHaveCount(Object.keys(tracked.recipients).length);
    for (const [number, fate] of Object.entries(tracked.recipients)) {
      await expect(row(recipients, number).locator(".badge")).toHaveText(fate);
      // A phone number never breaks across lines, however narrow the screen: its table scrolls.
      const cell = row(recipients, number).locator("td.number");
      await expect(cell).toHaveText(number);
      const lines = await cell.evaluate((td) => {
        const text = document.createRange();
        text.selectNodeContents(td);
        return new Set([...text.getClientRects()].map((box) => Math.round(box.top))).size;
      });
      expect(lines, `${number} on one line`).toBe(1);
    }
    const failed = Object.keys(tracked.recipients).find((number) => tracked.recipients[number] === "failed");
    await expect(row(recipients, failed)).toContainText(tracked.reason);
    await expect(row(recipients, failed).locator("td").last()).toHaveText("yes"); // refunded
    // One recipient has no fate yet: the page says it refreshes itself.
    await expect(page.getByText("this page refreshes itself")).toBeVisible();
    await shot("message");
  });

  await test.step("cancel the scheduled email", async () => {
    await page.getByRole("link", { name: "Sends", exact: true }).click();
    await page.locator(`main table a[href="/sends/${scheduled.id}"]`).click();
    const balance = Number((await page.locator("#balance").textContent()).trim());
    await shot("scheduled");
    let asked = "";
    page.once("dialog", (dialog) => {
      asked = dialog.message();
      return dialog.accept();
    });
    await page.getByRole("button", { name: "Cancel this send" }).click();
    // One number, one part: one credit back, the header's balance with it.
    await expect(page.getByRole("status")).toHaveText(
      `Send cancelled: nothing will be sent, and 1 credit refunded. Your balance is now ${balance + 1} credits.`,
    );
    expect(asked).toContain("1 credit will be refunded");
    await expect(page.locator("dl.facts .badge")).toHaveText("cancelled");
    await expect(page.locator("#balance")).toHaveText(String(balance + 1));
    await expect(page.getByRole("button", { name: "Cancel this send" })).toHaveCount(0);
    await expect(row(page.locator("#recipients"), "+33").locator(".badge")).toHaveText("cancelled");
    await shot("cancelled");
  });

  await test.step("make a new API key", async () => {
    await page.getByRole("link", { name: "API key", exact: true }).click();
    await expect(page.getByRole("heading", { name: "API key" })).toBeVisible();
    await expect(page.locator("main")).not.toContainText(account.key);
    await expect(page.locator("#new-key")).toHaveCount(0);
    let asked = "";
    page.once("dialog", (dialog) => {
      asked = dialog.message();
      return dialog.accept();
    });
    await page.getByRole("button", { name: "Make a new key" }).click();
    await expect(page.locator("#new-key")).toBeVisible();
    expect(asked).toContain("stop working");
    const key = (await page.locator("#new-key").textContent()).trim();
    expect(key).toMatch(/^[0-9a-f]{32,}$/);
    expect(key).not.toBe(account.key);
    await expect(page.locator("#subject-template")).toHaveText(`${account.login}@${key}|numbers|from=|date=`);
    await shot("key");
    // Shown once: the page again shows no key.
    await page.getByRole("link", { name: "API key", exact: true }).click();
    await expect(page.locator("#new-key")).toHaveCount(0);
    await expect(page.locator("main")).not.toContainText(key);
  });

  await test.step("send an SMS from the web and see it appear", async () => {
    await page.getByRole("link", { name: "Send an SMS", exact: true }).click();
    const balance = Number((await page.locator("#balance").textContent()).trim());
    const text = `Browser test (${viewport}): your parcel is ready at the shop.`;
    const number = "06 12 34 56 74";
    await page.getByLabel("Numbers", { exact: true }).fill(number);
    // The live count asks the server, which counts as the gateway will.
    const typed = page.getByLabel("Text", { exact: true });
    await typed.fill("x".repeat(161));
    await expect(page.locator("#count")).toHaveText("161 characters, 2 SMS, GSM-7");
    await typed.fill(`${text} 📦`);
    await expect(page.locator("#count")).toHaveText(/ characters, 1 SMS, UCS-2 \(Unicode\)$/);
    await typed.fill(text);
    await expect(page.locator("#count")).toHaveText(`${[...text].length} characters, 1 SMS, GSM-7`);
    await page.getByRole("button", { name: "Send", exact: true }).click();

    const outcome = page.getByRole("status");
    await expect(outcome).toContainText("Sent to 1 recipient (0 refused, 0 in doubt): 1 credit, 0 refunded.");
    await expect(typed).toHaveValue("");
    // The header's balance is the one after the debit, on this very page.
    await expect(page.locator("#balance")).toHaveText(String(balance - 1));
    const link = await outcome.getByRole("link", { name: "See it" }).getAttribute("href");
    expect(link).toMatch(/^\/sends\/web-[0-9a-f]+$/);
    await shot("send");

    await page.getByRole("link", { name: "Sends", exact: true }).click();
    await expect(page.locator("#balance")).toHaveText(String(balance - 1));
    const sends = page.locator("main table");
    await expect(sends.locator("tbody tr")).toHaveCount(4);
    const newest = sends.locator("tbody tr").first();
    await expect(newest.locator("a")).toHaveAttribute("href", link);
    await expect(newest.locator(".badge")).toHaveText("sent");
    await newest.locator("a").click();
    await expect(row(page.locator("#recipients"), "+33612345674").locator(".badge")).toHaveText("sent");
  });

  await test.step("put a number on the opt-out list and take it off", async () => {
    await page.getByRole("link", { name: "Settings", exact: true }).click();
    await expect(page.locator("#hours-responsibility")).toContainText("your responsibility");
    await shot("settings");
    await page.getByRole("link", { name: "See and change the opt-out list" }).click();
    await expect(page.getByRole("heading", { name: "Opt-out list" })).toBeVisible();
    await expect(page.locator("#opt-out-count")).toHaveText("0 numbers on the list.");
    await page.getByLabel("Numbers", { exact: true }).fill("06 12 34 56 79");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await expect(page.getByRole("status")).toContainText("1 number added, 0 already on it");
    const listed = page.locator("#opt-outs tbody tr");
    await expect(listed).toHaveCount(1);
    await expect(listed.first().locator("td.number")).toHaveText("+33612345679");
    await shot("optouts");
    await page.getByRole("button", { name: "Remove +33612345679" }).click();
    await expect(page.getByRole("status")).toContainText("1 number removed");
    await expect(page.locator("#opt-out-count")).toHaveText("0 numbers on the list.");
  });

  await test.step("log out", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page).toHaveURL(/\/login/);
    await expect(page.locator("header .who")).toHaveCount(0);
    await page.goto(`${world.url}/sends`);
    await expect(page).toHaveURL(/\/login$/);
    await shot("logged-out");
  });

  expect(problems, "errors the page reported").toEqual([]);
});
