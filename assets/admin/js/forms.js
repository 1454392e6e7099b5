// Form fields with a label and a place for the server's message, and
// showing an API error next to the field it names ("theme.primary：…").

import { ApiError } from './api.js?v=__BUILD__';
import { h, mount, notice } from './dom.js?v=__BUILD__';

/** A labelled control; `input.id` is `id`, its error `${id}-error`. */
export function field(id, label, input) {
  const error = h('span', { class: 'field-error', id: `${id}-error` });
  input.id = id;
  input.setAttribute('aria-describedby', error.id);
  return { row: h('label', { for: id }, label, input, error), input, error };
}

export function clearErrors(fields) {
  for (const f of Object.values(fields)) {
    f.error.textContent = '';
    f.input.removeAttribute('aria-invalid');
  }
}

/** Shows an API error by the field it names, or in `status`. */
export function showError(err, fields, status) {
  clearErrors(fields);
  const f = err instanceof ApiError && err.field && fields[err.field];
  if (f) {
    f.error.textContent = err.message.slice(err.field.length + 1);
    f.input.setAttribute('aria-invalid', 'true');
    f.input.focus();
  } else {
    mount(status, notice('error', err.message));
  }
}
