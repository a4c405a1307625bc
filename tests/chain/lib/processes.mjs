// Child processes of the suite: each started with its output in artifacts/chain/<name>.log, tracked, and ended by its
// process id when the suite ends (or when the suite itself is interrupted).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { REPOSITORY, eventually } from "./network.mjs";

export const LOGS = path.join(REPOSITORY, "artifacts", "chain");

const running = new Set();

/** Starts `command` with `args` and `env`; resolves once `ready()` is true. */
export async function start(name, command, args, { env = {}, cwd, ready, timeoutMs = 30_000 } = {}) {
  fs.mkdirSync(LOGS, { recursive: true });
  const logFile = path.join(LOGS, `${name}.log`);
  const out = fs.openSync(logFile, "a");
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  const entry = { name, child, exited: null };
  child.on("exit", (code, signal) => {
    entry.exited = { code, signal };
    running.delete(entry);
  });
  running.add(entry);
  if (ready) {
    await eventually(async () => {
      if (entry.exited) {
        throw new Error(`${name} exited (${JSON.stringify(entry.exited)}): ${fs.readFileSync(logFile, "utf8").slice(-2000)}`);
      }

      return ready();
    }, `${name} is ready`, timeoutMs);
  }

  return {
    name,
    pid: child.pid,
    logFile,
    get exited() { return entry.exited; },
    /** SIGKILL, as a crash: nothing is flushed, nothing answered. */
    kill: () => stop(entry, "SIGKILL"),
    /** SIGTERM, as a deploy: the process may drain. */
    stop: () => stop(entry, "SIGTERM"),
  };
}

/** True when GET `url` answers 2xx. */
export async function answers(url) {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

async function stop(entry, signal) {
  if (entry.exited) {
    return;
  }

  const exited = new Promise((resolve) => entry.child.once("exit", resolve));
  try {
    process.kill(entry.child.pid, signal);
  } catch {
    return;
  }

  const force = setTimeout(() => {
    try {
      process.kill(entry.child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }, 10_000);
  await exited;
  clearTimeout(force);
}

/** Ends every process still running, newest first. */
export async function stopAll() {
  for (const entry of [...running].reverse()) {
    await stop(entry, "SIGTERM");
  }
}

process.on("exit", () => {
  for (const entry of running) {
    try {
      process.kill(entry.child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});
