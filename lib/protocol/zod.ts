// zod as the protocol's schemas use it. In the browser the pages run under a CSP without
// 'unsafe-eval' (proxy.ts): zod's compiled parsers (`new Function`) are not allowed there, and
// merely probing for them reports a CSP violation. The plain parsers give the same answers.
// Every schema module imports z from here, so this runs before any schema is built.
import { z } from "zod";

if (typeof window !== "undefined") z.config({ jitless: true });

export { z };
