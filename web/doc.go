// Package web is keyhaven's console: static HTML, CSS and JavaScript
// modules embedded in the binary and served at /console/. The console is
// a client of keyhaven's own API (/keyhaven/v1) and the built-in identity
// (/identity/v3), on the same origin; it keeps its token in the tab's
// sessionStorage and sends it as X-Auth-Token, never as a cookie.
package web
