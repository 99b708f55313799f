// node:http and node:https, loaded with require rather than import. An ES import of a builtin builds
// its namespace from every export, and node:http's WebSocket, CloseEvent and MessageEvent are lazy
// getters that load Node's bundled undici: measured here, +8.6 MB of RSS (59.4 against 50.8 MB for the
// two modules) for nothing the operator uses. Types still come from the modules themselves.
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);
export const http = load("node:http") as typeof import("node:http");
export const https = load("node:https") as typeof import("node:https");
