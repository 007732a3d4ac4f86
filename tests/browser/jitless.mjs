// Imported first by host-entry.mjs: zod decides at schema creation whether to compile validators
// with `new Function`, which the test host's CSP (no 'unsafe-eval') forbids.
import { z } from "zod/v4";
z.config({ jitless: true });
