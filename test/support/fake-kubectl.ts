// A stand-in for kubectl, for tests of the kubectl-dbg executable: it records each call (argv and
// stdin) and answers from rules a test writes, so the test can check which kubectl commands, with which
// flags, the plugin issues, and what it makes of the answers. Nothing here knows Kubernetes.
//   installFakeKubectl(dir, rules) -> path to give the plugin as $KUBECTL
import { appendFileSync, chmodSync, readFileSync, writeFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { join } from "node:path";

export interface Rule {
  /** Words that must all be in argv for the rule to answer; the first rule that matches answers. */
  when: string[];
  stdout?: string;
  /** Printed one after another as pretty JSON, as kubectl -o json --watch does. */
  objects?: unknown[];
  /** stdout is the object read from stdin, as the apiserver would return it (namespace and uid added). */
  echo?: boolean;
  stderr?: string;
  code?: number;
  /** Milliseconds between two objects (default 20). */
  gapMs?: number;
  /** Stay running after answering, as a watch does, until killed. */
  hold?: boolean;
  /** Answer only the first `times` calls it matches; later ones go to the rules after it. */
  times?: number;
}

export interface Call {
  argv: string[];
  stdin?: string;
}

export function installFakeKubectl(dir: string, rules: Rule[]): string {
  writeFileSync(join(dir, "rules.json"), JSON.stringify(rules));
  writeFileSync(join(dir, "calls.jsonl"), "");
  // Plain JavaScript, so each call does not pay for Node's type stripper starting up.
  const js = join(dir, "fake-kubectl.mjs");
  writeFileSync(js, stripTypeScriptTypes(readFileSync(import.meta.filename, "utf8")));
  const bin = join(dir, "kubectl");
  const script = ["#!/bin/sh", `FAKE_KUBECTL_DIR='${dir}' exec '${process.execPath}' '${js}' "$@"`].join("\n");
  writeFileSync(bin, `${script}\n`);
  chmodSync(bin, 0o755);
  return bin;
}

export function callsIn(dir: string): Call[] {
  return readFileSync(join(dir, "calls.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Call);
}

async function answer(dir: string, argv: string[]): Promise<number> {
  const wantsStdin = argv.some((a, i) => a === "-f" && argv[i + 1] === "-");
  const stdin = wantsStdin ? await readAll(process.stdin) : undefined;
  appendFileSync(join(dir, "calls.jsonl"), `${JSON.stringify({ argv, ...(stdin !== undefined ? { stdin } : {}) })}\n`);
  const rules = JSON.parse(readFileSync(join(dir, "rules.json"), "utf8")) as Rule[];
  const matches = (r: Rule, a: string[]): boolean => r.when.every((w) => a.includes(w));
  const seen = (r: Rule): number => callsIn(dir).filter((c) => matches(r, c.argv)).length;
  const rule = rules.find((r) => matches(r, argv) && (r.times === undefined || seen(r) <= r.times));
  if (rule === undefined) {
    process.stderr.write(`fake kubectl: no rule for ${argv.join(" ")}\n`);
    return 99;
  }
  if (rule.stderr !== undefined) process.stderr.write(rule.stderr);
  if (rule.stdout !== undefined) process.stdout.write(rule.stdout);
  if (rule.echo && stdin !== undefined) process.stdout.write(JSON.stringify(served(JSON.parse(stdin)), null, 2));
  for (const o of rule.objects ?? []) {
    process.stdout.write(`${JSON.stringify(o, null, 4)}\n`);
    await new Promise((r) => setTimeout(r, rule.gapMs ?? 20));
  }
  if (rule.hold) await new Promise(() => setInterval(() => {}, 60_000));
  return rule.code ?? 0;
}

function served(object: unknown): unknown {
  const o = object as { metadata?: Record<string, unknown> };
  return { ...o, metadata: { namespace: "default", uid: "0000-fake", generation: 1, ...o.metadata } };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += String(chunk);
  return text;
}

const dir = process.env.FAKE_KUBECTL_DIR;
if (dir !== undefined && import.meta.filename === process.argv[1]) {
  process.exitCode = await answer(dir, process.argv.slice(2));
}
