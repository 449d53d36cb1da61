/**
 * A path segment: ids may hold any character. Dots too are escaped: the browser resolves
 * a segment of `.` or `..` (a task may be called that) as the folder itself or its parent,
 * so `/v1/tasks/..` would be asked as `/v1/`.
 */
export const seg = (value: string): string => encodeURIComponent(value).replace(/\./g, '%2E');
