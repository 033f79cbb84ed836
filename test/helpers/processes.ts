import { spawn } from 'node:child_process';
import type { Test } from 'tap';

/** Waits until `check` returns a value, polling; fails the wait (not a timing assertion) after `limitMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, limitMs = 30_000): Promise<T> {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits until `output()` holds `line`: a child process starting node, tsx and the service takes
 * seconds on a quiet machine and far longer on a loaded one, so this wait allows two minutes.
 */
export function logged(output: () => string, line: string): Promise<true> {
  return eventually(() => (output().includes(line) ? true : undefined), 120_000);
}

/** Starts one of our entry points as a child process, collecting what it prints; killed after the test. */
export function startProcess(t: Test, script: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => child.kill('SIGKILL'));
  return { child, exited, output: () => output };
}

/** `npm <args>` in a process group of its own, as a process manager or a terminal runs it. */
export function startNpm(t: Test, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn('npm', args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const group = child.pid!;
  t.teardown(() => {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  return { child, group, exited, output: () => output };
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

