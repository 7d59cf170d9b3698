// The key pair table, shared by the user's page and the admin view.
import {el, timeEl} from './ui.js';

function tagsCell(tags) {
  const entries = Object.entries(tags || {});
  if (entries.length === 0) return el('span', {class: 'none'}, 'none');
  return el('ul', {class: 'tags'}, entries.map(([k, v]) => el('li', {}, v === '' ? k : `${k}=${v}`)));
}

function escrowCell(kp) {
  if (!kp.escrow) return el('span', {class: 'none'}, 'no');
  return el('span', {class: 'escrow'}, kp.escrow.kms_key || 'default');
}

/**
 * Renders key pairs into tbody; actions(kp) gives each row's buttons,
 * owner adds the owner's user and project.
 */
export function renderKeyPairs(tbody, keypairs, {actions, owner = false}) {
  const cols = owner ? 11 : 10;
  if (keypairs.length === 0) {
    tbody.replaceChildren(el('tr', {}, el('td', {colspan: cols, class: 'empty'}, 'No key pairs.')));
    return;
  }
  tbody.replaceChildren(...keypairs.map((kp) => {
    const warn = (kp.warnings || []).length ? el('p', {class: 'warning'}, kp.warnings.join('; ')) : null;
    return el('tr', {'data-name': kp.name},
      el('th', {scope: 'row'}, el('span', {class: 'name'}, kp.name), kp.description ? el('p', {class: 'desc'}, kp.description) : null, warn),
      owner ? el('td', {class: 'mono small'}, kp.user_id, el('br'), kp.project_id) : null,
      el('td', {}, kp.type),
      el('td', {class: 'mono small fp-sha256'}, kp.fingerprint_sha256),
      el('td', {class: 'mono small fp-md5'}, kp.fingerprint_md5),
      el('td', {}, kp.scope),
      el('td', {class: 'escrow-cell'}, escrowCell(kp)),
      el('td', {class: 'tags-cell'}, tagsCell(kp.tags)),
      el('td', {}, timeEl(kp.created_at)),
      el('td', {}, timeEl(kp.expires_at)),
      el('td', {class: 'actions'}, actions(kp)));
  }));
}

/**
 * A pager over cursor pages: first page is cursor null; next pushes the
 * answer's next_cursor, previous pops.
 */
export class Pager {
  constructor() {
    this.reset();
  }
  reset() {
    this.cursors = [null];
    this.next = null;
  }
  get cursor() {
    return this.cursors[this.cursors.length - 1];
  }
  get page() {
    return this.cursors.length;
  }
  forward() {
    if (this.next !== null) this.cursors.push(this.next);
  }
  back() {
    if (this.cursors.length > 1) this.cursors.pop();
  }
  /** Updates the controls after a page came with next_cursor next. */
  show(next, prevBtn, nextBtn, label) {
    this.next = next ?? null;
    prevBtn.disabled = this.cursors.length <= 1;
    nextBtn.disabled = this.next === null;
    label.textContent = `Page ${this.page}`;
  }
}
