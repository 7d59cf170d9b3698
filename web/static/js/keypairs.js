// The key pairs page: the signed-in user's key pairs, with filters,
// paging and each key pair's operations.
import {call, apiPath, keyPairPath} from './api.js';
import {$, el, busy, confirmDialog, download, keyFileName} from './ui.js';
import {renderKeyPairs, Pager} from './table.js';
import {openCreate, openEdit, openRotate, offerPrivateKey} from './dialogs.js';

const pager = new Pager();

function query() {
  const q = {limit: $('kp-limit').value, cursor: pager.cursor, 'name-prefix': $('kp-prefix').value.trim(), type: $('kp-type').value};
  const tag = $('kp-tag').value.trim();
  if (tag !== '') {
    if (tag.includes('=')) q.tag = tag;
    else q['tag-key'] = tag;
  }
  return q;
}

/** Loads the current page of key pairs. */
export async function load() {
  await busy('Loading key pairs…', async () => {
    const res = await call('GET', apiPath('/keypairs', query()));
    renderKeyPairs($('kp-rows'), res.body.keypairs, {actions});
    pager.show(res.body.next_cursor, $('kp-prev'), $('kp-next'), $('kp-page'));
  });
}

function actions(kp) {
  const btn = (label, aria, fn, cls = '') =>
    el('button', {type: 'button', class: cls, 'aria-label': `${aria} ${kp.name}`, onclick: (ev) => fn(kp, ev.currentTarget)}, label);
  return [
    btn('Edit', 'Edit', (k) => openEdit(k, load)),
    btn('Rotate', 'Rotate', (k) => openRotate(k, load)),
    kp.escrow ? btn('Export', 'Export the private key of', exportKey) : null,
    kp.escrow ? btn('Clear escrow', 'Clear the escrowed private key of', clearEscrow) : null,
    btn('Delete', 'Delete', remove, 'danger'),
  ];
}

async function remove(kp, button) {
  const ok = await confirmDialog(`Delete ${kp.name}?`,
    `The key pair ${kp.name} (${kp.fingerprint_sha256}) is deleted for good${kp.escrow ? ', with its escrowed private key' : ''}.`, 'Delete');
  if (!ok) return;
  await busy(`Deleting ${kp.name}…`, () => call('DELETE', keyPairPath(kp.name)), button);
  await load();
}

async function exportKey(kp, button) {
  const ok = await confirmDialog(`Export the private key of ${kp.name}?`,
    'The export is audited: the audit log records who exported this private key, when and from where. ' +
    'The key is offered as a file download.', 'Export');
  if (!ok) return;
  const res = await busy(`Exporting ${kp.name}…`, () => call('GET', keyPairPath(kp.name, '/private-key')), button);
  if (res) download(keyFileName(kp.name, res.body.private_key), res.body.private_key);
}

async function clearEscrow(kp, button) {
  const ok = await confirmDialog(`Clear the escrowed private key of ${kp.name}?`,
    'keyhaven destroys its copy of the private key; the key pair and its public key stay. This cannot be undone.', 'Clear');
  if (!ok) return;
  await busy(`Clearing ${kp.name}…`, () => call('DELETE', keyPairPath(kp.name, '/private-key')), button);
  await load();
}

/** Wires the page's controls once. */
export function init() {
  $('kp-filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    pager.reset();
    load();
  });
  $('kp-filters').addEventListener('reset', () => {
    pager.reset();
    setTimeout(load, 0);
  });
  $('kp-prev').addEventListener('click', () => {
    pager.back();
    load();
  });
  $('kp-next').addEventListener('click', () => {
    pager.forward();
    load();
  });
  $('kp-create').addEventListener('click', () => openCreate(async (created) => {
    if (created.private_key) offerPrivateKey(created.name, created.private_key);
    await load();
  }));
}
