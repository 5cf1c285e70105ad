// The official Huawei Cloud Node.js SDK (@huaweicloud/huaweicloud-sdk-iam, -core) against a
// real plugboard server on SQLite, started here like the pytest fixtures start theirs
// (docs/api-coverage.md → IAM): AK/SK and token authentication, regions (listed, shown, and
// looked up by the SDK itself when no project is named after the region it is given), the
// groups of a user, and UpdateUser's description. Run: `node --test` in tests/node after
// `npm ci`; PLUGBOARD_BIN names the server binary (default <repo>/target/debug/plugboard).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const core = require('@huaweicloud/huaweicloud-sdk-core');
const iam = require('@huaweicloud/huaweicloud-sdk-iam/v3/public-api');

// The SDK logs every refused call, with its whole request, to stdout through log4js; the
// refusals here are expected, so that log is off (the same log4js instance the SDK uses).
const log4js = require(require.resolve('log4js', { paths: [require.resolve('@huaweicloud/huaweicloud-sdk-core')] }));
log4js.configure({ appenders: { out: { type: 'stdout' } }, categories: { default: { appenders: ['out'], level: 'off' } } });

const REPO = path.resolve(__dirname, '..', '..');
const BIN = process.env.PLUGBOARD_BIN || path.join(REPO, 'target', 'debug', 'plugboard');
const START_TIMEOUT_MS = 30000;

let server; // { proc, dir, base, boot }

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Start `plugboard serve` on a free port in a fresh data directory; resolve once it answers. */
async function startServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugboard-node-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PLUGBOARD_')));
  env.PLUGBOARD_LOG = 'warn';
  const log = fs.openSync(path.join(dir, 'server.log'), 'w');
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data')], {
    env, stdio: ['ignore', log, log],
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`plugboard exited with ${proc.exitCode}: ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`);
    }
    try {
      const addr = fs.readFileSync(path.join(dir, 'data', 'listen-addr'), 'utf8');
      const boot = JSON.parse(fs.readFileSync(path.join(dir, 'data', 'bootstrap.json'), 'utf8'));
      if (addr.endsWith('\n')) {
        const base = `http://${addr.trim()}`;
        const health = await fetch(`${base}/healthz`);
        if (health.status === 200) return { proc, dir, base, boot };
      }
    } catch {
      // not written yet, or not answering yet
    }
    if (Date.now() > deadline) throw new Error(`plugboard did not start within ${START_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

/** SIGTERM, wait for the exit, remove the directory. */
async function stopServer(s) {
  if (!s) return;
  const exited = new Promise((resolve) => s.proc.once('exit', (code) => resolve(code)));
  s.proc.kill('SIGTERM');
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), 15000);
  });
  const code = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  if (code === 'timeout') s.proc.kill('SIGKILL');
  fs.rmSync(s.dir, { recursive: true, force: true });
  assert.equal(code, 0, 'plugboard exits 0 on SIGTERM');
}

before(async () => {
  server = await startServer();
});

after(async () => {
  await stopServer(server);
  log4js.shutdown();
});

/** IamClient as Huawei documents it for IAM: GlobalCredentials (AK/SK, domain) and an endpoint. */
function globalClient(ak = server.boot.access_key, sk = server.boot.secret_key) {
  const credentials = new core.GlobalCredentials().withAk(ak).withSk(sk).withDomainId(server.boot.domain_id);
  return iam.IamClient.newBuilder().withCredential(credentials).withEndpoint(server.base).build();
}

/** IamClient with BasicCredentials and no project id: the SDK finds the project of `regionId`. */
function regionClient(regionId) {
  const credentials = new core.BasicCredentials()
    .withAk(server.boot.access_key)
    .withSk(server.boot.secret_key)
    .withIamEndpoint(server.base);
  return iam.IamClient.newBuilder()
    .withCredential(credentials)
    .withRegion(new core.Region(regionId, server.base))
    .build();
}

function unique(prefix) {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

/** The SDK's error for a refused call: { status, body }. */
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('the call succeeded');
}

test('AK/SK: the regions, listed and shown', async () => {
  const client = globalClient();
  const list = await client.keystoneListRegions(new iam.KeystoneListRegionsRequest());
  assert.equal(list.httpStatusCode, 200);
  assert.deepEqual(list.regions.map((r) => [r.id, r.type]), [[server.boot.region, 'public']]);
  assert.equal(list.regions[0].links.self, `${server.boot.endpoint}/v3/regions/${server.boot.region}`);
  const shown = await client.keystoneShowRegion(new iam.KeystoneShowRegionRequest().withRegionId(server.boot.region));
  assert.equal(shown.region.id, server.boot.region);
  const missing = await refusal(client.keystoneShowRegion(new iam.KeystoneShowRegionRequest().withRegionId('cn-north-4')));
  assert.equal(missing.httpStatusCode ?? missing.status, 404, String(missing));
});

test('token: created with the password through the SDK, validated, and used', async () => {
  const body = new iam.KeystoneCreateUserTokenByPasswordRequestBody().withAuth(
    new iam.PwdAuth()
      .withIdentity(new iam.PwdIdentity(['password']).withPassword(new iam.PwdPassword().withUser(
        new iam.PwdPasswordUser(new iam.PwdPasswordUserDomain().withName(server.boot.domain_name),
          server.boot.user_name, server.boot.password))))
      .withScope(new iam.AuthScope().withProject(new iam.AuthScopeProject().withId(server.boot.project_id))),
  );
  const client = globalClient();
  const created = await client.keystoneCreateUserTokenByPassword(
    new iam.KeystoneCreateUserTokenByPasswordRequest().withNocatalog('true').withBody(body),
  );
  assert.equal(created.httpStatusCode, 201);
  const token = created.xSubjectToken ?? created['X-Subject-Token'];
  assert.ok(token, 'X-Subject-Token');
  assert.equal(created.token.user.id, server.boot.user_id);
  const validated = await client.keystoneValidateToken(new iam.KeystoneValidateTokenRequest().withXSubjectToken(token));
  assert.equal(validated.token.project.id, server.boot.project_id);
  // the token itself authenticates a call
  const regions = await fetch(`${server.base}/v3/regions`, { headers: { 'X-Auth-Token': token } });
  assert.equal(regions.status, 200);
  assert.deepEqual((await regions.json()).regions.map((r) => r.id), [server.boot.region]);
});

test('region lookup: the SDK resolves the project of its region, and asks /v3/regions when none is named after it', async () => {
  // a project is named after the configured region: GET /v3/projects?name=<region> finds it
  const ok = await regionClient(server.boot.region).keystoneListAuthProjects(new iam.KeystoneListAuthProjectsRequest());
  assert.ok(ok.projects.some((p) => p.id === server.boot.project_id));
  // no project named `eu-nowhere-1`: the SDK lists the regions itself (GET /v3/regions) and
  // stops because the region is not among them, before creating anything
  const refused = await refusal(regionClient('eu-nowhere-1').keystoneListAuthProjects(new iam.KeystoneListAuthProjectsRequest()));
  assert.match(String(refused.errorMsg ?? refused.message ?? refused), /region input is not supported/);
});

test('the groups of a user, and UpdateUser with a description', async () => {
  const client = globalClient();
  const domainId = server.boot.domain_id;
  const user = await client.createUser(new iam.CreateUserRequest().withBody(new iam.CreateUserRequestBody().withUser(
    new iam.CreateUserOption().withName(unique('node')).withDomainId(domainId).withPassword('Pb-node-1234!Aa').withEnabled(true),
  )));
  assert.equal(user.httpStatusCode, 201);
  const userId = user.user.id;
  const groups = [];
  for (const name of [unique('zz'), unique('aa')]) {
    const g = await client.keystoneCreateGroup(new iam.KeystoneCreateGroupRequest().withBody(
      new iam.KeystoneCreateGroupRequestBody().withGroup(new iam.KeystoneCreateGroupOption().withName(name).withDomainId(domainId)),
    ));
    await client.keystoneAddUserToGroup(new iam.KeystoneAddUserToGroupRequest().withGroupId(g.group.id).withUserId(userId));
    groups.push(g.group);
  }
  const listed = await client.keystoneListGroupsForUser(new iam.KeystoneListGroupsForUserRequest().withUserId(userId));
  assert.equal(listed.httpStatusCode, 200);
  assert.deepEqual(listed.groups.map((g) => g.id), [groups[1].id, groups[0].id], 'by name');
  assert.ok(listed.links.self.endsWith(`/v3/users/${userId}/groups`));

  const updated = await client.updateUser(new iam.UpdateUserRequest().withUserId(userId).withBody(
    new iam.UpdateUserRequestBody().withUser(new iam.UpdateUserOption().withDescription('from node')),
  ));
  assert.equal(updated.httpStatusCode, 200);
  assert.equal(updated.user.description, 'from node');
  const shown = await client.keystoneShowUser(new iam.KeystoneShowUserRequest().withUserId(userId));
  assert.equal(shown.user.description, 'from node');
  const tooLong = await refusal(client.updateUser(new iam.UpdateUserRequest().withUserId(userId).withBody(
    new iam.UpdateUserRequestBody().withUser(new iam.UpdateUserOption().withDescription('x'.repeat(256))),
  )));
  assert.equal(tooLong.httpStatusCode ?? tooLong.status, 400, String(tooLong));
});
