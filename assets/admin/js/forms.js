// Form fields with a label and a place for the server's message, and
// showing an API error next to the field it names ("theme.primary：…").

import { ApiError, api } from './api.js?v=__BUILD__';
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

/**
 * An image URL field with an upload button and a preview. Returns the
 * field (`input` holds the URL) and `rows` to place in a form.
 */
export function imageField(id, label, value) {
  const f = field(id, label, h('input', { value: value || '', placeholder: 'https://… 或上传图片' }));
  const preview = h('img', { class: 'logo-preview', alt: `${label}预览`, hidden: !value, src: value || null });
  const file = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp', id: `${id}-file`, 'aria-label': `上传${label}` });
  file.addEventListener('change', async () => {
    if (!file.files[0]) return;
    const form = new FormData();
    form.append('file', file.files[0]);
    f.error.textContent = '正在上传…';
    try {
      const up = await api('POST', '/api/admin/uploads', form);
      f.input.value = up.url;
      preview.src = up.url;
      preview.hidden = false;
      f.error.textContent = '';
      f.input.removeAttribute('aria-invalid');
    } catch (err) {
      f.error.textContent = err.message;
    }
    file.value = '';
  });
  f.input.addEventListener('change', () => {
    const v = f.input.value.trim();
    preview.hidden = !v;
    if (v) preview.src = v;
  });
  f.rows = [f.row, h('div', { class: 'logo-row' }, h('label', { class: 'upload', for: file.id }, '上传图片', file), preview)];
  return f;
}

/** The value of an input, trimmed; `null` when empty. */
export function value(input) {
  const v = input.value.trim();
  return v === '' ? null : v;
}
