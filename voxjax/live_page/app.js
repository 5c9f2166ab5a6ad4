// voxjax live page: microphone -> WebSocket -> transcript / converted voice; text -> speech.
// Protocol: docs/live.md. No build step, no CDN: served by `voxjax serve`.
"use strict";
const $ = (id) => document.getElementById(id);
const live = {  // read by the browser test
  sampleRate: 16000, receivedSamples: 0, playedSamples: 0, finalText: null, errors: [],
  computeMs: [], firstAudioMs: null, settled: "",
};
window.voxjax = live;
let context = null, playback = null, mic = null, capture = null, socket = null;

function status(text) { $("status").textContent = text; }

async function audioContext() {
  if (context) return context;
  try {
    context = new AudioContext({ sampleRate: live.sampleRate });  // the browser resamples
  } catch (e) {
    context = new AudioContext();  // capture-worklet.js resamples instead
  }
  await context.audioWorklet.addModule("/static/capture-worklet.js");
  await context.audioWorklet.addModule("/static/playback-worklet.js");
  playback = new AudioWorkletNode(context, "playback");
  playback.port.onmessage = (e) => {
    live.playedSamples = e.data;
    $("played").textContent = `played: ${(e.data / context.sampleRate).toFixed(2)} s`;
  };
  playback.connect(context.destination);
  if (context.sampleRate !== live.sampleRate) {
    status(`audio runs at ${context.sampleRate} Hz; resampling to ${live.sampleRate} Hz in the page`);
  }
  return context;
}

function showLatency() {
  const recent = live.computeMs.slice(-50).sort((a, b) => a - b);
  const p50 = recent.length ? recent[Math.floor(recent.length / 2)].toFixed(1) : "–";
  const first = live.firstAudioMs === null ? "–" : live.firstAudioMs.toFixed(0);
  $("latency").textContent = `latency: server compute p50 ${p50} ms per chunk; first audio ${first} ms`;
}

function play(buffer) {
  const samples = new Int16Array(buffer);
  live.receivedSamples += samples.length;
  // Converted or synthesised audio comes at the model rate; a context at another rate gets it
  // resampled linearly here.
  if (context.sampleRate === live.sampleRate) {
    playback.port.postMessage(buffer, [buffer]);
    return;
  }
  const ratio = live.sampleRate / context.sampleRate, n = Math.floor(samples.length / ratio);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = samples[Math.min(samples.length - 1, Math.round(i * ratio))];
  playback.port.postMessage(out.buffer, [out.buffer]);
}

function connect(start, onReady) {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => ws.send(JSON.stringify({ type: "start", sample_rate: live.sampleRate, format: "s16", ...start }));
  ws.onmessage = (event) => {
    if (event.data instanceof ArrayBuffer) { play(event.data); return; }
    const m = JSON.parse(event.data);
    // The transcript is the finals so far (pieces that no longer change) + the last partial.
    if (m.type === "ready") onReady(ws);
    else if (m.type === "partial") $("transcript").textContent = live.settled + m.text;
    else if (m.type === "final") {
      live.settled += m.text;
      $("transcript").textContent = live.settled;
    } else if (m.type === "end" && start.mode === "transcribe") {
      live.finalText = live.settled;
      $("transcript").dataset.final = "1";
      ws.close();
    } else if (m.type === "timing") {
      if (m.compute_ms !== undefined && m.audio_ms !== undefined) live.computeMs.push(m.compute_ms);
      if (m.first_audio_ms !== undefined) live.firstAudioMs = m.first_audio_ms;
      showLatency();
    } else if (m.type === "end") ws.close();
    else if (m.type === "error") { live.errors.push(m.message); status(`error: ${m.message}`); }
  };
  ws.onclose = () => { if (socket === ws) socket = null; setButtons(false); };
  return ws;
}

function setButtons(listening) {
  $("listen").disabled = listening || !live.modes.includes("transcribe");
  $("stop").disabled = !listening;
  $("speak").disabled = listening || !live.modes.includes("speak");
}

async function listen() {
  await audioContext();
  await context.resume();
  const converting = $("convert-switch").checked;
  $("transcript").textContent = "";
  delete $("transcript").dataset.final;
  live.finalText = null;
  live.settled = "";
  mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
  });
  const source = context.createMediaStreamSource(mic);
  capture = new AudioWorkletNode(context, "capture", {
    processorOptions: { targetRate: live.sampleRate, frameSamples: Math.round(live.sampleRate * 0.04) },
  });
  setButtons(true);
  socket = connect({ mode: converting ? "convert" : "transcribe", speaker: $("speaker").value || null }, (ws) => {
    capture.port.onmessage = (e) => { if (ws.readyState === WebSocket.OPEN) ws.send(e.data); };
    source.connect(capture);
    status(converting ? `converting into ${$("speaker").value}…` : "listening…");
  });
}

function stop() {
  if (capture) { capture.port.onmessage = null; capture.disconnect(); capture = null; }
  if (mic) { mic.getTracks().forEach((t) => t.stop()); mic = null; }
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
  $("stop").disabled = true;
  status("finishing…");
}

async function speak() {
  await audioContext();
  await context.resume();
  live.firstAudioMs = null;
  setButtons(true);
  $("stop").disabled = true;
  socket = connect({ mode: "speak", speaker: $("speaker").value || null }, (ws) => {
    ws.send(JSON.stringify({ type: "speak", text: $("text").value }));
    status("speaking…");
  });
}

async function main() {
  const health = await (await fetch("/healthz")).json();
  live.sampleRate = health.sample_rate;
  live.modes = health.modes;
  for (const name of health.speakers) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    if (name === health.speaker) option.selected = true;
    $("speaker").appendChild(option);
  }
  $("speaker").disabled = health.speakers.length === 0;
  $("convert-switch").disabled = !health.modes.includes("convert");
  $("text").disabled = !health.modes.includes("speak");
  $("listen").onclick = () => listen().catch((e) => status(`error: ${e}`));
  $("stop").onclick = stop;
  $("speak").onclick = () => speak().catch((e) => status(`error: ${e}`));
  setButtons(false);
  status(health.ready ? `ready: ${health.modes.join(", ")} at ${health.sample_rate} Hz` : "warming up…");
}
main().catch((e) => status(`error: ${e}`));
