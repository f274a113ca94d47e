// github-check.mjs — runs GitHub's official @octokit/rest and @octokit/graphql against the fake GitHub (manual conformance check).
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { Octokit } from '@octokit/rest';
import { graphql } from '@octokit/graphql';

const TOKEN = 'ghp_sdkCheckToken0123456789';
const fake = spawn(process.argv[2], [TOKEN, 'acme/tta'], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = readline.createInterface({ input: fake.stdout });
const waiting = [];
lines.on('line', (l) => { const w = waiting.shift(); if (w) w(l); });
const cmd = (c) => new Promise((resolve) => { waiting.push(resolve); fake.stdin.write(c + '\n'); });
const results = [];
function check(name, ok, detail) { results.push(!!ok); console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`); }
async function failure(p) { try { await p; return null; } catch (e) { return e; } }

async function main() {
  const api = (await new Promise((r) => waiting.push(r))).replace(/^api /, '');
  const octokit = new Octokit({ auth: TOKEN, baseUrl: api, userAgent: 'promobot-sdk-check' });
  const o = { owner: 'acme', repo: 'tta' };

  const { data: issue, status } = await octokit.rest.issues.create({ ...o, title: '[PROMOTION] Neo4j: Development → Staging',
    body: '### Component Name\n\nNeo4j', labels: ['promotion:requested', 'component:neo4j'] });
  check('issues.create → 201 with number and labels', status === 201 && issue.number === 1 && issue.labels.length === 2);
  const added = await octokit.rest.issues.addLabels({ ...o, issue_number: 1, labels: ['promotion:in-review'] });
  check('issues.addLabels returns the issue labels', added.data.map((l) => l.name).includes('promotion:in-review'));
  const removed = await octokit.rest.issues.removeLabel({ ...o, issue_number: 1, name: 'promotion:requested' });
  check('issues.removeLabel (name with ":")', removed.status === 200 && !removed.data.some((l) => l.name === 'promotion:requested'));
  let e = await failure(octokit.rest.issues.removeLabel({ ...o, issue_number: 1, name: 'promotion:requested' }));
  check('removing an absent label → RequestError 404 "Label does not exist"', e && e.name === 'HttpError' && e.status === 404 &&
        e.response.data.message === 'Label does not exist', e && `${e.name} ${e.status} ${e.message}`);
  const lab = await octokit.rest.issues.createLabel({ ...o, name: 'promotion:approved', color: '0e8a16', description: 'Approved' });
  check('issues.createLabel → 201', lab.status === 201 && lab.data.color === '0e8a16');
  e = await failure(octokit.rest.issues.createLabel({ ...o, name: 'promotion:approved', color: '0e8a16' }));
  check('duplicate label → 422 Validation Failed with errors[]', e && e.status === 422 &&
        e.response.data.errors[0].code === 'already_exists', e && e.message);

  for (let i = 0; i < 205; i++) await octokit.rest.issues.createComment({ ...o, issue_number: 1, body: `comment ${i}` });
  const all = await octokit.paginate(octokit.rest.issues.listComments, { ...o, issue_number: 1, per_page: 100 });
  check('octokit.paginate follows link rel="next" over 3 pages', all.length === 205 && all[204].body === 'comment 204',
        `${all.length} comments`);
  check('the fake saw exactly 3 list requests', (await cmd('count GET /repos/acme/tta/issues/1/comments')) === '3');

  const closed = await octokit.rest.issues.update({ ...o, issue_number: 1, state: 'closed', state_reason: 'not_planned' });
  check('issues.update state_reason not_planned', closed.data.state === 'closed' && closed.data.state_reason === 'not_planned');
  await cmd('pull acme/tta promotion:blocked a pull request');
  const list = await octokit.rest.issues.listForRepo({ ...o, labels: 'promotion:blocked', state: 'all' });
  check('issues.listForRepo shows a PR with pull_request set', list.data.length === 1 && !!list.data[0].pull_request);

  const readme = await octokit.rest.repos.getContent({ ...o, path: 'README.md' });
  check('repos.getContent → base64 + sha', readme.data.encoding === 'base64' &&
        Buffer.from(readme.data.content, 'base64').toString() === '# repo\n' && readme.data.sha.length === 40);
  const put = await octokit.rest.repos.createOrUpdateFileContents({ ...o, path: 'README.md', message: 'update',
    content: Buffer.from('v2\n').toString('base64'), sha: readme.data.sha });
  check('repos.createOrUpdateFileContents with sha → 200 and the git blob sha', put.status === 200 &&
        put.data.content.sha === '8c1384d825dbbe41309b7dc18ee7991a9085c46e', put.data.content.sha);
  e = await failure(octokit.rest.repos.createOrUpdateFileContents({ ...o, path: 'README.md', message: 'again',
    content: Buffer.from('v3\n').toString('base64'), sha: readme.data.sha }));
  check('stale sha → 409', e && e.status === 409, e && e.message);
  e = await failure(octokit.rest.repos.createOrUpdateFileContents({ ...o, path: 'README.md', message: 'again',
    content: Buffer.from('v3\n').toString('base64') }));
  check('missing sha on an existing file → 422', e && e.status === 422, e && e.message);
  e = await failure(octokit.rest.issues.get({ ...o, issue_number: 999 }));
  check('unknown issue → RequestError 404 Not Found', e && e.status === 404 && e.response.data.message === 'Not Found' &&
        e.response.data.documentation_url && e.response.headers['x-ratelimit-limit'] === '5000');

  const sha = '2222222222222222222222222222222222222222';
  await cmd(`ref acme/tta release ${sha}`);
  const ref = await octokit.rest.git.getRef({ ...o, ref: 'heads/release' });
  check('git.getRef → object.sha', ref.data.object.sha === sha);
  await cmd(`check acme/tta ${sha} tests completed success`);
  await cmd(`status acme/tta ${sha} ci/lint success`);
  const checks = await octokit.rest.checks.listForRef({ ...o, ref: sha });
  check('checks.listForRef', checks.data.total_count === 1 && checks.data.check_runs[0].conclusion === 'success');
  check('check run output {title, summary} (null when unset)', checks.data.check_runs[0].output &&
        checks.data.check_runs[0].output.title === null && checks.data.check_runs[0].output.summary === null);
  const comb = await octokit.rest.repos.getCombinedStatusForRef({ ...o, ref: sha });
  check('repos.getCombinedStatusForRef', comb.data.state === 'success' && comb.data.statuses.length === 1);
  check('status description (null when unset)', comb.data.statuses[0].description === null);

  const dep = await octokit.rest.repos.createDeployment({ ...o, ref: sha, environment: 'staging', auto_merge: false, required_contexts: [] });
  check('repos.createDeployment → 201 with id', dep.status === 201 && dep.data.id > 0);
  const ds = await octokit.rest.repos.createDeploymentStatus({ ...o, deployment_id: dep.data.id, state: 'in_progress',
    log_url: 'https://chat.example/t/1' });
  check('repos.createDeploymentStatus', ds.status === 201 && ds.data.state === 'in_progress');
  e = await failure(octokit.rest.repos.createDeploymentStatus({ ...o, deployment_id: dep.data.id, state: 'done' }));
  check('an invalid deployment state → 422', e && e.status === 422);

  e = await failure(new Octokit({ auth: 'ghp_wrong', baseUrl: api }).rest.issues.get({ ...o, issue_number: 1 }));
  check('bad token → 401 Bad credentials', e && e.status === 401 && e.response.data.message === 'Bad credentials');
  await cmd('fault ratelimit 1 403 4102444800');
  e = await failure(octokit.rest.issues.get({ ...o, issue_number: 1 }));
  check('rate limit → 403 with x-ratelimit-remaining 0', e && e.status === 403 && e.response.headers['x-ratelimit-remaining'] === '0');

  await cmd('project PVT_kw1 PVTF_status');
  const gql = graphql.defaults({ baseUrl: api, headers: { authorization: `token ${TOKEN}` } });
  const r = await gql('mutation($projectId:ID!,$contentId:ID!){addProjectV2ItemById(input:{projectId:$projectId,contentId:$contentId}){item{id}}}',
    { projectId: 'PVT_kw1', contentId: issue.node_id });
  const item = r.addProjectV2ItemById.item.id;
  check('@octokit/graphql addProjectV2ItemById', /^PVTI_/.test(item), item);
  await gql('mutation($projectId:ID!,$itemId:ID!,$fieldId:ID!,$value:ProjectV2FieldValue!){updateProjectV2ItemFieldValue(input:{projectId:$projectId,itemId:$itemId,fieldId:$fieldId,value:$value}){projectV2Item{id}}}',
    { projectId: 'PVT_kw1', itemId: item, fieldId: 'PVTF_status', value: { singleSelectOptionId: 'opt_staging' } });
  check('@octokit/graphql updateProjectV2ItemFieldValue', (await cmd(`value ${item} PVTF_status`)) === 'opt_staging');
  e = await failure(gql('query($id:ID!){node(id:$id){id}}', { id: 'I_nope' }));
  check('GraphQL errors[] at HTTP 200 → GraphqlResponseError', e && e.name === 'GraphqlResponseError' &&
        e.errors[0].type === 'NOT_FOUND', e && e.message);
}

main().catch((e) => { check('no exception', false, e.stack); }).finally(async () => {
  fake.stdin.write('quit\n');
  const ok = results.length > 0 && results.every(Boolean);
  console.log(`${results.filter(Boolean).length}/${results.length} checks passed`);
  process.exit(ok ? 0 : 1);
});
