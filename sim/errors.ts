// Qumulo-shaped API errors (docs/qumulo-api.md §8). Handlers throw ApiError; the router turns it into
// `{module, error_class, description, stack: [], user_visible}` with the given HTTP status.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorClass: string,
    description: string,
  ) {
    super(description);
  }

  body(): Record<string, unknown> {
    return { module: 'qumulo-sim', error_class: this.errorClass, description: this.message, stack: [], user_visible: true };
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, 'fs_no_such_entry_error', `no such entry: ${what}`);
export const entryExists = (what: string): ApiError => new ApiError(409, 'fs_entry_exists_error', `entry exists: ${what}`);
export const readOnly = (what: string): ApiError => new ApiError(403, 'fs_read_only_error', `file is locked: ${what}`);
export const badRequest = (description: string): ApiError => new ApiError(400, 'invalid_request_error', description);
export const unauthorized = (): ApiError => new ApiError(401, 'http_unauthorized_error', 'authentication required');
