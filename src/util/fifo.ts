// A queue for the hot paths: the controllers' work queue and the event recorder.
/**
 * First in, first out, with O(1) push and shift. Array.prototype.shift copies the whole array when V8
 * cannot trim it in place (large arrays, or while the GC marks): with 10,000 triggers queued, that
 * was more of the controller's time than its reconciles.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop the consumed half now and then, so the array does not grow forever (amortized O(1)).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
