// Copies the front-end files the pages use out of node_modules into the package's static dir.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const vendor = join(root, "src", "andon", "web", "static", "vendor");
// Swagger UI is served from here, not a CDN: the API docs work on a plant network without
// internet access, and under the same Content-Security-Policy as the pages.
const files = [
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui.css"],
  ["swagger-ui-dist/favicon-32x32.png", "swagger-favicon.png"],
];

mkdirSync(vendor, { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(root, "node_modules", from), join(vendor, to));
}
