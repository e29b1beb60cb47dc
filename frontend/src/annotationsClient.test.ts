import { describe, expect, it } from "vitest";
import { AnnotationStore, KeyImageStore, type SavedAnnotation } from "./annotationsClient";

interface Call {
  method: string;
  url: string;
  body?: unknown;
  headers: Record<string, string>;
}

/** A fake annotations API: keeps rows by uid, answers like DRF, and can hold answers back. */
function fakeApi(initial: SavedAnnotation[] = [], options: { paged?: boolean } = {}) {
  const rows = new Map(initial.map((a) => [a.uid, a]));
  const calls: Call[] = [];
  let gate: Promise<void> = Promise.resolve();
  let release: () => void = () => {};
  const json = (status: number, body?: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

  async function fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const method = init.method ?? "GET";
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method, url, body, headers: init.headers as Record<string, string> });
    await gate;
    const item = /\/annotations\/([^/]+)\/$/.exec(url)?.[1];
    if (method === "GET" && !item) {
      const all = [...rows.values()];
      if (!options.paged) return json(200, all);
      const offset = Number(new URL(url, "http://x").searchParams.get("offset") ?? 0);
      const next = offset + 1 < all.length ? `/api/studies/1.2/annotations/?limit=1&offset=${offset + 1}` : null;
      return json(200, { count: all.length, next, results: all.slice(offset, offset + 1) });
    }
    if (method === "POST") {
      if (rows.has(body.uid)) return json(400, { uid: ["exists"] });
      rows.set(body.uid, body);
      return json(201, body);
    }
    if (method === "PUT" && item) {
      if (!rows.has(decodeURIComponent(item))) return json(404, { detail: "Not found." });
      rows.set(body.uid, body);
      return json(200, body);
    }
    if (method === "DELETE" && item) {
      return rows.delete(decodeURIComponent(item)) ? json(204) : json(404, { detail: "Not found." });
    }
    return json(405, { detail: "no" });
  }
  return {
    rows,
    calls,
    fetch,
    hold() {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

function annotation(uid: string, x = 1): SavedAnnotation {
  return {
    uid,
    tool: "Length",
    series_instance_uid: "1.2.3",
    sop_instance_uid: "1.2.3.4",
    frame: 1,
    data: { handles: { points: [[x, 0, 0], [x + 10, 0, 0]] } },
    label: "",
  };
}

const URL_ = "/api/studies/1.2/annotations/";

describe("AnnotationStore", () => {
  it("creates a new annotation with POST, then updates it with PUT, sending the CSRF token", async () => {
    const api = fakeApi();
    const store = new AnnotationStore(URL_, { csrfToken: "tok", fetch: api.fetch });
    await store.save(annotation("a1"));
    await store.save(annotation("a1", 5));
    expect(api.calls.map((c) => `${c.method} ${c.url}`)).toEqual([`POST ${URL_}`, `PUT ${URL_}a1/`]);
    expect(api.calls.every((c) => c.headers["X-CSRFToken"] === "tok")).toBe(true);
    expect(api.rows.get("a1")?.data).toEqual(annotation("a1", 5).data);
  });

  it("restores saved annotations and updates them rather than creating them twice", async () => {
    const api = fakeApi([annotation("old")]);
    const store = new AnnotationStore(URL_, { csrfToken: "tok", fetch: api.fetch });
    const loaded = await store.load();
    expect(loaded.map((a) => a.uid)).toEqual(["old"]);
    expect(api.calls[0].headers["X-CSRFToken"]).toBeUndefined();
    await store.save(annotation("old", 9));
    expect(api.calls.slice(1).map((c) => c.method)).toEqual(["PUT"]);
  });

  it("follows pagination when the API pages its list", async () => {
    const api = fakeApi([annotation("a"), annotation("b"), annotation("c")], { paged: true });
    const store = new AnnotationStore(URL_, { csrfToken: "tok", fetch: api.fetch });
    expect((await store.load()).map((a) => a.uid)).toEqual(["a", "b", "c"]);
  });

  it("coalesces a drag's modifications into the request in flight plus the last state", async () => {
    const api = fakeApi();
    const store = new AnnotationStore(URL_, { csrfToken: "tok", fetch: api.fetch });
    api.hold();
    const first = store.save(annotation("d", 1));
    for (let x = 2; x <= 20; x += 1) void store.save(annotation("d", x));
    expect(store.pending).toBe(1);
    api.release();
    await first;
    await store.flush();
    expect(api.calls.map((c) => c.method)).toEqual(["POST", "PUT"]);
    expect((api.rows.get("d")?.data as { handles: { points: number[][] } }).handles.points[0][0]).toBe(20);
    expect(store.pending).toBe(0);
  });

  it("deletes a saved annotation, and sends nothing for one that never reached the server", async () => {
    const api = fakeApi([annotation("gone")]);
    const store = new AnnotationStore(URL_, { csrfToken: "tok", fetch: api.fetch });
    await store.load();
    await store.remove("gone");
    await store.remove("never-saved");
    expect(api.calls.map((c) => `${c.method} ${c.url}`)).toEqual([`GET ${URL_}`, `DELETE ${URL_}gone/`]);
    expect(api.rows.size).toBe(0);
  });

  it("waits for a pending create before deleting, so the delete is not lost", async () => {
    const api = fakeApi();
    const store = new AnnotationStore(URL_, { csrfToken: "tok", fetch: api.fetch });
    api.hold();
    void store.save(annotation("quick"));
    void store.remove("quick");
    api.release();
    await store.flush();
    expect(api.calls.map((c) => c.method)).toEqual(["POST", "DELETE"]);
    expect(api.rows.has("quick")).toBe(false);
  });

  it("reports a failed save and keeps working", async () => {
    const errors: unknown[] = [];
    const failing = async () => new Response(JSON.stringify({ detail: "boom" }), { status: 500 });
    const store = new AnnotationStore(URL_, { csrfToken: "tok", fetch: failing });
    store.onError = (e) => errors.push(e);
    await store.save(annotation("x"));
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain("500 boom");
  });
});

describe("KeyImageStore", () => {
  it("posts a key image with the CSRF token and deletes it by id", async () => {
    const calls: Call[] = [];
    const fetch = async (url: string, init: RequestInit = {}) => {
      calls.push({ method: init.method ?? "GET", url, body: init.body && JSON.parse(String(init.body)), headers: init.headers as Record<string, string> });
      return init.method === "DELETE" ? new Response(null, { status: 204 }) : new Response(JSON.stringify({ id: 7, ...JSON.parse(String(init.body)) }), { status: 201 });
    };
    const store = new KeyImageStore("/api/studies/1.2/key-images/", { csrfToken: "tok", fetch });
    const saved = await store.add({ series_instance_uid: "1.2.3", sop_instance_uid: "1.2.3.4", frame: 1, note: "" });
    expect(saved.id).toBe(7);
    await store.remove(7);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(["POST /api/studies/1.2/key-images/", "DELETE /api/studies/1.2/key-images/7/"]);
    expect(calls[0].headers["X-CSRFToken"]).toBe("tok");
  });
});
