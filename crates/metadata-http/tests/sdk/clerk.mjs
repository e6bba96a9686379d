// The reference product's official Node SDK, unmodified, against a metadata-http server.
// Usage: node clerk.mjs <base url> <secret key>. Prints one line per check and a closing
// "sdk: N passed, N failed" line; exits non-zero on any failure.
import { createClerkClient } from '@clerk/backend';
import assert from 'node:assert/strict';

const [apiUrl, secretKey] = process.argv.slice(2);
const clerk = createClerkClient({ secretKey, apiUrl });
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`sdk ${name} ... ok`);
  } catch (err) {
    failed += 1;
    console.log(`sdk ${name} ... FAILED: ${err?.stack || err}`);
    if (err?.errors) console.log(JSON.stringify(err.errors));
  }
}

let user;
let org;
await check('createUser', async () => {
  user = await clerk.users.createUser({ publicMetadata: { role: 'admin' }, privateMetadata: { plan: 'pro' } });
  assert.match(user.id, /^user_/);
});
await check('getUser', async () => {
  const read = await clerk.users.getUser(user.id);
  assert.equal(read.id, user.id);
  assert.deepEqual(read.publicMetadata, { role: 'admin' });
  assert.deepEqual(read.privateMetadata, { plan: 'pro' });
  assert.deepEqual(read.unsafeMetadata, {});
  assert.deepEqual(read.emailAddresses, []);
  assert.equal(read.primaryEmailAddress, null);
});
await check('getUserList', async () => {
  await clerk.users.createUser({});
  const list = await clerk.users.getUserList({ limit: 10 });
  assert.equal(list.totalCount, 2);
  assert.equal(list.data.length, 2);
  assert.ok(list.data.some((u) => u.id === user.id));
});
await check('updateUserMetadata', async () => {
  const merged = await clerk.users.updateUserMetadata(user.id, {
    publicMetadata: { settings: { theme: 'dark' } },
    unsafeMetadata: { lang: 'en' },
  });
  assert.deepEqual(merged.publicMetadata, { role: 'admin', settings: { theme: 'dark' } });
  const again = await clerk.users.updateUserMetadata(user.id, { publicMetadata: { role: null } });
  assert.deepEqual(again.publicMetadata, { settings: { theme: 'dark' } });
});
await check('replaceUserMetadata', async () => {
  const replaced = await clerk.users.replaceUserMetadata(user.id, { publicMetadata: { only: true } });
  assert.deepEqual(replaced.publicMetadata, { only: true });
  assert.deepEqual(replaced.privateMetadata, { plan: 'pro' });
  assert.deepEqual(replaced.unsafeMetadata, { lang: 'en' });
});
await check('createOrganization', async () => {
  org = await clerk.organizations.createOrganization({ name: 'Acme', createdBy: user.id, publicMetadata: { tier: 'gold' } });
  assert.match(org.id, /^org_/);
  assert.deepEqual(org.publicMetadata, { tier: 'gold' });
});
await check('updateOrganizationMetadata', async () => {
  const merged = await clerk.organizations.updateOrganizationMetadata(org.id, { publicMetadata: { seats: 5 }, privateMetadata: { billing: 'x' } });
  assert.deepEqual(merged.publicMetadata, { tier: 'gold', seats: 5 });
  assert.deepEqual(merged.privateMetadata, { billing: 'x' });
});
await check('createOrganizationMembership', async () => {
  const m = await clerk.organizations.createOrganizationMembership({ organizationId: org.id, userId: user.id, role: 'org:member' });
  assert.equal(m.organization.id, org.id);
  assert.equal(m.publicUserData.userId, user.id);
  assert.deepEqual(m.publicMetadata, {});
});
await check('updateOrganizationMembershipMetadata', async () => {
  const m = await clerk.organizations.updateOrganizationMembershipMetadata({ organizationId: org.id, userId: user.id, publicMetadata: { title: 'cto' } });
  assert.deepEqual(m.publicMetadata, { title: 'cto' });
  assert.equal(m.organization.id, org.id);
});
await check('createOrganizationInvitation', async () => {
  const inv = await clerk.organizations.createOrganizationInvitation({ organizationId: org.id, emailAddress: 'new@example.com', role: 'org:member', publicMetadata: { team: 'x' } });
  assert.equal(inv.emailAddress, 'new@example.com');
  assert.equal(inv.status, 'pending');
  assert.equal(inv.organizationId, org.id);
  assert.deepEqual(inv.publicMetadata, { team: 'x' });
});
await check('refused write: code and paramName', async () => {
  await assert.rejects(
    clerk.users.updateUserMetadata(user.id, { publicMetadata: { big: 'x'.repeat(9000) } }),
    (err) => {
      assert.equal(err.status, 422);
      assert.equal(err.errors[0].code, 'form_param_exceeds_allowed_size');
      assert.equal(err.errors[0].meta.paramName, 'public_metadata');
      return true;
    },
  );
  await assert.rejects(clerk.users.getUser('user_nobody'), (err) => {
    assert.equal(err.status, 404);
    assert.equal(err.errors[0].code, 'resource_not_found');
    return true;
  });
});

console.log(`sdk: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
