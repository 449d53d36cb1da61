/** A path segment: ids may hold any character ('/', '?', '#' and the rest are escaped). */
export const seg = (value: string): string => encodeURIComponent(value);
