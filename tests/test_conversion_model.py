"""ConversionModel: chunked == offline through the streaming contract, and a tiny model that
learns to render one content sequence in either of two voices."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from voxjax.models import contract
from voxjax.models.conversion_model import ConversionModel

TINY = ConversionModel(content_dim=6, n_mels=8, channels=16, rnn_hidden=16,
                       rnn_layers=1)


def chunk_of(content, speaker, energy):
    return {"content": content, "speaker": speaker, "energy": energy}


@pytest.mark.parametrize("model", [TINY, TINY.clone(content_width=4)], ids=["plain", "squeezed"])
def test_chunked_equals_offline_and_scan(model):
    rng = np.random.default_rng(0)
    content = jnp.asarray(rng.normal(size=(2, 12, 6)), jnp.float32)
    speaker = jnp.asarray(np.eye(2), jnp.float32)
    energy = jnp.asarray(rng.normal(-8, 2, size=(2, 48)), jnp.float32)
    params = model.init(jax.random.key(0), chunk_of(content, speaker, energy))
    offline = model.apply(params, chunk_of(content, speaker, energy))
    assert offline.shape == (2, 48, 8)
    if model.content_width:  # the content really goes through the squeeze
        assert params["params"]["squeeze"]["kernel"].shape == (6, model.content_width)
    streamer = contract.Streamer(model)
    state, pieces, start = streamer.init_state(params, 2), [], 0
    for size in (1, 4, 2, 5):  # uneven chunks of content frames
        c = chunk_of(content[:, start:start + size], speaker, energy[:, 4 * start:4 * (start + size)])
        state, mel = streamer.step(params, state, c)
        pieces.append(mel)
        start += size
    np.testing.assert_allclose(jnp.concatenate(pieces, axis=1), offline, atol=1e-5)
    chunks = {"content": contract.to_chunks(content, 3),
              "speaker": jnp.broadcast_to(speaker, (4, 2, 2)),
              "energy": contract.to_chunks(energy, 12)}
    _, scanned = contract.scan_offline(streamer.step, params, streamer.init_state(params, 2),
                                       chunks)
    np.testing.assert_allclose(contract.from_chunks(scanned), offline, atol=1e-5)
    # Causal: changing the future does not change the past.
    later = content.at[:, 8:].set(0.0)
    np.testing.assert_allclose(model.apply(params, chunk_of(later, speaker, energy))[:, :32],
                               offline[:, :32], atol=1e-5)


def test_tiny_model_learns_to_render_content_in_either_voice():
    """Toy voices: mel = content @ W + a per-speaker spectral offset. Trained only on each
    voice's own utterances, the model must render voice A's content in voice B."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(6, 8)).astype(np.float32)
    offsets = np.stack([np.linspace(-3, 3, 8), np.linspace(3, -3, 8)]).astype(np.float32)

    def utterance(seed):
        ids = np.random.default_rng(seed).integers(0, 6, 10)
        content = np.eye(6, dtype=np.float32)[ids]
        return content, np.repeat(content @ w, 4, axis=0) - 8.0  # 4 mel frames per frame

    contents, targets, speakers = [], [], []
    for seed in range(16):
        content, clean = utterance(seed)
        s = seed % 2
        contents.append(content)
        targets.append(clean + offsets[s])
        speakers.append(np.eye(2, dtype=np.float32)[s])
    batch = chunk_of(jnp.asarray(np.stack(contents)), jnp.asarray(np.stack(speakers)),
                     jnp.asarray(np.stack(targets).mean(-1)))
    target = jnp.asarray(np.stack(targets))
    model = TINY.clone(use_energy=False)  # energy would leak the voice's offset
    params = model.init(jax.random.key(0), batch)
    tx = optax.adam(1e-2)
    opt = tx.init(params)

    @jax.jit
    def update(params, opt):
        loss, grads = jax.value_and_grad(
            lambda p: jnp.mean(jnp.abs(model.apply(p, batch) - target)))(params)
        updates, opt = tx.update(grads, opt)
        return optax.apply_updates(params, updates), opt, loss

    first = None
    for _ in range(300):
        params, opt, loss = update(params, opt)
        first = first if first is not None else float(loss)
    assert float(loss) < 0.2 * first

    content, clean = utterance(101)  # content never seen in training
    for s in (0, 1):
        out = model.apply(params, chunk_of(jnp.asarray(content[None]),
                                           jnp.asarray(np.eye(2, dtype=np.float32)[s][None]),
                                           jnp.zeros((1, 40))))[0]
        err_target = float(np.mean(np.abs(out - (clean + offsets[s]))))
        err_other = float(np.mean(np.abs(out - (clean + offsets[1 - s]))))
        assert err_target < 0.5 * err_other, (s, err_target, err_other)
