// The one export of the vendored socket.io-client bundle that the page uses.
export function io(uri?: string, options?: Record<string, unknown>): any;
