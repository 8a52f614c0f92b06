// A reporter that prints, per test file, the time not spent in its tests (hooks: server start-up
// and teardown). For checking that no file waits on teardown: `npx vitest run FILE --reporter=default --reporter=./test/helpers/hook-time-reporter.ts`.
import type { Reporter, TestModule } from "vitest/node";
export default class HookTime implements Reporter {
  onTestModuleEnd(m: TestModule) {
    const d = m.diagnostic();
    let tests = 0;
    for (const t of m.children.allTests()) tests += t.diagnostic()?.duration ?? 0;
    console.log(`[hooks] ${m.moduleId.split("/").slice(-2).join("/")} total ${Math.round(d.duration)} ms, tests ${Math.round(tests)} ms, hooks+other ${Math.round(d.duration - tests)} ms`);
  }
}
