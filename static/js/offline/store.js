/* The tablet's storage (IndexedDB "medtech-offline"): the queue of doses charted offline,
 * in order, and a key-value store for the bundle, the results of the last sync and who is
 * switched in offline. */

import { state } from "./state.js";

const DB_NAME = "medtech-offline";

let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        const database = request.result;
        database.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
        database.createObjectStore("kv");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return dbPromise;
}

function tx(storeName, mode, work) {
  return db().then(
    (database) =>
      new Promise((resolve, reject) => {
        const transaction = database.transaction(storeName, mode);
        const result = work(transaction.objectStore(storeName));
        transaction.oncomplete = () => resolve(result && "result" in result ? result.result : result);
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      })
  );
}

export function kvGet(key) {
  return tx("kv", "readonly", (store) => store.get(key));
}

export function kvSet(key, value) {
  return tx("kv", "readwrite", (store) => {
    store.put(value, key);
  });
}

export function kvDelete(key) {
  return tx("kv", "readwrite", (store) => {
    store.delete(key);
  });
}

export function queueAll() {
  return tx("queue", "readonly", (store) => store.getAll()).then((entries) =>
    entries.sort((a, b) => a.seq - b.seq)
  );
}

export function queueAdd(entry) {
  return tx("queue", "readwrite", (store) => {
    store.add(entry);
  });
}

export function queueRemove(seq) {
  return tx("queue", "readwrite", (store) => {
    store.delete(seq);
  });
}

/** Read the queue into state.queue. */
export function loadQueue() {
  return queueAll().then((entries) => {
    state.queue = entries;
  });
}
