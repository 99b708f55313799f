import { pino, type Logger } from "pino";

export function createLogger(level: string = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { component: "debugsession-operator" }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
