/** Saving measurements on the server: each completed, modified or removed annotation goes to
 * the annotations API of its study (/api/studies/{study}/annotations/), and the saved ones come
 * back when the study opens. Saves of one annotation are sent one after the other, and a burst
 * of modifications (a drag) is coalesced into at most one more request after the one in flight. */

export interface SavedAnnotation {
  uid: string;
  tool: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  frame: number;
  data: Record<string, unknown>;
  label: string;
}

export interface KeyImage {
  id?: number | string;
  series_instance_uid: string;
  sop_instance_uid: string;
  frame: number;
  note: string;
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface ClientOptions {
  csrfToken: string;
  fetch?: Fetch;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

class JsonApi {
  private readonly fetch: Fetch;
  constructor(private readonly options: ClientOptions) {
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  async request(method: string, url: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = this.options.csrfToken;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await this.fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        detail = ((await response.json()) as { detail?: string }).detail ?? detail;
      } catch {
        /* not JSON */
      }
      throw new ApiError(response.status, `${method} ${url}: ${response.status} ${detail}`);
    }
    return response.status === 204 ? undefined : response.json();
  }

  /** Every item of a list, following DRF pagination ({results, next}) when the API pages. */
  async list<T>(url: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | null = url;
    while (next) {
      const page = (await this.request("GET", next)) as T[] | { results: T[]; next: string | null };
      if (Array.isArray(page)) return items.concat(page);
      items.push(...page.results);
      next = page.next;
    }
    return items;
  }
}

interface Slot {
  known: boolean; // the server has it (restored, or POSTed)
  inFlight: Promise<void> | null;
  next: { kind: "save"; body: SavedAnnotation } | { kind: "delete" } | null;
}

export class AnnotationStore {
  private readonly api: JsonApi;
  private readonly slots = new Map<string, Slot>();
  /** Called with each failed save, for the status line; the store itself keeps going. */
  onError: (error: unknown) => void = () => {};

  constructor(
    private readonly url: string,
    options: ClientOptions,
  ) {
    this.api = new JsonApi(options);
  }

  private itemUrl(uid: string): string {
    return `${this.url}${encodeURIComponent(uid)}/`;
  }

  private slot(uid: string): Slot {
    let slot = this.slots.get(uid);
    if (!slot) {
      slot = { known: false, inFlight: null, next: null };
      this.slots.set(uid, slot);
    }
    return slot;
  }

  /** The saved annotations of the study; they count as known, so later saves PUT. */
  async load(): Promise<SavedAnnotation[]> {
    const saved = await this.api.list<SavedAnnotation>(this.url);
    for (const annotation of saved) this.slot(annotation.uid).known = true;
    return saved;
  }

  save(annotation: SavedAnnotation): Promise<void> {
    return this.enqueue(annotation.uid, { kind: "save", body: annotation });
  }

  remove(uid: string): Promise<void> {
    return this.enqueue(uid, { kind: "delete" });
  }

  /** Resolves when nothing is waiting or in flight. */
  async flush(): Promise<void> {
    for (;;) {
      const busy = [...this.slots.values()].map((s) => s.inFlight).filter((p): p is Promise<void> => p !== null);
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  get pending(): number {
    return [...this.slots.values()].filter((s) => s.inFlight !== null).length;
  }

  private enqueue(uid: string, op: NonNullable<Slot["next"]>): Promise<void> {
    const slot = this.slot(uid);
    slot.next = op; // a newer state replaces an older one not yet sent
    if (!slot.inFlight) slot.inFlight = this.drain(uid, slot);
    return slot.inFlight;
  }

  private async drain(uid: string, slot: Slot): Promise<void> {
    try {
      while (slot.next) {
        const op = slot.next;
        slot.next = null;
        try {
          await this.send(uid, slot, op);
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      slot.inFlight = null;
    }
  }

  private async send(uid: string, slot: Slot, op: NonNullable<Slot["next"]>): Promise<void> {
    if (op.kind === "delete") {
      if (!slot.known) return; // never reached the server: nothing to delete
      try {
        await this.api.request("DELETE", this.itemUrl(uid));
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      }
      slot.known = false;
      return;
    }
    if (slot.known) {
      try {
        await this.api.request("PUT", this.itemUrl(uid), op.body);
        return;
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        slot.known = false; // deleted elsewhere: create it again
      }
    }
    try {
      await this.api.request("POST", this.url, op.body);
    } catch (error) {
      // Already there (a retry after a lost answer): update it instead.
      if (!(error instanceof ApiError && (error.status === 409 || error.status === 400))) throw error;
      await this.api.request("PUT", this.itemUrl(uid), op.body);
    }
    slot.known = true;
  }
}

export class KeyImageStore {
  private readonly api: JsonApi;
  constructor(
    private readonly url: string,
    options: ClientOptions,
  ) {
    this.api = new JsonApi(options);
  }

  load(): Promise<KeyImage[]> {
    return this.api.list<KeyImage>(this.url);
  }

  async add(image: KeyImage): Promise<KeyImage> {
    return (await this.api.request("POST", this.url, image)) as KeyImage;
  }

  async remove(id: number | string): Promise<void> {
    await this.api.request("DELETE", `${this.url}${encodeURIComponent(String(id))}/`);
  }
}
