"""Draws docs/images/streaming_contract.png (the one streaming contract); run from the repo root.

    python docs/contract_diagram.py
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402


def box(ax, x, y, w, h, text, color):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", fc=color, ec="#333"))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8.5)


def arrow(ax, a, b, text=""):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color="#333"))
    if text:
        ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.12, text, ha="center", fontsize=7.5,
                style="italic")


fig, ax = plt.subplots(figsize=(11, 6.2))
ax.set_xlim(0, 11)
ax.set_ylim(0, 6.2)
ax.axis("off")
ax.text(5.5, 5.95, "One streaming contract: init_state(params, batch), "
        "step(params, state, chunk) -> (state, out)", ha="center", fontsize=11, weight="bold")

# The contract itself.
box(ax, 0.3, 4.3, 2.6, 1.1, "state = init_state(params, B)\n(zeros, fixed shapes)", "#e8f0fe")
box(ax, 4.1, 4.3, 2.8, 1.1, "step(params, state, chunk)\n-> (state, out)\none jitted function",
    "#fde9d9")
box(ax, 8.1, 4.6, 2.6, 0.55, "live: Python loop,\none step per chunk", "#e2f5e2")
box(ax, 8.1, 3.85, 2.6, 0.55, "offline: scan_offline\n= lax.scan of the step", "#e2f5e2")
arrow(ax, (2.9, 4.85), (4.1, 4.85), "carry")
arrow(ax, (6.9, 4.95), (8.1, 4.9))
arrow(ax, (6.9, 4.6), (8.1, 4.1))
ax.text(5.5, 3.55, "models join by defining init_state(batch) and step(state, chunk); "
        "contract.Streamer binds them to params", ha="center", fontsize=8)

# Speech to text.
ax.text(0.3, 2.95, "speech -> text (StreamingTranscriber)", fontsize=9.5, weight="bold")
box(ax, 0.3, 2.0, 1.9, 0.7, "audio chunk\n(chunk_ms)", "#f3f3f3")
box(ax, 2.6, 2.0, 2.0, 0.7, "log_mel_step\n(n_fft - hop samples)", "#fde9d9")
box(ax, 5.0, 2.0, 2.3, 0.7, "LanguageModel.step\n(conv contexts, RNN carries)", "#fde9d9")
box(ax, 7.7, 2.0, 3.0, 0.7, "frame-synchronous CTC decoder\ngreedy | prefix beam + text prior",
    "#e2f5e2")
arrow(ax, (2.2, 2.35), (2.6, 2.35))
arrow(ax, (4.6, 2.35), (5.0, 2.35))
arrow(ax, (7.3, 2.35), (7.7, 2.35), "log-probs")

# Text to speech.
ax.text(0.3, 1.35, "text -> speech (StreamingSynthesizer)", fontsize=9.5, weight="bold")
box(ax, 0.3, 0.3, 2.2, 0.8, "sentence: encoder +\ndurations (once), then\nregulated frames", "#f3f3f3")
box(ax, 2.9, 0.4, 2.4, 0.7, "AcousticModel.step\n(AR decoder + causal postnet)", "#fde9d9")
box(ax, 5.7, 0.4, 1.6, 0.7, "silence past\nthe end (mask)", "#fde9d9")
box(ax, 7.7, 0.4, 3.0, 0.7, "ConvDecoder.step\n(conv contexts, overlap-add tail)", "#fde9d9")
arrow(ax, (2.5, 0.75), (2.9, 0.75), "chunk")
arrow(ax, (5.3, 0.75), (5.7, 0.75))
arrow(ax, (7.3, 0.75), (7.7, 0.75), "log-mel")
fig.tight_layout()
fig.savefig("docs/images/streaming_contract.png", dpi=110)
