/**
 * Makes vitest's `retry: 1` visible: a test that failed and then passed on its retry is listed
 * at the end of the run with the first attempt's error, so a flaky test shows in the CI log
 * (the default reporter only adds "(retry x1)" to its line) and can be root-caused.
 * The list is also written to `bench-results/retried-tests.json`, so retried tests stay visible after the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Reporter, TestCase } from 'vitest/node';

interface Retried {
  test: string;
  file: string;
  retries: number;
  firstError: string;
}

/** First line of each error (message), capped, for one line per attempt. */
function summarise(errors: ReadonlyArray<{ message?: string; name?: string }> | undefined): string {
  if (!errors || errors.length === 0) return '(no error recorded)';
  return errors.map((e) => `${e.name ?? 'Error'}: ${(e.message ?? '').split('\n')[0]?.slice(0, 300)}`).join(' | ');
}

export class RetryReporter implements Reporter {
  readonly #retried: Retried[] = [];

  onTestCaseResult(testCase: TestCase): void {
    const retries = testCase.diagnostic()?.retryCount ?? 0;
    const result = testCase.result();
    if (retries === 0 || result.state !== 'passed') return;
    this.#retried.push({ test: testCase.fullName, file: testCase.module.moduleId, retries, firstError: summarise(result.errors) });
  }

  onTestRunEnd(): void {
    if (this.#retried.length === 0) return;
    const lines = this.#retried.map((r) => `  - ${r.test} (${r.file}): passed after ${r.retries} retr${r.retries === 1 ? 'y' : 'ies'}; first attempt: ${r.firstError}`);
    process.stdout.write(`\nPassed only on retry (flaky: root-cause these):\n${lines.join('\n')}\n`);
    try {
      mkdirSync('bench-results', { recursive: true });
      writeFileSync('bench-results/retried-tests.json', `${JSON.stringify(this.#retried, null, 2)}\n`);
    } catch {
      // the printed list is what matters
    }
  }
}
