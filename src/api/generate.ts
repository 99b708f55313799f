// Writes crds/ from the TypeScript sources: `make generate`.
import { writeFileSync } from "node:fs";
import { crdFiles } from "./crds.ts";

for (const [path, text] of crdFiles()) {
  writeFileSync(new URL(`../../${path}`, import.meta.url), text);
  console.log(`wrote ${path}`);
}
