// The console's entry point: sign-in, sign-out and the choice of view
// from the location's hash (#/keypairs, #/admin).
import {session, signInPassword, signInToken, signOut, forget} from './api.js';
import {$, busy, clearError} from './ui.js';
import * as keypairs from './keypairs.js';
import * as dialogs from './dialogs.js';
import * as admin from './admin.js';

const views = ['view-signin', 'view-keypairs', 'view-admin', 'view-denied'];

function showView(id, title) {
  for (const v of views) $(v).hidden = v !== id;
  document.title = `${title} · keyhaven`;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === location.hash || (id === 'view-keypairs' && a.id === 'nav-keypairs')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route() {
  const s = session();
  $('nav').hidden = !s;
  $('who').hidden = !s;
  if (!s) {
    showView('view-signin', 'Sign in');
    return;
  }
  $('who-name').textContent = s.project.name ? `${s.user.name} (${s.project.name})` : s.user.name;
  $('nav-admin').hidden = !s.admin;
  if (location.hash === '#/admin') {
    if (!s.admin) {
      showView('view-denied', 'Administrators only');
      return;
    }
    showView('view-admin', 'Administration');
    await admin.load();
    return;
  }
  showView('view-keypairs', 'Key pairs');
  await keypairs.load();
}

async function afterSignIn() {
  $('signin-password-form').reset();
  $('signin-token-form').reset();
  if (location.hash !== '#/keypairs') location.hash = '#/keypairs';
  else await route();
  $('main').focus();
}

function init() {
  dialogs.init();
  keypairs.init();
  admin.init();
  $('signin-password-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ok = await busy('Signing in…', () => signInPassword($('si-user').value, $('si-password').value, $('si-project').value, $('si-domain').value.trim()),
      $('si-submit'));
    if (ok) await afterSignIn();
  });
  $('signin-token-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ok = await busy('Checking the token…', () => signInToken($('st-token').value.trim()), $('st-submit'));
    if (ok) await afterSignIn();
  });
  $('signout').addEventListener('click', async () => {
    const ok = await busy('Signing out…', async () => {
      await signOut();
      return true;
    }, $('signout'));
    if (!ok) forget();
    history.replaceState(null, '', location.pathname);
    await route();
    $('si-user').focus();
  });
  window.addEventListener('hashchange', () => {
    clearError();
    route();
  });
  // A token that stopped working ends the session.
  document.addEventListener('keyhaven:unauthenticated', () => {
    forget();
    route();
  });
  route();
}

init();
