// The admin view: every user's key pairs and the audit log. The API
// decides who may see them; this view is only offered to administrators.
import {call, apiPath, keyPairPath} from './api.js';
import {$, el, busy, confirmDialog, download, keyFileName, timeEl} from './ui.js';
import {renderKeyPairs, Pager} from './table.js';

const pager = new Pager();
// The audit log pages forward by sequence number: each page's next_after.
let auditAfter = [0];
let auditNext = null;

/** Loads both parts of the admin view. */
export async function load() {
  await Promise.all([loadKeyPairs(), loadAudit()]);
}

async function loadKeyPairs() {
  await busy('Loading every user\'s key pairs…', async () => {
    const res = await call('GET', apiPath('/keypairs', {all_users: 'true', limit: $('ad-limit').value, cursor: pager.cursor}));
    renderKeyPairs($('ad-rows'), res.body.keypairs, {actions, owner: true});
    pager.show(res.body.next_cursor, $('ad-prev'), $('ad-next'), $('ad-page'));
  });
}

function actions(kp) {
  return [
    kp.escrow ? el('button', {type: 'button', 'aria-label': `Export the private key of ${kp.name} of ${kp.user_id}`,
      onclick: (ev) => exportKey(kp, ev.currentTarget)}, 'Export') : null,
    el('button', {type: 'button', class: 'danger', 'aria-label': `Delete ${kp.name} of ${kp.user_id}`, onclick: (ev) => remove(kp, ev.currentTarget)}, 'Delete'),
  ];
}

async function exportKey(kp, button) {
  const ok = await confirmDialog(`Export the private key of ${kp.name}?`,
    `The export is audited: the audit log records that you exported the private key of ${kp.name}, which belongs to user ${kp.user_id}, ` +
    'when and from where. The key is offered as a file download.', 'Export');
  if (!ok) return;
  const res = await busy(`Exporting ${kp.name}…`, () => call('GET', keyPairPath(kp.name, '/private-key', {user_id: kp.user_id})), button);
  if (res) download(keyFileName(kp.name, res.body.private_key), res.body.private_key);
  await loadAudit();
}

async function remove(kp, button) {
  const ok = await confirmDialog(`Delete ${kp.name}?`, `The key pair ${kp.name} of user ${kp.user_id} is deleted for good.`, 'Delete');
  if (!ok) return;
  await busy(`Deleting ${kp.name}…`, () => call('DELETE', keyPairPath(kp.name, '', {user_id: kp.user_id})), button);
  await load();
}

function instant(id) {
  const v = $(id).value;
  return v === '' ? undefined : new Date(v).toISOString();
}

async function loadAudit() {
  await busy('Loading the audit log…', async () => {
    const after = auditAfter[auditAfter.length - 1];
    const q = {user_id: $('au-user').value.trim(), action: $('au-action').value, keypair: $('au-keypair').value.trim(),
      since: instant('au-since'), until: instant('au-until'), limit: $('au-limit').value, after: after || undefined};
    const res = await call('GET', apiPath('/audit', q));
    const rows = res.body.entries.map((e) => el('tr', {},
      el('td', {}, String(e.seq)), el('td', {}, timeEl(e.time)), el('td', {class: 'action'}, e.action),
      el('td', {class: 'mono small'}, e.user_id), el('td', {class: 'mono small'}, e.project_id),
      el('td', {}, e.keypair_name), el('td', {}, e.remote_addr),
      el('td', {class: 'small'}, [e.server_id, e.task_id, e.result, e.detail].filter(Boolean).join(' · ')),
      el('td', {class: 'mono small'}, e.request_id)));
    $('au-rows').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', {colspan: 9, class: 'empty'}, 'No entries.'))]));
    auditNext = res.body.next_after ?? null;
    $('au-prev').disabled = auditAfter.length <= 1;
    $('au-next').disabled = auditNext === null;
    $('au-page').textContent = `Page ${auditAfter.length}`;
  });
}

/** Wires the view's controls once. */
export function init() {
  $('ad-prev').addEventListener('click', () => {
    pager.back();
    loadKeyPairs();
  });
  $('ad-next').addEventListener('click', () => {
    pager.forward();
    loadKeyPairs();
  });
  $('ad-limit').addEventListener('change', () => {
    pager.reset();
    loadKeyPairs();
  });
  $('au-filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    auditAfter = [0];
    loadAudit();
  });
  $('au-filters').addEventListener('reset', () => {
    auditAfter = [0];
    setTimeout(loadAudit, 0);
  });
  $('au-prev').addEventListener('click', () => {
    if (auditAfter.length > 1) auditAfter.pop();
    loadAudit();
  });
  $('au-next').addEventListener('click', () => {
    if (auditNext !== null) auditAfter.push(auditNext);
    loadAudit();
  });
}
