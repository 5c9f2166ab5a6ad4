// A queue of received 16-bit PCM chunks played back in order; reports samples played.
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.offset = 0;
    this.played = 0;
    this.port.onmessage = (e) => this.queue.push(new Int16Array(e.data));
  }
  process(inputs, outputs) {
    const out = outputs[0][0];
    let i = 0;
    while (i < out.length && this.queue.length) {
      const chunk = this.queue[0];
      const n = Math.min(out.length - i, chunk.length - this.offset);
      for (let k = 0; k < n; k++) out[i + k] = chunk[this.offset + k] / 32768;
      i += n;
      this.offset += n;
      this.played += n;
      if (this.offset === chunk.length) { this.queue.shift(); this.offset = 0; }
    }
    out.fill(0, i);
    if (currentFrame % 4096 < out.length) this.port.postMessage(this.played);
    return true;
  }
}
registerProcessor("playback", PlaybackProcessor);
