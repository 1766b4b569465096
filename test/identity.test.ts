// Who a sender is: security.roles for platforms that vouch for their users; for self-naming clients
// (WebSocket, REST) the API key's role bounds it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roleOf } from '../src/core/gateway.ts';
import { RoleMap, type Role } from '../src/core/policy.ts';

const roles = new RoleMap(new Map<string, Role>([['api:alice', 'Admin'], ['api:carol', 'Auditor'], ['telegram:1001', 'Operator']]));
const m = (platform: string, id: string, authority?: { principal: string; role: Role }) => ({ platform, sender: { id }, ...(authority ? { authority } : {}) });

test('a platform that vouches for its users: security.roles, else User', () => {
  assert.equal(roleOf(m('telegram', '1001'), roles), 'Operator');
  assert.equal(roleOf(m('telegram', '42'), roles), 'User');
});

test('a non-Admin key acts with its own role, whoever the message names', () => {
  assert.equal(roleOf(m('api', 'alice', { principal: 'ci-bot', role: 'User' }), roles), 'User', 'cannot claim an Admin');
  assert.equal(roleOf(m('api', 'bob', { principal: 'reports', role: 'Auditor' }), roles), 'Auditor');
});

test('an Admin key acts for the named user, or as Admin when it names none', () => {
  assert.equal(roleOf(m('api', 'carol', { principal: 'config', role: 'Admin' }), roles), 'Auditor');
  assert.equal(roleOf(m('api', 'bob', { principal: 'config', role: 'Admin' }), roles), 'User');
  assert.equal(roleOf(m('api', 'config', { principal: 'config', role: 'Admin' }), roles), 'Admin');
});
