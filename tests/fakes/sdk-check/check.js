// check.js — runs Slack's official @slack/socket-mode and @slack/web-api against the fake (manual conformance check).
'use strict';
const { spawn } = require('child_process');
const readline = require('readline');
const { SocketModeClient } = require('@slack/socket-mode');
const { WebClient } = require('@slack/web-api');

const APP = 'xapp-1-A0FAKE-sdk-check-app';
const BOT = 'xoxb-sdk-check-bot-token';
const fakeBin = process.argv[2];
const fake = spawn(fakeBin, [APP, BOT], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = readline.createInterface({ input: fake.stdout });
const waiting = [];
lines.on('line', (l) => { const w = waiting.shift(); if (w) w(l); });
const cmd = (c) => new Promise((resolve) => { waiting.push(resolve); fake.stdin.write(c + '\n'); });
const results = [];
function check(name, ok, detail) { results.push(ok); console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`); }

async function main() {
  const api = (await new Promise((r) => waiting.push(r))).replace(/^api /, '');
  const web = new WebClient(BOT, { slackApiUrl: api, retryConfig: { retries: 2 } });
  const auth = await web.auth.test();
  check('auth.test with the bot token', auth.ok && auth.user_id === 'U0BOT');
  const sm = new SocketModeClient({ appToken: APP, clientOptions: { slackApiUrl: api }, logLevel: 'error' });
  const got = {};
  sm.on('slash_commands', async ({ ack, body }) => { got.slash = body; await ack({ text: 'working on it' }); });
  sm.on('interactive', async ({ ack, body }) => { got.action = body; await ack(); });
  sm.on('app_mention', async ({ ack, event }) => { got.mention = event; await ack(); });
  await sm.start();
  check('connections.open + hello (SDK connected)', (await cmd('wait-hello 1')) === 'ok');

  await cmd('slash env-sdk-1 U0ALICE status neo4j');
  const ack1 = await cmd('wait-ack env-sdk-1');
  check('slash command delivered and acked with payload', got.slash && got.slash.text === 'status neo4j' &&
        ack1.includes('working on it'), ack1);

  const parent = await web.chat.postMessage({ channel: 'C0PROMO', text: 'parent', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] });
  check('chat.postMessage returns ts', parent.ok && /^\d+\.\d{6}$/.test(parent.ts), parent.ts);
  const reply = await web.chat.postMessage({ channel: 'C0PROMO', text: 'reply', thread_ts: parent.ts });
  check('thread reply with the parent ts', reply.ok);
  let err = null;
  try { await web.chat.postMessage({ channel: 'C0PROMO', text: 'x', thread_ts: reply.ts }); } catch (e) { err = e; }
  check('reply to a reply ts is refused (thread_not_found)', err && err.data && err.data.error === 'thread_not_found');
  const upd = await web.chat.update({ channel: 'C0PROMO', ts: parent.ts, text: 'updated' });
  check('chat.update', upd.ok && upd.ts === parent.ts);
  const eph = await web.chat.postEphemeral({ channel: 'C0PROMO', user: 'U0ALICE', text: 'only you' });
  check('chat.postEphemeral returns message_ts', eph.ok && !!eph.message_ts);
  err = null;
  try { await web.chat.postMessage({ channel: 'C0NOPE', text: 'x' }); } catch (e) { err = e; }
  check('unknown channel → channel_not_found', err && err.data && err.data.error === 'channel_not_found');
  err = null;
  try { await new WebClient('xoxb-wrong', { slackApiUrl: api }).chat.postMessage({ channel: 'C0PROMO', text: 'x' }); } catch (e) { err = e; }
  check('wrong token → invalid_auth', err && err.data && err.data.error === 'invalid_auth');

  // message metadata: stored with the message, listed only with include_all_metadata (as Slack does)
  const md = { event_type: 'promobot_post', event_payload: { post_id: 'obs-1-1-1' } };
  const mdReply = await web.chat.postMessage({ channel: 'C0PROMO', text: 'with metadata', thread_ts: parent.ts, metadata: md });
  check('chat.postMessage with metadata', mdReply.ok);
  const withMd = await web.conversations.replies({ channel: 'C0PROMO', ts: parent.ts, include_all_metadata: true });
  const found = withMd.messages.find((m) => m.ts === mdReply.ts);
  check('conversations.replies returns the metadata', found && found.metadata && found.metadata.event_type === 'promobot_post' &&
        found.metadata.event_payload.post_id === 'obs-1-1-1', JSON.stringify(found));
  const noMd = await web.conversations.replies({ channel: 'C0PROMO', ts: parent.ts });
  check('…and only when asked for', !noMd.messages.find((m) => m.ts === mdReply.ts).metadata);
  const top = await web.chat.postMessage({ channel: 'C0PROMO', text: 'top with metadata', metadata: md });
  const hist = await web.conversations.history({ channel: 'C0PROMO', include_all_metadata: true, oldest: '0' });
  check('conversations.history returns the metadata', hist.messages.some((m) => m.ts === top.ts && m.metadata &&
        m.metadata.event_payload.post_id === 'obs-1-1-1'));
  err = null;
  try { await web.chat.postMessage({ channel: 'C0PROMO', text: 'x', metadata: { event_type: 'x' } }); } catch (e) { err = e; }
  check('metadata without event_payload → invalid_metadata_format', err && err.data && err.data.error === 'invalid_metadata_format');

  await cmd('ratelimit chat.postMessage 1 1');
  const t0 = Date.now();
  const rl = await web.chat.postMessage({ channel: 'C0PROMO', text: 'after 429' });
  check('429 + Retry-After honoured by the SDK', rl.ok && Date.now() - t0 >= 900, `${Date.now() - t0} ms`);

  await cmd(`action env-sdk-2 U0BOB ${parent.ts} approve:0 neo4j`);
  const ack2 = await cmd('wait-ack env-sdk-2');
  check('block_actions delivered and acked', got.action && got.action.actions[0].value === 'neo4j' &&
        got.action.container.message_ts === parent.ts, ack2);
  await cmd('mention env-sdk-3 Ev123 U0CAROL <@U0BOT> status neo4j');
  const ack3 = await cmd('wait-ack env-sdk-3');
  check('app_mention delivered and acked', got.mention && got.mention.text.includes('status neo4j'), ack3);

  await cmd('disconnect refresh_requested');
  check('SDK reconnects after refresh_requested', (await cmd('wait-hello 2')) === 'ok');
  await cmd('slash env-sdk-4 U0ALICE help');
  check('envelopes flow on the new connection', (await cmd('wait-ack env-sdk-4')).startsWith('acked'));

  await sm.disconnect();
  fake.stdin.write('quit\n');
  const failed = results.filter((r) => !r).length;
  console.log(`${results.length - failed}/${results.length} checks passed`);
  process.exitCode = failed ? 1 : 0;
}
main().catch((e) => { console.error(e); fake.kill(); process.exitCode = 1; });
