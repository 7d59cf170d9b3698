// Small DOM helpers. Text always goes in as text nodes, never as HTML, so
// nothing a key pair's name, description or tags hold can become markup.

/** Makes an element: el('td', {class: 'mono'}, 'text', child). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      e.addEventListener(k.slice(2), v);
    } else if (v === true) {
      e.setAttribute(k, '');
    } else {
      e.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** The element with this id. */
export function $(id) {
  return document.getElementById(id);
}

function errorBox() {
  // An open modal dialog covers the page: its own box shows the error.
  const open = document.querySelector('dialog[open] [data-error]');
  return open || $('error');
}

/** Shows an error's message (the server's own, from api.js). */
export function showError(err) {
  const box = errorBox();
  box.textContent = err?.message || String(err);
  box.hidden = false;
}

/** Hides every error box. */
export function clearError() {
  for (const b of document.querySelectorAll('#error, [data-error]')) {
    b.textContent = '';
    b.hidden = true;
  }
}

let pending = 0;

/**
 * Runs work with the progress bar and label shown and the given controls
 * disabled, and shows its error if it fails; resolves to work's result,
 * or undefined after an error.
 */
export async function busy(label, work, ...controls) {
  clearError();
  pending++;
  $('busy-text').textContent = label;
  $('busy').hidden = false;
  for (const c of controls) if (c) c.disabled = true;
  try {
    return await work();
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    for (const c of controls) if (c) c.disabled = false;
    if (--pending === 0) $('busy').hidden = true;
  }
}

/** Offers text as a file download named filename. */
export function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], {type: 'application/octet-stream'}));
  const a = el('a', {href: url, download: filename, class: 'offscreen'});
  document.body.append(a);
  a.click();
  a.remove();
  // Long enough for the download to start; the key is not kept after.
  setTimeout(() => URL.revokeObjectURL(url), 2000);
}

/** The file name a private key is offered under: PuTTY's .ppk or .pem. */
export function keyFileName(name, privateKey) {
  return name + (privateKey.startsWith('PuTTY-User-Key-File') ? '.ppk' : '.pem');
}

/** A <time> for an RFC 3339 instant, shown in UTC to the minute. */
export function timeEl(s) {
  if (!s) return el('span', {class: 'none'}, 'never');
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return el('span', {}, s);
  return el('time', {datetime: s, title: s}, d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC');
}

/**
 * Asks for confirmation in the confirm dialog; resolves to true when the
 * confirm button was chosen, false for Cancel or Escape. The answer comes
 * from the buttons themselves, not the dialog's close event, which is
 * fired later and could otherwise be taken for the next question's.
 */
export function confirmDialog(title, message, action) {
  const dlg = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-message').textContent = message;
  $('confirm-ok').textContent = action;
  clearError();
  return new Promise((resolve) => {
    const answer = (v) => () => {
      $('confirm-ok').onclick = null;
      $('confirm-cancel').onclick = null;
      dlg.oncancel = null;
      dlg.close();
      resolve(v);
    };
    $('confirm-ok').onclick = answer(true);
    $('confirm-cancel').onclick = answer(false);
    dlg.oncancel = answer(false);
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}

/** Reads "key=value" lines into a tags object; a line without "=" is a key with an empty value. */
export function parseTags(text) {
  const tags = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const i = line.indexOf('=');
    const k = (i < 0 ? line : line.slice(0, i)).trim();
    tags[k] = i < 0 ? '' : line.slice(i + 1);
  }
  return tags;
}

/** Writes a tags object as "key=value" lines. */
export function formatTags(tags) {
  return Object.entries(tags || {}).map(([k, v]) => `${k}=${v}`).join('\n');
}

/** The private key formats each generated type can be written in. */
export function formatsOf(type) {
  if (type === 'ed25519') return ['openssh', 'pkcs8', 'ppk'];
  if (type.startsWith('ecdsa-')) return ['openssh', 'pkcs8', 'sec1', 'ppk'];
  return ['openssh', 'pkcs8', 'pkcs1', 'ppk'];
}

/** Fills a format <select> with the formats of type, keeping the choice when it still fits. */
export function fillFormats(select, type) {
  const keep = select.value;
  select.replaceChildren(...formatsOf(type).map((f) => el('option', {value: f}, formatLabel(f))));
  if (formatsOf(type).includes(keep)) select.value = keep;
}

function formatLabel(f) {
  return {openssh: 'OpenSSH', pkcs8: 'PKCS #8 (PEM)', pkcs1: 'PKCS #1 (PEM)', sec1: 'SEC 1 (PEM)', ppk: 'PuTTY (.ppk)'}[f] || f;
}
