/**
 * admin.js, part 1: helpers every other part uses. Plain browser JavaScript kept in a string (no build
 * step); the parts share one function scope (see ../index.ts). No template literals in here, so the
 * TypeScript String.raw wrapper never needs escaping. DOM is built with createElement/textContent
 * only: data never reaches innerHTML, so everything shown is escaped by the browser.
 */
export const CORE_JS = String.raw`
'use strict';
var BASE = (document.querySelector('meta[name="celeriac-base-path"]') || {}).content || '';
var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
var API = BASE + '/api';

function $(selector, root) { return (root || document).querySelector(selector); }
function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

/** el('td', { class: 'x', dataset: { id: 1 }, onclick: fn }, ['text', node]) */
function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (key) {
    var value = attrs[key];
    if (value === undefined || value === null || value === false) return;
    if (key === 'dataset') Object.keys(value).forEach(function (k) { node.dataset[k] = String(value[k]); });
    else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = String(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  });
  (children || []).forEach(function (child) {
    if (child === null || child === undefined) return;
    node.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  });
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

function debounce(fn, ms) {
  var timer = null;
  return function () {
    var args = arguments;
    clearTimeout(timer);
    timer = setTimeout(function () { fn.apply(null, args); }, ms);
  };
}

/** An API error: status, code, message and the per-field messages of a 400. */
function ApiError(status, body) {
  var error = (body && body.error) || {};
  this.status = status;
  this.code = error.code || 'HTTP_' + status;
  this.message = error.message || 'Request failed (' + status + ')';
  this.fields = error.fields || {};
}

/** fetch() on the admin API: JSON in and out, the CSRF header on every state-changing request. */
function api(method, path, body) {
  var headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = CSRF;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(API + path, { method: method, headers: headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
    .then(function (res) {
      if (res.status === 204) return null;
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: { message: text.slice(0, 200) } }; }
        if (!res.ok) throw new ApiError(res.status, data);
        return data;
      });
    });
}

function query(params) {
  var parts = [];
  Object.keys(params).forEach(function (key) {
    var value = params[key];
    if (value !== undefined && value !== null && value !== '') parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(String(value)));
  });
  return parts.length ? '?' + parts.join('&') : '';
}

function pad(n) { return n < 10 ? '0' + n : String(n); }

/** '2026-11-22 23:40:00' in the browser's time zone; '' for null. */
function formatTime(iso) {
  if (!iso) return '';
  var d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

/** 'in 5 min', '3 h ago'. */
function relativeTime(iso) {
  if (!iso) return '';
  var seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  var abs = Math.abs(seconds);
  var text = abs < 60 ? abs + ' s' : abs < 3600 ? Math.round(abs / 60) + ' min' : abs < 86400 ? Math.round(abs / 3600) + ' h' : Math.round(abs / 86400) + ' d';
  return seconds >= 0 ? 'in ' + text : text + ' ago';
}

/** A <time> element: local time as text, ISO in datetime and data-iso, the relative time as tooltip. */
function timeNode(iso, empty) {
  if (!iso) return el('span', { class: 'muted', text: empty || '—' });
  return el('time', { datetime: iso, 'data-iso': iso, title: iso + ' (' + relativeTime(iso) + ')', text: formatTime(iso) });
}

/** 'YYYY-MM-DDTHH:MM:SS' for a datetime-local input, from ISO. */
function toLocalInput(iso) {
  if (!iso) return '';
  return formatTime(iso).replace(' ', 'T');
}

/** ISO from a datetime-local input's value (read as the browser's local time); null when empty. */
function fromLocalInput(value) {
  if (!value) return null;
  var d = new Date(value);
  return isNaN(d.getTime()) ? value : d.toISOString();
}

var flashTimer = null;
/** A message in the status bar; errors stay until the next message. */
function flash(message, kind) {
  var box = $('#flash');
  box.textContent = message;
  box.className = 'flash ' + (kind || 'info');
  box.hidden = false;
  clearTimeout(flashTimer);
  if (kind !== 'error') flashTimer = setTimeout(function () { box.hidden = true; }, 5000);
}

function showError(error) {
  flash(error && error.message ? error.message : String(error), 'error');
}

function stringify(value) {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
`;
