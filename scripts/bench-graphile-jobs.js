// The graphile-worker side of scripts/bench-install.py (b): N no-op jobs added from CONNS connections, run with
// concurrency CONC; MODE live (added while the runner works) or drain (all added first). Prints JSON.
const { run, makeWorkerUtils } = require("graphile-worker");
const { Pool } = require("pg");
(async () => {
  const [url, n, conns, concurrency, mode] =
    [process.env.DB, +process.env.N, +process.env.CONNS, +process.env.CONC, process.env.MODE];
  const done = [];
  const utils = await makeWorkerUtils({ connectionString: url });
  await utils.migrate();
  const pool = new Pool({ connectionString: url, max: conns });
  const add = async () => {
    let next = 0;
    await Promise.all(Array.from({ length: conns }, async () => {
      while (next < n) { next++; await pool.query("SELECT graphile_worker.add_job('noop', json_build_object('t', $1::bigint))", [Date.now()]); }
    }));
  };
  const start = () => run({
    connectionString: url, concurrency, noHandleSignals: true, pollInterval: 200,
    taskList: { noop: async (payload) => { done.push(Date.now() - payload.t); } },
  });
  let t0, runner;
  if (mode === "drain") {
    // every job queued first, then the runner drains them: its best case
    await add();
    t0 = Date.now();
    runner = await start();
  } else {
    // jobs added while the runner works, as plugboard's are submitted
    runner = await start();
    t0 = Date.now();
    await add();
  }
  while (done.length < n) { await new Promise((r) => setTimeout(r, 10)); }
  const span = (Date.now() - t0) / 1000;
  await runner.stop(); await pool.end(); await utils.release();
  done.sort((a, b) => a - b);
  const q = (p) => done[Math.min(done.length - 1, Math.max(0, Math.ceil(p / 100 * done.length) - 1))];
  console.log(JSON.stringify({ jobs: n, jobs_per_s: n / span, p50_ms: q(50), p99_ms: q(99) }));
})().catch((e) => { console.error(e); process.exit(1); });
