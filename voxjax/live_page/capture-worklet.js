// Microphone -> 16-bit PCM frames at the model's rate, posted to the page every ~40 ms.
// The AudioContext runs at the model rate when the browser allows it (the browser resamples
// the microphone); otherwise this worklet resamples linearly from the context's rate.
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.ratio = sampleRate / options.processorOptions.targetRate;  // input per output sample
    this.frame = options.processorOptions.frameSamples;
    this.buffer = new Int16Array(this.frame);
    this.filled = 0;
    this.position = 0;  // fractional read position into the current input block
    this.previous = 0;
  }
  push(value) {
    const s = Math.max(-1, Math.min(1, value));
    this.buffer[this.filled++] = s < 0 ? s * 32768 : s * 32767;
    if (this.filled === this.frame) {
      this.port.postMessage(this.buffer.buffer, [this.buffer.buffer]);
      this.buffer = new Int16Array(this.frame);
      this.filled = 0;
    }
  }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    if (this.ratio === 1) {
      for (let i = 0; i < input.length; i++) this.push(input[i]);
      return true;
    }
    while (this.position < input.length) {
      const i = Math.floor(this.position), t = this.position - i;
      const a = i === 0 ? this.previous : input[i - 1], b = input[i];
      this.push(a + (b - a) * t);
      this.position += this.ratio;
    }
    this.position -= input.length;
    this.previous = input[input.length - 1];
    return true;
  }
}
registerProcessor("capture", CaptureProcessor);
