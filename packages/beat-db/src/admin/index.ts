// The admin's public API (framework-free handlers).
export * from './admin-types';
export { createAdminHandlers, type AdminHandlers } from './admin-handlers';
export { resolveAdminOptions, type BeatAdminOptions, type AdminAuthOptions, type BasicCredentials, type ResolvedAdminOptions } from './admin-options';
export { AdminError } from './admin-error';
export { toHttpReply, safeJson, SECURITY_HEADERS, type HttpReply } from './http-reply';
export { csrfTokenFor, verifyCsrfToken, CSRF_HEADER } from './csrf';
export { describeSchedule, describeCron } from './schedule-text';
export { validateSchedule, type FieldErrors } from './schedule-validation';
export { validateTaskInput, type TaskFields, type TaskNameCheck } from './validation';
export { previewRow, previewSchedule } from './preview';
export { renderAdminPage, ADMIN_ASSETS } from './page';
