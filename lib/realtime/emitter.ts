// A minimal typed event emitter: `on` returns the function that unsubscribes.

export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(type: K, handler: (payload: Events[K]) => void): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    for (const h of this.handlers.get(type) ?? []) {
      try {
        (h as (payload: Events[K]) => void)(payload);
      } catch (err) {
        // One failing listener must not stop the others (or the connection).
        console.error(err);
      }
    }
  }
}
