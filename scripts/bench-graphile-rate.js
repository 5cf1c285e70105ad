// The graphile-worker side of scripts/bench-install.py (c): ROLE=worker runs N no-op jobs and prints pickup
// percentiles as JSON; ROLE=adder adds N jobs at RATE per second (open loop).
const { run, makeWorkerUtils } = require("graphile-worker");
const { Pool } = require("pg");
const now = () => performance.timeOrigin + performance.now();
(async () => {
  const [url, n, conc, rate, role] =
    [process.env.DB, +process.env.N, +process.env.CONC, +process.env.RATE, process.env.ROLE];
  if (role === "worker") {
    const utils = await makeWorkerUtils({ connectionString: url });
    await utils.migrate(); await utils.release();
    const pickups = []; let first = Infinity, last = 0;
    const runner = await run({
      connectionString: url, concurrency: conc, noHandleSignals: true,
      taskList: { noop: async (p) => { const t = now(); pickups.push(t - p.t); first = Math.min(first, p.t); last = t; } },
    });
    console.log("ready");
    while (pickups.length < n) { await new Promise((r) => setTimeout(r, 5)); }
    await runner.stop();
    pickups.sort((a, b) => a - b);
    const q = (p) => pickups[Math.min(n - 1, Math.max(0, Math.ceil(p / 100 * n) - 1))];
    console.log(JSON.stringify({ jobs: n, jobs_per_s: n / ((last - first) / 1000), p50_ms: q(50), p99_ms: q(99) }));
  } else {
    // the adding node: the i-th add is due at i / rate (open loop)
    const pool = new Pool({ connectionString: url, max: 16 });
    const t0 = now() + 200; const adds = [];
    for (let i = 0; i < n; i++) {
      const wait = t0 + i * 1000 / rate - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      adds.push(pool.query("SELECT graphile_worker.add_job('noop', json_build_object('t', $1::float8))", [now()]));
    }
    await Promise.all(adds); await pool.end();
  }
})().catch((e) => { console.error(e); process.exit(1); });
