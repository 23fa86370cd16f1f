/**
 * When a JWT expires, in ms since the epoch; 0 when it cannot be read.
 * @param {string | null} token
 */
export function expiresAt(token: string | null): number;
/**
 * @typedef {{ id: string, conversationId: string, seq: number, rev: number, senderId: string,
 *   clientMessageId: string, body: string, deleted: boolean }} Message
 * @typedef {{ clientMessageId: string, conversationId: string, body: string,
 *   attachmentIds?: string[], replyToId?: string, queuedAt: number }} OutboxEntry
 * @typedef {{ getItem(key: string): string | null, setItem(key: string, value: string): void,
 *   removeItem(key: string): void }} KeyValueStorage
 * @typedef {{ code: string, message: string, retryAfterMs?: number }} ContractError
 */
/** A storage that forgets on exit (outside a browser, or for tests). */
export class MemoryStorage {
    /** @type {Map<string, string>} */
    items: Map<string, string>;
    /** @param {string} key */
    getItem(key: string): string | null;
    /** @param {string} key @param {string} value */
    setItem(key: string, value: string): void;
    /** @param {string} key */
    removeItem(key: string): void;
}
/** The error of a failed API call, with the contract's code. */
export class ApiError extends Error {
    /** @param {number} status @param {ContractError} error */
    constructor(status: number, error: ContractError);
    status: number;
    code: string;
}
export class ConfabClient extends EventTarget {
    /**
     * @param {{ baseUrl?: string, io: Function, storage?: KeyValueStorage,
     *   fetch?: typeof globalThis.fetch }} options `io` is socket.io-client's `io`.
     */
    constructor({ baseUrl, io, storage, fetch }: {
        baseUrl?: string;
        io: Function;
        storage?: KeyValueStorage;
        fetch?: typeof globalThis.fetch;
    });
    baseUrl: string;
    io: Function;
    storage: KeyValueStorage;
    fetch: typeof fetch;
    /** @type {string | null} */
    accessToken: string | null;
    /** The refresh token, outside a browser only (a browser keeps it in its HttpOnly cookie). */
    /** @type {string | null} */
    refreshToken: string | null;
    /** @type {any} */
    user: any;
    /** @type {any} */
    socket: any;
    state: string;
    /** The highest rev applied per conversation. @type {Map<string, number>} */
    revs: Map<string, number>;
    /** The highest seq handed on per conversation (what is new, and what an update). @type {Map<string, number>} */
    seqs: Map<string, number>;
    /** Conversations being repaired, with the live changes that wait for it. @type {Map<string, any[]>} */
    repairing: Map<string, any[]>;
    /** @type {Map<string, number>} */
    typingSent: Map<string, number>;
    /** @type {Promise<string> | null} */
    refreshing: Promise<string> | null;
    flushing: boolean;
    /** @param {string} type @param {any} detail */
    emitEvent(type: string, detail: any): void;
    /**
     * One HTTP call of the API (`path` under `/api`); the access token is refreshed once if the
     * server says it expired.
     * @param {string} method @param {string} path @param {any} [body]
     * @returns {Promise<any>}
     */
    api(method: string, path: string, body?: any, retried?: boolean): Promise<any>;
    /** Outside a browser, keeps the refresh token of a `Set-Cookie` (a browser keeps the cookie). @param {Response} res */
    keepRefreshCookie(res: Response): void;
    /** @param {{ accessToken: string, user: any }} session */
    signedIn(session: {
        accessToken: string;
        user: any;
    }): any;
    /** @param {{ email: string, username: string, password: string, displayName?: string }} account */
    register(account: {
        email: string;
        username: string;
        password: string;
        displayName?: string;
    }): Promise<any>;
    /** @param {string} login @param {string} password */
    login(login: string, password: string): Promise<any>;
    /** Revokes the refresh token and closes the socket. */
    logout(): Promise<void>;
    /** A new access token through the refresh cookie (one request at a time). */
    refresh(): Promise<string>;
    /** An access token that will not expire in the next 30 s. */
    freshToken(): Promise<string>;
    /** @param {string} state */
    setState(state: string): void;
    /** Connects (and reconnects by itself), with a fresh token each time. @param {object} [options] socket.io options */
    connect(options?: object): any;
    disconnect(): void;
    /** Renews the live socket's credentials (`auth:refresh`) with a new access token. */
    renew(): Promise<void>;
    /**
     * Emits `event` and resolves with its ack, rejecting with the contract's error.
     * @param {string} event @param {any} payload
     */
    ask(event: string, payload: any): Promise<any>;
    /** @param {any} ready */
    onReady(ready: any): void;
    /**
     * A live change with `rev` in `conversation`: handed on in order, or after a repair.
     * @param {string} conversation @param {number} rev @param {string} kind @param {any} payload
     */
    onChange(conversation: string, rev: number, kind: string, payload: any): void;
    /**
     * Fetches every change after the applied rev with `sync:changes`, hands them on in rev
     * order, then the live changes that came meanwhile.
     * @param {string} conversation @param {any[]} [pending]
     */
    repair(conversation: string, pending?: any[]): Promise<void>;
    outboxKey(): string;
    /** The messages waiting to be acked, oldest first. @returns {OutboxEntry[]} */
    outbox(): OutboxEntry[];
    /** @param {OutboxEntry[]} entries */
    saveOutbox(entries: OutboxEntry[]): void;
    /**
     * Queues a message and sends it as soon as the socket is connected; returns its entry (its
     * `clientMessageId` names it in `message` and `failed` events).
     * @param {string} conversationId @param {string} body
     * @param {{ attachmentIds?: string[], replyToId?: string }} [extra]
     */
    send(conversationId: string, body: string, extra?: {
        attachmentIds?: string[];
        replyToId?: string;
    }): OutboxEntry;
    /** Sends the outbox in order, one message at a time, until it is empty or the socket drops. */
    flush(): Promise<void>;
    /** @param {string} clientMessageId */
    dropFromOutbox(clientMessageId: string): void;
    /**
     * Asks for a change to a message and hands the acked message on as an `update` (the live
     * `message:updated` or `reaction:updated` of the same rev is then a repeat).
     * @param {string} event @param {any} payload
     */
    change(event: string, payload: any): Promise<any>;
    /** @param {string} conversationId @param {string} messageId @param {string} body */
    edit(conversationId: string, messageId: string, body: string): Promise<any>;
    /** Deletes a message, leaving its tombstone. @param {string} conversationId @param {string} messageId */
    remove(conversationId: string, messageId: string): Promise<any>;
    /** @param {string} conversationId @param {string} messageId @param {string} emoji @param {boolean} add */
    react(conversationId: string, messageId: string, emoji: string, add: boolean): Promise<any>;
    /**
     * Uploads one image: asks for an upload URL, sends the bytes to it with exactly the headers
     * it came with, then completes it; resolves with the ready Attachment, whose `id` goes into
     * `send`'s `attachmentIds`. `onProgress` gets the fraction sent (in a browser).
     * @param {Blob & { name?: string }} file @param {(fraction: number) => void} [onProgress]
     */
    upload(file: Blob & {
        name?: string;
    }, onProgress?: (fraction: number) => void): Promise<any>;
    /** The user is typing in `conversationId`: `typing:start`, at most every 3 s. @param {string} conversationId */
    typing(conversationId: string): void;
    /** The user stopped typing (sent, or cleared the composer). @param {string} conversationId */
    stopTyping(conversationId: string): void;
}
export type Message = {
    id: string;
    conversationId: string;
    seq: number;
    rev: number;
    senderId: string;
    clientMessageId: string;
    body: string;
    deleted: boolean;
};
export type OutboxEntry = {
    clientMessageId: string;
    conversationId: string;
    body: string;
    attachmentIds?: string[];
    replyToId?: string;
    queuedAt: number;
};
export type KeyValueStorage = {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
};
export type ContractError = {
    code: string;
    message: string;
    retryAfterMs?: number;
};
