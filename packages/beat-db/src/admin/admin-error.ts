/** An error the handlers answer with (`{ error: { code, message, fields? } }`), never a 500. */
import type { AdminErrorBody, AdminErrorCode, AdminResponse } from './admin-types';

/** An answer other than success: status, stable code, message, and per-field messages for 400s. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: AdminErrorCode,
    message: string,
    readonly fields?: Record<string, string>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AdminError';
  }

  toResponse(): AdminResponse {
    const body: AdminErrorBody = { error: { code: this.code, message: this.message, ...(this.fields ? { fields: this.fields } : {}) } };
    return { status: this.status, body, ...(this.headers ? { headers: this.headers } : {}) };
  }
}

/** 400 with field-level messages (`fields` maps a path such as `schedule.minute` to its message). */
export function validationError(fields: Record<string, string>): AdminError {
  const n = Object.keys(fields).length;
  return new AdminError(400, 'VALIDATION', n === 1 ? `Invalid ${Object.keys(fields)[0]}: ${Object.values(fields)[0]}` : `${n} fields are invalid.`, fields);
}

/** 404 naming what was not found. */
export const notFound = (what: string): AdminError => new AdminError(404, 'NOT_FOUND', `${what} not found.`);
/** 400 for a bad query parameter or body shape. */
export const badRequest = (message: string, fields?: Record<string, string>): AdminError => new AdminError(400, 'BAD_REQUEST', message, fields);
