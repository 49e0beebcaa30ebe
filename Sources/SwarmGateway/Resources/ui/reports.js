// "Download PDF": a link to GET /api/v1/reports for a scope (swarm, test:ID, agent:NAME) over a
// period that ends when it is clicked, so the report covers what the page shows at that moment.

import { h } from './dom.js';

/** The report URL for `scope` over the `spanMs` before `now`. */
export function reportURL(scope, spanMs, now = Date.now()) {
  const q = new URLSearchParams({
    scope,
    from: new Date(now - spanMs).toISOString(),
    to: new Date(now).toISOString(),
  });
  return `/api/v1/reports?${q}`;
}

/** A button-styled link; `span()` gives the period's length in ms when it is clicked. */
export function reportButton(scope, span, title = 'PDF report of this page\u2019s period') {
  const link = h('a', { id: 'download-pdf', class: 'btn small', href: reportURL(scope, span()), download: '', title, text: 'Download PDF' });
  // The period ends at the click, not when the page was drawn.
  link.addEventListener('click', () => { link.href = reportURL(scope, span()); });
  return link;
}
