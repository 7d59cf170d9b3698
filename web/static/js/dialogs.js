// The key pair dialogs: create (generate or import), edit, rotate, and the
// one-time offer of a generated private key.
import {call, apiPath, keyPairPath} from './api.js';
import {$, busy, clearError, download, fillFormats, formatTags, keyFileName, parseTags} from './ui.js';

let onCreated = null;
let editing = null;
let rotating = null;

/** Opens the create dialog; done(keyPair) runs after a creation. */
export function openCreate(done) {
  onCreated = done;
  const f = $('create-form');
  f.reset();
  fillFormats($('create-format'), $('create-type').value);
  syncCreate();
  clearError();
  $('create-dialog').showModal();
  $('create-name').focus();
}

function syncCreate() {
  const gen = $('create-mode-generate').checked;
  $('create-generate').hidden = !gen;
  $('create-import').hidden = gen;
  const escrow = $('create-escrow').checked;
  $('create-kms-row').hidden = !escrow;
  $('create-private-row').hidden = gen || !escrow;
  $('create-public').required = !gen;
}

function escrowOf(checkbox, input) {
  if (!checkbox.checked) return undefined;
  const k = input.value.trim();
  return k === '' ? {} : {kms_key: k};
}

async function submitCreate(ev) {
  ev.preventDefault();
  const body = {name: $('create-name').value};
  const desc = $('create-description').value;
  if (desc !== '') body.description = desc;
  const tags = parseTags($('create-tags').value);
  if (Object.keys(tags).length) body.tags = tags;
  if ($('create-scope-domain').checked) body.scope = 'domain';
  const exp = $('create-expires').value;
  if (exp !== '') body.expires_at = new Date(exp).toISOString();
  const escrow = escrowOf($('create-escrow'), $('create-kms'));
  if (escrow) body.escrow = escrow;
  if ($('create-mode-generate').checked) {
    body.type = $('create-type').value;
    body.private_key_format = $('create-format').value;
  } else {
    body.public_key = $('create-public').value.trim();
    const priv = $('create-private').value;
    if (escrow && priv.trim() !== '') body.private_key = priv;
  }
  const label = body.public_key ? `Importing ${body.name}…` : `Generating ${body.name}…`;
  const res = await busy(label, () => call('POST', apiPath('/keypairs'), {body}), $('create-submit'));
  if (!res) return;
  $('create-dialog').close();
  await onCreated?.(res.body);
}

async function readPubFile() {
  const file = $('create-file').files[0];
  if (!file) return;
  if (file.size > 16384) {
    $('create-public').value = '';
    $('create-dialog').querySelector('[data-error]').textContent = `${file.name} is too large for a public key.`;
    $('create-dialog').querySelector('[data-error]').hidden = false;
    return;
  }
  $('create-public').value = (await file.text()).trim();
}

/** Opens the edit dialog (description and tags) for kp; done() runs after a change. */
export function openEdit(kp, done) {
  editing = {kp, done};
  $('edit-title').textContent = `Edit ${kp.name}`;
  $('edit-description').value = kp.description || '';
  $('edit-tags').value = formatTags(kp.tags);
  clearError();
  $('edit-dialog').showModal();
  $('edit-description').focus();
}

async function submitEdit(ev) {
  ev.preventDefault();
  const {kp, done} = editing;
  const body = {description: $('edit-description').value, tags: parseTags($('edit-tags').value)};
  const res = await busy(`Saving ${kp.name}…`, () => call('PATCH', keyPairPath(kp.name), {body}), $('edit-submit'));
  if (!res) return;
  $('edit-dialog').close();
  await done();
}

/** Opens the rotate dialog for kp; done() runs after the rotation. */
export function openRotate(kp, done) {
  rotating = {kp, done};
  $('rotate-form').reset();
  $('rotate-title').textContent = `Rotate ${kp.name}`;
  $('rotate-current').textContent = `Current key: ${kp.type}, ${kp.fingerprint_sha256}.`;
  $('rotate-escrow-note').textContent = kp.escrow
    ? `The new private key stays in escrow under ${kp.escrow.kms_key || 'the default KMS key'}, unless you name another KMS key.`
    : 'The new private key is offered once as a download, unless you keep it in escrow.';
  $('rotate-escrow').checked = Boolean(kp.escrow);
  $('rotate-escrow').disabled = Boolean(kp.escrow);
  $('rotate-kms').value = '';
  fillFormats($('rotate-format'), $('rotate-type').value);
  syncRotate();
  clearError();
  $('rotate-dialog').showModal();
  $('rotate-type').focus();
}

function syncRotate() {
  $('rotate-kms-row').hidden = !$('rotate-escrow').checked;
}

async function submitRotate(ev) {
  ev.preventDefault();
  const {kp, done} = rotating;
  const body = {type: $('rotate-type').value, private_key_format: $('rotate-format').value};
  const escrow = escrowOf($('rotate-escrow'), $('rotate-kms'));
  if (escrow && (!kp.escrow || escrow.kms_key)) body.escrow = escrow;
  const res = await busy(`Rotating ${kp.name}…`, () => call('POST', keyPairPath(kp.name, ':rotate'), {body}), $('rotate-submit'));
  if (!res) return;
  $('rotate-dialog').close();
  if (res.body.private_key) offerPrivateKey(kp.name, res.body.private_key);
  await done();
}

// The private key being offered; dropped when its dialog closes, so it is
// offered exactly once.
let secret = null;

/** Offers a generated private key for download, this once. */
export function offerPrivateKey(name, privateKey) {
  secret = {name, file: keyFileName(name, privateKey), key: privateKey};
  $('secret-title').textContent = `The private key of ${name}`;
  $('secret-download').textContent = `Download ${secret.file}`;
  $('secret-dialog').showModal();
  $('secret-download').focus();
}

/** Wires the dialogs' controls once. */
export function init() {
  for (const id of ['create-mode-generate', 'create-mode-import', 'create-escrow']) $(id).addEventListener('change', syncCreate);
  $('create-type').addEventListener('change', () => fillFormats($('create-format'), $('create-type').value));
  $('create-file').addEventListener('change', readPubFile);
  $('create-form').addEventListener('submit', submitCreate);
  $('edit-form').addEventListener('submit', submitEdit);
  $('rotate-form').addEventListener('submit', submitRotate);
  $('rotate-escrow').addEventListener('change', syncRotate);
  $('rotate-type').addEventListener('change', () => fillFormats($('rotate-format'), $('rotate-type').value));
  for (const d of document.querySelectorAll('dialog')) {
    for (const b of d.querySelectorAll('[data-close]')) b.addEventListener('click', () => d.close());
  }
  $('secret-download').addEventListener('click', () => {
    if (secret) download(secret.file, secret.key);
  });
  // Escape must not drop the key by accident: only "Done" closes it.
  $('secret-dialog').addEventListener('cancel', (ev) => ev.preventDefault());
  $('secret-done').addEventListener('click', () => {
    secret = null;
  });
  $('secret-dialog').addEventListener('close', () => {
    if (!$('secret-dialog').open) secret = null;
  });
}
