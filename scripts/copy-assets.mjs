// Copies the front-end files the pages use out of node_modules into the package's static dir.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "src", "andon", "web", "static", "vendor");
const files = [["htmx.org/dist/htmx.min.js", "htmx.min.js"]];

mkdirSync(vendor, { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(root, "node_modules", from), join(vendor, to));
}
